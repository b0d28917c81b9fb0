import type { Build, BuildAttribute, InstanceState, Status } from './build';
import { capLogTail, expirationTime, instanceStateRank, isActive, isFinal, isInstanceEnding, isRunning } from './build';
import type { PhaseReport } from './events';
import { deadline, deadlineOf, endedByDeadline, tooCloseToExtend } from './lifetime';

// docs/design.md "Statuses and what each event does", as one total function. Every (status, event)
// pair has an answer; a duplicate or late event is `none`, never an error. The caller writes
// `set` under `guard` (a conditional write), so two deliveries racing each other cannot both win.

export type BuildEvent =
  /**
   * `secondOf` (SECOND_APPROVAL_ABOVE_USD): this approval completes the first approver's: the
   * write is conditional on that FirstApprover, who must be someone else.
   */
  | { type: 'approve'; by: string; secondOf?: string }
  /** The first of two approvals: recorded, no slot, no status change. */
  | { type: 'first-approve'; by: string }
  | { type: 'deny'; by: string }
  /** The bot's cancel: before launch it ends the build, after launch it asks the cancel handler. */
  | { type: 'cancel'; by: string }
  /** `eventTokenHash`: hex SHA-256 of the token put in the machine's build.json (never the token). */
  /** `maxLifetimeHours` fixes DeadlineAt (LaunchTime + the limit) with the launch. */
  | {
      type: 'launched';
      instanceId: string;
      instanceType: string;
      availabilityZone: string;
      launchTime: string;
      maxLifetimeHours: number;
      eventTokenHash?: string;
    }
  | { type: 'launch-failed'; message: string }
  /** `actualCost` is the cost from LaunchTime to `at`, computed by the caller with core/cost. */
  | { type: 'instance-state'; state: InstanceState; at: string; actualCost?: number }
  /** A phase whose event token the handler has checked. Its `at` and durations are the machine's word. */
  | { type: 'phase'; detail: PhaseReport }
  | { type: 'cancel-requested'; by: string }
  /**
   * The watchdog's forced end. With `launchTime` and `maxLifetimeHours` (what it judged by), the
   * deadline is checked again against the build as stored, and the write is conditional on the
   * ExtendedHours it saw: an extension landing between the watchdog's read and its write wins.
   */
  | { type: 'force'; launchTime?: string; maxLifetimeHours?: number }
  | { type: 'expire' }
  /**
   * The watchdog's "stuck" end. `expectInstanceId` (when given; null = none) is the InstanceID it
   * judged by: a build that got a machine meanwhile is not failed for having none.
   */
  | { type: 'stuck'; message: string; expectInstanceId?: string | null }
  | { type: 'warn' }
  | { type: 'extend'; by: string; hours: number; maxExtensionHours: number; maxLifetimeHours: number }
  /** The deadline's Scheduler schedule was set to `at` (for this machine): recorded so the watchdog can tell a stale one. */
  | { type: 'scheduled'; instanceId: string; at: string };

