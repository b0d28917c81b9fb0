import type { Build } from './build';
import { isFinal, isRunning } from './build';
import type { BuildLimits } from './build-choice';

// When a build or a machine has lived too long. Pure: the watchdog and the bot read the clock
// and pass it in.

/** A build's limits (domain/build-choice.ts `limitsOf`): never the settings' MAX_LIFETIME_HOURS alone. */
type Limit = Pick<BuildLimits, 'limitHours'>;

const HOUR = 3600_000;
const MINUTE = 60_000;
/** A build approved or running without a machine for this long is stuck. */
export const STUCK_MINUTES = 10;
/** A tagged machine whose record is missing or final this long is an orphan. */
export const ORPHAN_GRACE_MINUTES = 15;
/** A finished build's machine should power itself off within this. */
export const SHUTDOWN_GRACE_MINUTES = 15;

export function ageMs(since: string, now: Date): number {
  return now.getTime() - Date.parse(since);
}

/** Hours a machine may live: the limit plus what approvers added. */
export function lifetimeHours(limits: Limit, extendedHours?: number): number {
  return limits.limitHours + (extendedHours ?? 0);
}

/** The moment the watchdog terminates this machine. */
export function deadline(launchTime: string, limits: Limit, extendedHours?: number): Date {
  return new Date(Date.parse(launchTime) + lifetimeHours(limits, extendedHours) * HOUR);
}

/**
 * The build's deadline: DeadlineAt as recorded (docs/design.md "Deadlines"), or for a record
 * written before DeadlineAt existed, LaunchTime + the build's limit + extensions.
 */
export function deadlineOf(build: Pick<Build, 'DeadlineAt' | 'LaunchTime' | 'ExtendedHours'>, limits: Limit): Date | undefined {
  if (build.DeadlineAt) return new Date(build.DeadlineAt);
  return build.LaunchTime ? deadline(build.LaunchTime, limits, build.ExtendedHours) : undefined;
}

/**
 * When the deadline's schedule is set: the minute before the deadline's minute. Scheduler fires
 * at any second of the scheduled minute, so the machine is told to end between 2 minutes and
 * 1 s before its deadline, never after: the card's maximum holds.
 */
export function scheduleMinute(deadlineAt: Date): Date {
  return new Date(Math.floor(deadlineAt.getTime() / MINUTE) * MINUTE - MINUTE);
}

/** An extension this close to the schedule's minute could land after the machine was told to end. */
export const EXTEND_CUTOFF_MINUTES = 3;

/** An Extend adds this much; the bot (bot/extension.ts) and the warning's button agree on it. */
export const EXTENSION_HOURS = 1;

export function tooCloseToExtend(deadlineAt: Date, now: Date): boolean {
  return scheduleMinute(deadlineAt).getTime() - now.getTime() < EXTEND_CUTOFF_MINUTES * MINUTE;
}

/** A machine ending this close to its deadline (or later) was ended by it: `forced`, not `unexpected`. */
export const FORCED_END_MARGIN_MINUTES = 2;

export function endedByDeadline(deadlineAt: Date, endedAt: string): boolean {
  return Date.parse(endedAt) >= deadlineAt.getTime() - FORCED_END_MARGIN_MINUTES * MINUTE;
}

export function isApprovalStale(build: Pick<Build, 'Status' | 'CreatedAt'>, limits: { approvalTtlMinutes: number }, now: Date): boolean {
  return build.Status === 'awaiting_approval' && ageMs(build.CreatedAt, now) >= limits.approvalTtlMinutes * MINUTE;
}

/**
 * When a machine's lifetime began, for every age rule. EC2 resets LaunchTime on each start, so
 * a stop and start would hand the machine a fresh lifetime. The record's LaunchTime is the first
 * launch and is written once: it is the build's own machine's start. Any other machine of a
 * recorded build (a second one) counts from the earlier of the two, so it cannot look younger
 * than the build either. Only a machine without a record has nothing but EC2's time.
 */
export function lifeStart(build: Partial<Pick<Build, 'InstanceID' | 'LaunchTime'>> | undefined, machine: { instanceId: string; launchTime: string }): string {
  if (!build?.LaunchTime) return machine.launchTime;
  if (build.InstanceID === machine.instanceId) return build.LaunchTime;
  return Date.parse(build.LaunchTime) <= Date.parse(machine.launchTime) ? build.LaunchTime : machine.launchTime;
}

export type MachineVerdict = 'ok' | 'warn' | 'force';

/** `since` is when the machine's lifetime began (`lifeStart`), never EC2's LaunchTime alone. */
export function machineVerdict(
  since: string,
  build: Pick<Build, 'WarnedAt' | 'ExtendedHours'>,
  limits: Pick<BuildLimits, 'limitHours' | 'warnAfterHours'>,
  now: Date,
): MachineVerdict {
  const age = ageMs(since, now);
  if (age >= lifetimeHours(limits, build.ExtendedHours) * HOUR) return 'force';
  if (age >= limits.warnAfterHours * HOUR && !build.WarnedAt) return 'warn';
  return 'ok';
}

