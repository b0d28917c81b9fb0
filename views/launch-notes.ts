import type { Status } from '../domain/build';
import { formatUsd } from '../domain/cost';
import type { LaunchedInstance } from '../domain/ports';
import { code } from './mrkdwn';

// The launch function's thread notes, besides the status replies (views/thread.ts). The
// card shows only the machine the record names, so the thread says what became of any other
// machine a launch started, and why the one recorded is not the type or zone asked for.

type MachinePlace = Pick<LaunchedInstance, 'instanceId' | 'instanceType' | 'availabilityZone'>;

/** The build went final while EC2 was starting its machine, so that machine was ended at once. */
export function terminatedAtLaunchNote(status: Status, machine: MachinePlace): string {
  return (
    `🧹 The build was ${status} while its machine was starting: ` +
    `${code(machine.instanceId)} (${machine.instanceType} in ${machine.availabilityZone}) was terminated right away.`
  );
}

/** The build's ErrorMessage when its launch found it outside the slot set and no slot free. */
export function noSlotAtLaunch(maxConcurrentBuilds: number): string {
  const slots = maxConcurrentBuilds === 1 ? 'the one build slot was' : `all ${maxConcurrentBuilds} build slots were`;
  return `No machine was launched: ${slots} taken by other builds when the launch ran, and this build no longer held one. Request it again once a running build has ended.`;
}

/** What did not work, or was not tried, before the machine that was launched. */
export interface LaunchDetourFacts {
  /** Each skip as its clause: domain/launch-capacity.ts words it, for the build's error message too. */
  skips: ReadonlyArray<{ text: string }>;
  /** EC2's refusals; `subnetId` is '' when the launch template's network settings decided. */
  refusals: ReadonlyArray<{ instanceType: string; subnetId: string; code: string }>;
}

/**
 * The machine is another type or zone than the first one tried. `figures` are given for
 * another type than the approved one: its cost differs from what the card said.
 */
export function launchFallbackNote(machine: Omit<MachinePlace, 'instanceId'>, detours: LaunchDetourFacts, figures?: { expected: number; max: number }): string {
  const parts: string[] = [];
  if (detours.skips.length > 0) parts.push(`skipped ${detours.skips.map((s) => s.text).join(', ')}`);
  if (detours.refusals.length > 0)
    parts.push(`EC2 refused ${detours.refusals.map((r) => `${r.instanceType}${r.subnetId ? ` in ${r.subnetId}` : ''} (${r.code})`).join(', ')}`);
  const cost = figures ? ` (expected ${formatUsd(figures.expected)}, maximum ${formatUsd(figures.max)})` : '';
  return `ℹ️ Launched ${machine.instanceType} in ${machine.availabilityZone}${cost}; ${parts.join('; ')}.`;
}

/** Earlier deliveries left more than one machine: the one kept, and the extras ended. */
export function extraMachinesNote(keptInstanceId: string, terminatedInstanceIds: readonly string[]): string {
  const ids = terminatedInstanceIds.map((id) => code(id)).join(', ');
  return `🧹 Earlier launch attempts left ${terminatedInstanceIds.length + 1} machines for this build: ${code(keptInstanceId)} is kept, ${ids} terminated.`;
}

/** A self-test's launch found no builder AMI to size its disk from. */
export const selftestImageUnknown = (imageId: string): string =>
  `The builder AMI ${imageId} (BUILDER_IMAGE_ID, the launch template's image) is not known to EC2, so the self-test has no disk size and no machine to start. Deploy the stack again with an existing AMI.`;
