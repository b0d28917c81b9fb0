import type { Build } from '../core/build';
import type { WatchdogRun } from './watchdog-run';

// Concurrency slots whose build is not active (a crash between the bot's two approval writes, a
// lost EC2 event) are given back. A slot follows the machine: a finished build whose machine is
// still live keeps it until the machine is gone (EC2 stops billing at shutting-down, and the
// machine list holds only pending/running/stopping/stopped).
//
// The slots must be read BEFORE the active builds: a build approved between the two reads then
// shows up as active, instead of as a slot without an active build.

export async function reconcileSlots(run: WatchdogRun, slots: readonly string[], activeIds: ReadonlySet<string>): Promise<void> {
  for (const buildId of slots) {
    if (activeIds.has(buildId)) continue;
    await run.step('slot reconciliation', buildId, async () => {
      const build = await run.deps.store.get(buildId);
      if (build && holdsLiveMachine(run, build)) return;
      await run.deps.store.releaseSlot(buildId);
      run.log.warn('released a slot whose build is not active', { buildId, status: build?.Status ?? 'missing' });
    });
  }
}

function holdsLiveMachine(run: WatchdogRun, build: Build): boolean {
  if (!build.InstanceID || build.TerminatedAt) return false;
  // Without the machine list, keep the slot: giving it back could start a second machine.
  if (run.machines === undefined) return true;
  return run.machines.some((m) => m.instanceId === build.InstanceID);
}
