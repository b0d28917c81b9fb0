import type { Build } from '../domain/build';
import { isFinal } from '../domain/build';
import type { Logger } from '../domain/ports';
import { finalCostMessage, threadMessage } from '../views/thread';
import { END_LOG_LINES, newestLogLines } from '../use-cases/log-lines';
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
export async function tellFinalCost(deps: Pick<EventDeps, 'store' | 'chat' | 'config' | 'clock' | 'buildLogs'>, build: Build, log: Logger): Promise<void> {
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
  await editFinalMessage(deps, claim.build, now, log);
}

/**
 * The broadcast final message (its ts recorded as FinalMessageTs when it said "about $X") is
 * edited to the final cost, in the thread and the channel alike: one figure everywhere. A forced or
 * unexpected end keeps its log lines (read again, best effort). A failed edit is logged, not retried.
 */
async function editFinalMessage(deps: Pick<EventDeps, 'chat' | 'config' | 'buildLogs'>, build: Build, now: Date, log: Logger): Promise<void> {
  if (!build.FinalMessageTs) return;
  const logLines = build.Status === 'terminated' ? await newestLogLines({ buildLogs: deps.buildLogs, log }, build, END_LOG_LINES) : undefined;
  const message = threadMessage(build, { config: deps.config, now, ...(logLines !== undefined && { logLines }) });
  try {
    await deps.chat.update({ channel: build.Channel, ts: build.FinalMessageTs, text: message.text, ...(message.blocks ? { blocks: message.blocks } : {}) });
    log.info('final message edited to the final cost', { actualCost: build.ActualCost });
  } catch (error) {
    log.error('the final message could not be edited to the final cost; the reply and the card give it', { error });
  }
}
