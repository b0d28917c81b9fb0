import type { Build } from '../domain/build';
import { STATUSES } from '../domain/build';
import type { Logger, Notification } from '../domain/ports';
import { sendOnce } from '../use-cases/send-once';
import type { EventDeps } from './deps';
import { completedNotice, failedNotice, forcedNotice, startedNotice, unexpectedEndNotice, warningNotice } from '../views/notifications';

// Each SNS notice of a build goes out once (docs/design.md "Delivery semantics"). Timeline:
// claim it on the record (MailClaim, conditional), publish, mark it sent (MailSent). Two
// handlers seeing one change at once: one claim lands, the other does nothing. A redelivery
// while Slack is down: the notice is already in MailSent, nothing is mailed again. A crash
// between claim and mark: the claim goes stale after MAIL_CLAIM_STALE_MS and the next handler or
// watchdog run that reads the record publishes it (a crash between publish and mark is the one
// way to mail twice). A failed publish gives the claim back, so its retry publishes at once.

export const MAIL_CLAIM_STALE_MS = 5 * 60_000;

/** Another notice of the same build is being published this very moment: retried by the caller. */
export class MailBusyError extends Error {
  constructor(
    readonly buildId: string,
    readonly key: string,
    readonly heldBy: string | undefined,
  ) {
    super(`notice ${key} of ${buildId} waits for notice ${heldBy ?? '?'} being published`);
    this.name = 'MailBusyError';
  }
}

type Ctx = Pick<EventDeps, 'config'> & { now: Date };

/** The notice a key stands for: a status's (when the operators hear of it), or the warning. */
export function noticeOf(build: Build, key: string, ctx: Ctx): Notification | undefined {
  if (key === 'warning') return warningNotice(build, ctx);
  if (!(STATUSES as readonly string[]).includes(key)) return undefined;
  const b = { ...build, Status: key as Build['Status'] };
  switch (b.Status) {
    case 'launching':
      return startedNotice(b, ctx);
    case 'completed':
      return completedNotice(b, ctx);
    case 'failed':
      return failedNotice(b, ctx);
    case 'terminated':
      return b.TerminationReason === 'forced' ? forcedNotice(b, ctx) : unexpectedEndNotice(b, ctx);
    default:
      return undefined;
  }
}

const CLAIM_ATTEMPTS = 3;
const CLAIM_PAUSE_MS = 200;

/** Publish notice `key` of the build unless it went out already or another handler is sending it. */
export async function mailOnce(deps: EventDeps, build: Build, key: string, log: Logger): Promise<void> {
  let current = build;
  for (let attempt = 1; ; attempt++) {
    if (current.MailSent?.includes(key)) return;
    const now = deps.clock.now();
    const notice = noticeOf(current, key, { config: deps.config, now });
    if (!notice) return;
    const staleBefore = new Date(now.getTime() - MAIL_CLAIM_STALE_MS).toISOString();
    const sent = await sendOnce(deps.claims, { kind: 'mail', buildId: build.BuildID, notice: key }, now, () => deps.notifier.notify(notice), {
      staleBefore,
      onGiveBackError: (error) => log.warn('could not give back the notice claim', { key, error }),
    });
    if (sent.outcome === 'sent') {
      log.info('notice sent', { key });
      return;
    }
    if (sent.outcome === 'failed') throw sent.error;
    const stored = sent.claim.build;
    if (!stored || stored.MailSent?.includes(key)) return;
    if (stored.MailClaim === key) {
      log.info('another handler is sending this notice', { key });
      return;
    }
    // A different notice holds the one claim slot for a moment.
    if (attempt >= CLAIM_ATTEMPTS) throw new MailBusyError(build.BuildID, key, stored.MailClaim);
    await new Promise((resolve) => setTimeout(resolve, CLAIM_PAUSE_MS));
    current = stored;
  }
}

/** A claim left by a handler that crashed before marking it: publish it now (the watchdog, every run). */
export async function resendStaleMail(deps: EventDeps, build: Build, log: Logger): Promise<void> {
  const key = build.MailClaim;
  if (key === undefined || build.MailSent?.includes(key)) return;
  const staleBefore = new Date(deps.clock.now().getTime() - MAIL_CLAIM_STALE_MS).toISOString();
  if ((build.MailClaimedAt ?? '') >= staleBefore) return;
  log.warn('a notice was claimed but never marked sent; publishing it again', { key, claimedAt: build.MailClaimedAt });
  await mailOnce(deps, build, key, log);
}
