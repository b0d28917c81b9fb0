import type { Build } from '../domain/build';
import type { Logger } from '../domain/ports';
import type { EventsEffect } from '../domain/event-sides';
import { refreshCard } from '../use-cases/card-refresh';
import { announce } from '../use-cases/announce';
import { isPermanentChatError } from '../adapters/slack/permanent-chat-error';
import type { EventDeps } from './deps';
import { mailOnce, resendStaleMail } from './mail';

// What follows a transition in every events handler: the effects its rows ask for (the events
// side's own, domain/event-sides), then telling people (SNS for the operators, the Slack thread
// for the team).

export async function runEffects(deps: Pick<EventDeps, 'store' | 'compute'>, build: Build, effects: readonly EventsEffect[]): Promise<void> {
  for (const effect of effects) {
    switch (effect) {
      case 'terminate-instance':
        if (build.InstanceID) await deps.compute.terminate([build.InstanceID]);
        break;
      case 'release-slot':
        await deps.store.releaseSlot(build.BuildID);
        break;
    }
  }
}

export interface TellOptions {
  /** Send the status's SNS notice (once, see events/mail.ts) along with the thread message. */
  sns: boolean;
  /** The record changed without a status change (machine state, phase, cost): redraw the card. */
  refresh?: boolean;
}

/**
 * docs/design.md "Delivery semantics": the status's SNS notice (once), then, while NotifiedStatus
 * is behind, the thread message (at least once, not twice). Mail goes first, so it leaves when
 * Slack is down. A transient Slack failure throws so EventBridge redelivers; the redelivery finds
 * the transition done, the mail sent and NotifiedStatus still behind, and tells the thread again.
 */
export async function tell(deps: EventDeps, build: Build, options: TellOptions, log: Logger = deps.log): Promise<Build> {
  const now = deps.clock.now();
  const ctx = { config: deps.config, now };
  if (options.sns) await resendStaleMail(deps, build, log);
  // Told in the thread means mailed (or claimed) too: the mail goes first.
  if (build.NotifiedStatus === build.Status) {
    if (options.refresh) await refreshCard(deps, build, ctx);
    return build;
  }
  if (options.sns) await mailOnce(deps, build, build.Status, log);
  try {
    return await announce({ store: deps.store, claims: deps.claims, chat: deps.chat, log }, build, ctx);
  } catch (error) {
    if (!isPermanentChatError(error)) throw error;
    log.error('the thread cannot be told; Slack refused for good', { buildId: build.BuildID, status: build.Status, error });
    return build;
  }
}
