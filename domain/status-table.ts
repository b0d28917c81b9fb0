import type { Build, BuildAttribute, InstanceState, Status } from './build';
import { isRunning, RUNNING_STATUSES } from './build';
import type { PhaseReport } from './events';
import { deadline, deadlineOf, tooCloseToExtend } from './lifetime';

// docs/design.md "What each event does", the rows as data. domain/transition reads them; the
// two events whose answer depends on more than a row can say (instance-state, phase) are
// functions there. A row never writes by itself: the caller writes `set` under the guard, so
// two deliveries racing each other cannot both win.

export type BuildEvent =
  /**
   * `secondOf` (SECOND_APPROVAL_ABOVE_USD): this approval completes the first approver's: the
   * write is conditional on that FirstApprover, who must be someone else.
   */
  /** `costEstimate`/`costMax`: today's re-quote, stored with the approval when it differs from the card's. */
  | { type: 'approve'; by: string; secondOf?: string; costEstimate?: number; costMax?: number }
  /** The first of two approvals: recorded, no slot, no status change. */
  /**
   * The first of two approvals. `replacing`: the first approval on record, whose giver may no
   * longer approve, is replaced by this one. `costEstimate`/`costMax`: today's re-quote, stored
   * with it when the price moved (a rise above SECOND_APPROVAL_ABOVE_USD is what made it a first).
   */
  | { type: 'first-approve'; by: string; replacing?: string; costEstimate?: number; costMax?: number }
  /**
   * Approved while every slot is taken, or while others wait (first come, first served): the
   * approval as `approve` records it, but the build waits in the queue. From `approved`: the
   * launch found the slot given back and others waiting.
   */
  | { type: 'queue'; by: string; secondOf?: string; costEstimate?: number; costMax?: number }
  /** A freed slot was handed to this build, the queue's head: it launches now. */
  | { type: 'dequeue' }
  | { type: 'deny'; by: string }
  /** The bot's cancel: before launch it ends the build, after launch it asks the cancel handler. */
  | { type: 'cancel'; by: string }
  /** `eventTokenHash`: hex SHA-256 of the token put in the machine's build.json (never the token). */
  /** `limitHours` (the build's LimitHours) fixes DeadlineAt (LaunchTime + the limit) with the launch. */
  | {
      type: 'launched';
      instanceId: string;
      instanceType: string;
      availabilityZone: string;
      launchTime: string;
      limitHours: number;
      eventTokenHash?: string;
      /** The root disk launched instead of the template's (a self-test), in GB. */
      rootVolumeGb?: number;
    }
  | { type: 'launch-failed'; message: string }
  /** `actualCost` is the cost from LaunchTime to `at`, computed by the caller with domain/cost. */
  | { type: 'instance-state'; state: InstanceState; at: string; actualCost?: number }
  /** A phase whose event token the handler has checked. Its `at` and durations are the machine's word. */
  | { type: 'phase'; detail: PhaseReport }
  | { type: 'cancel-requested'; by: string }
  /**
   * The watchdog's forced end. With `launchTime` and `limitHours` (what it judged by), the
   * deadline is checked again against the build as stored, and the write is conditional on the
   * ExtendedHours it saw: an extension landing between the watchdog's read and its write wins.
   */
  | { type: 'force'; launchTime?: string; limitHours?: number }
  | { type: 'expire' }
  /**
   * The watchdog's "stuck" end. `expectInstanceId` (when given; null = none) is the InstanceID it
   * judged by: a build that got a machine meanwhile is not failed for having none.
   */
  | { type: 'stuck'; message: string; expectInstanceId?: string | null }
  | { type: 'warn' }
  /** `seen`: ExtendedHours as the click saw it; decided again after a lost race, it no longer matches. */
  | { type: 'extend'; by: string; hours: number; maxExtensionHours: number; limitHours: number; seen: number }
  /** The deadline's Scheduler schedule was set to `at` (for this machine): recorded so the watchdog can tell a stale one. */
  | { type: 'scheduled'; instanceId: string; at: string }
  /** The watchdog's warning reached the thread; `ts` is its message, which later edits need. */
  | { type: 'warning-posted'; ts?: string }
  /** The watchdog found a completed/failed build's own machine still up, and is about to end it. */
  | { type: 'did-not-shut-down'; instanceId: string }
  /** A broadcast final message (completed, failed, terminated) went out before its cost was final: `ts`, to edit it when it is. */
  | { type: 'final-message-posted'; status: Status; ts: string };

