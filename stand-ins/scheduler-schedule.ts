// The schedule record of the EventBridge Scheduler stand-in (stand-ins/scheduler.ts) and the
// checks CreateSchedule/UpdateSchedule make before storing one. Field names and timestamp
// encoding (epoch seconds, as @aws-sdk/client-scheduler's restJson1 codec writes and reads them)
// are the wire's, so a stored schedule is echoed back by GetSchedule without translation.

export const TERMINATE_INSTANCES_TARGET = 'arn:aws:scheduler:::aws-sdk:ec2:terminateInstances';

export interface RetryPolicy {
  MaximumEventAgeInSeconds?: number;
  MaximumRetryAttempts?: number;
}

export interface ScheduleTarget {
  Arn: string;
  RoleArn: string;
  Input?: string;
  RetryPolicy?: RetryPolicy;
  DeadLetterConfig?: { Arn?: string };
}

export interface FlexibleTimeWindow {
  Mode: 'OFF' | 'FLEXIBLE';
  MaximumWindowInMinutes?: number;
}

export interface Schedule {
  Arn: string;
  Name: string;
  GroupName: string;
  ScheduleExpression: string;
  ScheduleExpressionTimezone: string;
  FlexibleTimeWindow: FlexibleTimeWindow;
  Target: ScheduleTarget;
  ActionAfterCompletion: 'NONE' | 'DELETE';
  State: 'ENABLED' | 'DISABLED';
  Description?: string;
  StartDate?: number;
  EndDate?: number;
  KmsKeyArn?: string;
  /** Epoch seconds. */
  CreationDate: number;
  /** Epoch seconds. */
  LastModificationDate: number;
  /** Stand-in bookkeeping, never on the wire: when a one-time schedule with ActionAfterCompletion NONE fired. */
  firedAt?: Date;
  /** The ClientToken of the CreateSchedule that made it, so the SDK's retry of a create whose answer was lost succeeds. */
  clientToken?: string;
}

/** What CreateSchedule and UpdateSchedule carry in their body (the SDK sends Name in the path). */
export interface ScheduleBody {
  ScheduleExpression?: unknown;
  ScheduleExpressionTimezone?: unknown;
  FlexibleTimeWindow?: { Mode?: unknown; MaximumWindowInMinutes?: unknown };
  Target?: {
    Arn?: unknown;
    RoleArn?: unknown;
    Input?: unknown;
    RetryPolicy?: { MaximumEventAgeInSeconds?: unknown; MaximumRetryAttempts?: unknown };
    DeadLetterConfig?: { Arn?: unknown };
  };
  ActionAfterCompletion?: unknown;
  State?: unknown;
  Description?: unknown;
  GroupName?: unknown;
  StartDate?: unknown;
  EndDate?: unknown;
  KmsKeyArn?: unknown;
  ClientToken?: unknown;
}

export class SchedulerError extends Error {
  constructor(
    readonly type: 'ValidationException' | 'ResourceNotFoundException' | 'ConflictException' | string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string) => new SchedulerError('ValidationException', 400, message);

// AWS's own patterns for schedule and group names.
const NAME_PATTERN = /^[0-9a-zA-Z\-_.]{1,64}$/;
const AT_PATTERN = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/;

export function checkName(name: string, what: string): void {
  if (!NAME_PATTERN.test(name)) throw invalid(`${what} '${name}' must match [0-9a-zA-Z-_.]{1,64}`);
}

/**
 * The start of the minute an `at(...)` expression names, in UTC. AWS fires a one-time schedule
 * somewhere inside that minute whatever seconds the expression gives, so the seconds only
 * need to be valid.
 */
export function atMinute(expression: string): Date {
  const m = AT_PATTERN.exec(expression);
  if (!m) throw invalid(`Invalid Schedule Expression ${expression}. The stand-in supports only at(yyyy-mm-ddThh:mm:ss)`);
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls 2026-02-30 over into March; a real calendar date reads back unchanged.
  const roundTrips =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  if (!roundTrips) throw invalid(`Invalid Schedule Expression ${expression}.`);
  date.setUTCSeconds(0, 0);
  return date;
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`${field} must be a string`);
  return value;
}

function requiredString(value: unknown, field: string): string {
  const text = optionalString(value, field);
  if (text === undefined || text.length === 0) throw invalid(`1 validation error detected: ${field} must not be null`);
  return text;
}

function optionalInteger(value: unknown, field: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw invalid(`${field} must be an integer between ${min} and ${max}`);
  return value;
}

function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) throw invalid(`${field} must be one of ${allowed.join(', ')}`);
  return value as T;
}

