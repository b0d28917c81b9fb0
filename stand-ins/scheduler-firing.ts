import { EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';

import type { Schedule } from './scheduler-schedule';
import { atMinute, TERMINATE_INSTANCES_TARGET } from './scheduler-schedule';

// How the Scheduler stand-in invokes a due schedule's target. Only the universal target for
// EC2 TerminateInstances has an effect, and it goes through a real EC2Client to `ec2Endpoint`,
// so whatever stands in for EC2 sees exactly the Query request AWS's own invocation would make.

export interface Fired {
  name: string;
  groupName: string;
  /** The clock's time when the stand-in invoked the target (fireDue may run later than `due`). */
  at: Date;
  /** The instant inside the scheduled minute at which AWS would have fired. */
  due: Date;
  targetArn: string;
  instanceIds: string[];
  /** False when every attempt failed (then a dead letter was recorded). */
  ok: boolean;
  attempts: number;
}

export interface DeadLetter {
  name: string;
  groupName: string;
  at: Date;
  /** The schedule's DeadLetterConfig.Arn; undefined when none was configured, where AWS would drop the event. */
  deadLetterArn: string | undefined;
  error: string;
  attempts: number;
}

export interface FiringOptions {
  ec2Endpoint: string | undefined;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  fireSecond: number;
}

// AWS's default when a target has no RetryPolicy.
const DEFAULT_RETRY_ATTEMPTS = 185;

/**
 * When AWS would fire: `fireSecond` into the scheduled minute, and with a FLEXIBLE window as
 * late as the window allows, since the stand-in models the worst case a deadline must survive.
 */
export function dueAt(schedule: Schedule, fireSecond: number): Date {
  const minute = atMinute(schedule.ScheduleExpression).getTime();
  const window = schedule.FlexibleTimeWindow.Mode === 'FLEXIBLE' ? (schedule.FlexibleTimeWindow.MaximumWindowInMinutes ?? 0) : 0;
  return new Date(minute + window * 60_000 + fireSecond * 1000);
}

function instanceIdsOf(input: string | undefined): string[] {
  if (input === undefined) throw new Error('Target.Input is missing: TerminateInstances needs InstanceIds');
  const parsed = JSON.parse(input) as { InstanceIds?: unknown };
  const ids = parsed.InstanceIds;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string'))
    throw new Error('Target.Input must carry InstanceIds, a non-empty list of strings');
  return ids as string[];
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

export function createFiring(options: FiringOptions) {
  let ec2: EC2Client | undefined;
  const client = (): EC2Client => {
    if (!options.ec2Endpoint) throw new Error('the Scheduler stand-in has no ec2Endpoint to send TerminateInstances to');
    // One attempt per call: the schedule's RetryPolicy, not the SDK, decides how often to try.
    ec2 ??= new EC2Client({
      endpoint: options.ec2Endpoint,
      region: options.region,
      credentials: options.credentials,
      maxAttempts: 1,
    });
    return ec2;
  };

  /** Invokes the schedule's target once it is due, with its retries; answers what happened. */
  const invoke = async (schedule: Schedule, now: Date): Promise<{ fired: Fired; deadLetter?: DeadLetter }> => {
    const due = dueAt(schedule, options.fireSecond);
    const base = { name: schedule.Name, groupName: schedule.GroupName, at: now, due, targetArn: schedule.Target.Arn };
    if (schedule.Target.Arn !== TERMINATE_INSTANCES_TARGET) {
      // Other targets (Lambda, SQS, other universal targets) are not simulated: the firing is
      // logged so tests can see it happened, but nothing is called.
      return { fired: { ...base, instanceIds: [], ok: true, attempts: 0 } };
    }
    let instanceIds: string[] = [];
    let attempts = 0;
    let lastError: unknown;
    try {
      instanceIds = instanceIdsOf(schedule.Target.Input);
      const retries = schedule.Target.RetryPolicy?.MaximumRetryAttempts ?? DEFAULT_RETRY_ATTEMPTS;
      // Retries follow at once: MaximumEventAgeInSeconds and AWS's backoff are not simulated,
      // so a test sees the outcome of every attempt within one fireDue.
      while (attempts <= retries) {
        attempts++;
        try {
          await client().send(new TerminateInstancesCommand({ InstanceIds: instanceIds }));
          return { fired: { ...base, instanceIds, ok: true, attempts } };
        } catch (error) {
          lastError = error;
        }
      }
    } catch (error) {
      // A malformed Input fails every attempt the same way, so AWS sends it to the DLQ at once.
      lastError = error;
    }
    return {
      fired: { ...base, instanceIds, ok: false, attempts },
      deadLetter: {
        name: schedule.Name,
        groupName: schedule.GroupName,
        at: now,
        deadLetterArn: schedule.Target.DeadLetterConfig?.Arn,
        error: describe(lastError),
        attempts,
      },
    };
  };

  return {
    invoke,
    close: () => ec2?.destroy(),
  };
}
