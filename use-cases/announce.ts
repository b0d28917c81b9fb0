import type { Build, Status } from '../domain/build';
import { STATUSES, isFinal } from '../domain/build';
import type { NoticeStep } from '../domain/notice';
import { noticeLeaseStaleBefore, noticeStep, noticeToldCost } from '../domain/notice';
import type { BuildLogs, BuildStore, Chat, Claims, Logger } from '../domain/ports';
import { closeWarning, refreshCard } from './card-refresh';
import type { CardContext } from '../views/card';
import { threadMessage } from '../views/thread';
import { tellRequester } from './tell-requester';
import { END_LOG_LINES, newestLogLines } from './log-lines';

// docs/design.md "Delivery semantics", the steps (the decisions are domain/notice.ts): a lease,
// then the post, then NotifiedStatus. A post that fails throws, so EventBridge redelivers; the
// transition is then a no-op, but NotifiedStatus is still behind and the message goes out on
// that delivery. Each reply carries its BuildID and status as Slack message metadata, and a
// retry after an attempt that may have posted looks for it first: at least once, and twice only
// if Slack's own history misses a message it accepted. Used by the bot and the events handlers.

export interface AnnounceDeps {
  store: BuildStore;
  /** The requester's direct message is sent once (use-cases/tell-requester.ts). */
  claims: Claims;
  chat: Chat;
  log: Logger;
  /** A forced or unexpected end's message shows the log's newest lines, read here best effort. */
  buildLogs?: BuildLogs;
  /**
   * A broadcast final message (completed, failed, terminated) that went out before its cost was
   * final: its `ts` is recorded (the events side's `final-message-posted` row), so it can be edited
   * to the final cost (events/final-cost.ts). A failure is the recorder's to log.
   */
  recordFinalMessage?: (build: Build, ts: string) => Promise<void>;
}

/** Tell the thread about the build's status unless that was already done; returns the stored build. */
export async function announce(deps: AnnounceDeps, build: Build, ctx: CardContext): Promise<Build> {
  if (build.NotifiedStatus === build.Status) return build;
  const status = build.Status;
  const log = deps.log.child({ buildId: build.BuildID, status });
  const lease = await takeLease(deps, build, status, ctx.now);
  if (!lease.ok) {
    log.info('another handler is announcing this status', { current: lease.current?.Status });
    return lease.current ?? build;
  }
  const step = noticeStep(build, lease.build, status);
  if (!step.post) return lease.build;
  await postOnce(deps, lease.build, status, step, ctx, log);
  const result = await deps.store.update(
    build.BuildID,
    { status: [status] },
    { NotifiedStatus: status, ...(noticeToldCost(step.told) ? { CostToldAt: ctx.now.toISOString() } : {}) },
  );
  // The end of the build reaches its requester directly too (after the thread, which it links).
  if (isFinal(status)) await tellRequester(deps, step.told, status, ctx);
  if (result.ok) return result.build;
  // The status moved on meanwhile; whoever moved it announces the new one.
  log.info('status changed while announcing', { current: result.current?.Status });
  return result.current ?? lease.build;
}

/**
 * Of two handlers announcing the same status at once, one posts. The lease does not require the
 * status to be current: a status passed quickly is still told.
 */
function takeLease(deps: AnnounceDeps, build: Build, status: Status, now: Date) {
  return deps.store.update(
    build.BuildID,
    { status: STATUSES, noticeFree: { status, staleBefore: noticeLeaseStaleBefore(now) } },
    { NotifyingStatus: status, NotifyingSince: now.toISOString() },
  );
}

/** The status message, unless an earlier attempt's is in the thread already; with the card and warning redrawn. */
async function postOnce(
  deps: AnnounceDeps,
  leased: Build,
  status: Status,
  step: Extract<NoticeStep, { post: true }>,
  ctx: CardContext,
  log: Logger,
): Promise<void> {
  // Only a machine's early end carries its log; everything else is drawn from the record alone.
  const logLines = endedEarly(step.told) && deps.buildLogs ? await newestLogLines({ buildLogs: deps.buildLogs, log }, step.told, END_LOG_LINES) : undefined;
  const message = threadMessage(step.told, { ...ctx, ...(logLines !== undefined && { logLines }) });
  const tag = { buildId: leased.BuildID, status };
  try {
    const postedBefore = step.askThreadFirst && (await deps.chat.hasTagged(leased.Channel, leased.ThreadTs, tag));
    if (postedBefore) log.info('the thread already has this status message; not posted again');
    // The reply and the card redraw at once: on the bot's path both fit Slack's 3 s only side
    // by side (refreshCard logs its failures and never throws).
    const [posted] = await Promise.all([
      postedBefore
        ? undefined
        : deps.chat.post({
            channel: leased.Channel,
            threadTs: leased.ThreadTs,
            text: message.text,
            ...(message.blocks ? { blocks: message.blocks } : {}),
            broadcast: message.broadcast,
            tag,
          }),
      refreshCard(deps, leased, ctx),
      closeWarning(deps, step.told, ctx),
    ]);
    if (posted && deps.recordFinalMessage && costToCome(step.told)) await deps.recordFinalMessage(step.told, posted.ts);
  } catch (error) {
    // Give the lease back so the redelivery that follows this throw may post at once.
    await deps.store
      .update(leased.BuildID, { status: STATUSES, equals: { NotifyingStatus: status } }, { NotifyingSince: new Date(0).toISOString() })
      .catch((releaseError: unknown) => log.warn('could not give back the notice lease', { error: releaseError }));
    throw error;
  }
}

/** A forced or unexpected end of a build that had a machine: its message shows how far it got. */
function endedEarly(build: Build): boolean {
  return (
    build.Status === 'terminated' &&
    build.InstanceID !== undefined &&
    build.TerminationReason !== 'cancelled' &&
    build.TerminationReason !== 'did-not-shut-down'
  );
}

/** A broadcast end whose message said "about $X": the final figure is still to come from EC2. */
function costToCome(build: Build): boolean {
  return (build.Status === 'completed' || build.Status === 'failed' || build.Status === 'terminated') && build.ActualCost === undefined;
}
