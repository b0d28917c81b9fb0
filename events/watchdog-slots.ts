import type { Build } from '../core/build';
import type { Ec2View } from '../core/slot-holding';
import { slotMayBeGivenBack } from '../core/slot-holding';
import type { WatchdogRun } from './watchdog-run';

// Concurrency slots whose build is not active (a crash between the bot's two approval writes, a
// lost EC2 event, a build cancelled while its launch ran) are given back, decided by
// core/slot-holding on a consistent read of the build and EC2's machine list: a finished build
// whose machine is still live keeps it until the machine is gone (EC2 stops billing at
// shutting-down, and the machine list holds only pending/running/stopping/stopped).
//
// The slots must be read BEFORE the active builds: a build approved between the two reads then
// shows up as active, instead of as a slot without an active build.

export async function reconcileSlots(run: WatchdogRun, slots: readonly string[], activeIds: ReadonlySet<string>): Promise<void> {
  for (const buildId of slots) {
    // The index may be behind; it is only trusted to keep a slot, never to free one.
    if (activeIds.has(buildId)) continue;
    await run.step('slot reconciliation', buildId, async () => {
      const build = await run.deps.store.get(buildId);
      if (!slotMayBeGivenBack(build, run.now, ec2View(run, buildId, build))) return;
      await run.deps.store.releaseSlot(buildId);
      run.log.warn('released a slot whose build is not active', { buildId, status: build?.Status ?? 'missing' });
    });
  }
}

/** EC2's word on the build's machines; without the machine list, nothing is known (keep the slot). */
function ec2View(run: WatchdogRun, buildId: string, build: Build | undefined): Ec2View | undefined {
  if (run.machines === undefined) return undefined;
  const liveMachine = run.machines.some((m) => m.tags.BuildID === buildId || (build?.InstanceID !== undefined && m.instanceId === build.InstanceID));
  return { listedAt: run.listedAt ?? run.now, liveMachine };
}
