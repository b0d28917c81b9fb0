import type { SNSClient } from '@aws-sdk/client-sns';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { Logger, Notification, Notifier } from '../../domain/ports';

// The Notifier port over SNS: the operators' e-mail and pager channel, beside the Slack thread.
// Subject `[SEVERITY] text` (SNS allows 100 printable ASCII characters, no line breaks);
// message attributes BuildID and Status so subscriptions can filter.

export const SUBJECT_MAX = 100;

export function snsSubject(notification: Pick<Notification, 'severity' | 'subject'>): string {
  // SNS refuses a subject with control or non-ASCII characters: replace them, then cut.
  const text = `[${notification.severity}] ${notification.subject}`.replace(/[\r\n\t]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
  return text.length > SUBJECT_MAX ? `${text.slice(0, SUBJECT_MAX - 3)}...` : text;
}

export class SnsNotifier implements Notifier {
  /** Without a topic (SNS_TOPIC_ARN unset, e.g. locally) notifications are only logged. */
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string | undefined,
    private readonly log: Logger,
  ) {}

  async notify(notification: Notification): Promise<void> {
    const subject = snsSubject(notification);
    if (!this.topicArn) {
      this.log.info('notification (no SNS topic configured)', { buildId: notification.buildId, subject });
      return;
    }
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: subject,
        Message: notification.message,
        MessageAttributes: {
          BuildID: { DataType: 'String', StringValue: notification.buildId || 'none' },
          Status: { DataType: 'String', StringValue: notification.status || 'none' },
        },
      }),
    );
  }
}