/** What must still hold when the write lands. */
export interface Guard {
  /** The stored Status must be one of these. */
  status: readonly Status[];
  /** Each listed attribute must be absent. */
  absent?: readonly BuildAttribute[];
  /** Each listed attribute must equal the given value. */
  equals?: Partial<Pick<Build, 'InstanceID' | 'TerminationReason' | 'ExtendedHours' | 'NotifyingStatus' | 'DeadlineAt' | 'FirstApprover'>>;
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
  | 'put-cancel-requested';

export type Decision =
  | {
      kind: 'write';
      guard: Guard;
      set: Partial<Build>;
      /** The new status when it changes; the thread is told of it. */
      to?: Status;
      effects: Effect[];
    }
  /** Nothing to write, but something to do (the bot's cancel of a running build). */
  | { kind: 'effects'; effects: Effect[] }
  | { kind: 'none'; reason: string };

const none = (reason: string): Decision => ({ kind: 'none', reason });

function change(build: Build, to: Status, set: Partial<Build>, now: Date, effects: Effect[] = []): Decision {
  const full: Partial<Build> = { ...set, Status: to };
  if (isFinal(to)) full.ExpirationTime = expirationTime(now);
  return { kind: 'write', guard: { status: [build.Status] }, set: full, to, effects };
}

function slotEffects(build: Build, to: Status): Effect[] {
  // A slot is held from approval until the machine is gone (core/slot-holding). A build that
  // ends without ever being approved gives back a slot a half-done approval may have left.
  // The bot's approve takes the slot, never the transition.
  if (isFinal(to) && !build.InstanceID && !build.ApprovedAt) return ['release-slot'];
  return [];
}

export function transition(build: Build, event: BuildEvent, now: Date): Decision {
  const at = now.toISOString();
  const s = build.Status;
  switch (event.type) {
    case 'approve': {
      if (s !== 'awaiting_approval') return none(`already ${s}`);
      const d = change(build, 'approved', { Approver: event.by, ApprovedAt: at }, now);
      if (event.secondOf === undefined) return d;
      if (build.FirstApprover !== event.secondOf) return none(`the first approval is ${build.FirstApprover ?? 'missing'}, not ${event.secondOf}`);
      if (event.by === event.secondOf) return none('one person cannot give both approvals');
      return withGuard(d, { equals: { FirstApprover: event.secondOf } });
    }

    case 'first-approve':
      if (s !== 'awaiting_approval') return none(`already ${s}`);
      if (build.FirstApprover !== undefined) return none(`first approval already given by ${build.FirstApprover}`);
      return { kind: 'write', guard: { status: [s], absent: ['FirstApprover'] }, set: { FirstApprover: event.by, FirstApprovedAt: at }, effects: [] };

    case 'deny':
      if (s !== 'awaiting_approval') return none(`already ${s}`);
      return change(build, 'rejected', { DeniedBy: event.by }, now, slotEffects(build, 'rejected'));

    case 'cancel':
      if (s === 'awaiting_approval' || s === 'approved')
        // An approved build's launch may be starting a machine right now: its slot is kept
        // until that has settled (core/slot-holding, the watchdog's reconciliation).
        return change(build, 'cancelled', { CancelledBy: event.by }, now, slotEffects(build, 'cancelled'));
      if (isRunning(s)) return { kind: 'effects', effects: ['put-cancel-requested'] };
      return none(`already ${s}`);

    case 'launched': {
      if (s !== 'approved' || build.InstanceID) return none(`launch recorded in ${s}`);
      const d = change(
        build,
        'launching',
        {
          InstanceID: event.instanceId,
          InstanceType: event.instanceType,
          AvailabilityZone: event.availabilityZone,
          LaunchTime: event.launchTime,
          DeadlineAt: deadline(event.launchTime, { maxLifetimeHours: event.maxLifetimeHours }).toISOString(),
          ...(event.eventTokenHash !== undefined ? { EventTokenHash: event.eventTokenHash } : {}),
        },
        now,
      );
      if (d.kind === 'write') d.guard = { status: ['approved'], absent: ['InstanceID'] };
      return d;
    }

    case 'launch-failed':
      if (s !== 'approved' || build.InstanceID) return none(`launch failure in ${s}`);
      return change(
        build,
        'failed',
        { ErrorMessage: event.message, CompletionTime: at },
        now,
        ['release-slot'],
      );

    case 'instance-state':
      return instanceState(build, event, now);

    case 'phase':
      return phase(build, event.detail, now);

    case 'cancel-requested':
      if (!isRunning(s)) return none(`cancel requested in ${s}`);
      return change(
        build,
        'cancelled',
        { CancelledBy: event.by, TerminationReason: 'cancelled', CompletionTime: at },
        now,
        ['terminate-instance'],
      );

    case 'force': {
      if (!isRunning(s)) return none(`force in ${s}`);
      const d = change(
        build,
        'terminated',
        { ForcedTermination: true, TerminationReason: 'forced', CompletionTime: at },
        now,
        ['terminate-instance'],
      );
      if (event.launchTime === undefined || event.maxLifetimeHours === undefined) return d;
      const limitHours = event.maxLifetimeHours + (build.ExtendedHours ?? 0);
      if (now.getTime() - Date.parse(event.launchTime) < limitHours * 3600_000)
        return none(`extended meanwhile: the limit is now ${limitHours} h`);
      return withGuard(d, build.ExtendedHours === undefined ? { absent: ['ExtendedHours'] } : { equals: { ExtendedHours: build.ExtendedHours } });
    }

    case 'expire':
      if (s !== 'awaiting_approval') return none(`expire in ${s}`);
      // Normally no slot is held here; a crash between the bot's two approval writes may leave one.
      return change(build, 'expired', {}, now, slotEffects(build, 'expired'));

    case 'stuck': {
      if (!isActive(s) || s === 'awaiting_approval') return none(`stuck in ${s}`);
      const d = change(
        build,
        'failed',
        { ErrorMessage: event.message, CompletionTime: at },
        now,
        // A machine that may exist is terminated too: nothing is left running. The slot waits for
        // the reconciliation either way (core/slot-holding): without an InstanceID, a launch may
        // have started a machine the record never learnt of; with one, the reconciliation first
        // records the machine's end and counts its cost into the month, which a slot freed here
        // would never bring back.
        build.InstanceID ? ['terminate-instance'] : [],
      );
      if (event.expectInstanceId === undefined) return d;
      if ((build.InstanceID ?? null) !== event.expectInstanceId) return none('the build got a machine meanwhile');
      return withGuard(d, build.InstanceID === undefined ? { absent: ['InstanceID'] } : { equals: { InstanceID: build.InstanceID } });
    }

    case 'warn':
      if (!isRunning(s) || build.WarnedAt) return none('already warned or not running');
      return { kind: 'write', guard: { status: [s], absent: ['WarnedAt'] }, set: { WarnedAt: at }, effects: [] };

    case 'extend': {
      if (!isRunning(s)) return none(`cannot extend a build that is ${s}`);
      if (!(event.hours > 0)) return none(`an extension must add time, got ${event.hours} h`);
      const current = build.ExtendedHours ?? 0;
      const next = current + event.hours;
      if (next > event.maxExtensionHours) return none(`extension limit of ${event.maxExtensionHours} h reached`);
      const limits = { maxLifetimeHours: event.maxLifetimeHours };
      const currentDeadline = deadlineOf(build, limits);
      if (!build.LaunchTime || !currentDeadline) return none('the machine has no launch time yet');
      // The schedule may already be ending the machine: an hour added now would be a promise
      // the thread cannot keep.
      if (tooCloseToExtend(currentDeadline, now)) return none('too close to the deadline to extend');
      // Conditional on the old value, so two clicks at once add one hour, not two.
      const guard: Guard =
        build.ExtendedHours === undefined
          ? { status: [s], absent: ['ExtendedHours'] }
          : { status: [s], equals: { ExtendedHours: current } };
      const DeadlineAt = deadline(build.LaunchTime, limits, next).toISOString();
      return { kind: 'write', guard, set: { ExtendedHours: next, DeadlineAt }, effects: [] };
    }

    case 'scheduled':
      if (!isRunning(s) || build.InstanceID !== event.instanceId) return none(`schedule for ${event.instanceId} in ${s}`);
      if (build.ScheduleAt === event.at) return none('schedule already recorded');
      return { kind: 'write', guard: { status: [s], equals: { InstanceID: event.instanceId } }, set: { ScheduleAt: event.at }, effects: [] };
  }
}

function instanceState(
  build: Build,
  event: Extract<BuildEvent, { type: 'instance-state' }>,
  now: Date,
): Decision {
  const forward = !build.InstanceState || instanceStateRank(event.state) > instanceStateRank(build.InstanceState);
  const ending = isInstanceEnding(event.state);
  const firstEnd = ending && !build.TerminatedAt;
  if (!forward && !firstEnd) return none(`instance state ${event.state} is not ahead of ${build.InstanceState}`);

  const set: Partial<Build> = {};
  const guard: Guard = { status: [build.Status] };
  if (forward) {
    set.InstanceState = event.state;
    guard.instanceStateBefore = event.state;
  }
  const effects: Effect[] = [];
  let to: Status | undefined;
  if (firstEnd) {
    set.TerminatedAt = event.at;
    if (event.actualCost !== undefined) set.ActualCost = event.actualCost;
    guard.absent = ['TerminatedAt'];
    effects.push('release-slot');
    if (isActive(build.Status)) {
      to = 'terminated';
      set.Status = to;
      // Ended at its deadline while still active: the deadline's schedule ended it (or the
      // guest's own shutdown backstop), which is a forced end with its critical mail.
      const due = build.DeadlineAt ? new Date(build.DeadlineAt) : undefined;
      if (due && endedByDeadline(due, event.at)) {
        set.TerminationReason = 'forced';
        set.ForcedTermination = true;
      } else {
        set.TerminationReason = 'unexpected';
      }
      set.CompletionTime ??= event.at;
      set.ExpirationTime = expirationTime(now);
    }
  }
  return { kind: 'write', guard, set, ...(to ? { to } : {}), effects };
}

/** How long after EC2's end a late `completed`/`failed` may still reopen the build (handler clock). */
export const LATE_PHASE_WINDOW_MINUTES = 15;

// The machine runs untrusted code and may lie about times: its `at` and `durationSeconds` are
// kept as information, and every time that drives a deadline or a cost (BuildStartTime,
// CompletionTime, which the did-not-shut-down rule counts from) is the handler's `now`.
function phase(build: Build, d: PhaseReport, now: Date): Decision {
  const s = build.Status;
  const at = now.toISOString();
  if (!build.InstanceID || d.instanceId !== build.InstanceID)
    return none(`phase from ${d.instanceId}, but the build's instance is ${build.InstanceID ?? 'none'}`);
  const onInstance: Guard['equals'] = { InstanceID: build.InstanceID };

  switch (d.phase) {
    case 'cloning':
    case 'building': {
      if (s !== 'launching' && s !== 'building') return none(`phase ${d.phase} in ${s}`);
      const set: Partial<Build> = { Phase: d.phase };
      if (d.actualCommit) set.ActualCommit = d.actualCommit;
      if (d.phase === 'building' && !build.BuildStartTime) set.BuildStartTime = at;
      if (s === 'building' && build.Phase === 'building' && d.phase === 'cloning') return none('cloning after building');
      if (s === 'building' && build.Phase === d.phase) return none(`phase ${d.phase} again`);
      return {
        kind: 'write',
        guard: { status: [s], equals: onInstance },
        set: s === 'building' ? set : { ...set, Status: 'building' },
        ...(s === 'building' ? {} : { to: 'building' as const }),
        effects: [],
      };
    }
    case 'uploading':
      if (s !== 'building') return none(`phase uploading in ${s}`);
      return withGuard(change(build, 'uploading', { Phase: 'uploading' }, now), { equals: onInstance });

    case 'completed': {
      const set: Partial<Build> = {
        Phase: 'completed',
        CompletionTime: at,
        ...(d.artifact ? { ArtifactKey: d.artifact.key, ArtifactSha256: d.artifact.sha256, ArtifactBytes: d.artifact.bytes } : {}),
        ...(d.durationSeconds !== undefined ? { BuildDurationSeconds: d.durationSeconds } : {}),
        ...(d.actualCommit ? { ActualCommit: d.actualCommit } : {}),
        ...(d.logKey ? { LogKey: d.logKey } : {}),
      };
      if (s === 'building' || s === 'uploading') return withGuard(change(build, 'completed', set, now), { equals: onInstance });
      if (lateAfterUnexpectedEnd(build, d.at, now)) return lateFinish(build, 'completed', set, d.at, now);
      return none(`phase completed in ${s}`);
    }
    case 'failed': {
      const set: Partial<Build> = {
        Phase: 'failed',
        CompletionTime: at,
        ErrorMessage: d.message ?? 'The build failed (the runner gave no message).',
        ...(d.logTail !== undefined ? { LogTail: capLogTail(d.logTail) } : {}),
        ...(d.logKey ? { LogKey: d.logKey } : {}),
        ...(d.durationSeconds !== undefined ? { BuildDurationSeconds: d.durationSeconds } : {}),
      };
      if (s === 'launching' || s === 'building' || s === 'uploading')
        return withGuard(change(build, 'failed', set, now), { equals: onInstance });
      if (lateAfterUnexpectedEnd(build, d.at, now)) return lateFinish(build, 'failed', set, d.at, now);
      return none(`phase failed in ${s}`);
    }
  }
}

/**
 * A phase that overtook an earlier one: the build is still `approved` (the launch's write has not
 * landed) or `launching` while the runner already uploads or finished. The status table would
 * make it a no-op and the news would be lost; the handler throws instead so EventBridge
 * delivers it again after the earlier events.
 */
export function phaseArrivedEarly(build: Build, d: Pick<PhaseReport, 'instanceId' | 'phase'>): boolean {
  if (build.Status === 'approved' && !build.InstanceID) return true;
  return build.Status === 'launching' && build.InstanceID === d.instanceId && (d.phase === 'uploading' || d.phase === 'completed');
}

/**
 * The one exception to "a final status never changes": the build did finish, its event was
 * late. It must ARRIVE (handler clock) within LATE_PHASE_WINDOW_MINUTES of EC2's TerminatedAt:
 * the machine's claim that it finished before the end (`at` ≤ TerminatedAt) is believed only
 * that long, so a machine cannot rewrite a build's end at any later time.
 */
function lateAfterUnexpectedEnd(build: Build, at: string, now: Date): boolean {
  if (build.Status !== 'terminated' || build.TerminationReason !== 'unexpected' || build.TerminatedAt === undefined) return false;
  const ended = Date.parse(build.TerminatedAt);
  return Date.parse(at) <= ended && now.getTime() - ended <= LATE_PHASE_WINDOW_MINUTES * 60_000;
}

/**
 * The machine is gone (TerminatedAt is EC2's), so CompletionTime drives no deadline here; it
 * takes the runner's `at`, kept between LaunchTime and TerminatedAt.
 */
function lateFinish(build: Build, to: 'completed' | 'failed', set: Partial<Build>, at: string, now: Date): Decision {
  const floor = build.LaunchTime !== undefined ? Date.parse(build.LaunchTime) : -Infinity;
  const completion = new Date(Math.max(Date.parse(at), floor)).toISOString();
  return {
    kind: 'write',
    guard: { status: ['terminated'], equals: { TerminationReason: 'unexpected', InstanceID: build.InstanceID } },
    set: { ...set, CompletionTime: completion, Status: to, ExpirationTime: expirationTime(now) },
    to,
    effects: [],
  };
}

/** Narrow a write's guard with more conditions. */
function withGuard(d: Decision, more: Pick<Guard, 'absent' | 'equals'>): Decision {
  if (d.kind !== 'write') return d;
  d.guard = {
    ...d.guard,
    ...(more.equals ? { equals: { ...d.guard.equals, ...more.equals } } : {}),
    ...(more.absent ? { absent: [...(d.guard.absent ?? []), ...more.absent] } : {}),
  };
  return d;
}
