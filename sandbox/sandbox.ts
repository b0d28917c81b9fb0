import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import type { PublishResponse } from '@aws-sdk/client-sns';
import { SNSClient } from '@aws-sdk/client-sns';
import { createApproverDirectory } from '../bot/approvers';
import { createHandler as createBotHandler } from '../bot/handler';
import { DynamoDurationHistory } from '../core/aws/dynamo-durations';
import { EventBridgeBus } from '../core/aws/event-bus';
import type { LogSink } from '../core/aws/logger';
import { createLogger } from '../core/aws/logger';
import { loadSlackCredentials } from '../core/aws/slack-secret';
import type { Config } from '../core/config';
import { parseConfig } from '../core/config';
import { DETAIL_TYPES, RUNNER_SOURCE } from '../core/events';
import { SlackChat } from '../core/slack/chat';
import { createSlackWebClient } from '../core/slack/web-client';
import { createHandler as createBuildPhaseHandler } from '../events/build-phase';
import { createHandler as createCancelHandler } from '../events/cancel';
import { createHandler as createDeadlineHandler } from '../events/deadline';
import type { EventDeps } from '../events/deps';
import { Ec2Compute } from '../events/ec2-compute';
import { eventTokenFor } from '../events/event-token';
import { createHandler as createInstanceStateHandler } from '../events/instance-state';
import { createHandler as createLaunchHandler } from '../events/launch';
import { createHandler as createReleaseHandler } from '../events/release';
import { SchedulerDeadlines } from '../events/scheduler-deadlines';
import { ServiceQuotasLimits } from '../events/service-quotas';
import { SnsNotifier } from '../events/sns-notifier';
import { createHandler as createWatchdogHandler } from '../events/watchdog';
import type { LocalDynamo } from '../stand-ins/dynalite';
import { startDynalite } from '../stand-ins/dynalite';
import type { Ec2StandIn } from '../stand-ins/ec2';
import { startEc2StandIn } from '../stand-ins/ec2';
import type { LocalEventBridge } from '../stand-ins/eventbridge';
import { startEventBridge } from '../stand-ins/eventbridge';
import type { SchedulerStandIn } from '../stand-ins/scheduler';
import { startSchedulerStandIn } from '../stand-ins/scheduler';
import type { LocalSecretsManager } from '../stand-ins/secrets-manager';
import { startSecretsManagerStandIn } from '../stand-ins/secrets-manager';
import type { ServiceQuotasStandIn } from '../stand-ins/service-quotas';
import { startServiceQuotasStandIn } from '../stand-ins/service-quotas';
import type { LocalSns, Published } from '../stand-ins/sns';
import { startSnsStandIn } from '../stand-ins/sns';
import type { SlackEphemeral, SlackMessage } from '../stand-ins/slack-api';
import {
  APPROVER,
  BOT_USER,
  REQUESTER,
  SANDBOX_BOT_TOKEN,
  SANDBOX_CHANNEL,
  SANDBOX_CHANNELS,
  SANDBOX_USERS,
  createSlackApi,
} from '../stand-ins/slack-api';
import { SANDBOX_SIGNING_SECRET } from '../stand-ins/slack-request';
import type { Delivery } from './bus';
import { SimulatedBucket } from './artifacts';
import { LocalBus } from './bus';
import { SimulatedClock } from './clock';
import type { FunctionUrlHandler } from './function-url';
import type { Outcome } from './runner';
import { OUTCOMES, SimulatedRunner } from './runner';
import type { SandboxRoutes } from './server';
import { createSandboxRoutes } from './server';
import { SlackPlatform } from './slack-platform';
import { tableView } from './table-view';

// `npm start`, as a function: the real bot and event handlers, built from their factories, with
// the real AWS adapters (Ec2Compute, SnsNotifier, ServiceQuotasLimits, SchedulerDeadlines,
// EventBridgeBus, the DynamoDB store, the Slack secret's loader) pointed at local stand-ins that
// speak the services' protocols (stand-ins/: EC2, SNS, Service Quotas, Secrets Manager,
// Scheduler, EventBridge, dynalite, the Slack Web API), plus a simulated runner, all under one
// simulated clock.