function checkTarget(target: ScheduleBody['Target']): ScheduleTarget {
  if (!target || typeof target !== 'object') throw invalid('1 validation error detected: Target must not be null');
  const checked: ScheduleTarget = {
    Arn: requiredString(target.Arn, 'Target.Arn'),
    RoleArn: requiredString(target.RoleArn, 'Target.RoleArn'),
  };
  const input = optionalString(target.Input, 'Target.Input');
  if (input !== undefined) checked.Input = input;
  if (target.RetryPolicy) {
    const policy: RetryPolicy = {};
    const age = optionalInteger(target.RetryPolicy.MaximumEventAgeInSeconds, 'Target.RetryPolicy.MaximumEventAgeInSeconds', 60, 86_400);
    const attempts = optionalInteger(target.RetryPolicy.MaximumRetryAttempts, 'Target.RetryPolicy.MaximumRetryAttempts', 0, 185);
    if (age !== undefined) policy.MaximumEventAgeInSeconds = age;
    if (attempts !== undefined) policy.MaximumRetryAttempts = attempts;
    checked.RetryPolicy = policy;
  }
  if (target.DeadLetterConfig) {
    const arn = optionalString(target.DeadLetterConfig.Arn, 'Target.DeadLetterConfig.Arn');
    checked.DeadLetterConfig = arn === undefined ? {} : { Arn: arn };
  }
  if (checked.Arn === TERMINATE_INSTANCES_TARGET && checked.Input !== undefined) {
    // AWS checks a universal target's Input against the API's own request shape only when it
    // invokes it; checking it here already makes a malformed deadline fail at creation, in tests.
    try {
      JSON.parse(checked.Input);
    } catch {
      throw invalid('Target.Input must be valid JSON for a universal target');
    }
  }
  return checked;
}

function checkWindow(window: ScheduleBody['FlexibleTimeWindow']): FlexibleTimeWindow {
  if (!window || typeof window !== 'object') throw invalid('1 validation error detected: FlexibleTimeWindow must not be null');
  if (window.Mode === undefined || window.Mode === null) throw invalid('1 validation error detected: FlexibleTimeWindow.Mode must not be null');
  const mode = oneOf(window.Mode, 'FlexibleTimeWindow.Mode', ['OFF', 'FLEXIBLE'] as const, 'OFF');
  const minutes = optionalInteger(window.MaximumWindowInMinutes, 'FlexibleTimeWindow.MaximumWindowInMinutes', 1, 1440);
  if (mode === 'FLEXIBLE' && minutes === undefined) throw invalid('MaximumWindowInMinutes is required when Mode is FLEXIBLE');
  if (mode === 'OFF' && minutes !== undefined) throw invalid('MaximumWindowInMinutes must not be set when Mode is OFF');
  return minutes === undefined ? { Mode: mode } : { Mode: mode, MaximumWindowInMinutes: minutes };
}

/** Checks a Create/UpdateSchedule body and builds the record it stores (dates and ARN from the caller). */
export function scheduleFromBody(name: string, body: ScheduleBody, stamps: { arn: string; groupName: string; creationDate: number; now: number }): Schedule {
  checkName(name, 'Name');
  const expression = requiredString(body.ScheduleExpression, 'ScheduleExpression');
  atMinute(expression);
  const timezone = optionalString(body.ScheduleExpressionTimezone, 'ScheduleExpressionTimezone') ?? 'UTC';
  if (timezone !== 'UTC') throw invalid(`The stand-in supports only ScheduleExpressionTimezone UTC, got ${timezone}`);
  const schedule: Schedule = {
    Arn: stamps.arn,
    Name: name,
    GroupName: stamps.groupName,
    ScheduleExpression: expression,
    ScheduleExpressionTimezone: timezone,
    FlexibleTimeWindow: checkWindow(body.FlexibleTimeWindow),
    Target: checkTarget(body.Target),
    ActionAfterCompletion: oneOf(body.ActionAfterCompletion, 'ActionAfterCompletion', ['NONE', 'DELETE'] as const, 'NONE'),
    State: oneOf(body.State, 'State', ['ENABLED', 'DISABLED'] as const, 'ENABLED'),
    CreationDate: stamps.creationDate,
    LastModificationDate: stamps.now,
  };
  const description = optionalString(body.Description, 'Description');
  if (description !== undefined) {
    if (description.length > 512) throw invalid('Description must be at most 512 characters');
    schedule.Description = description;
  }
  // One-time schedules ignore StartDate and EndDate in AWS; they are kept only to be read back.
  if (typeof body.StartDate === 'number') schedule.StartDate = body.StartDate;
  if (typeof body.EndDate === 'number') schedule.EndDate = body.EndDate;
  const kms = optionalString(body.KmsKeyArn, 'KmsKeyArn');
  if (kms !== undefined) schedule.KmsKeyArn = kms;
  return schedule;
}

/** The wire form GetSchedule answers: the record without the stand-in's own bookkeeping. */
export function wireSchedule(schedule: Schedule): Record<string, unknown> {
  const { firedAt: _firedAt, clientToken: _clientToken, ...wire } = schedule;
  return wire;
}

export function copySchedule(schedule: Schedule): Schedule {
  return structuredClone(schedule);
}
