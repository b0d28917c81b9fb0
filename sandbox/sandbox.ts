import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { createHandler as createBotHandler } from '../bot/handler';
import { EventBridgeBus } from '../core/aws/event-bus';
import type { LogSink } from '../core/aws/logger';
import { createLogger } from '../core/aws/logger';
import type { Config } from '../core/config';
import { parseConfig } from '../core/config';
import { DETAIL_TYPES, RUNNER_SOURCE } from '../core/events';
import { SlackChat } from '../core/slack/chat';
import { createSlackWebClient } from '../core/slack/web-client';
import { createHandler as createBuildPhaseHandler } from '../events/build-phase';
import { createHandler as createCancelHandler } from '../events/cancel';
import type { EventDeps } from '../events/deps';
import { eventTokenFor } from '../events/event-token';
import { createHandler as createInstanceStateHandler } from '../events/instance-state';
import { createHandler as createLaunchHandler } from '../events/launch';
import { createHandler as createWatchdogHandler } from '../events/watchdog';
import type { LocalDynamo } from '../stand-ins/dynalite';
import { startDynalite } from '../stand-ins/dynalite';
import type { LocalEventBridge } from '../stand-ins/eventbridge';
import { startEventBridge } from '../stand-ins/eventbridge';
import type { SlackEphemeral, SlackMessage } from '../stand-ins/slack-api';
import { APPROVER, BOT_USER, REQUESTER, SANDBOX_BOT_TOKEN, SANDBOX_CHANNEL, SANDBOX_USERS, createSlackApi } from '../stand-ins/slack-api';
import { SANDBOX_SIGNING_SECRET } from '../stand-ins/slack-request';
import type { Delivery } from './bus';
import { LocalBus } from './bus';
import { SimulatedClock } from './clock';
import { SimulatedEc2 } from './ec2';
import type { FunctionUrlHandler } from './function-url';
import { LogNotifier } from './notifier';
import type { Outcome } from './runner';
import { OUTCOMES, SimulatedRunner } from './runner';
import type { SandboxRoutes } from './server';
import { createSandboxRoutes } from './server';
import { SlackPlatform } from './slack-platform';

// `npm start`, as a function: the real bot and event handlers, built from their factories, wired
// to local stand-ins (dynalite, the Slack Web API stand-in, the EventBridge stand-in, simulated
// EC2 and runner, SNS into a log) under one simulated clock. The real EC2 adapter
// (events/ec2-compute.ts) is not exercised here: EC2 is simulated behind the Compute port.

export const DEFAULT_PORT = 3000;
export const DEFAULT_DYNAMODB_PORT = 8000;
export const DEFAULT_SPEED = 60;
export const DEFAULT_OUTCOME: Outcome = 'success';
/** The key of the builds' event tokens in the sandbox (EVENT_TOKEN_KEY); the stack generates one. */
export const SANDBOX_EVENT_TOKEN_KEY = 'sandbox-event-token-key-not-a-secret';

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

