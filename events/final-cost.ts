import type { Build } from '../domain/build';
import { isFinal } from '../domain/build';
import type { Logger } from '../domain/ports';
import { finalCostMessage } from '../views/thread';
import { isPermanentChatError } from '../adapters/slack/permanent-chat-error';
import type { EventDeps } from './deps';

// A build's final cost in its thread, in one place: the final status message carries it when EC2
// had reported the end by then (use-cases/announce.ts sets CostToldAt with NotifiedStatus);
// otherwise the telling that follows the end (events/effects.ts `tell`) gives it here, once.

/**
 * The final cost reaches the thread once. When the final status message went out before EC2
 * reported the end, it said "cost so far"; then one short reply gives ActualCost, the figure the
 * card shows. CostToldAt is not a status change, so it is not a domain/transition event: it is a
 * guarded store.update, written only while absent, and only the delivery
 * that wins that write posts (a redelivery or a racing delivery finds it set). A final message
 * that already carried ActualCost set it with NotifiedStatus (use-cases/announce.ts). The claim
 * comes before the post, so a post that fails is logged, not repeated: the card has the figure.
 */
export async function tellFinalCost(deps: Pick<EventDeps, 'store' | 'chat' | 'config' | 'clock'>, build: Build, log: Logger): Promise<void> {
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
