import type { Build, Status } from './build';
import { capLogTail, expirationTime, instanceStateRank, isActive, isFinal, isInstanceEnding } from './build';
import type { PhaseReport } from './events';
import { isSelftest } from './build-kind';
import { endedByDeadline } from './lifetime';
import type { BuildEvent, Case, Effect, Entry, EventOf, Guard, GuardAddition, TableEvent } from './status-table';
import { STATUS_TABLE } from './status-table';

// docs/design.md "Statuses and the status table": every pair of status and event has an
// answer. Most rows are data (domain/status-table), read here by `decide`; instance-state and
// phase need more than a row can say and are functions below. A duplicate or late event is
// `none`, never an error.

export type { BuildEvent, Effect, Guard } from './status-table';

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

export function transition(build: Build, event: BuildEvent, now: Date): Decision {
  switch (event.type) {
    case 'instance-state':
      return instanceState(build, event, now);
    case 'phase':
      return phase(build, event.detail, now);
    default:
      return decide(entryOf(event.type), { build, event, now, at: now.toISOString() });
  }
}

function entryOf<T extends TableEvent['type']>(type: T): Entry<EventOf<T>> {
  return STATUS_TABLE[type];
}

/** One event's rows: the first whose `from` takes the stored status decides. */
function decide<E extends TableEvent>(entry: Entry<E>, c: Case<E>): Decision {
  const status = c.build.Status;
  const row = entry.rows.find((r) => (typeof r.from === 'function' ? r.from(status) : r.from.includes(status)));
  if (!row) return none(entry.otherwise(status, c.event));
  const refused = row.check?.(c);
  if (refused !== undefined) return none(refused);
  const effects = typeof row.effects === 'function' ? row.effects(c) : [...(row.effects ?? [])];
  if (row.to === undefined && row.set === undefined) return { kind: 'effects', effects };
  return write(c.build, c.now, { to: row.to, set: row.set?.(c) ?? {}, guard: row.guard?.(c), effects });
}

interface Write {
  to?: Status;
  set: Partial<Build>;
  guard?: GuardAddition;
  effects?: Effect[];
}

/** A write conditional on the stored status; a new status brings Status, and ExpirationTime into a final one. */
function write(build: Build, now: Date, w: Write): Decision {
  const { to } = w;
  const entering: Partial<Build> = to === undefined ? {} : isFinal(to) ? { Status: to, ExpirationTime: expirationTime(now) } : { Status: to };
  return {
    kind: 'write',
    guard: { status: [build.Status], ...w.guard },
    set: { ...w.set, ...entering },
    ...(to === undefined ? {} : { to }),
    effects: w.effects ?? [],
  };
}

