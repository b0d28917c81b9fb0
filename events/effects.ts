import type { Build } from '../domain/build';
import type { Logger } from '../domain/ports';
import type { EventsEffect } from '../domain/event-sides';
import { refreshCard } from '../use-cases/card-refresh';
import { announce } from '../use-cases/announce';
import { isPermanentChatError } from '../adapters/slack/permanent-chat-error';
import type { EventDeps } from './deps';
import { mailOnce, resendStaleMail } from './mail';
import { countFinalCost } from './month-spend';
import { recordCompletion } from './completion-history';
import { tellFinalCost } from './final-cost';
import type { Dequeue } from '../use-cases/slot-queue';
import { freeSlot } from '../use-cases/slot-queue';
import { reportCommitStatus } from '../use-cases/commit-status';

// What follows a transition in every events handler: the effects its rows ask for (the events
// side's own, domain/event-sides), then telling people (SNS for the operators, the Slack thread
// for the team).

export type EffectDeps = Pick<EventDeps, 'store' | 'compute' | 'deadlines' | 'ledger' | 'durations' | 'config' | 'bus' | 'clock'>;

/**
 * In the row's order (safety first: the slot before the books). A count that fails does not
 * stop the others: it throws at the end, so the event is delivered again and counts then.
 */
export async function runEffects(deps: EffectDeps, build: Build, effects: readonly EventsEffect[], log: Logger, dequeue: Dequeue): Promise<void> {
  let uncounted: unknown;
  for (const effect of effects) {
    switch (effect) {
      case 'terminate-instance':
        if (build.InstanceID) await deps.compute.terminate([build.InstanceID]);
        break;
      case 'release-slot':
        await freeSlot(deps, build.BuildID, dequeue, log);
        break;
      case 'leave-queue':
        await deps.store.leaveQueue(build.BuildID);
        break;
      case 'drop-deadline':
        // The machine is gone or going: its schedule has nothing left to do (not found is fine).
        await deps.deadlines.remove(build.BuildID);
        log.info('deadline schedule removed');
        break;
      case 'record-completion':
        await recordCompletion(deps, build, log);
        break;
      case 'count-final-cost':
        uncounted = await countFinalCost(deps, build, log).then(
          () => undefined,
          (error: unknown) => error,
        );
        break;
    }
  }
  if (uncounted !== undefined) throw uncounted;
}

export interface TellOptions {
  /** Send the status's SNS notice (once, see events/mail.ts) along with the thread message. */
  sns: boolean;
  /** The record changed without a status change (machine state, phase, cost): redraw the card. */
  refresh?: boolean;
  /**
   * Records a broadcast final message's ts when its cost was not final yet (apply-step.ts
   * `recordFinalMessage`, the `final-message-posted` row), so events/final-cost.ts can edit it.
   */
  recordFinalMessage?: (build: Build, ts: string) => Promise<void>;
}

/**
 * docs/design.md "Delivery semantics": the status's SNS notice (once), then, while NotifiedStatus
 * is behind, the thread message (at least once, not twice). Mail goes first, so it leaves when
 * Slack is down. A transient Slack failure throws so EventBridge redelivers; the redelivery finds
 * the transition done, the mail sent and NotifiedStatus still behind, and tells the thread again.
 */
export async function tell(deps: EventDeps, given: Build, options: TellOptions, log: Logger = deps.log): Promise<Build> {
  // First, and never throwing: a Slack failure below must not keep the commit behind.
  const build = await reportCommitStatus(deps, given, log);
  const now = deps.clock.now();
  const ctx = { config: deps.config, now };
  if (options.sns) await resendStaleMail(deps, build, log);
  // Told in the thread means mailed (or claimed) too: the mail goes first.
  if (build.NotifiedStatus === build.Status) {
    if (options.refresh) await refreshCard(deps, build, ctx);
    await tellFinalCost(deps, build, log);
    return build;
  }
  if (options.sns) await mailOnce(deps, build, build.Status, log);
  let told: Build;
  try {
    told = await announce(
      {
        store: deps.store,
        claims: deps.claims,
        chat: deps.chat,
        log,
        buildLogs: deps.buildLogs,
        ...(options.recordFinalMessage && { recordFinalMessage: options.recordFinalMessage }),
      },
      build,
      ctx,
    );
  } catch (error) {
    if (!isPermanentChatError(error)) throw error;
    log.error('the thread cannot be told; Slack refused for good', { buildId: build.BuildID, status: build.Status, error });
    return build;
  }
  await tellFinalCost(deps, told, log);
  return told;
}