export const DEFAULT_PORT = 3000;
export const DEFAULT_DYNAMODB_PORT = 8000;
export const DEFAULT_SPEED = 60;
export const DEFAULT_OUTCOME: Outcome = 'success';
/** The key of the builds' event tokens in the sandbox (EVENT_TOKEN_KEY); the stack generates one. */
export const SANDBOX_EVENT_TOKEN_KEY = 'sandbox-event-token-key-not-a-secret';
/** The Slack secret's name, as the stack names it (infra/stack.ts SLACK_SECRET_NAME). */
export const SANDBOX_SLACK_SECRET_NAME = 'labapp-metal-build/slack';
/** The role the stack gives Scheduler to terminate its machines (the stand-in does not check it). */
export const SANDBOX_SCHEDULER_ROLE_ARN = 'arn:aws:iam::123456789012:role/labapp-metal-build-scheduler';
/** The stack's SNS topic in the sandbox's account and region. */
export const SANDBOX_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:labapp-metal-builds';

/** Configuration knobs a sandbox user may change through the environment (the rest is fixed). */
export const CONFIG_KNOBS = [
  'SLACK_SIGNING_SECRET',
  'INSTANCE_TYPE',
  'FALLBACK_INSTANCE_TYPES',
  'VOLUME_SIZE_GB',
  'MAX_LIFETIME_HOURS',
  'WARN_AFTER_HOURS',
  'MAX_EXTENSION_HOURS',
  'APPROVAL_TTL_MINUTES',
  'MAX_CONCURRENT_BUILDS',
  'EXPECTED_BUILD_HOURS',
  'TRANSFER_GB',
  'PRICE_OVERRIDES',
  'ARTIFACT_BUCKET',
  'MONTHLY_BUDGET_USD',
  'BUDGET_WARN_PERCENT',
  'SECOND_APPROVAL_ABOVE_USD',
] as const;

function outcomeText(config: Config): Record<Outcome, { label: string; description: string }> {
  return {
    success: { label: 'success', description: 'The build takes about 80 simulated minutes, uploads the OVA, and the machine powers itself off.' },
    failure: { label: 'failure', description: 'The packer build fails after about 80 minutes; the thread shows the error and the log tail.' },
    hang: {
      label: 'hang',
      description:
        `The build never ends: the watchdog warns at ${config.warnAfterHours} h and force-terminates at ` +
        `${config.maxLifetimeHours} h (+60 min gets there quickly).`,
    },
    'no-capacity': {
      label: 'no-capacity',
      description: `EC2 has no ${config.instanceType} capacity: the launch falls back to ${config.fallbackInstanceTypes.join(', ') || 'nothing (no fallback configured)'}, and the thread says which.`,
    },
  };
}

const PEOPLE = [
  { id: REQUESTER, role: 'requester', color: '#2b7bb9', initials: 'R' },
  { id: APPROVER, role: 'approver', color: '#8a3ab9', initials: 'A' },
  { id: BOT_USER, role: 'app', color: '#1d9a6c', initials: 'M', bot: true },
];

export class PortInUseError extends Error {
  constructor(
    /** The environment variable that moves it. */
    readonly variable: string,
    readonly port: number,
  ) {
    super(`port ${port} is in use; start on another one with ${variable}=<port>`);
    this.name = 'PortInUseError';
  }
}

export interface SandboxOptions {
  /** 0 = any free port. */
  port?: number;
  dynamodbPort?: number;
  /** Interface to listen on; loopback by default. */
  host?: string;
  /** Simulated minutes per real minute; 0 = time moves only through POST /sandbox/clock. */
  speed?: number;
  outcome?: Outcome;
  /** CONFIG_KNOBS values (others are ignored). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where the handlers' JSON log lines go; by default warnings and errors to stderr. */
  logSink?: LogSink;
}

/** The AWS stand-ins behind the real adapters, for tests that look at what reached them. */
export interface SandboxStandIns {
  ec2: Ec2StandIn;
  sns: LocalSns;
  secretsManager: LocalSecretsManager;
  serviceQuotas: ServiceQuotasStandIn;
  scheduler: SchedulerStandIn;
}

