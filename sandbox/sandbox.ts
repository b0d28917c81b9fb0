import type { LogSink } from '../adapters/aws/logger';
import { createLogger } from '../adapters/aws/logger';
import type { Config } from '../domain/config';
import type { LocalCloudWatchLogs } from '../stand-ins/cloudwatch-logs';
import type { Ec2StandIn } from '../stand-ins/ec2';
import type { SchedulerStandIn } from '../stand-ins/scheduler';
import type { LocalSecretsManager } from '../stand-ins/secrets-manager';
import type { ServiceQuotasStandIn } from '../stand-ins/service-quotas';
import type { LocalSns } from '../stand-ins/sns';
import { createSlackApi } from '../stand-ins/slack-api';
import { connectClients, connectEventBridge, onPublish } from './aws-clients';
import { ChangeFeed } from './change-feed';
import { anyMachineLive, createSandboxClock, stopClockOnClose, tickEveryMinute } from './clock-wiring';
import type { GithubStandIn } from '../stand-ins/github';
import { startGithubStandIn } from '../stand-ins/github';
import { createGithubControl } from './github-push';
import { buildBotHandler, buildEventDeps, wireBus } from './handler-wiring';
import { OutcomeSwitch } from './outcome-switch';
import { pageRoutes } from './page-endpoints';
import { PAGE_USERS, PageJournal, pageState } from './page-state';
import { ModalDesk } from './modal-desk';
import { openFrontPort } from './listening-ports';
import type { Outcome } from './runner';
import { cloudWatchRunnerLog } from './runner-log';
import { createRunner, followMachines } from './runner-wiring';
import { sandboxConfig } from './sandbox-config';
import { startDynamo, startEc2, startEventBridgeStandIn, startServiceStandIns, startSlackSecret } from './stand-ins-start';
import { Teardown } from './teardown';

export { conversation } from './page-channel';
export { PortInUseError } from './listening-ports';
export {
  CONFIG_KNOBS,
  SANDBOX_EVENT_TOKEN_KEY,
  SANDBOX_SCHEDULER_ROLE_ARN,
  SANDBOX_SLACK_SECRET_NAME,
  SANDBOX_TOPIC_ARN,
  sandboxConfig,
} from './sandbox-config';

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
  logs: LocalCloudWatchLogs;
  /** GitHub's commit-status endpoint: what the build's commit would show. */
  github: GithubStandIn;
}

export interface Sandbox {
  url: string;
  dynamodbEndpoint: string;
  config: Config;
  standIns: SandboxStandIns;
  close(): Promise<void>;
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

const pageHost = (host: string) => (host === '127.0.0.1' || host === '0.0.0.0' || host === '::' ? 'localhost' : host);

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const speed = options.speed ?? DEFAULT_SPEED;
  // Every line carries the simulated time beside the wall time (`time`): handlers read the former.
  let simNow: (() => Date) | undefined;
  const log = createLogger(
    { service: 'sandbox' },
    withSimTime(options.logSink ?? defaultSink, () => simNow?.()),
  );
  const teardown = new Teardown();
  const close = () => teardown.close();

  // The HTTP port first: it is the one people open, and the one most likely taken.
  const front = await openFrontPort(options.port ?? DEFAULT_PORT, host, teardown);
  try {
    const { secretsManager, slackSecretArn } = await startSlackSecret(options.env ?? {}, teardown);
    const github = await startGithubStandIn();
    teardown.add(() => github.close());
    const config = sandboxConfig(front.port, slackSecretArn, options.env, github.url);
    const dynamo = await startDynamo(options.dynamodbPort ?? DEFAULT_DYNAMODB_PORT, teardown);
    const eventBridge = await startEventBridgeStandIn(teardown);

    const changes = new ChangeFeed();
    const clock = createSandboxClock({
      speed,
      // `bus` is built below; the clock only steps once everything is wired (clock.start, advance).
      settle: () => bus.settle(),
      busy: () => anyMachineLive(ec2),
      onRateChange: changes.changed,
      log,
    });
    simNow = () => clock.now();
    // Slack's ts read from the simulated clock: message times on the page are simulated times.
    const slack = createSlackApi({ now: () => clock.now() });
    slack.onChange(changes.changed);

    const { eventBridgeClient, botBus } = connectEventBridge(config, eventBridge, teardown);
    const ec2 = await startEc2(config, clock, teardown);
    const outcome = new OutcomeSwitch(options.outcome ?? DEFAULT_OUTCOME, ec2, config.instanceType);
    const { sns, logs, serviceQuotas, scheduler } = await startServiceStandIns(config, clock, ec2, teardown);
    const clients = connectClients(config, { ec2, sns, serviceQuotas, secretsManager, scheduler, logs }, teardown);
    const journal = new PageJournal(clock, changes.changed);
    onPublish(clients.snsClient, journal.published);

    const base = { config, dynamo, clients, clock, log };
    const { eventDeps, bucket, durations } = await buildEventDeps(base);
    const bus = wireBus(base, eventDeps, eventBridge, journal.delivered);
    stopClockOnClose(clock, bus, teardown);
    const runner = createRunner({
      config,
      clock,
      ec2,
      dynamo,
      bucket,
      eventBridgeClient,
      outcome: outcome.current,
      log: cloudWatchRunnerLog(clients.logsClient, clock),
    });
    followMachines(ec2, bus, runner, journal, changes.changed);
    tickEveryMinute(clock, scheduler, bus);
    const bot = await buildBotHandler(base, durations, botBus);

    const modals = new ModalDesk(() => slack.modals(), changes.changed);
    const state = pageState({ config, clock, speed, outcome: outcome.current, slack, modals, ec2, dynamo, sns, journal });
    const githubControl = createGithubControl({ bot: bot.handler, github, changed: changes.changed });
    front.serve(pageRoutes({ port: front.port, slack, bot, state, clock, outcome, changes, modals, users: PAGE_USERS, log, github: githubControl }));

    clock.start();
    return {
      url: `http://${pageHost(host)}:${front.port}`,
      dynamodbEndpoint: dynamo.endpoint,
      config,
      standIns: { ec2, sns, secretsManager, serviceQuotas, scheduler, logs, github },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
