import { isInstanceEnding } from '../domain/build';
import { costOf } from '../domain/build-cost';
import { DETAIL_TYPES, EC2_SOURCE, ec2StateDetail } from '../domain/events';
import { applyStep } from './apply-step';
import { eventEntry } from './entry';

// EC2's own state changes (default bus). Every instance of the account arrives here, so one
// InstanceIndex lookup decides whether it is ours. InstanceState only moves forward; the first
// shutting-down/terminated records TerminatedAt and the actual cost and frees the slot, and
// ends a build that was still active (`terminated`: forced at its deadline, else unexpected).
// The machine's end also removes its deadline schedule.

export const { createHandler, handler } = eventEntry({
  name: 'instance-state',
  source: EC2_SOURCE,
  detailType: DETAIL_TYPES.ec2State,
  schema: ec2StateDetail,
  // Every instance of the account arrives here: one InstanceIndex query decides whether it is ours.
  find: (deps, detail) => deps.store.findByInstance(detail['instance-id']),
  missing: (log, detail) => log.info('not a metal-build instance; ignored', { instanceId: detail['instance-id'], state: detail.state }),
  async handle({ deps, build, detail, time, log: blog }) {
    const instanceId = detail['instance-id'];
    const state = detail.state;
    const now = deps.clock.now();
    // When EC2 says it happened (a missing time, never from EC2, falls back to now), in the
    // table's one format so times keep sorting as strings.
    const at = new Date(time ?? now).toISOString();
    const { config } = deps;
    const actualCost = isInstanceEnding(state) ? costOf(build, config, at) : undefined;
    // The row's effects free the slot, drop the deadline schedule and count the final cost, on
    // every ending delivery (docs/design.md "Spend control"); the telling gives the final cost.
    const { applied } = await applyStep(
      deps,
      build,
      { type: 'instance-state', state, at, ...(actualCost !== undefined ? { actualCost } : {}) },
      { sns: true },
      blog,
    );
    if (applied.outcome === 'changed') blog.info('instance state recorded', { instanceId, state, status: applied.build.Status, actualCost });
  },
});