export interface Sandbox {
  url: string;
  dynamodbEndpoint: string;
  config: Config;
  standIns: SandboxStandIns;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string, variable: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' || error.code === 'EACCES' ? new PortInUseError(variable, port) : error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

const knobValue = (env: Readonly<Record<string, string | undefined>>, k: string) => (env[k] !== undefined && env[k] !== '' ? env[k] : undefined);

/**
 * The sandbox's configuration, through the same parser as on AWS. The Slack credentials are not in
 * it: as on AWS, SLACK_SECRET_ARN names the secret that holds them (SLACK_SIGNING_SECRET, a knob,
 * goes into that secret).
 */
export function sandboxConfig(port: number, slackSecretArn: string, env: Readonly<Record<string, string | undefined>> = {}): Config {
  const knobs = Object.fromEntries(
    CONFIG_KNOBS.flatMap((k) => (k !== 'SLACK_SIGNING_SECRET' && knobValue(env, k) !== undefined ? [[k, env[k]]] : [])),
  );
  return parseConfig({
    SLACK_SECRET_ARN: slackSecretArn,
    SLACK_API_URL: `http://127.0.0.1:${port}/api/`,
    APPROVER_IDS: APPROVER,
    ALLOW_SELF_APPROVAL: 'false',
    SUBNET_IDS: 'subnet-sandbox-a,subnet-sandbox-b',
    LAUNCH_TEMPLATE_ID: 'lt-0sandbox',
    SNS_TOPIC_ARN: SANDBOX_TOPIC_ARN,
    SCHEDULER_ROLE_ARN: SANDBOX_SCHEDULER_ROLE_ARN,
    AWS_REGION: 'us-east-1',
    // Fixed, as the other sandbox credentials: the simulated runner derives each build's token from it.
    EVENT_TOKEN_KEY: SANDBOX_EVENT_TOKEN_KEY,
    // A budget a few builds reach, so the card's budget line and a refusal can be seen.
    MONTHLY_BUDGET_USD: '50',
    ...knobs,
  });
}

const defaultSink: LogSink = (line, level) => {
  if (level !== 'INFO') console.error(line);
};

/** `simTime` (the simulated clock) after the line's wall `time`, once the clock exists. */
export function withSimTime(sink: LogSink, now: () => Date | undefined): LogSink {
  return (line, level) => {
    const at = now();
    if (!at) return sink(line, level);
    try {
      const { level: l, time, message, ...fields } = JSON.parse(line) as Record<string, unknown>;
      sink(JSON.stringify({ ...fields, level: l, time, simTime: at.toISOString(), message }), level);
    } catch {
      sink(line, level);
    }
  };
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const speed = options.speed ?? DEFAULT_SPEED;
  let outcome: Outcome = options.outcome ?? DEFAULT_OUTCOME;
  // Every line carries the simulated time beside the wall time (`time`): handlers read the former.
  let simNow: (() => Date) | undefined;
  const log = createLogger({ service: 'sandbox' }, withSimTime(options.logSink ?? defaultSink, () => simNow?.()));
  const cleanups: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };

  // The HTTP port first: it is the one people open, and the one most likely taken.
  let routes: SandboxRoutes | undefined;
  const front = createServer((req, res) => {
    if (routes) routes.handle(req, res);
    else {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' });
      res.end('starting');
    }
  });
  const port = await listen(front, options.port ?? DEFAULT_PORT, host, 'PORT');
  cleanups.push(() => closeServer(front));

