import { wireBotDeps } from '../bot/deps';
import { createHandler as createBotHandler } from '../bot/handler';
import { DynamoDurationHistory } from '../adapters/aws/dynamo-durations';
import type { EventBridgeBus } from '../adapters/aws/event-bus';
import { loadSlackCredentials } from '../adapters/aws/slack-secret';
import type { Config } from '../domain/config';
import type { Logger } from '../domain/ports';
import { createHandler as createBuildPhaseHandler } from '../events/build-phase';
import { createHandler as createCancelHandler } from '../events/cancel';
import { createHandler as createDeadlineHandler } from '../events/deadline';
import type { EventDeps } from '../events/deps';
import { wireEventDeps } from '../events/deps';
import { createHandler as createInstanceStateHandler } from '../events/instance-state';
import { createHandler as createLaunchHandler } from '../events/launch';
import { createHandler as createReleaseHandler } from '../events/release';
import { createHandler as createWatchdogHandler } from '../events/watchdog';
import type { LocalDynamo } from '../stand-ins/dynalite';
import type { LocalEventBridge } from '../stand-ins/eventbridge';
import { SimulatedBucket } from './artifacts';
import type { AwsClients } from './aws-clients';
import type { Delivery } from './bus';
import { LocalBus } from './bus';
import type { SimulatedClock } from './clock';
import type { FunctionUrlHandler } from './function-url';

// The real bot and event handlers, built from their factories with the real adapters as their
// dependencies, as each Lambda's entry builds them on AWS.

/** What every handler is built from: the config, the table, the clock and the log. */
export interface HandlerBase {
  config: Config;
  dynamo: LocalDynamo;
  clients: AwsClients;
  clock: SimulatedClock;
  log: Logger;
}

export async function buildEventDeps({ config, dynamo, clients, clock, log }: HandlerBase) {
  const eventsCredentials = await loadSlackCredentials(config, () => clients.secretsClient);
  // ARTIFACT_BUCKET: the simulated runner's uploads, copied to releases/ by the release handler.
  const bucket = new SimulatedBucket();
  // The bot reads the build-time history build-phase writes: one item per type, same table.
  const durations = new DynamoDurationHistory(dynamo.client, dynamo.tableName);
  const eventDeps = wireEventDeps(
    {
      dynamo: dynamo.client,
      slackBotToken: eventsCredentials.botToken,
      ec2: clients.ec2Client,
      quotas: clients.quotasClient,
      scheduler: clients.schedulerClient,
      sns: clients.snsClient,
      logs: clients.logsClient,
    },
    {
      config,
      clock,
      log: log.child({ fn: 'events' }),
      notifierLog: log.child({ fn: 'sns' }),
      ...(eventsCredentials.githubStatusToken !== undefined && { githubStatusToken: eventsCredentials.githubStatusToken }),
    },
    { store: dynamo.store, claims: dynamo.claims, ledger: dynamo.ledger, durations, artifacts: bucket },
  );
  return { eventDeps, bucket, durations };
}

/** EventBridge's rules: each event to the handler its rule targets. */
export function wireBus(
  { config, clock, log }: HandlerBase,
  eventDeps: EventDeps,
  eventBridge: LocalEventBridge,
  onDelivery: (delivery: Delivery) => void,
): LocalBus {
  const deps = (fn: string) => ({ ...eventDeps, log: log.child({ fn }) });
  return new LocalBus({
    eventBridge,
    customBusName: config.eventBusName,
    region: config.region,
    now: () => clock.now(),
    log: log.child({ fn: 'eventbridge' }),
    handlers: {
      launch: createLaunchHandler(deps('launch')),
      cancel: createCancelHandler(deps('cancel')),
      buildPhase: createBuildPhaseHandler(deps('build-phase')),
      instanceState: createInstanceStateHandler(deps('instance-state')),
      watchdog: createWatchdogHandler(deps('watchdog')),
      deadline: createDeadlineHandler(deps('deadline')),
      release: createReleaseHandler(deps('release')),
    },
    onDelivery,
  });
}

export async function buildBotHandler({ config, dynamo, clients, clock, log }: HandlerBase, durations: DynamoDurationHistory, botBus: EventBridgeBus) {
  const credentials = await loadSlackCredentials(config, () => clients.secretsClient);
  const handler = createBotHandler(
    wireBotDeps(
      { dynamo: dynamo.client, logs: clients.logsClient },
      { config, credentials, clock, log: log.child({ fn: 'bot' }) },
      { store: dynamo.store, claims: dynamo.claims, ledger: dynamo.ledger, durations, bus: botBus },
    ),
    // Bolt types the Function URL event and result as its own AwsEvent/AwsResponse.
  ) as unknown as FunctionUrlHandler;
  return { handler, signingSecret: credentials.signingSecret };
}
