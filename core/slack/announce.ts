import type { Build } from '../build';
import { STATUSES, isFinal } from '../build';
import type { BuildStore, Chat, Logger } from '../ports';
import type { ViewContext } from './build-facts';
import type { CardContext } from './card';
import { buildCard } from './card';
import { tellRequester } from './direct-message';
import { threadMessage, warningEndedMessage } from './thread';

// docs/design.md "Delivery semantics": a lease, then the post, then NotifiedStatus. A post that
// fails throws, so EventBridge redelivers; the transition is then a no-op, but NotifiedStatus is
// still behind and the message goes out on that delivery. Each reply carries its BuildID and
// status as Slack message metadata, and a retry after an attempt that may have posted (its
// answer lost, or a crash before NotifiedStatus) looks for it first: at least once, and twice
// only if Slack's own history misses a message it accepted.

export interface AnnounceDeps {
  store: BuildStore;
  chat: Chat;
  log: Logger;
}

/** Update the card in place. A failure is logged, never thrown: the thread carries the news. */
export async function refreshCard(deps: AnnounceDeps, build: Build, ctx: CardContext): Promise<void> {
  try {
    await deps.chat.update({ channel: build.Channel, ts: build.ThreadTs, ...buildCard(build, ctx) });
  } catch (error) {
    deps.log.warn('card update failed', { buildId: build.BuildID, status: build.Status, error });
  }
}

/**
 * The watchdog's warning, once the build has ended: no button left, one line saying how it
 * ended. Called where every final status is told (announce), so once per final status; a
 * failure is logged, never thrown, like the card's.
 */
export async function closeWarning(deps: AnnounceDeps, build: Build, ctx: ViewContext): Promise<void> {
  if (!build.WarningTs || !isFinal(build.Status)) return;
  try {
    await deps.chat.update({ channel: build.Channel, ts: build.WarningTs, ...warningEndedMessage(build, ctx) });
  } catch (error) {
    deps.log.warn('warning update failed', { buildId: build.BuildID, status: build.Status, error });
  }
}

/** How long a handler may hold the lease on a status's message before another may post it. */
export const NOTICE_LEASE_SECONDS = 60;

/** Tell the thread about the build's status unless that was already done; returns the stored build. */
export async function announce(deps: AnnounceDeps, build: Build, ctx: ViewContext): Promise<Build> {
  if (build.NotifiedStatus === build.Status) return build;
  const status = build.Status;
  const log = deps.log.child({ buildId: build.BuildID, status });

  // Take the lease first: of two handlers announcing the same status at once, one posts. The
  // lease does not require the status to be current: a status passed quickly is still told.
  const staleBefore = new Date(ctx.now.getTime() - NOTICE_LEASE_SECONDS * 1000).toISOString();
  const lease = await deps.store.update(
    build.BuildID,
    { status: STATUSES, noticeFree: { status, staleBefore } },
    { NotifyingStatus: status, NotifyingSince: ctx.now.toISOString() },
  );
  if (!lease.ok) {
    log.info('another handler is announcing this status', { current: lease.current?.Status });
    return lease.current ?? build;
  }
  const leased = lease.build;
  if (leased.NotifiedStatus === status) return leased; // posted by another handler meanwhile
  // Read from a stale copy (an index is eventually consistent) after a newer status was told:
  // telling the older one now would put it below the newer in the thread.
  if (leased.Status !== status && leased.NotifiedStatus === leased.Status) return leased;

  // The message tells the status being announced, with what the record holds now.
  const told: Build = { ...leased, Status: status };
  const message = threadMessage(told, ctx);
  const tag = { buildId: build.BuildID, status };
  try {
    // An earlier attempt held this status's lease: its post may have landed with the answer
    // lost. The thread is asked (the reply's metadata) before posting again.
    const postedBefore =
      build.NotifyingStatus === status && (await deps.chat.hasTagged(leased.Channel, leased.ThreadTs, tag));
    if (postedBefore) log.info('the thread already has this status message; not posted again');
    // The reply and the card redraw at once: on the bot's path both fit Slack's 3 s only side
    // by side (refreshCard logs its failures and never throws).
    await Promise.all([
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
      closeWarning(deps, told, ctx),
    ]);
  } catch (error) {
    // Give the lease back so the redelivery that follows this throw may post at once.
    await deps.store
      .update(build.BuildID, { status: STATUSES, equals: { NotifyingStatus: status } }, { NotifyingSince: new Date(0).toISOString() })
      .catch((releaseError: unknown) => log.warn('could not give back the notice lease', { error: releaseError }));
    throw error;
  }
  // A final message that carried ActualCost told the final figure: no "Final cost" reply follows
  // (events/instance-state.ts). Written with NotifiedStatus, so nobody sees one without the other.
  const costTold = isFinal(status) && told.ActualCost !== undefined && told.CostToldAt === undefined;
  const result = await deps.store.update(
    build.BuildID,
    { status: [status] },
    { NotifiedStatus: status, ...(costTold ? { CostToldAt: ctx.now.toISOString() } : {}) },
  );
  // The end of the build reaches its requester directly too (after the thread, which it links).
  if (isFinal(status)) await tellRequester(deps, told, status, ctx);
  if (result.ok) return result.build;
  // The status moved on meanwhile; whoever moved it announces the new one.
  log.info('status changed while announcing', { current: result.current?.Status });
  return result.current ?? leased;
}