  try {
    // The Slack secret as the stack stores it (JSON signingSecret + botToken), read by the real loader.
    const secretsManager: LocalSecretsManager = await startSecretsManagerStandIn({ region: 'us-east-1' });
    cleanups.push(() => secretsManager.close());
    const slackSecretArn = secretsManager.setSecret(
      SANDBOX_SLACK_SECRET_NAME,
      JSON.stringify({
        signingSecret: knobValue(options.env ?? {}, 'SLACK_SIGNING_SECRET') ?? SANDBOX_SIGNING_SECRET,
        botToken: SANDBOX_BOT_TOKEN,
      }),
    );
    const config = sandboxConfig(port, slackSecretArn, options.env);
    const dynamo: LocalDynamo = await startDynalite({ port: options.dynamodbPort ?? DEFAULT_DYNAMODB_PORT }).catch(
      (error: NodeJS.ErrnoException) => {
        throw error.code === 'EADDRINUSE' ? new PortInUseError('DYNAMODB_PORT', options.dynamodbPort ?? DEFAULT_DYNAMODB_PORT) : error;
      },
    );
    cleanups.push(() => dynamo.close());
    const eventBridge: LocalEventBridge = await startEventBridge();
    cleanups.push(() => eventBridge.close());

    const clock: SimulatedClock = new SimulatedClock({
      start: new Date(),
      speed,
      // `bus` is built below; the clock only steps once everything is wired (clock.start, advance).
      settle: (): Promise<void> => bus.settle(),
      // Fast only while a machine is live or a step of one is due; waiting on people is real time.
      idleSpeed: 1,
      busy: () => ec2.all().some((i) => i.state !== 'terminated' && i.state !== 'stopped'),
      onRateChange: () => changed(),
      onError: (error, what) => log.error('a simulated task failed', { what, error: error instanceof Error ? error : new Error(String(error)) }),
    });

    simNow = () => clock.now();
    const changeListeners = new Set<() => void>();
    const changed = () => {
      for (const listener of changeListeners) listener();
    };

    // Slack's ts read from the simulated clock: message times on the page are simulated times.
    const slack = createSlackApi({ now: () => clock.now() });
    slack.onChange(changed);

    const aws = { region: config.region, credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' } };
    const eventBridgeClient = new EventBridgeClient({ ...aws, endpoint: eventBridge.endpoint });
    cleanups.push(() => eventBridgeClient.destroy());
    const botBus = new EventBridgeBus(eventBridgeClient, config.eventBusName);

    // The n-th configured subnet lies in the region's n-th zone (a, b, …).
    const subnets = Object.fromEntries(config.subnetIds.map((id, n) => [id, `${config.region}${String.fromCharCode(97 + (n % 26))}`]));
    const ec2: Ec2StandIn = await startEc2StandIn({
      clock,
      after: (minutes, task) => clock.after(minutes, task),
      region: config.region,
      subnets,
      launchTemplateId: config.launchTemplateId,
    });
    cleanups.push(() => ec2.close());
    // The `no-capacity` outcome: EC2 refuses INSTANCE_TYPE while it is chosen.
    let lift: (() => void) | undefined;
    const applyOutcome = () => {
      if (outcome === 'no-capacity') lift ??= ec2.refuse({ instanceType: config.instanceType, code: 'InsufficientInstanceCapacity' });
      else {
        lift?.();
        lift = undefined;
      }
    };
    applyOutcome();
    const sns: LocalSns = await startSnsStandIn({ topics: [SANDBOX_TOPIC_ARN] });
    cleanups.push(() => sns.close());
    const serviceQuotas: ServiceQuotasStandIn = await startServiceQuotasStandIn({ region: config.region });
    cleanups.push(() => serviceQuotas.close());
    const scheduler: SchedulerStandIn = await startSchedulerStandIn({
      clock,
      ec2Endpoint: ec2.endpoint,
      region: config.region,
      credentials: aws.credentials,
      groups: [config.scheduleGroup],
    });
    cleanups.push(() => scheduler.close());

    const ec2Client = new EC2Client({ ...aws, endpoint: ec2.endpoint });
    const snsClient = new SNSClient({ ...aws, endpoint: sns.endpoint });
    // As events/clients.ts: one attempt, the launch goes on without the quota check when it fails.
    const quotasClient = new ServiceQuotasClient({ ...aws, endpoint: serviceQuotas.endpoint, maxAttempts: 1 });
    const secretsClient = new SecretsManagerClient({ ...aws, endpoint: secretsManager.endpoint });
    const schedulerClient = new SchedulerClient({ ...aws, endpoint: scheduler.endpoint });
    cleanups.push(() => {
      for (const client of [ec2Client, snsClient, quotasClient, secretsClient, schedulerClient]) client.destroy();
    });
    // SNS keeps no time: the page shows each mail at the simulated time its Publish was answered.
    const publishedAt = new Map<string, string>();
    snsClient.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const id = (result.output as PublishResponse).MessageId;
        if (id) publishedAt.set(id, clock.now().toISOString());
        changed();
        return result;
      },
      { step: 'initialize', name: 'sandboxPublishTime' },
    );
    const deliveries: Delivery[] = [];

