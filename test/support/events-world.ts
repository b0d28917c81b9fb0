import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import type { PublishCommandInput } from '@aws-sdk/client-sns';
import { SNSClient } from '@aws-sdk/client-sns';
import { memoryLogger } from '../../stand-ins/memory-logger';
import type { Build, InstanceState } from '../../domain/build';
import { isRunning } from '../../domain/build';
import type { Config } from '../../domain/config';
import type { Artifacts } from '../../domain/ports';
import { parseConfig } from '../../domain/config';
import { SlackChat } from '../../adapters/slack/chat';
import { createSlackWebClient } from '../../adapters/slack/web-client';
import type { EventDeps } from '../../events/deps';
import { wireEventDeps } from '../../events/deps';
import { launchTags } from '../../events/launch/plan';
import type { SchedulerStandIn } from '../../stand-ins/scheduler';
import { startSchedulerStandIn } from '../../stand-ins/scheduler';
import type { LocalSns } from '../../stand-ins/sns';
import { startSnsStandIn } from '../../stand-ins/sns';
import type { ServiceQuotasStandIn } from '../../stand-ins/service-quotas';
import { startServiceQuotasStandIn } from '../../stand-ins/service-quotas';
import type { LocalDynamo } from '../../stand-ins/dynalite';
import { startDynalite } from '../../stand-ins/dynalite';
import type { SlackApi, SlackMessage } from '../../stand-ins/slack-api';
import { SANDBOX_BOT_TOKEN, SANDBOX_CHANNEL, startSlackApi } from '../../stand-ins/slack-api';
import { T0 } from '../../stand-ins/build-fixture';
import { useWorldOf } from './use-world';
import type { LocalCloudWatchLogs } from '../../stand-ins/cloudwatch-logs';
import { startCloudWatchLogsStandIn } from '../../stand-ins/cloudwatch-logs';
import { logsClient, writeBuildLog } from './build-log';
import { TEST_EVENT_TOKEN_KEY } from './event-fixtures';
import { Ec2World } from './ec2-world';

// The events handlers' world for a test file: dynalite for the table, the Slack stand-in, the
// EC2, Service Quotas and SNS stand-ins on loopback under the REAL Ec2Compute, ServiceQuotasLimits
// and SnsNotifier. Each case asserts what is left: table items, Slack calls, EC2 requests and the
// SNS publishes the stand-in accepted.

export const LAUNCH_TEMPLATE_ID = 'lt-0123456789abcdef0';
export const SUBNETS = ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'] as const;
export const SUBNET_ZONES: Readonly<Record<string, string>> = { [SUBNETS[0]]: 'us-east-1a', [SUBNETS[1]]: 'us-east-1b' };
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:labapp-metal-builds';
export const GITHUB_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:labapp/github-token-AbCdEf';

