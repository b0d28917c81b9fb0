import { getDynamoClient } from '../adapters/aws/clients';
import { DynamoDurationHistory } from '../adapters/aws/dynamo-durations';
import { DynamoSpendLedger } from '../adapters/aws/dynamo-ledger';
import { DynamoBuildStore } from '../adapters/aws/dynamo-store';
import { loadEventTokenKey } from '../adapters/aws/event-token-key';
import { createLogger } from '../adapters/aws/logger';
import { loadSlackCredentials } from '../adapters/aws/slack-secret';
import type { Config } from '../domain/config';
import { maskConfig, parseConfig } from '../domain/config';
import type { Artifacts, BuildStore, SpendLedger, Chat, Clock, Compute, Deadlines, DurationHistory, Logger, Notifier, Quotas } from '../domain/ports';
import { systemClock } from '../domain/ports';
import { SlackChat } from '../adapters/slack/chat';
import { createSlackWebClient } from '../adapters/slack/web-client';
import { getEc2Client, getS3Client, getSchedulerClient, getServiceQuotasClient, getSnsClient } from '../adapters/aws/clients';
import { Ec2Compute } from '../adapters/aws/ec2-compute';
import { SchedulerDeadlines } from '../adapters/aws/scheduler-deadlines';
import { S3Artifacts } from '../adapters/aws/s3-artifacts';
import { ServiceQuotasLimits } from '../adapters/aws/service-quotas';
import { SnsNotifier } from '../adapters/aws/sns-notifier';

// What every EventBridge-facing function needs. Tests and the sandbox pass their own; the
// Lambda entries build the real ones once per container, on the first invocation.

export interface EventDeps {
  config: Config;
  store: BuildStore;
  /** The month items a build's final cost is counted into (domain/spend.ts). */
  ledger: SpendLedger;
  /** Completed builds' times per instance type, added to by build-phase (events/completion-history.ts). */
  durations: DurationHistory;
  chat: Chat;
  compute: Compute;
  /** Read by the launch before RunInstances (domain/launch-capacity.ts). */
  quotas: Quotas;
  /** Each launched build's Scheduler schedule (events/deadline-schedule.ts). */
  deadlines: Deadlines;
  notifier: Notifier;
  /** ARTIFACT_BUCKET's objects: the release function copies a build's files to releases/ (events/release.ts). */
  artifacts: Artifacts;
  clock: Clock;
  log: Logger;
  /**
   * The event-token key read from EVENT_TOKEN_SECRET_ARN; only the launch and build-phase
   * functions are given that secret. Tests and the sandbox set EVENT_TOKEN_KEY in the config
   * instead (events/event-token.ts `eventTokenKeyOf` reads either).
   */
  eventTokenKey?: string;
}

let loading: Promise<EventDeps> | undefined;

/** The real adapters, built once per container. A failed build (secret unreadable) is retried next time. */
export function loadEventDeps(): Promise<EventDeps> {
  if (!loading) {
    const attempt = buildEventDeps();
    loading = attempt;
    attempt.catch(() => {
      if (loading === attempt) loading = undefined;
    });
  }
  return loading;
}

async function buildEventDeps(): Promise<EventDeps> {
  const log = createLogger({ service: 'metal-build-events' });
  const config = parseConfig(process.env);
  // Once per container: what this function runs with, for the 2 a.m. reader (secrets masked).
  log.info('configuration', { config: maskConfig(config) });
  const credentials = await loadSlackCredentials(config);
  // Only where the stack passes the secret: the other functions neither need nor may read it.
  const eventTokenKey = config.eventTokenSecretArn !== undefined ? await loadEventTokenKey(config) : undefined;
  return {
    config,
    store: new DynamoBuildStore(getDynamoClient('background'), config.buildsTable),
    ledger: new DynamoSpendLedger(getDynamoClient('background'), config.buildsTable),
    durations: new DynamoDurationHistory(getDynamoClient('background'), config.buildsTable),
    chat: new SlackChat(createSlackWebClient({ token: credentials.botToken, apiUrl: config.slackApiUrl, profile: 'background' })),
    // An unset LAUNCH_TEMPLATE_ID is reported by the launch handler as the build's failure.
    compute: new Ec2Compute(getEc2Client(), config.launchTemplateId ?? ''),
    quotas: new ServiceQuotasLimits(getServiceQuotasClient()),
    deadlines: new SchedulerDeadlines(getSchedulerClient(), {
      group: config.scheduleGroup,
      roleArn: config.schedulerRoleArn,
      ...(config.scheduleDeadLetterArn !== undefined && { deadLetterArn: config.scheduleDeadLetterArn }),
    }),
    notifier: new SnsNotifier(getSnsClient(), config.snsTopicArn, log),
    artifacts: new S3Artifacts(getS3Client()),
    clock: systemClock,
    log,
    ...(eventTokenKey !== undefined && { eventTokenKey }),
  };
}
