// The tag only this stack's launches put on a machine. The original launcher tagged its machines
// Project=labapp and Purpose=prewarmed-build too, so those prove nothing about who launched a
// machine: TerminateInstances rights (infra), the orphan rule and adoption (adapters/aws/ec2-compute.ts)
// all go by this one.
export const LAUNCHED_BY_TAG = { key: 'LaunchedBy', value: 'metal-build' } as const;
