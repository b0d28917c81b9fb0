import type { Status } from '../domain/build';
import type { Machine } from '../domain/ports';
import { code } from './mrkdwn';

// The thread's note when the watchdog terminated a machine of the build that was not its
// running machine, so whoever reads the thread knows why it is gone. The operators' mail about
// the same machine is views/notifications.ts `strayMachineNotice`.

/** Why the watchdog ended the machine, as the watchdog decided it. */
export type StrayMachineWhy =
  | { kind: 'did-not-shut-down' }
  /** Not the machine the record names: `buildMachineId` is the one that is. */
  | { kind: 'second-machine'; buildMachineId: string }
  /** Cancelled or forced to end, yet still listed as live: the earlier TerminateInstances failed. */
  | { kind: 'termination-did-not-take'; status: Status }
  /** The orphan grace after the build went final has passed. */
  | { kind: 'outlived-build'; status: Status };

export function strayMachineNote(machine: Pick<Machine, 'instanceId' | 'instanceType'>, why: StrayMachineWhy): string {
  return `🧹 The watchdog terminated machine ${code(machine.instanceId)} (${machine.instanceType}): ${reason(why)}.`;
}

function reason(why: StrayMachineWhy): string {
  switch (why.kind) {
    case 'did-not-shut-down':
      return 'it was still up 15 minutes after the build ended (it should have powered itself off)';
    case 'second-machine':
      return `it was a second machine for this build (the build's machine is ${code(why.buildMachineId)})`;
    case 'termination-did-not-take':
      return `it was still up after the build was ${why.status} (the earlier termination did not take)`;
    case 'outlived-build':
      return `it was still up 15 minutes after the build became ${why.status}`;
  }
}