/** Approved (or handed a slot from the queue), but no machine after STUCK_MINUTES: the launch never happened. */
export function isStuckWithoutLaunch(build: Pick<Build, 'Status' | 'InstanceID' | 'ApprovedAt' | 'DequeuedAt' | 'CreatedAt'>, now: Date): boolean {
  return build.Status === 'approved' && !build.InstanceID && ageMs(build.DequeuedAt ?? build.ApprovedAt ?? build.CreatedAt, now) >= STUCK_MINUTES * MINUTE;
}

/** A queued build not handed a slot within QUEUE_TTL_HOURS of joining the queue expires. */
export function isQueueStale(build: Pick<Build, 'Status' | 'QueuedAt' | 'CreatedAt'>, queueTtlHours: number, now: Date): boolean {
  return build.Status === 'queued' && ageMs(build.QueuedAt ?? build.CreatedAt, now) >= queueTtlHours * HOUR;
}

/** A queue head handed a slot this long ago without a machine: its `Build Approved` is put again. */
export const HANDED_LAUNCH_RETRY_MINUTES = 2;

/**
 * Running according to the record, but EC2 shows no live machine for it. `since` is the last
 * moment the record changed in a way that proves life (launch); the grace absorbs EC2's
 * eventual consistency right after RunInstances.
 */
export function isStuckWithoutMachine(build: Pick<Build, 'Status' | 'LaunchTime' | 'ApprovedAt' | 'CreatedAt'>, machineAlive: boolean, now: Date): boolean {
  if (!isRunning(build.Status) || machineAlive) return false;
  return ageMs(build.LaunchTime ?? build.ApprovedAt ?? build.CreatedAt, now) >= STUCK_MINUTES * MINUTE;
}

/**
 * A tagged machine with no record, or a final one, for ORPHAN_GRACE_MINUTES. Given the machine's
 * `instanceId`, a second machine of an active build (a launch retried after a lost answer) is one
 * too, once it is older than the grace: the record names another instance, nothing would end it.
 * `launchTime` is the machine's `lifeStart`.
 */
export function isOrphan(
  build: (Pick<Build, 'Status' | 'CompletionTime' | 'TerminatedAt' | 'CreatedAt'> & Partial<Pick<Build, 'InstanceID'>>) | undefined,
  launchTime: string,
  now: Date,
  instanceId?: string,
): boolean {
  const grace = ORPHAN_GRACE_MINUTES * MINUTE;
  if (!build) return ageMs(launchTime, now) >= grace;
  if (!isFinal(build.Status)) {
    const stray = instanceId !== undefined && build.InstanceID !== undefined && build.InstanceID !== instanceId;
    return stray && ageMs(launchTime, now) >= grace;
  }
  if (build.Status === 'completed' || build.Status === 'failed') return false; // did-not-shut-down covers these
  return ageMs(build.CompletionTime ?? build.TerminatedAt ?? build.CreatedAt, now) >= grace;
}

/** EC2 moves a terminated machine out of `running` within seconds; still listed after this, the order failed. */
export const TERMINATE_RETRY_MINUTES = 2;

/**
 * The build's own machine, ordered ended (forced or cancelled), still live TERMINATE_RETRY_MINUTES
 * later: the TerminateInstances failed. It is ended again then, not after the orphan grace.
 */
export function outlivedTermination(build: Pick<Build, 'TerminationReason' | 'InstanceID' | 'CompletionTime'>, instanceId: string, now: Date): boolean {
  return (
    (build.TerminationReason === 'forced' || build.TerminationReason === 'cancelled') &&
    build.InstanceID === instanceId &&
    build.CompletionTime !== undefined &&
    ageMs(build.CompletionTime, now) >= TERMINATE_RETRY_MINUTES * MINUTE
  );
}

/**
 * The build's own machine still live at or past its deadline, whatever the status says (a build
 * that finished a minute before its limit and did not power off): no grace applies, the deadline
 * is the promise. A machine already ordered ended (forced, cancelled) is `outlivedTermination`'s.
 */
export function pastItsDeadline(
  build: Pick<Build, 'DeadlineAt' | 'LaunchTime' | 'ExtendedHours' | 'InstanceID' | 'TerminationReason'>,
  instanceId: string,
  limits: Limit,
  now: Date,
): boolean {
  if (build.TerminationReason === 'forced' || build.TerminationReason === 'cancelled') return false;
  const due = deadlineOf(build, limits);
  return build.InstanceID === instanceId && due !== undefined && now.getTime() >= due.getTime();
}

/** A completed or failed build's machine still up SHUTDOWN_GRACE_MINUTES after it finished. */
export function didNotShutDown(build: Pick<Build, 'Status' | 'CompletionTime'>, now: Date): boolean {
  return (
    (build.Status === 'completed' || build.Status === 'failed') &&
    build.CompletionTime !== undefined &&
    ageMs(build.CompletionTime, now) >= SHUTDOWN_GRACE_MINUTES * MINUTE
  );
}