function instanceState(build: Build, event: EventOf<'instance-state'>, now: Date): Decision {
  const forward = !build.InstanceState || instanceStateRank(event.state) > instanceStateRank(build.InstanceState);
  const ending = isInstanceEnding(event.state);
  const firstEnd = ending && !build.TerminatedAt;
  // Every ending delivery, not only the first: a count or a schedule removal that failed is
  // retried with the event. The slot goes once, with the first.
  const endingEffects: Effect[] = ending ? ['drop-deadline', 'count-final-cost'] : [];
  if (!forward && !firstEnd) {
    if (ending) return { kind: 'effects', effects: endingEffects };
    return none(`instance state ${event.state} is not ahead of ${build.InstanceState}`);
  }

  const moved: Partial<Build> = forward ? { InstanceState: event.state } : {};
  const onlyForward: GuardAddition = forward ? { instanceStateBefore: event.state } : {};
  if (!firstEnd) return write(build, now, { set: moved, guard: onlyForward, effects: endingEffects });

  const ended: Partial<Build> = {
    ...moved,
    TerminatedAt: event.at,
    ...(event.actualCost !== undefined ? { ActualCost: event.actualCost } : {}),
  };
  // The slot first: counting and the schedule never keep it (docs/design.md "Safety before bookkeeping").
  const once = { set: ended, guard: { ...onlyForward, absent: ['TerminatedAt'] }, effects: ['release-slot', ...endingEffects] } satisfies Write;
  if (!isActive(build.Status)) return write(build, now, once);
  // Ended at its deadline while still active: the deadline's schedule ended it (or the
  // guest's own shutdown backstop), which is a forced end with its critical mail.
  const due = build.DeadlineAt ? new Date(build.DeadlineAt) : undefined;
  const why: Partial<Build> =
    due && endedByDeadline(due, event.at) ? { TerminationReason: 'forced', ForcedTermination: true } : { TerminationReason: 'unexpected' };
  return write(build, now, { ...once, to: 'terminated', set: { ...ended, ...why, CompletionTime: event.at } });
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
  const onInstance: GuardAddition = { equals: { InstanceID: build.InstanceID } };

  switch (d.phase) {
    case 'cloning':
    case 'building': {
      if (s !== 'launching' && s !== 'building') return none(`phase ${d.phase} in ${s}`);
      if (s === 'building' && build.Phase === 'building' && d.phase === 'cloning') return none('cloning after building');
      if (s === 'building' && build.Phase === d.phase) return none(`phase ${d.phase} again`);
      const set: Partial<Build> = {
        Phase: d.phase,
        PhaseAt: at,
        ...(d.actualCommit ? { ActualCommit: d.actualCommit } : {}),
        ...(d.phase === 'building' && !build.BuildStartTime ? { BuildStartTime: at } : {}),
      };
      return write(build, now, { ...(s === 'launching' ? { to: 'building' as const } : {}), set, guard: onInstance });
    }
    case 'uploading':
      if (s !== 'building') return none(`phase uploading in ${s}`);
      return write(build, now, { to: 'uploading', set: { Phase: 'uploading', PhaseAt: at }, guard: onInstance });

    case 'completed':
      return finished(build, 'completed', d.at, now, ['building', 'uploading'], {
        Phase: 'completed',
        CompletionTime: at,
        ...(d.artifact ? { ArtifactKey: d.artifact.key, ArtifactSha256: d.artifact.sha256, ArtifactBytes: d.artifact.bytes } : {}),
        ...(d.durationSeconds !== undefined ? { BuildDurationSeconds: d.durationSeconds } : {}),
        ...(d.actualCommit ? { ActualCommit: d.actualCommit } : {}),
        ...(d.logKey ? { LogKey: d.logKey } : {}),
        ...selftestChecksOf(build, d),
      });
    case 'failed':
      return finished(build, 'failed', d.at, now, ['launching', 'building', 'uploading'], {
        Phase: 'failed',
        CompletionTime: at,
        ErrorMessage: d.message ?? 'The build failed (the runner gave no message).',
        ...(d.logTail !== undefined ? { LogTail: capLogTail(d.logTail) } : {}),
        ...(d.logKey ? { LogKey: d.logKey } : {}),
        ...(d.durationSeconds !== undefined ? { BuildDurationSeconds: d.durationSeconds } : {}),
        ...selftestChecksOf(build, d),
      });
  }
}

/** A self-test's checks; a build's machine has none to report, so any it sends is not kept. */
function selftestChecksOf(build: Build, d: PhaseReport): Partial<Build> {
  return d.checks && isSelftest(build) ? { SelftestChecks: d.checks } : {};
}

/** The runner's end, from the statuses it may end, or late after an unexpected end. */
function finished(build: Build, to: 'completed' | 'failed', at: string, now: Date, from: readonly Status[], set: Partial<Build>): Decision {
  // A finish from building or uploading adds its time to the history; a late finish (the runner's `at`) does not.
  const effects: Effect[] = to === 'completed' ? ['record-completion'] : [];
  if (from.includes(build.Status)) return write(build, now, { to, set, guard: { equals: { InstanceID: build.InstanceID } }, effects });
  if (lateAfterUnexpectedEnd(build, at, now)) return lateFinish(build, to, set, at, now);
  return none(`phase ${to} in ${build.Status}`);
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
  return write(build, now, {
    to,
    set: { ...set, CompletionTime: completion },
    guard: { equals: { TerminationReason: 'unexpected', InstanceID: build.InstanceID } },
  });
}