export interface Sandbox {
  url: string;
  dynamodbEndpoint: string;
  config: Config;
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

/** The sandbox's configuration, through the same parser as on AWS. */
export function sandboxConfig(port: number, env: Readonly<Record<string, string | undefined>> = {}): Config {
  const knobs = Object.fromEntries(CONFIG_KNOBS.flatMap((k) => (env[k] !== undefined && env[k] !== '' ? [[k, env[k]]] : [])));
  return parseConfig({
    SLACK_SIGNING_SECRET: SANDBOX_SIGNING_SECRET,
    SLACK_BOT_TOKEN: SANDBOX_BOT_TOKEN,
    SLACK_API_URL: `http://127.0.0.1:${port}/api/`,
    APPROVER_IDS: APPROVER,
    ALLOW_SELF_APPROVAL: 'false',
    SUBNET_IDS: 'subnet-sandbox-a,subnet-sandbox-b',
    LAUNCH_TEMPLATE_ID: 'lt-0sandbox',
    SNS_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:labapp-metal-builds',
    AWS_REGION: 'us-east-1',
    // Fixed, as the other sandbox credentials: the simulated runner derives each build's token from it.
    EVENT_TOKEN_KEY: SANDBOX_EVENT_TOKEN_KEY,
    ...knobs,
  });
}

const defaultSink: LogSink = (line, level) => {
  if (level !== 'INFO') console.error(line);
};

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const speed = options.speed ?? DEFAULT_SPEED;
  let outcome: Outcome = options.outcome ?? DEFAULT_OUTCOME;
  const log = createLogger({ service: 'sandbox' }, options.logSink ?? defaultSink);
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
    const config = sandboxConfig(port, options.env);
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
      onError: (error, what) => log.error('a simulated task failed', { what, error: error instanceof Error ? error : new Error(String(error)) }),
    });

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

    const notifier = new LogNotifier(clock);
    notifier.onNotify(changed);
    const deliveries: Delivery[] = [];

    const ec2 = new SimulatedEc2({
      clock,
      region: config.region,
      subnetIds: config.subnetIds,
      unavailableTypes: () => (outcome === 'no-capacity' ? [config.instanceType] : []),
    });

    const chatFor = (profile: 'request' | 'background') =>
      new SlackChat(createSlackWebClient({ token: SANDBOX_BOT_TOKEN, apiUrl: config.slackApiUrl, profile }));
    const eventDeps: EventDeps = {
      config,
      store: dynamo.store,
      chat: chatFor('background'),
      bus: botBus,
      compute: ec2,
      quotas: { onDemandStandardVcpus: async () => 640 },
      notifier,
      clock,
      log: log.child({ fn: 'events' }),
    };
    const bus: LocalBus = new LocalBus({
      eventBridge,
      region: config.region,
      now: () => clock.now(),
      log: log.child({ fn: 'eventbridge' }),
      handlers: {
        launch: createLaunchHandler({ ...eventDeps, log: log.child({ fn: 'launch' }) }),
        cancel: createCancelHandler({ ...eventDeps, log: log.child({ fn: 'cancel' }) }),
        buildPhase: createBuildPhaseHandler({ ...eventDeps, log: log.child({ fn: 'build-phase' }) }),
        instanceState: createInstanceStateHandler({ ...eventDeps, log: log.child({ fn: 'instance-state' }) }),
        watchdog: createWatchdogHandler({ ...eventDeps, log: log.child({ fn: 'watchdog' }) }),
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
    ec2.onStateChange((instance) => {
      bus.ec2StateChanged(instance);
      if (instance.state === 'running') runner.start(instance);
      changed();
    });
    clock.everyMinute((at) => bus.scheduledWatchdog(at));

    const botHandler = createBotHandler({
      config,
      credentials: { signingSecret: config.slackSigningSecret ?? SANDBOX_SIGNING_SECRET, botToken: SANDBOX_BOT_TOKEN },
      store: dynamo.store,
      chat: chatFor('request'),
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
      signingSecret: config.slackSigningSecret ?? SANDBOX_SIGNING_SECRET,
      api: slack,
      log: log.child({ fn: 'slack' }),
    });

    routes = createSandboxRoutes({
      slackApi: (req, res) => slack.handle(req, res),
      bot: botHandler,
      botAnswered: changed,
      users: [REQUESTER, APPROVER],
      channel: SANDBOX_CHANNEL,
      state: async (user) => ({
        now: clock.now().toISOString(),
        speed,
        outcome,
        outcomes: OUTCOMES.map((id) => ({ id, ...outcomes[id] })),
        me: user,
        users: PEOPLE.map((p) => ({ ...p, name: SANDBOX_USERS[p.id]?.real_name ?? p.id })),
        channel: { id: SANDBOX_CHANNEL, name: 'builds' },
        ...conversation(slack.messages(SANDBOX_CHANNEL), (ts) => slack.replies(SANDBOX_CHANNEL, ts), slack.ephemerals(user)),
        instances: ec2.all().map((i) => ({ ...i, buildId: i.tags.BuildID })),
        rows: sortRows(await dynamo.items()),
        sns: notifier.entries.slice(-50),
        deliveries: deliveries.filter((d) => d.target !== 'watchdog' || d.outcome !== 'ok').slice(-40),
      }),
      advance: (minutes) => clock.advance(minutes),
      outcome: () => outcome,
      setOutcome: (next) => {
        outcome = next;
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
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
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

function sortRows(items: Record<string, unknown>[]): Record<string, unknown>[] {
  const key = (item: Record<string, unknown>) => (typeof item.CreatedAt === 'string' ? item.CreatedAt : '');
  // Builds newest first; the bookkeeping items (#slots, #request#…) after them.
  return [...items].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (!ka || !kb) return ka ? -1 : kb ? 1 : String(a.BuildID).localeCompare(String(b.BuildID));
    return kb.localeCompare(ka);
  });
}