/** What must still hold when the write lands. */
export interface Guard {
  /** The stored Status must be one of these. */
  status: readonly Status[];
  /** Each listed attribute must be absent. */
  absent?: readonly BuildAttribute[];
  /** Each listed attribute must equal the given value. */
  equals?: Partial<Pick<Build, 'InstanceID' | 'TerminationReason' | 'ExtendedHours' | 'NotifyingStatus' | 'DeadlineAt' | 'FirstApprover' | 'GithubStatus'>>;
  /** InstanceState must be absent or strictly earlier than this one. */
  instanceStateBefore?: InstanceState;
  /** Nobody holds a lease on this status's thread message that was taken at or after `staleBefore`. */
  noticeFree?: { status: Status; staleBefore: string };
}

export type Effect =
  /** Give the concurrency slot back. */
  | 'release-slot'
  /** Terminate the record's InstanceID. */
  | 'terminate-instance'
  /** Put `Build Cancel Requested` on the bus. */
  | 'put-cancel-requested'
  /** Remove the build's deadline schedule (its machine has ended). */
  | 'drop-deadline'
  /** Count the build's final cost into its launch month (docs/design.md "Spend control"). */
  | 'count-final-cost'
  /** Add a completed build's time to its instance type's history (docs/design.md "Cost model"). */
  | 'record-completion'
  /** Take the build out of the queue (`Queue` of `#slots`): it no longer waits for a slot. */
  | 'leave-queue';

/** What a row's guard adds to "the stored Status is the one decided on"; a `status` here replaces that one. */
export type GuardAddition = Partial<Guard>;

export type EventOf<T extends BuildEvent['type']> = Extract<BuildEvent, { type: T }>;

/** The events answered by rows alone. */
export type TableEvent = Exclude<BuildEvent, { type: 'instance-state' | 'phase' }>;

/** What a row decides on. `at` is `now` as stored. */
export interface Case<E extends BuildEvent = BuildEvent> {
  build: Build;
  event: E;
  now: Date;
  at: string;
}

export interface Row<E extends BuildEvent> {
  /** The stored statuses the row takes. */
  readonly from: readonly Status[] | ((status: Status) => boolean);
  /** What must hold besides the status: the `none` reason when it does not. */
  readonly check?: (c: Case<E>) => string | undefined;
  /** The new status; absent, the row writes attributes only (or, without `set`, nothing). */
  readonly to?: Status;
  /** The attributes written; Status, and ExpirationTime for a final one, follow from `to`. */
  readonly set?: (c: Case<E>) => Partial<Build>;
  readonly guard?: (c: Case<E>) => GuardAddition;
  readonly effects?: readonly Effect[] | ((c: Case<E>) => Effect[]);
}

export interface Entry<E extends BuildEvent> {
  /** The first row whose `from` takes the stored status decides. */
  readonly rows: readonly Row<E>[];
  /** The `none` reason in a status no row takes. */
  readonly otherwise: (status: Status, event: E) => string;
}

export type StatusTable = { readonly [T in TableEvent['type']]: Entry<EventOf<T>> };

// A slot is held from approval until the machine is gone (domain/slot-holding). A build that
// ends without ever being approved gives back a slot a half-done approval may have left.
// The bot's approve takes the slot, never the transition.
function slotOfUnapproved({ build }: { build: Build }): Effect[] {
  return !build.InstanceID && !build.ApprovedAt ? ['release-slot'] : [];
}

/** Conditional on the ExtendedHours as read, so an extension landing before the write makes it fail. */
function onExtendedHoursRead(build: Build): GuardAddition {
  return build.ExtendedHours === undefined ? { absent: ['ExtendedHours'] } : { equals: { ExtendedHours: build.ExtendedHours } };
}

