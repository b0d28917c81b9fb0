import { applyEvent } from '../core/apply';
import { isInstanceEnding } from '../core/build';
import { costBetween } from '../core/cost';
import { DETAIL_TYPES, EC2_SOURCE, ec2StateDetail } from '../core/events';
import type { EventDeps } from './deps';
import { loadEventDeps } from './deps';
import { dropDeadline } from './deadline-schedule';
import { runEffects, tell } from './effects';
import { parseOrDrop } from './inbound';

// EC2's own state changes (default bus). Every instance of the account arrives here, so one
// InstanceIndex lookup decides whether it is ours. InstanceState only moves forward; the first
// shutting-down/terminated records TerminatedAt and the actual cost and frees the slot, and
// ends a build that was still active (`terminated`: forced at its deadline, else unexpected).
// The machine's end also removes its deadline schedule.

export function createHandler(deps: EventDeps) {
  return async function instanceState(event: unknown): Promise<void> {
    const log = deps.log.child({ handler: 'instance-state' });
    const inbound = parseOrDrop(event, EC2_SOURCE, DETAIL_TYPES.ec2State, ec2StateDetail, log);
    if (!inbound) return;
    const instanceId = inbound.detail['instance-id'];
    const state = inbound.detail.state;
    const build = await deps.store.findByInstance(instanceId);
    if (!build) {
      log.info('not a metal-build instance; ignored', { instanceId, state });
      return;
    }
    const blog = log.child({ buildId: build.BuildID });
    const now = deps.clock.now();
    // When EC2 says it happened (a missing time, never from EC2, falls back to now), in the
    // table's one format so times keep sorting as strings.
    const at = new Date(inbound.time ?? now).toISOString();
    const { config } = deps;
    const actualCost =
      isInstanceEnding(state) && build.LaunchTime
        ? costBetween(build.InstanceType ?? config.instanceType, config.volumeSizeGb, build.LaunchTime, at, config.priceOverrides, config.instanceType)
        : undefined;
    const applied = await applyEvent(deps.store, build, {
      type: 'instance-state',
      state,
      at,
      ...(actualCost !== undefined ? { actualCost } : {}),
    }, now);
    if (applied.outcome === 'missing') return;
    if (applied.outcome === 'changed') {
      blog.info('instance state recorded', { instanceId, state, status: applied.build.Status, actualCost });
      await runEffects(deps, applied.build, applied.decision.effects);
    }
    // Every ending delivery, not only the first: a removal that failed is retried with the event.
    if (isInstanceEnding(state) && applied.build.InstanceID === instanceId) await dropDeadline(deps, applied.build, blog);
    await tell(deps, applied.build, { sns: true, refresh: applied.outcome === 'changed' }, blog);
  };
}

export async function handler(event: unknown, _context: unknown): Promise<void> {
  await createHandler(await loadEventDeps())(event);
}
