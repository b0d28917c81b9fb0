import type { Build, Status } from './build';
import { isFinal } from './build';

// docs/design.md "Delivery semantics": the decisions of the at-least-once notice protocol, one
// thread message per status. The steps that read and write around them are
// use-cases/announce.ts.
//
// Timeline it serves: handler A takes the lease on `building` at 10:00:00 and posts; its answer is
// lost. A's event is redelivered to B at 10:00:20: the lease is A's (taken within the last
// NOTICE_LEASE_SECONDS), so B stands back. At 10:01:05 the lease is stale; C takes it, sees the
// lease was held for this status before, asks the thread whether the message is there, and posts
// only if it is not.

/** How long a handler may hold the lease on a status's message before another may post it. */
export const NOTICE_LEASE_SECONDS = 60;

/** Leases taken before this time are free again. */
export function noticeLeaseStaleBefore(now: Date): string {
  return new Date(now.getTime() - NOTICE_LEASE_SECONDS * 1000).toISOString();
}

export type NoticeStep = { post: true; told: Build; askThreadFirst: boolean } | { post: false; reason: 'told already' | 'older than what the thread shows' };

/**
 * With the lease in hand: whether to post `status`, and the build as the message tells it (the
 * status being announced, with what the record holds now). `asRead` is the copy the caller
 * decided on, `leased` the record the lease write returned.
 */
export function noticeStep(asRead: Build, leased: Build, status: Status): NoticeStep {
  if (leased.NotifiedStatus === status) return { post: false, reason: 'told already' };
  // Read from a stale copy (an index is eventually consistent) after a newer status was told:
  // telling the older one now would put it below the newer in the thread.
  if (leased.Status !== status && leased.NotifiedStatus === leased.Status) return { post: false, reason: 'older than what the thread shows' };
  // An earlier attempt held this status's lease: its post may have landed with the answer lost.
  return { post: true, told: { ...leased, Status: status }, askThreadFirst: asRead.NotifyingStatus === status };
}

/**
 * A final message that carried ActualCost told the final figure, so no "Final cost" reply is to
 * follow (events/instance-state.ts): recorded with NotifiedStatus, so nobody sees one without the other.
 */
export function noticeToldCost(told: Build): boolean {
  return isFinal(told.Status) && told.ActualCost !== undefined && told.CostToldAt === undefined;
}