export interface World {
  dynamo: LocalDynamo;
  slack: SlackApi;
  ec2: Ec2World;
  quotas: ServiceQuotasStandIn;
  /** EventBridge Scheduler; its firings terminate through the EC2 stand-in. */
  scheduler: SchedulerStandIn;
  /** SNS Publish on loopback (stand-ins/sns.ts), topic TOPIC_ARN; `failNext` refuses the next publish. */
  snsStandIn: LocalSns;
  /** CloudWatch Logs: the build machines' logs. */
  logs: LocalCloudWatchLogs;
  /** The build machine's log as the runner writes it (stream = `instanceId`): one event per message, a second apart, the last at `lastAt`. */
  writeLog(buildId: string, instanceId: string, messages: readonly string[], lastAt?: Date): Promise<void>;
  log: ReturnType<typeof memoryLogger>;
  config: Config;
  deps: EventDeps;
  /** The handlers' clock. */
  clock: { now: () => Date; set(iso: string): void; minutesAfterT0(minutes: number): void };
  /** Replace the configuration (environment on top of the defaults). */
  configure(env: Record<string, string>): void;
  /**
   * A record as the earlier steps would have left it: its card posted in the stand-in (ThreadTs),
   * NotifiedStatus = Status, the slot held while it may hold one, and its machine running in EC2.
   */
  seed(build: Build, options?: { machine?: boolean; slot?: boolean; instanceState?: InstanceState }): Promise<Build>;
  get(buildId: string): Promise<Build | undefined>;
  /** The build records (no #slots / #request# items). */
  builds(): Promise<Build[]>;
  slots(): Promise<string[]>;
  /** Thread replies of the build's card, oldest first (the card itself left out). */
  replies(build: Pick<Build, 'Channel' | 'ThreadTs'>): SlackMessage[];
  /**
   * The publishes SNS accepted, oldest first, in PublishCommand's input shape (built from the
   * stand-in's records). A refused publish (`snsStandIn.failNext`) is not among them.
   */
  published(): PublishCommandInput[];
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** The handlers of this world touch no S3 object; a call is a test that reached the wrong code. */
const noS3 = () => Promise.reject(new Error('this world has no S3: pass artifacts (test/events/release.test.ts)'));
const noArtifacts: Artifacts = { size: noS3, copy: noS3, digest: noS3, write: noS3, remove: noS3 };

export const SCHEDULE_GROUP = 'labapp-metal-builds';
export const SCHEDULER_ROLE_ARN = 'arn:aws:iam::123456789012:role/metal-build-deadlines';
export const SCHEDULE_DLQ_ARN = 'arn:aws:sqs:us-east-1:123456789012:labapp-metal-build-deadline-schedules-dlq';

export const BASE_ENV: Record<string, string> = {
  SLACK_SIGNING_SECRET: 'test-signing-secret',
  SLACK_BOT_TOKEN: SANDBOX_BOT_TOKEN,
  LAUNCH_TEMPLATE_ID,
  SUBNET_IDS: SUBNETS.join(','),
  SNS_TOPIC_ARN: TOPIC_ARN,
  GITHUB_SECRET_ARN,
  ARTIFACT_BUCKET: 'hedgehog-lab-artifacts',
  EVENT_TOKEN_KEY: TEST_EVENT_TOKEN_KEY,
  SCHEDULE_GROUP,
  SCHEDULER_ROLE_ARN,
  SCHEDULE_DLQ_ARN,
};

export async function startWorld(): Promise<World> {
  let now = new Date(T0);
  const clock = {
    now: () => new Date(now),
    set: (iso: string) => {
      now = new Date(iso);
    },
    minutesAfterT0: (minutes: number) => {
      now = new Date(Date.parse(T0) + minutes * 60_000);
    },
  };
  const [dynamo, slack, ec2, quotas, snsStandIn, logs] = await Promise.all([
    startDynalite(),
    startSlackApi(),
    Ec2World.start({ clock, subnets: { ...SUBNET_ZONES }, launchTemplateId: LAUNCH_TEMPLATE_ID, region: REGION }),
    startServiceQuotasStandIn({ region: REGION }),
    startSnsStandIn({ topics: [TOPIC_ARN] }),
    startCloudWatchLogsStandIn({ region: REGION }),
  ]);
  const cloudWatchLogs = logsClient(logs);
  const scheduler = await startSchedulerStandIn({ clock, ec2Endpoint: ec2.standIn.endpoint, region: REGION, groups: [SCHEDULE_GROUP] });
  const schedulerClient = new SchedulerClient({ region: REGION, endpoint: scheduler.endpoint, credentials: CREDENTIALS, maxAttempts: 1 });
  const quotasClient = new ServiceQuotasClient({ region: REGION, endpoint: quotas.endpoint, credentials: CREDENTIALS, maxAttempts: 1 });
  const snsClient = new SNSClient({ region: REGION, endpoint: snsStandIn.endpoint, credentials: CREDENTIALS, maxAttempts: 1 });
  const log = memoryLogger();
  const chat = new SlackChat(createSlackWebClient({ token: SANDBOX_BOT_TOKEN, apiUrl: slack.url, profile: 'background' }));

  const makeConfig = (env: Record<string, string>) => parseConfig({ ...BASE_ENV, SLACK_API_URL: slack.url, BUILDS_TABLE: dynamo.tableName, ...env });

  const world: World = {
    dynamo,
    slack,
    ec2,
    quotas,
    scheduler,
    snsStandIn,
    logs,
    writeLog: (buildId, instanceId, messages, lastAt) => writeBuildLog(cloudWatchLogs, buildId, instanceId, messages, lastAt ?? clock.now()),
    log,
    config: makeConfig({}),
    deps: undefined as unknown as EventDeps,
    clock,
    configure(env) {
      world.config = makeConfig(env);
      world.deps = wireEventDeps(
        {
          dynamo: dynamo.client,
          slackBotToken: SANDBOX_BOT_TOKEN,
          ec2: ec2.client,
          quotas: quotasClient,
          scheduler: schedulerClient,
          sns: snsClient,
          logs: cloudWatchLogs,
        },
        { config: world.config, clock, log },
        // Only the release function copies objects; test/events/release.test.ts gives it S3 (s3rver).
        { store: dynamo.store, claims: dynamo.claims, ledger: dynamo.ledger, chat, artifacts: noArtifacts },
      );
    },
    async seed(build, options = {}) {
      const card = await chat.post({ channel: build.Channel ?? SANDBOX_CHANNEL, text: `card of ${build.BuildID}` });
      const record: Build = { NotifiedStatus: build.Status, ...build, ThreadTs: card.ts };
      if (!(await dynamo.store.create(record))) throw new Error(`seed: ${build.BuildID} exists`);
      const holdsSlot = options.slot ?? (build.Status === 'approved' || isRunning(build.Status));
      if (holdsSlot) await dynamo.store.takeSlot(build.BuildID, 10);
      if (record.InstanceID && (options.machine ?? isRunning(record.Status))) {
        ec2.add({
          id: record.InstanceID,
          type: record.InstanceType ?? 'c5n.metal',
          zone: record.AvailabilityZone ?? 'us-east-1a',
          state: options.instanceState ?? 'running',
          launchTime: record.LaunchTime ?? clock.now().toISOString(),
          tags: launchTags(record, world.config.maxLifetimeHours),
        });
      }
      return record;
    },
    get: (buildId) => dynamo.store.get(buildId),
    async builds() {
      return (await dynamo.items()).filter((i) => typeof i.BuildID === 'string' && !i.BuildID.startsWith('#')) as unknown as Build[];
    },
    slots: () => dynamo.store.slots(),
    replies: (build) => slack.replies(build.Channel, build.ThreadTs).slice(1),
    published: () =>
      snsStandIn.published.map((p) => ({
        TopicArn: p.topicArn,
        ...(p.subject !== undefined && { Subject: p.subject }),
        Message: p.message,
        MessageAttributes: Object.fromEntries(Object.entries(p.attributes).map(([name, a]) => [name, { DataType: a.dataType, StringValue: a.value }])),
      })),
    async reset() {
      await dynamo.reset();
      slack.reset();
      ec2.reset();
      quotas.reset();
      scheduler.reset();
      snsStandIn.clear();
      logs.reset();
      log.lines.length = 0;
      clock.set(T0);
      world.configure({});
    },
    async close() {
      quotasClient.destroy();
      schedulerClient.destroy();
      snsClient.destroy();
      cloudWatchLogs.destroy();
      await Promise.all([dynamo.close(), slack.close(), ec2.close(), quotas.close(), scheduler.close(), snsStandIn.close(), logs.close()]);
    },
  };
  world.configure({});
  return world;
}

/**
 * This file's world, started, reset and closed around its cases (test/support/use-world.ts); after
 * each reset its clock stands at T0, or `minutesAfterT0` minutes after it.
 */
export function useWorld(options: { minutesAfterT0?: number } = {}): () => World {
  const { minutesAfterT0 } = options;
  return useWorldOf(startWorld, minutesAfterT0 === undefined ? undefined : (world) => world.clock.minutesAfterT0(minutesAfterT0));
}

/** Log lines at a level, as objects. */
export function logLines(world: World, level?: 'INFO' | 'WARN' | 'ERROR'): Array<Record<string, unknown>> {
  return world.log.lines.filter((l) => level === undefined || l.level === level);
}
