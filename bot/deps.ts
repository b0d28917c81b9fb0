import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Config } from '../domain/config';
import { maskConfig, parseConfig } from '../domain/config';
import type { Bus, BuildLogs, BuildStore, SpendLedger, Chat, Claims, Clock, DurationHistory, Logger, Views } from '../domain/ports';
import { systemClock } from '../domain/ports';
import { getCloudWatchLogsClient, getDynamoClient, getEventBridgeClient } from '../adapters/aws/clients';
import { CloudWatchBuildLogs } from '../adapters/aws/cloudwatch-build-logs';
import { DynamoClaims } from '../adapters/aws/dynamo-claims';
import { DynamoDurationHistory } from '../adapters/aws/dynamo-durations';
import { DynamoSpendLedger } from '../adapters/aws/dynamo-ledger';
import { DynamoBuildStore } from '../adapters/aws/dynamo-store';
import { EventBridgeBus } from '../adapters/aws/event-bus';
import { createLogger } from '../adapters/aws/logger';
import type { SlackCredentials } from '../adapters/aws/slack-secret';
import { loadSlackCredentials } from '../adapters/aws/slack-secret';
import { SlackChat, SlackViews } from '../adapters/slack/chat';
import { createSlackWebClient } from '../adapters/slack/web-client';
import type { ApproverDirectory } from './approvers';
import { createApproverDirectory } from './approvers';

// What the bot needs from the world, wired once by `wireBotDeps` below: `loadBotDeps` from the
// real clients (short 'request' profiles: the bot answers inside Slack's 3 s), the sandbox and
// the tests from stand-ins, with their own ports where they need them.

export interface BotDeps {
  config: Config;
  credentials: SlackCredentials;
  store: BuildStore;
  /** What is done once: the request and click claims, the budget warning (docs/design.md "Claims"). */
  claims: Claims;
  /** Month spend and budget holds (domain/spend.ts). */
  ledger: SpendLedger;
  /** Completed builds' times: the request's expected duration (domain/expected-duration.ts). */
  durations: DurationHistory;
  chat: Chat;
  /** Modals and the Home tab (views.open, views.publish). */
  views: Views;
  /** Who may approve right now: APPROVER_IDS and the members of APPROVER_GROUP_IDS, cached per container. */
  approvers: ApproverDirectory;
  bus: Bus;
  /** Build machines' CloudWatch logs: `logs` and Show log. */
  buildLogs: BuildLogs;
  clock: Clock;
  log: Logger;
  /** BuildID suffixes; Math.random unless a test wants to force a collision. */
  random?: () => number;
}

export async function loadBotDeps(env: Readonly<Record<string, string | undefined>> = process.env): Promise<BotDeps> {
  const config = parseConfig(env);
  const credentials = await loadSlackCredentials(config);
  const log = createLogger({ fn: 'bot' });
  // Once per container: what this function runs with, for the 2 a.m. reader (secrets masked).
  log.info('configuration', { config: maskConfig(config) });
  return wireBotDeps(
    // Only approvals and cancellations put events: the EventBridge client (a few ms to build) is
    // built on the first put, not on every cold start (`npm run bench` measures the command's).
    // The logs client likewise, on the first `logs` or Show log.
    { dynamo: getDynamoClient('request'), eventBridge: () => getEventBridgeClient('request'), logs: () => getCloudWatchLogsClient('request') },
    { config, credentials, clock: systemClock, log },
  );
}

// ---- The one wiring ----------------------------------------------------------------------
//
// The bot's dependencies, built in one place (docs/design.md "Layout"), as events/deps.ts
// `wireEventDeps` builds the handlers': production (loadBotDeps above), the sandbox
// (sandbox/handler-wiring.ts) and the tests (test/support/bot-world.ts, test/model/world.ts)
// all build BotDeps here, from where each service answers and the settings.

/** Where each service answers: AWS's memoised clients in production, stand-ins elsewhere. */
export interface BotEndpoints {
  /** The builds table (config.buildsTable): store, claims, ledger and duration history. */
  dynamo: DynamoDBClient;
  /**
   * The bus config.eventBusName is on. A function is called on the first put only (the bus is
   * then built once): a cold start that puts nothing does not pay for the client.
   */
  eventBridge?: EventBridgeClient | (() => EventBridgeClient);
  /** CloudWatch Logs, where the build machines' logs are; a function is called on the first read only. */
  logs?: CloudWatchLogsClient | (() => CloudWatchLogsClient);
}

/** What the bot runs with. Slack's Web API is config.slackApiUrl, with the bot token ('request' profile). */
export interface BotSettings {
  config: Config;
  credentials: SlackCredentials;
  clock: Clock;
  log: Logger;
  random?: () => number;
}

/** Ports given as they are instead of built from an endpoint: fakes, gated ports, shared instances. */
export type BotPorts = Partial<Omit<BotDeps, 'config' | 'credentials' | 'clock' | 'log' | 'random'>>;

export function wireBotDeps(endpoints: BotEndpoints, settings: BotSettings, ports: BotPorts = {}): BotDeps {
  const { config, credentials, clock, log } = settings;
  const table = config.buildsTable;
  // Short 'request' profile: the bot answers inside Slack's 3 s.
  let client: ReturnType<typeof createSlackWebClient> | undefined;
  const web = () => (client ??= createSlackWebClient({ token: credentials.botToken, apiUrl: config.slackApiUrl, profile: 'request' }));
  const chat = ports.chat ?? new SlackChat(web());
  return {
    config,
    credentials,
    store: ports.store ?? new DynamoBuildStore(endpoints.dynamo, table),
    claims: ports.claims ?? new DynamoClaims(endpoints.dynamo, table),
    ledger: ports.ledger ?? new DynamoSpendLedger(endpoints.dynamo, table),
    durations: ports.durations ?? new DynamoDurationHistory(endpoints.dynamo, table),
    chat,
    views: ports.views ?? new SlackViews(web()),
    // Through this bot's own chat and clock: one directory (and cache) per deps object.
    approvers: ports.approvers ?? createApproverDirectory(chat, config, clock),
    bus: ports.bus ?? busOn(endpoints.eventBridge, config.eventBusName),
    buildLogs: ports.buildLogs ?? logsOn(endpoints.logs),
    clock,
    log,
    ...(settings.random !== undefined && { random: settings.random }),
  };
}

function busOn(eventBridge: BotEndpoints['eventBridge'], busName: string): Bus {
  if (eventBridge === undefined) throw new Error('bot wiring: no EventBridge endpoint and no bus port given');
  if (typeof eventBridge !== 'function') return new EventBridgeBus(eventBridge, busName);
  let bus: Bus | undefined;
  return { put: (event) => (bus ??= new EventBridgeBus(eventBridge(), busName)).put(event) };
}

/** Without an endpoint (a wiring that reads no log) a read throws: "no log yet" would not be true. */
function logsOn(logs: BotEndpoints['logs']): BuildLogs {
  if (logs === undefined)
    return {
      newest: () => Promise.reject(new Error('bot wiring: no CloudWatch Logs endpoint and no buildLogs port given')),
    };
  if (typeof logs !== 'function') return new CloudWatchBuildLogs(logs);
  let adapter: BuildLogs | undefined;
  return { newest: (...args) => (adapter ??= new CloudWatchBuildLogs(logs())).newest(...args) };
}
