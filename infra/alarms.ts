import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

// What a human must hear about: an event given up on, a function failing, and above all the
// watchdog not running — it is what stops a forgotten $93-a-day machine.

export const ALARM_NAME_PREFIX = 'labapp-metal-build-';

export interface AlarmsProps {
  topic: sns.ITopic;
  functions: Record<string, lambda.IFunction>;
  deadLetterQueues: Record<string, sqs.IQueue>;
  watchdog: lambda.IFunction;
}

export class Alarms extends Construct {
  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const notify = new actions.SnsAction(props.topic);
    const add = (alarm: cloudwatch.Alarm, withOk = false) => {
      alarm.addAlarmAction(notify);
      if (withOk) alarm.addOkAction(notify);
    };

    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      add(
        new cloudwatch.Alarm(this, `${name}Dlq`, {
          alarmName: `${ALARM_NAME_PREFIX}${name}-dlq-not-empty`,
          alarmDescription: `An event for ${name} was given up on after its retries: it is in the queue ${queue.queueName}.`,
          metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          // SQS stops reporting an idle, empty queue: silence means empty.
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    for (const [name, fn] of Object.entries(props.functions)) {
      add(
        new cloudwatch.Alarm(this, `${name}Errors`, {
          alarmName: `${ALARM_NAME_PREFIX}${name}-errors`,
          alarmDescription: `The ${name} function failed (see its log group /aws/lambda/${ALARM_NAME_PREFIX}${name}).`,
          metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    add(
      new cloudwatch.Alarm(this, 'WatchdogSilent', {
        alarmName: `${ALARM_NAME_PREFIX}watchdog-not-running`,
        alarmDescription: 'The watchdog (every minute) has not been invoked for 5 minutes: nothing force-terminates machines past their lifetime.',
        metric: props.watchdog.metricInvocations({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // No data is exactly the failure this alarm exists for.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      true,
    );
  }
}
