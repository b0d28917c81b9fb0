import type { Build } from '../domain/build';
import { isFinal, isInstanceEnding } from '../domain/build';
import type { Logger } from '../domain/ports';
import { finalCostMessage } from '../views/thread';
import { costOf } from '../domain/build-cost';
import { DETAIL_TYPES, EC2_SOURCE, ec2StateDetail } from '../domain/events';
import type { EventDeps } from './deps';
import { dropDeadline } from './deadline-schedule';
import { isPermanentChatError } from '../adapters/slack/permanent-chat-error';
import { applyStep } from './apply-step';
import { eventEntry } from './entry';
import { countFinalCost } from './month-spend';

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
    let uncounted: unknown;
    const { told } = await applyStep(
      deps,
      build,
      { type: 'instance-state', state, at, ...(actualCost !== undefined ? { actualCost } : {}) },
      {
        sns: true,
        // On every ending delivery. A count that fails never keeps the slot (docs/design.md "Safety
        // before bookkeeping"): the effects go on, and the delivery throws at its end so that the
        // redelivery counts it; meanwhile the build's hold keeps its money in every budget figure.
        beforeEffects: async (applied) => {
          if (applied.outcome === 'changed') blog.info('instance state recorded', { instanceId, state, status: applied.build.Status, actualCost });
          if (isInstanceEnding(state))
            uncounted = await countFinalCost(deps, applied.build, blog).then(
              () => undefined,
              (error: unknown) => error,
            );
          // Every ending delivery, not only the first: a removal that failed is retried with the event.
          if (isInstanceEnding(state) && applied.build.InstanceID === instanceId) await dropDeadline(deps, applied.build, blog);
        },
      },
      blog,
    );
    if (told && isInstanceEnding(state)) await tellFinalCost(deps, told, blog);
    if (uncounted !== undefined) throw uncounted;
  },
});

/**
 * The final cost reaches the thread once. When the final status message went out before EC2
 * reported the end, it said "cost so far"; then one short reply gives ActualCost, the figure the
 * card shows. CostToldAt is not a status change, so it is not a domain/transition event: it is a
 * guarded store.update, written only while absent, and only the delivery
 * that wins that write posts (a redelivery or a racing delivery finds it set). A final message
 * that already carried ActualCost set it with NotifiedStatus (use-cases/announce.ts). The claim
 * comes before the post, so a post that fails is logged, not repeated: the card has the figure.
 */
async function tellFinalCost(deps: EventDeps, build: Build, log: Logger): Promise<void> {
  if (!isFinal(build.Status) || build.ActualCost === undefined || build.CostToldAt !== undefined) return;
  // The final message itself is still to come (a retry of this event tells it, with the cost).
  if (build.NotifiedStatus !== build.Status) return;
  const now = deps.clock.now();
  const claim = await deps.store.update(build.BuildID, { status: [build.Status], absent: ['CostToldAt'] }, { CostToldAt: now.toISOString() });
  if (!claim.ok) return;
  try {
    await deps.chat.post({ channel: build.Channel, threadTs: build.ThreadTs, text: finalCostMessage(claim.build, { config: deps.config, now }) });
    log.info('final cost told', { actualCost: build.ActualCost });
  } catch (error) {
    log.error(isPermanentChatError(error) ? 'the final cost cannot be told; Slack refused for good' : 'the final cost could not be told; the card shows it', {
      error,
    });
  }
}