function secondApproval({ build, event }: Case<EventOf<'approve' | 'queue'>>): string | undefined {
  if (event.secondOf === undefined) return undefined;
  if (build.FirstApprover !== event.secondOf) return `the first approval is ${build.FirstApprover ?? 'missing'}, not ${event.secondOf}`;
  if (event.by === event.secondOf) return 'one person cannot give both approvals';
  return undefined;
}

/** The watchdog's judgement against the build as stored: an extension may have landed since its read. */
function stillDue({ build, event, now }: Case<EventOf<'force'>>): string | undefined {
  if (event.launchTime === undefined || event.limitHours === undefined) return undefined;
  const limitHours = event.limitHours + (build.ExtendedHours ?? 0);
  if (now.getTime() - Date.parse(event.launchTime) < limitHours * 3600_000) return `extended meanwhile: the limit is now ${limitHours} h`;
  return undefined;
}

function extensionAllowed({ build, event, now }: Case<EventOf<'extend'>>): string | undefined {
  if (!(event.hours > 0)) return `an extension must add time, got ${event.hours} h`;
  // Two clicks at once add one hour: the budget held one hour for each click's own view.
  if ((build.ExtendedHours ?? 0) !== event.seen) return 'another approver extended it just now';
  if ((build.ExtendedHours ?? 0) + event.hours > event.maxExtensionHours) return `extension limit of ${event.maxExtensionHours} h reached`;
  const currentDeadline = deadlineOf(build, event);
  if (!build.LaunchTime || !currentDeadline) return 'the machine has no launch time yet';
  // The schedule may already be ending the machine: an hour added now would be a promise
  // the thread cannot keep.
  if (tooCloseToExtend(currentDeadline, now)) return 'too close to the deadline to extend';
  return undefined;
}

function extended({ build, event }: Case<EventOf<'extend'>>): Partial<Build> {
  const next = (build.ExtendedHours ?? 0) + event.hours;
  // extensionAllowed refused a build without LaunchTime.
  return { ExtendedHours: next, DeadlineAt: deadline(build.LaunchTime!, event, next).toISOString() };
}

