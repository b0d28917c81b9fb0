import type { Build } from '../core/build';
import type { Logger, Notification } from '../core/ports';
import { ChatError } from '../core/ports';
import type { Effect } from '../core/transition';
import { announce, refreshCard } from '../core/slack/announce';
import type { EventDeps } from './deps';
import { completedNotice, failedNotice, forcedNotice, startedNotice, unexpectedEndNotice } from './notifications';

// What follows a transition in every events handler: the Decision's effects, then telling
// people (SNS for the operators, the Slack thread for the team).

export async function runEffects(
  deps: Pick<EventDeps, 'store' | 'compute' | 'log'>,
  build: Build,
  effects: readonly Effect[],
): Promise<void> {
  for (const effect of effects) {
    switch (effect) {
      case 'terminate-instance':
        if (build.InstanceID) await deps.compute.terminate([build.InstanceID]);
        break;
      case 'release-slot':
        await deps.store.releaseSlot(build.BuildID);
        break;
      case 'put-cancel-requested':
        // Only the bot's cancel asks for this (core/transition); no events handler sends it.
        deps.log.error('an events transition asked to put Build Cancel Requested; ignored', { buildId: build.BuildID });
        break;
    }
  }
}

/** The SNS notification that goes with a status's thread message, if the operators hear of it. */
export function noticeFor(build: Build, ctx: Pick<EventDeps, 'config'> & { now: Date }): Notification | undefined {
  switch (build.Status) {
    case 'launching':
      return startedNotice(build, ctx);
    case 'completed':
      return completedNotice(build, ctx);
    case 'failed':
      return failedNotice(build, ctx);
    case 'terminated':
      return build.TerminationReason === 'forced' ? forcedNotice(build, ctx) : unexpectedEndNotice(build, ctx);
    default:
      return undefined;
  }
}

/**
 * Slack answers that no retry can fix (the channel or the card is gone, the bot was removed).
 * Redelivering the event for them would only repeat the SNS mail; they are logged instead.
 */
const PERMANENT_CHAT_CODES = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'message_not_found',
  'thread_not_found',
  'invalid_blocks',
  'msg_too_long',
  'invalid_arguments',
]);

export function isPermanentChatError(error: unknown): boolean {
  return error instanceof ChatError && PERMANENT_CHAT_CODES.has(error.code);
}

export interface TellOptions {
  /** Send the status's SNS notification with its thread message (the watchdog's catch-up does not). */
  sns: boolean;
  /** The record changed without a status change (machine state, phase, cost): redraw the card. */
  refresh?: boolean;
}

/**
 * docs/design.md "At least once per status change": while NotifiedStatus is behind, the SNS
 * notification and the thread message go out, in that order (mail still leaves when Slack is
 * down). A transient Slack failure throws so EventBridge redelivers; the redelivery finds the
 * transition done and NotifiedStatus still behind, and tells again.
 */
export async function tell(deps: EventDeps, build: Build, options: TellOptions, log: Logger = deps.log): Promise<Build> {
  const now = deps.clock.now();
  const ctx = { config: deps.config, now };
  if (build.NotifiedStatus === build.Status) {
    if (options.refresh) await refreshCard(deps, build, ctx);
    return build;
  }
  // The SNS notice goes out under announce's lease, with the thread message: once per status
  // when two handlers see the same change at once.
  const notify = options.sns
    ? async (b: Build) => {
        const notice = noticeFor(b, ctx);
        if (notice) await deps.notifier.notify(notice);
      }
    : undefined;
  try {
    return await announce({ store: deps.store, chat: deps.chat, log }, build, ctx, notify);
  } catch (error) {
    if (!isPermanentChatError(error)) throw error;
    log.error('the thread cannot be told; Slack refused for good', { buildId: build.BuildID, status: build.Status, error });
    return build;
  }
}
