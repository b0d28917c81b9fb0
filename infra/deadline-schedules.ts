import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { BuildMachine } from './build-machine';
import { acknowledgeWildcards } from './wildcard-acknowledgement';

// docs/design.md "Deadlines": each launched build gets a one-time EventBridge Scheduler schedule
// in this group that terminates its machine at the deadline through Scheduler's universal EC2
// target. Scheduler assumes `role` to do it; that role may terminate only machines this stack
// launched and write to the dead-letter queue. The functions that keep schedules may pass
// `role` to Scheduler and nothing else; the bot gets none of this.

/** Schedules are named metal-build-<BuildID> (adapters/aws/scheduler-deadlines.ts). */
const SCHEDULE_NAME_PATTERN = 'metal-build-*';

export interface DeadlineSchedulesProps {
  groupName: string;
  buildMachine: BuildMachine;
}

export class DeadlineSchedules extends Construct {
  readonly group: scheduler.CfnScheduleGroup;
  /** Assumed by Scheduler when a schedule fires. */
  readonly role: iam.Role;
  /** A firing that failed every retry: the alarm on it says a deadline was not kept by AWS. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: DeadlineSchedulesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.group = new scheduler.CfnScheduleGroup(this, 'Group', { name: props.groupName });
    this.deadLetterQueue = new sqs.Queue(this, 'Dlq', {
      queueName: 'labapp-metal-build-deadline-schedules-dlq',
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // cdk-nag sees a queue no SQS queue names as its DLQ; Scheduler's DeadLetterConfig (set per
    // schedule at run time) is what makes it one.
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the deadline schedules (Scheduler DeadLetterConfig, set when each schedule is created).',
    });
    this.role = new iam.Role(this, 'Role', {
      // Only this account's schedules in this group may use the role (the confused-deputy guard).
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': this.scheduleArn() },
        },
      }),
      description: 'metal-build deadline schedules: terminate a build machine at its deadline',
    });
    props.buildMachine.grantTerminate(this.role, { describe: false });
    this.deadLetterQueue.grantSendMessages(this.role);
  }

  /** The ARN of every build schedule of the group. */
  scheduleArn(): string {
    return Stack.of(this).formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${this.groupName()}/${SCHEDULE_NAME_PATTERN}` });
  }

  /** Create, move and read a build's schedule, and pass the terminating role to Scheduler for it. */
  grantKeep(role: iam.Role): void {
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'KeepDeadlineSchedules',
        actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:GetSchedule', 'scheduler:DeleteSchedule'],
        resources: [this.scheduleArn()],
      }),
    );
    acknowledgeWildcards(
      role,
      [this.scheduleArn()],
      'One schedule per build, named metal-build-<BuildID>: the names are not known at deploy; the ARN is limited to this group and that prefix.',
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PassDeadlineRole',
        actions: ['iam:PassRole'],
        resources: [this.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
  }

  /** Delete a build's schedule once its machine is gone. */
  grantRemove(role: iam.Role): void {
    role.addToPolicy(new iam.PolicyStatement({ sid: 'RemoveDeadlineSchedules', actions: ['scheduler:DeleteSchedule'], resources: [this.scheduleArn()] }));
    acknowledgeWildcards(
      role,
      [this.scheduleArn()],
      'One schedule per build, named metal-build-<BuildID>: the names are not known at deploy; the ARN is limited to this group and that prefix.',
    );
  }

  /** List the group's schedules (the watchdog's repair of missing and left-over ones). */
  grantList(role: iam.Role): void {
    // ListSchedules has no resource-level permissions.
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ListDeadlineSchedules', actions: ['scheduler:ListSchedules'], resources: ['*'] }));
    acknowledgeWildcards(role, ['*'], 'scheduler:ListSchedules supports no resource-level permissions: its only resource is "*".');
  }

  private groupName(): string {
    return this.group.name!;
  }
}