    const chatFor = (botToken: string, profile: 'request' | 'background') =>
      new SlackChat(createSlackWebClient({ token: botToken, apiUrl: config.slackApiUrl, profile }));
    const eventsCredentials = await loadSlackCredentials(config, () => secretsClient);
    // ARTIFACT_BUCKET: the simulated runner's uploads, copied to releases/ by the release handler.
    const bucket = new SimulatedBucket();
    // The bot reads the build-time history build-phase writes: one item per type, same table.
    const durations = new DynamoDurationHistory(dynamo.client, dynamo.tableName);
    const eventDeps: EventDeps = {
      config,
      store: dynamo.store,
      ledger: dynamo.ledger,
      durations,
      chat: chatFor(eventsCredentials.botToken, 'background'),
      compute: new Ec2Compute(ec2Client, config.launchTemplateId ?? ''),
      quotas: new ServiceQuotasLimits(quotasClient),
      deadlines: new SchedulerDeadlines(schedulerClient, {
        group: config.scheduleGroup,
        roleArn: config.schedulerRoleArn,
        ...(config.scheduleDeadLetterArn !== undefined && { deadLetterArn: config.scheduleDeadLetterArn }),
      }),
      notifier: new SnsNotifier(snsClient, config.snsTopicArn, log.child({ fn: 'sns' })),
      artifacts: bucket,
      clock,
      log: log.child({ fn: 'events' }),
    };
    const bus: LocalBus = new LocalBus({
      eventBridge,
      customBusName: config.eventBusName,
      region: config.region,
      now: () => clock.now(),
      log: log.child({ fn: 'eventbridge' }),
      handlers: {
        launch: createLaunchHandler({ ...eventDeps, log: log.child({ fn: 'launch' }) }),
        cancel: createCancelHandler({ ...eventDeps, log: log.child({ fn: 'cancel' }) }),
        buildPhase: createBuildPhaseHandler({ ...eventDeps, log: log.child({ fn: 'build-phase' }) }),
        instanceState: createInstanceStateHandler({ ...eventDeps, log: log.child({ fn: 'instance-state' }) }),
        watchdog: createWatchdogHandler({ ...eventDeps, log: log.child({ fn: 'watchdog' }) }),
        deadline: createDeadlineHandler({ ...eventDeps, log: log.child({ fn: 'deadline' }) }),
        release: createReleaseHandler({ ...eventDeps, log: log.child({ fn: 'release' }) }),
      },
      onDelivery: (delivery) => {
        deliveries.push(delivery);
        if (deliveries.length > 200) deliveries.splice(0, deliveries.length - 200);
        changed();
      },
    });

    cleanups.push(async () => {
      clock.stop();
      await clock.idle();
      await bus.settle();
    });

