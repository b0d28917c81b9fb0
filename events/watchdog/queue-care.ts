import type { Build } from '../../domain/build';
import { isFinal } from '../../domain/build';
import { HANDED_LAUNCH_RETRY_MINUTES, ageMs, isQueueStale } from '../../domain/lifetime';
import { applyRow, dequeueBy } from '../apply-step';
import { fillFreeSlots, launchHead } from '../../use-cases/slot-queue';
import type { WatchdogRun } from './snapshot';

// The queue's backstop (docs/design.md "Concurrency", the queue), in the safety phase after the
// slots are reconciled: whatever a lost answer or a crash left half done is finished here, so no
// queued build waits more than one run while a slot is free. Nothing here waits on Slack: the
// builds it ends are told by the telling phase, and a launched head's messages are the launch's.

/** The builds it ended (expired), for the telling phase. */
export async function keepQueueMoving(run: WatchdogRun, active: readonly Build[]): Promise<Build[]> {
  const { deps, now } = run;
  const ended: Build[] = [];
  const set = await run.step('read the queue', undefined, () => deps.store.slotSet());
  if (!set) return ended;
  const quiet = dequeueBy(deps, run.log, true);
  const holders = new Set(set.active);
  const waiting = new Set(set.queue);

  for (const build of active.filter((b) => b.Status === 'queued')) {
    await run.step('queued build', build.BuildID, async () => {
      const log = run.log.child({ buildId: build.BuildID });
      // Handed a slot, but the dequeue (or its put) was lost: it launches now.
      if (holders.has(build.BuildID)) return launchHead(deps, build.BuildID, quiet, log);
      if (isQueueStale(build, deps.config.queueTtlHours, now)) {
        const applied = await applyRow(deps, build, { type: 'expire' }, log, now);
        if (applied.outcome === 'changed') log.warn('queued build expired: no slot came free in time', { queuedAt: build.QueuedAt });
        if (applied.outcome !== 'missing') ended.push(applied.build);
        return;
      }
      // Its approval recorded the status but not the place in the queue.
      if (!waiting.has(build.BuildID)) {
        log.warn('a queued build was not in the queue; added at its end');
        await deps.store.enqueue(build.BuildID);
      }
    });
  }

  // Places held by builds that no longer wait (their leave-queue was lost).
  for (const buildId of set.queue) {
    await run.step('queue entry', buildId, async () => {
      const build = await deps.store.get(buildId);
      if (build && !isFinal(build.Status)) return;
      run.log.warn('a build that no longer waits held a place in the queue; removed', { buildId, status: build?.Status ?? 'missing' });
      await deps.store.leaveQueue(buildId);
    });
  }

  // A head handed a slot whose `Build Approved` was lost: the launch is idempotent, so put it again.
  for (const build of active.filter((b) => b.Status === 'approved' && b.DequeuedAt && !b.InstanceID && holders.has(b.BuildID))) {
    if (ageMs(build.DequeuedAt!, now) < HANDED_LAUNCH_RETRY_MINUTES * 60_000) continue;
    await run.step('launch a handed slot', build.BuildID, async () => {
      run.log.warn('a queued build was handed a slot but has no machine; asking for its launch again', { buildId: build.BuildID });
      await deps.bus.put({ detailType: 'Build Approved', detail: { buildId: build.BuildID } });
    });
  }

  await run.step('fill free slots', undefined, () => fillFreeSlots(deps, quiet, run.log));
  return ended;
}