export const STATUS_TABLE: StatusTable = {
  approve: {
    otherwise: (s) => `already ${s}`,
    rows: [
      {
        from: ['awaiting_approval'],
        check: secondApproval,
        to: 'approved',
        // Today's quote with the approval, before Build Approved: the launch judges instance prices by this CostMax.
        set: ({ event, at }) => ({
          Approver: event.by,
          ApprovedAt: at,
          ...(event.costEstimate !== undefined && event.costMax !== undefined ? { CostEstimate: event.costEstimate, CostMax: event.costMax } : {}),
        }),
        guard: ({ event }) => (event.secondOf === undefined ? {} : { equals: { FirstApprover: event.secondOf } }),
      },
    ],
  },

  queue: {
    otherwise: (s) => `already ${s}`,
    rows: [
      {
        from: ['awaiting_approval'],
        check: secondApproval,
        to: 'queued',
        set: ({ event, at }) => ({
          Approver: event.by,
          ApprovedAt: at,
          QueuedAt: at,
          ...(event.costEstimate !== undefined && event.costMax !== undefined ? { CostEstimate: event.costEstimate, CostMax: event.costMax } : {}),
        }),
        guard: ({ event }) => (event.secondOf === undefined ? {} : { equals: { FirstApprover: event.secondOf } }),
      },
      // The launch found no slot held for the build and others waiting: it waits its turn.
      {
        from: ['approved'],
        check: ({ build }) => (build.InstanceID ? `launch recorded in ${build.Status}` : undefined),
        to: 'queued',
        set: ({ at }) => ({ QueuedAt: at }),
        guard: () => ({ absent: ['InstanceID'] }),
      },
    ],
  },

  dequeue: {
    otherwise: (s) => `dequeue in ${s}`,
    rows: [{ from: ['queued'], to: 'approved', set: ({ at }) => ({ DequeuedAt: at }) }],
  },

  'first-approve': {
    otherwise: (s) => `already ${s}`,
    rows: [
      {
        from: ['awaiting_approval'],
        check: ({ build, event }) =>
          build.FirstApprover === event.replacing
            ? undefined
            : build.FirstApprover === undefined
              ? `no first approval by ${event.replacing} to replace`
              : `first approval already given by ${build.FirstApprover}`,
        set: ({ event, at }) => ({
          FirstApprover: event.by,
          FirstApprovedAt: at,
          ...(event.costEstimate !== undefined && event.costMax !== undefined ? { CostEstimate: event.costEstimate, CostMax: event.costMax } : {}),
        }),
        guard: ({ event }) => (event.replacing === undefined ? { absent: ['FirstApprover'] } : { equals: { FirstApprover: event.replacing } }),
      },
    ],
  },

  deny: {
    otherwise: (s) => `already ${s}`,
    rows: [{ from: ['awaiting_approval'], to: 'rejected', set: ({ event }) => ({ DeniedBy: event.by }), effects: slotOfUnapproved }],
  },

  cancel: {
    otherwise: (s) => `already ${s}`,
    rows: [
      // An approved build's launch may be starting a machine right now: its slot is kept
      // until that has settled (domain/slot-holding, the watchdog's reconciliation).
      { from: ['awaiting_approval', 'approved'], to: 'cancelled', set: ({ event }) => ({ CancelledBy: event.by }), effects: slotOfUnapproved },
      // A queued build holds no slot: it leaves the queue. (One handed a slot just now holds it as
      // an approved build does, until the watchdog sees no machine: domain/slot-holding.)
      { from: ['queued'], to: 'cancelled', set: ({ event }) => ({ CancelledBy: event.by }), effects: ['leave-queue'] },
      { from: isRunning, effects: ['put-cancel-requested'] },
    ],
  },

  launched: {
    otherwise: (s) => `launch recorded in ${s}`,
    rows: [
      {
        from: ['approved'],
        check: ({ build }) => (build.InstanceID ? `launch recorded in ${build.Status}` : undefined),
        to: 'launching',
        set: ({ event }) => ({
          InstanceID: event.instanceId,
          InstanceType: event.instanceType,
          AvailabilityZone: event.availabilityZone,
          LaunchTime: event.launchTime,
          DeadlineAt: deadline(event.launchTime, event).toISOString(),
          ...(event.eventTokenHash !== undefined ? { EventTokenHash: event.eventTokenHash } : {}),
          ...(event.rootVolumeGb !== undefined ? { RootVolumeGb: event.rootVolumeGb } : {}),
        }),
        guard: () => ({ absent: ['InstanceID'] }),
      },
    ],
  },

  'launch-failed': {
    otherwise: (s) => `launch failure in ${s}`,
    rows: [
      {
        from: ['approved'],
        check: ({ build }) => (build.InstanceID ? `launch failure in ${build.Status}` : undefined),
        to: 'failed',
        set: ({ event, at }) => ({ ErrorMessage: event.message, CompletionTime: at }),
        effects: ['release-slot'],
      },
    ],
  },

  'cancel-requested': {
    otherwise: (s) => `cancel requested in ${s}`,
    rows: [
      {
        from: isRunning,
        to: 'cancelled',
        set: ({ event, at }) => ({ CancelledBy: event.by, TerminationReason: 'cancelled', CompletionTime: at }),
        effects: ['terminate-instance'],
      },
    ],
  },

  force: {
    otherwise: (s) => `force in ${s}`,
    rows: [
      {
        from: isRunning,
        check: stillDue,
        to: 'terminated',
        set: ({ at }) => ({ ForcedTermination: true, TerminationReason: 'forced', CompletionTime: at }),
        guard: ({ build, event }) => (event.launchTime === undefined || event.limitHours === undefined ? {} : onExtendedHoursRead(build)),
        effects: ['terminate-instance'],
      },
    ],
  },

  expire: {
    otherwise: (s) => `expire in ${s}`,
    // Normally no slot is held here; a crash between the bot's two approval writes may leave one.
    rows: [
      { from: ['awaiting_approval'], to: 'expired', effects: slotOfUnapproved },
      // The watchdog's QUEUE_TTL_HOURS: the approval's hold is given back with the build (month books).
      { from: ['queued'], to: 'expired', effects: ['leave-queue'] },
    ],
  },

  stuck: {
    otherwise: (s) => `stuck in ${s}`,
    rows: [
      {
        from: ['approved', ...RUNNING_STATUSES],
        check: ({ build, event }) =>
          event.expectInstanceId !== undefined && (build.InstanceID ?? null) !== event.expectInstanceId ? 'the build got a machine meanwhile' : undefined,
        to: 'failed',
        set: ({ event, at }) => ({ ErrorMessage: event.message, CompletionTime: at }),
        guard: ({ build, event }) =>
          event.expectInstanceId === undefined
            ? {}
            : build.InstanceID === undefined
              ? { absent: ['InstanceID'] }
              : { equals: { InstanceID: build.InstanceID } },
        // A machine that may exist is terminated too: nothing is left running. The slot waits for
        // the reconciliation either way (domain/slot-holding): without an InstanceID, a launch may
        // have started a machine the record never learnt of; with one, the reconciliation first
        // records the machine's end and counts its cost into the month, which a slot freed here
        // would never bring back.
        effects: ({ build }) => (build.InstanceID ? ['terminate-instance'] : []),
      },
    ],
  },

  warn: {
    otherwise: () => 'already warned or not running',
    rows: [
      {
        from: isRunning,
        check: ({ build }) => (build.WarnedAt ? 'already warned or not running' : undefined),
        set: ({ at }) => ({ WarnedAt: at }),
        guard: () => ({ absent: ['WarnedAt'] }),
      },
    ],
  },

  extend: {
    otherwise: (s) => `cannot extend a build that is ${s}`,
    rows: [
      {
        from: isRunning,
        check: extensionAllowed,
        set: extended,
        // Conditional on the old value, so two clicks at once add one hour, not two.
        guard: ({ build }) => onExtendedHoursRead(build),
      },
    ],
  },

  scheduled: {
    otherwise: (s, event) => `schedule for ${event.instanceId} in ${s}`,
    rows: [
      {
        from: isRunning,
        check: ({ build, event }) =>
          build.InstanceID !== event.instanceId
            ? `schedule for ${event.instanceId} in ${build.Status}`
            : build.ScheduleAt === event.at
              ? 'schedule already recorded'
              : undefined,
        set: ({ event }) => ({ ScheduleAt: event.at }),
        guard: ({ event }) => ({ equals: { InstanceID: event.instanceId } }),
      },
    ],
  },

  'warning-posted': {
    otherwise: (s) => `warning posted in ${s}`,
    rows: [
      {
        from: isRunning,
        check: ({ build }) => (build.WarningPostedAt ? 'warning already posted' : undefined),
        set: ({ at, event }) => ({ WarningPostedAt: at, ...(event.ts !== undefined ? { WarningTs: event.ts } : {}) }),
        // Any running status: a build that moved from building to uploading meanwhile still has this warning.
        guard: () => ({ status: RUNNING_STATUSES, absent: ['WarningPostedAt'] }),
      },
    ],
  },

  'final-message-posted': {
    otherwise: (s, event) => `final message of ${event.status} posted in ${s}`,
    rows: [
      {
        from: (s) => s === 'completed' || s === 'failed' || s === 'terminated',
        check: ({ build, event }) =>
          build.Status !== event.status
            ? `final message of ${event.status} in ${build.Status}`
            : build.FinalMessageTs
              ? 'final message already recorded'
              : undefined,
        set: ({ event }) => ({ FinalMessageTs: event.ts }),
        guard: () => ({ absent: ['FinalMessageTs'] }),
      },
    ],
  },

  'did-not-shut-down': {
    otherwise: (s) => `did-not-shut-down in ${s}`,
    rows: [
      {
        // Recorded once, without a status change: of two overlapping watchdog runs one tells.
        from: ['completed', 'failed'],
        check: ({ build, event }) =>
          build.TerminationReason !== undefined
            ? `termination already recorded as ${build.TerminationReason}`
            : build.InstanceID !== event.instanceId
              ? `${event.instanceId} is not the build's machine`
              : undefined,
        set: () => ({ TerminationReason: 'did-not-shut-down' }),
        guard: ({ event }) => ({ absent: ['TerminationReason'], equals: { InstanceID: event.instanceId } }),
      },
    ],
  },
};
