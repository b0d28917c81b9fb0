import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import type { SNSClient } from '@aws-sdk/client-sns';
import {
  getCloudWatchLogsClient,
  getDynamoClient,
  getEc2Client,
  getEventBridgeClient,
  getS3Client,
  getSchedulerClient,
  getServiceQuotasClient,
  getSnsClient,
} from '../adapters/aws/clients';
import { EventBridgeBus } from '../adapters/aws/event-bus';
import { CloudWatchBuildLogs } from '../adapters/aws/cloudwatch-build-logs';
import { DynamoClaims } from '../adapters/aws/dynamo-claims';
import { DynamoDurationHistory } from '../adapters/aws/dynamo-durations';
import { DynamoSpendLedger } from '../adapters/aws/dynamo-ledger';
import { DynamoBuildStore } from '../adapters/aws/dynamo-store';
import { loadEventTokenKey } from '../adapters/aws/event-token-key';
import { createLogger } from '../adapters/aws/logger';
import { loadSlackCredentials } from '../adapters/aws/slack-secret';
import type { Config } from '../domain/config';
import { maskConfig, parseConfig } from '../domain/config';
import type {
  Artifacts,
  BuildLogs,
  BuildStore,
  Bus,
  SpendLedger,
  Chat,
  Claims,
  Clock,
  Compute,
  Deadlines,
  DurationHistory,
  Logger,
  Notifier,
  Quotas,
  CommitStatuses,
} from '../domain/ports';
import { GithubCommitStatuses } from '../adapters/github/commit-statuses';
import { systemClock } from '../domain/ports';
import { SlackChat } from '../adapters/slack/chat';
import { createSlackWebClient } from '../adapters/slack/web-client';
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
  /** What is done once: notices, direct messages, stray machines, releases (docs/design.md "Claims"). */
  claims: Claims;
  /** The month items a build's final cost is counted into (domain/spend.ts). */
  ledger: SpendLedger;
  /** Completed builds' times per instance type, added to by build-phase (events/completion-history.ts). */
  durations: DurationHistory;
  chat: Chat;
  compute: Compute;
  /** `Build Approved` for a queued build a freed slot was handed to (use-cases/slot-queue.ts). */
  bus: Bus;
  /** Read by the launch before RunInstances (domain/launch-capacity.ts). */
  quotas: Quotas;
  /** Each launched build's Scheduler schedule (events/deadline-schedule.ts). */
  deadlines: Deadlines;
  notifier: Notifier;
  /** ARTIFACT_BUCKET's objects: the release function copies a build's files to releases/ (events/release.ts). */
  artifacts: Artifacts;
  /**
   * Build machines' logs: the warning's and a forced or unexpected end's newest lines. Read best
   * effort only (use-cases/log-lines.ts), after every safety step.
   */
  buildLogs: BuildLogs;
  clock: Clock;
  log: Logger;
  /**
   * The event-token key read from EVENT_TOKEN_SECRET_ARN; only the launch and build-phase
   * functions are given that secret. Tests and the sandbox set EVENT_TOKEN_KEY in the config
   * instead (events/event-token.ts `eventTokenKeyOf` reads either).
   */
  eventTokenKey?: string;
  /** GitHub's commit statuses (use-cases/commit-status.ts); absent without a status token. */
  commitStatuses?: CommitStatuses;
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
  return wireEventDeps(
    {
      dynamo: getDynamoClient('background'),
      slackBotToken: credentials.botToken,
      ec2: getEc2Client(),
      quotas: getServiceQuotasClient(),
      scheduler: getSchedulerClient(),
      sns: getSnsClient(),
      s3: getS3Client(),
      eventBridge: getEventBridgeClient(),
      logs: getCloudWatchLogsClient('background'),
    },
    {
      config,
      clock: systemClock,
      log,
      ...(eventTokenKey !== undefined && { eventTokenKey }),
      ...(credentials.githubStatusToken !== undefined && { githubStatusToken: credentials.githubStatusToken }),
    },
  );
}

// ---- The one wiring ----------------------------------------------------------------------
//
// The events handlers' dependencies, built in one place (docs/design.md "Layout"): production
// (loadEventDeps above), the sandbox (sandbox/handler-wiring.ts), the tests (test/support/events-world.ts)
// and the bench all build EventDeps here, from where each service answers and the settings.