    const runner = new SimulatedRunner({
      clock,
      ec2,
      store: dynamo.store,
      // What the launch put in the machine's build.json.
      eventToken: (buildId) => eventTokenFor(SANDBOX_EVENT_TOKEN_KEY, buildId),
      artifactBucket: config.artifactBucket,
      outcome: () => outcome,
      put: async (detail) => {
        // packer/runner.sh uploads the files before it reports `completed`.
        if (detail.artifact) bucket.uploaded(detail.artifact.bucket, detail.artifact.key, detail.artifact.bytes);
        // As the instance does: PutEvents on the custom bus, from the runner's own source.
        const out = await eventBridgeClient.send(
          new PutEventsCommand({
            Entries: [
              {
                EventBusName: config.eventBusName,
                Source: RUNNER_SOURCE,
                DetailType: DETAIL_TYPES.phase,
                Detail: JSON.stringify(detail),
                Time: clock.now(),
              },
            ],
          }),
        );
        if ((out.FailedEntryCount ?? 0) > 0) throw new Error(`PutEvents refused the phase ${detail.phase}`);
      },
    });
    // When each machine began to end, for the page's age of an instance.
    const endedAt = new Map<string, string>();
    ec2.onStateChange((event) => {
      const id = event.detail['instance-id'];
      const { state } = event.detail;
      if ((state === 'shutting-down' || state === 'stopping') && !endedAt.has(id)) endedAt.set(id, clock.now().toISOString());
      bus.deliverDefaultBus(event);
      const machine = ec2.get(id);
      if (state === 'running' && machine) runner.start(machine);
      changed();
    });
    clock.everyMinute(async (at) => {
      // EventBridge Scheduler's one-time schedules (each build's deadline) fire before the watchdog's minute.
      await scheduler.fireDue();
      await bus.scheduledWatchdog(at);
    });

    const botCredentials = await loadSlackCredentials(config, () => secretsClient);
    const botHandler = createBotHandler({
      config,
      credentials: botCredentials,
      store: dynamo.store,
      ledger: dynamo.ledger,
      durations,
      approvers: createApproverDirectory(chatFor(botCredentials.botToken, 'request'), config, clock),
      chat: chatFor(botCredentials.botToken, 'request'),
      bus: botBus,
      clock,
      log: log.child({ fn: 'bot' }),
      // Bolt types the Function URL event and result as its own AwsEvent/AwsResponse.
    }) as unknown as FunctionUrlHandler;

    const outcomes = outcomeText(config);
    const base = `http://127.0.0.1:${port}`;
    const platform = new SlackPlatform({
      botUrl: () => `${base}/slack/events`,
      responseUrlBase: () => `${base}/sandbox/response/`,
      signingSecret: botCredentials.signingSecret,
      api: slack,
      log: log.child({ fn: 'slack' }),
    });

    routes = createSandboxRoutes({
      slackApi: (req, res) => slack.handle(req, res),
      bot: botHandler,
      botAnswered: changed,
      users: [REQUESTER, APPROVER],
      channel: SANDBOX_CHANNEL,
      state: async (user, view) => ({
        now: clock.now().toISOString(),
        // The rate time runs at right now (the page extrapolates the clock with it) and the configured one.
        speed: clock.rate(),
        configuredSpeed: speed,
        idleSpeed: clock.idleSpeed,
        outcome,
        outcomes: OUTCOMES.map((id) => ({ id, ...outcomes[id] })),
        me: user,
        users: PEOPLE.map((p) => ({ ...p, name: SANDBOX_USERS[p.id]?.real_name ?? p.id })),
        channel: { id: SANDBOX_CHANNEL, name: 'builds' },
        // For <#C…> mentions, which Slack renders by the channel's name.
        channels: Object.fromEntries(Object.entries(SANDBOX_CHANNELS).map(([id, c]) => [id, c.name])),
        ...conversation(slack.messages(SANDBOX_CHANNEL), (ts) => slack.replies(SANDBOX_CHANNEL, ts), slack.ephemerals(user)),
        instances: ec2.all().map((i) => ({
          instanceId: i.instanceId,
          instanceType: i.instanceType,
          availabilityZone: i.availabilityZone,
          subnetId: i.subnetId,
          state: i.state,
          launchTime: i.launchTime.toISOString(),
          ...(endedAt.has(i.instanceId) ? { endedAt: endedAt.get(i.instanceId) } : {}),
          tags: i.tags,
          buildId: i.tags.BuildID,
        })),
        ...(await tableView(dynamo.store, dynamo.client, dynamo.tableName, view.limit).then((t) => ({
          rows: t.rows,
          table: { total: t.total, shown: t.rows.length, limit: t.limit, slots: t.slots },
        }))),
        sns: sns.published.slice(-50).map((p) => mail(p, publishedAt.get(p.messageId))),
        deliveries: deliveries.filter((d) => d.target !== 'watchdog' || d.outcome !== 'ok').slice(-40),
      }),
      advance: (minutes) => clock.advance(minutes),
      outcome: () => outcome,
      setOutcome: (next) => {
        outcome = next;
        applyOutcome();
        changed();
      },
      slash: (user, text) => platform.slashCommand(user, text, SANDBOX_CHANNEL),
      click: (click) => platform.click(click),
      respond: (id, body) => platform.respond(id, body),
      onChange: (listener) => {
        changeListeners.add(listener);
        return () => changeListeners.delete(listener);
      },
    });
    const ready = routes;
    cleanups.push(() => {
      routes = undefined;
      ready.close();
    });

