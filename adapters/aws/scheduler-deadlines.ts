import type { CreateScheduleCommandInput, SchedulerClient } from '@aws-sdk/client-scheduler';
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  UpdateScheduleCommand,
  paginateListSchedules,
} from '@aws-sdk/client-scheduler';
import type { DeadlineSchedule, Deadlines } from '../../domain/ports';
import { scheduleName } from '../../domain/build-facts';

// The Deadlines port over EventBridge Scheduler (docs/design.md "Deadlines"). Each build has one
// one-time schedule, `metal-build-<BuildID>` in the stack's group, whose target is Scheduler's
// universal target for EC2 TerminateInstances: when it fires, AWS itself ends the machine, even
// if every function of the stack is broken.

/** Scheduler's universal target: the EC2 API action, called with the schedule's role. */
export const TERMINATE_TARGET_ARN = 'arn:aws:scheduler:::aws-sdk:ec2:terminateInstances';
const NAME_PREFIX = 'metal-build-';
// The name is domain/build-facts.ts `scheduleName` (the status answer links it); NAME_PREFIX reads it back.
export { scheduleName };

export interface SchedulerDeadlinesOptions {
  group: string;
  /**
   * The role Scheduler assumes; it may terminate only machines this stack launched. Only the
   * functions that set schedules are given it (SCHEDULER_ROLE_ARN).
   */
  roleArn: string | undefined;
  /** Where a firing that failed every retry goes (an SQS queue), so an alarm can tell. */
  deadLetterArn?: string;
}

/** `at(yyyy-mm-ddThh:mm:ss)`, UTC, as Scheduler reads one-time expressions. */
export function atExpression(at: string): string {
  return `at(${new Date(at).toISOString().slice(0, 19)})`;
}

export class SchedulerDeadlines implements Deadlines {
  constructor(
    private readonly client: SchedulerClient,
    private readonly options: SchedulerDeadlinesOptions,
  ) {}

  async put(schedule: DeadlineSchedule): Promise<void> {
    const { roleArn } = this.options;
    if (roleArn === undefined) throw new Error('SCHEDULER_ROLE_ARN is not configured: this function cannot set deadline schedules');
    const input = this.inputOf(schedule, roleArn);
    try {
      await this.client.send(new CreateScheduleCommand(input));
      return;
    } catch (error) {
      if (!(error instanceof ConflictException)) throw error;
    }
    // It exists: made by an earlier delivery, for an older deadline or machine, or by an older
    // deployment with other settings. Updating replaces every field, so what is there afterwards
    // is exactly this schedule, whatever it was before.
    try {
      await this.client.send(new UpdateScheduleCommand(input));
    } catch (error) {
      // Fired and deleted itself between the two calls: the machine is being ended; nothing to move.
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }

  async remove(buildId: string): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: scheduleName(buildId), GroupName: this.options.group }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }

  async list(): Promise<string[]> {
    const ids: string[] = [];
    const pages = paginateListSchedules({ client: this.client }, { GroupName: this.options.group, NamePrefix: NAME_PREFIX });
    for await (const page of pages) {
      for (const summary of page.Schedules ?? []) {
        if (summary.Name?.startsWith(NAME_PREFIX)) ids.push(summary.Name.slice(NAME_PREFIX.length));
      }
    }
    return ids;
  }

  private inputOf(schedule: DeadlineSchedule, roleArn: string): CreateScheduleCommandInput {
    return {
      Name: scheduleName(schedule.buildId),
      GroupName: this.options.group,
      ScheduleExpression: atExpression(schedule.at),
      ScheduleExpressionTimezone: 'UTC',
      // OFF: a flexible window would let Scheduler fire after the deadline.
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      State: 'ENABLED',
      Description: `metal-build ${schedule.buildId}: terminate ${schedule.instanceId} at its deadline`,
      Target: {
        Arn: TERMINATE_TARGET_ARN,
        RoleArn: roleArn,
        Input: JSON.stringify({ InstanceIds: [schedule.instanceId] }),
        // A throttled or failed TerminateInstances is tried again for an hour, then dead-lettered.
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 },
        ...(this.options.deadLetterArn ? { DeadLetterConfig: { Arn: this.options.deadLetterArn } } : {}),
      },
    };
  }
}
