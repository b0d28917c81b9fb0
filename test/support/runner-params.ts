import type { RunnerParams } from '../../events/launch/user-data';

// One build's runner parameters, as the launch handler would pass them to events/launch/user-data.ts:
// the user data tests render it, and .ci/checks/packer.sh renders it for `cloud-init schema`.

export const RUNNER_PARAMS: RunnerParams = {
  buildId: 'build-20260101-120000-abcd',
  branch: 'main',
  commit: 'abc1234',
  repoUrl: 'https://github.com/afewell-hh/labapp.git',
  bucket: 'hedgehog-lab-artifacts',
  eventBusName: 'labapp-metal-builds',
  region: 'us-east-1',
  maxLifetimeMinutes: 300,
  githubSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:labapp/github-token-AbCdEf',
  logGroup: '/labapp/metal-builds/build-20260101-120000-abcd',
  packerTemplate: 'packer/prewarmed-build.pkr.hcl',
  // As events/event-token.ts derives it (any 64 hex characters render).
  eventToken: '5f'.repeat(32),
};