    clock.start();
    return {
      url: `http://${host === '127.0.0.1' || host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${port}`,
      dynamodbEndpoint: dynamo.endpoint,
      config,
      standIns: { ec2, sns, secretsManager, serviceQuotas, scheduler },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

// ---- the page's view of the mails ------------------------------------------------------------

/** A Publish the SNS stand-in received, as the page shows a mail (the subject is `[SEVERITY] text`). */
function mail(p: Published, at: string | undefined) {
  const subject = /^\[([A-Z]+)\] (.*)$/s.exec(p.subject ?? '');
  return {
    at: at ?? '',
    severity: subject?.[1] ?? 'INFO',
    subject: subject?.[2] ?? p.subject ?? '',
    message: p.message,
    buildId: p.attributes.BuildID?.value ?? '',
    status: p.attributes.Status?.value ?? '',
  };
}

// ---- the page's view of the channel ---------------------------------------------------------

interface PageMessage {
  ts: string;
  channel: string;
  user: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
  replyCount: number;
  broadcast: boolean;
  ephemeral: boolean;
  edited: boolean;
  simTime: string;
}

const tsTime = (ts: string) => new Date(Math.floor(Number(ts) * 1000)).toISOString();

function fromMessage(m: SlackMessage): PageMessage {
  return {
    ts: m.ts,
    channel: SANDBOX_CHANNEL,
    user: m.user,
    text: m.text,
    ...(m.blocks ? { blocks: m.blocks } : {}),
    ...(m.thread_ts && m.thread_ts !== m.ts ? { threadTs: m.thread_ts } : {}),
    replyCount: m.reply_count ?? 0,
    broadcast: m.subtype === 'thread_broadcast',
    ephemeral: false,
    edited: m.edited !== undefined,
    simTime: tsTime(m.ts),
  };
}

function fromEphemeral(e: SlackEphemeral): PageMessage {
  return {
    ts: e.ts,
    channel: e.channel,
    // Ephemerals come from the app, whoever they are for.
    user: BOT_USER,
    text: e.text,
    ...(e.blocks ? { blocks: e.blocks } : {}),
    ...(e.thread_ts ? { threadTs: e.thread_ts } : {}),
    replyCount: 0,
    broadcast: false,
    ephemeral: true,
    edited: false,
    simTime: tsTime(e.ts),
  };
}

const byTs = (a: PageMessage, b: PageMessage) => Number(a.ts) - Number(b.ts);

/** The channel as one person sees it: history plus their ephemerals; threads likewise. */
export function conversation(
  history: SlackMessage[],
  replies: (ts: string) => SlackMessage[],
  ephemerals: SlackEphemeral[],
): { timeline: PageMessage[]; threads: Record<string, PageMessage[]> } {
  const timeline = [
    ...history.map(fromMessage),
    ...ephemerals.filter((e) => e.channel === SANDBOX_CHANNEL && !e.thread_ts).map(fromEphemeral),
  ].sort(byTs);
  const threads: Record<string, PageMessage[]> = {};
  for (const parent of history) {
    if (parent.subtype === 'thread_broadcast') continue;
    const own = ephemerals.filter((e) => e.thread_ts === parent.ts).map(fromEphemeral);
    if (!parent.reply_count && own.length === 0) continue;
    threads[parent.ts] = [...replies(parent.ts).slice(1).map(fromMessage), ...own].sort(byTs);
  }
  return { timeline, threads };
}
