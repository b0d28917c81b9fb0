import type { Build } from '../../domain/build';
import type { Ec2View } from '../../domain/slot-holding';
import { machineEndUnrecorded, slotMayBeGivenBack } from '../../domain/slot-holding';
import { costOf } from '../../domain/build-cost';
import { applyStep } from '../apply-step';
import { countFinalCost } from '../month-spend';
import type { WatchdogRun } from './run';

// Concurrency slots whose build is not active (a crash between the bot's two approval writes, a
// lost EC2 event, a build cancelled while its launch ran) are given back, decided by
// domain/slot-holding on a consistent read of the build and EC2's machine list: a finished build
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
      let build = await run.deps.store.get(buildId);
      const view = ec2View(run, buildId, build);
      // Counted before the slot goes: once it has, nothing would bring this build back here.
      // recordLostEnd counts as it records (before its row frees the slot).
      if (build && machineEndUnrecorded(build, view)) build = await recordLostEnd(run, build);
      else if (build) await countFinalCost(run.deps, build, run.log.child({ buildId }));
      if (!slotMayBeGivenBack(build, run.now, view)) return;
      await run.deps.store.releaseSlot(buildId);
      run.log.warn('released a slot whose build is not active', { buildId, status: build?.Status ?? 'missing' });
    });
  }
}

/**
 * The machine's end as the watchdog saw it: gone at the listing. The time is an upper bound (the
 * machine ended since the previous run, or since the build's end), so the cost errs high by at
 * most the watchdog's minute. A late EC2 event finds TerminatedAt set and changes nothing.
 */
async function recordLostEnd(run: WatchdogRun, build: Build): Promise<Build> {
  const at = (run.listedAt ?? run.now).toISOString();
  const actualCost = costOf(build, run.deps.config, at);
  const event = { type: 'instance-state', state: 'terminated', at, ...(actualCost !== undefined ? { actualCost } : {}) } as const;
  const log = run.log.child({ buildId: build.BuildID });
  const { applied } = await applyStep(
    run.deps,
    build,
    event,
    {
      sns: false,
      // Counted before the row's effects give the slot back, and whether or not this run's write
      // landed, as instance-state does: once the slot is gone nothing brings this build back to
      // the reconciliation, so a count that failed (it throws) must leave the slot held.
      beforeEffects: async (found) => {
        if (found.outcome === 'changed')
          log.warn('EC2 never reported the machine gone; recorded its end from the machine list', { instanceId: build.InstanceID, at, actualCost });
        await countFinalCost(run.deps, found.build, log);
      },
    },
    log,
  );
  return applied.outcome === 'missing' ? build : applied.build;
}

/** EC2's word on the build's machines; without the machine list, nothing is known (keep the slot). */
function ec2View(run: WatchdogRun, buildId: string, build: Build | undefined): Ec2View | undefined {
  if (run.machines === undefined) return undefined;
  const liveMachine = run.machines.some((m) => m.tags.BuildID === buildId || (build?.InstanceID !== undefined && m.instanceId === build.InstanceID));
  return { listedAt: run.listedAt ?? run.now, liveMachine };
}