/** Where each service answers: AWS's memoised clients in production, stand-ins elsewhere. */
export interface EventEndpoints {
  /** The builds table (config.buildsTable): store, claims, ledger and duration history. */
  dynamo: DynamoDBClient;
  /** Slack's Web API at config.slackApiUrl, with the bot token ('background' profile). */
  slackBotToken: string;
  ec2?: EC2Client;
  quotas?: ServiceQuotasClient;
  scheduler?: SchedulerClient;
  sns?: SNSClient;
  s3?: S3Client;
  /** The bus a freed slot's hand-over puts `Build Approved` on (config.eventBusName). */
  eventBridge?: EventBridgeClient;
  /** CloudWatch Logs, where the build machines' logs are. */
  logs?: CloudWatchLogsClient;
}

export interface EventSettings {
  config: Config;
  clock: Clock;
  log: Logger;
  /** The SNS adapter's log (default `log`). */
  notifierLog?: Logger;
  /** EVENT_TOKEN_SECRET_ARN's key, where the function is given it (events/deps.ts). */
  eventTokenKey?: string;
  /** `githubStatusToken` of the Slack secret (or GITHUB_STATUS_TOKEN): commit statuses at config.githubApiUrl. */
  githubStatusToken?: string;
}

/** Ports given as they are instead of built from an endpoint: fakes, counters, simulations. */
export type EventPorts = Partial<Omit<EventDeps, 'config' | 'clock' | 'log' | 'eventTokenKey'>>;

/** Without an EventBridge endpoint (a bench that frees no slot): a hand-over's put fails loudly. */
const noBus: Bus = { put: () => Promise.reject(new Error('event wiring: no EventBridge endpoint and no bus port given')) };

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`event wiring: no ${what} endpoint and no port given for it`);
  return value;
}

export function wireEventDeps(endpoints: EventEndpoints, settings: EventSettings, ports: EventPorts = {}): EventDeps {
  const { config, clock, log } = settings;
  const table = config.buildsTable;
  return {
    config,
    store: ports.store ?? new DynamoBuildStore(endpoints.dynamo, table),
    claims: ports.claims ?? new DynamoClaims(endpoints.dynamo, table),
    ledger: ports.ledger ?? new DynamoSpendLedger(endpoints.dynamo, table),
    durations: ports.durations ?? new DynamoDurationHistory(endpoints.dynamo, table),
    chat: ports.chat ?? new SlackChat(createSlackWebClient({ token: endpoints.slackBotToken, apiUrl: config.slackApiUrl, profile: 'background' })),
    // An unset LAUNCH_TEMPLATE_ID is reported by the launch handler as the build's failure.
    compute: ports.compute ?? new Ec2Compute(required(endpoints.ec2, 'EC2'), config.launchTemplateId ?? ''),
    bus: ports.bus ?? (endpoints.eventBridge ? new EventBridgeBus(endpoints.eventBridge, config.eventBusName) : noBus),
    quotas: ports.quotas ?? new ServiceQuotasLimits(required(endpoints.quotas, 'Service Quotas')),
    deadlines:
      ports.deadlines ??
      new SchedulerDeadlines(required(endpoints.scheduler, 'Scheduler'), {
        group: config.scheduleGroup,
        roleArn: config.schedulerRoleArn,
        ...(config.scheduleDeadLetterArn !== undefined && { deadLetterArn: config.scheduleDeadLetterArn }),
      }),
    notifier: ports.notifier ?? new SnsNotifier(required(endpoints.sns, 'SNS'), config.snsTopicArn, settings.notifierLog ?? log),
    artifacts: ports.artifacts ?? new S3Artifacts(required(endpoints.s3, 'S3')),
    // Without an endpoint every read fails (and is logged): the messages go without log lines.
    buildLogs: ports.buildLogs ?? (endpoints.logs ? new CloudWatchBuildLogs(endpoints.logs) : noLogs),
    clock,
    log,
    ...(settings.eventTokenKey !== undefined && { eventTokenKey: settings.eventTokenKey }),
    ...commitStatusesOf(ports, settings),
  };
}

function commitStatusesOf(ports: EventPorts, settings: EventSettings): { commitStatuses?: CommitStatuses } {
  if (ports.commitStatuses !== undefined) return { commitStatuses: ports.commitStatuses };
  const token = settings.githubStatusToken;
  return token !== undefined ? { commitStatuses: new GithubCommitStatuses(settings.config.githubApiUrl, token) } : {};
}

const noLogs: BuildLogs = { newest: () => Promise.reject(new Error('event wiring: no CloudWatch Logs endpoint and no buildLogs port given')) };
