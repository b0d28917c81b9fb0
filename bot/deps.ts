import type { Config } from '../domain/config';
import { maskConfig, parseConfig } from '../domain/config';
import type { Bus, BuildStore, SpendLedger, Chat, Claims, Clock, DurationHistory, Logger } from '../domain/ports';
import { systemClock } from '../domain/ports';
import { getDynamoClient, getEventBridgeClient } from '../adapters/aws/clients';
import { DynamoClaims } from '../adapters/aws/dynamo-claims';
import { DynamoDurationHistory } from '../adapters/aws/dynamo-durations';
import { DynamoSpendLedger } from '../adapters/aws/dynamo-ledger';
import { DynamoBuildStore } from '../adapters/aws/dynamo-store';
import { EventBridgeBus } from '../adapters/aws/event-bus';
import { createLogger } from '../adapters/aws/logger';
import type { SlackCredentials } from '../adapters/aws/slack-secret';
import { loadSlackCredentials } from '../adapters/aws/slack-secret';
import { SlackChat } from '../adapters/slack/chat';
import { createSlackWebClient } from '../adapters/slack/web-client';
import type { ApproverDirectory } from './approvers';
import { createApproverDirectory } from './approvers';

// What the bot needs from the world. The sandbox and the tests pass their own; `loadBotDeps`
// builds the real ones (short 'request' profiles: the bot answers inside Slack's 3 s).

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
  /** Who may approve right now: APPROVER_IDS and the members of APPROVER_GROUP_IDS, cached per container. */
  approvers: ApproverDirectory;
  bus: Bus;
  clock: Clock;
  log: Logger;
  /** BuildID suffixes; Math.random unless a test wants to force a collision. */
  random?: () => number;
}

export async function loadBotDeps(env: Readonly<Record<string, string | undefined>> = process.env): Promise<BotDeps> {
  const config = parseConfig(env);
  const credentials = await loadSlackCredentials(config);
  const webClient = createSlackWebClient({ token: credentials.botToken, apiUrl: config.slackApiUrl, profile: 'request' });
  const log = createLogger({ fn: 'bot' });
  // Once per container: what this function runs with, for the 2 a.m. reader (secrets masked).
  log.info('configuration', { config: maskConfig(config) });
  const chat = new SlackChat(webClient);
  return {
    config,
    credentials,
    store: new DynamoBuildStore(getDynamoClient('request'), config.buildsTable),
    claims: new DynamoClaims(getDynamoClient('request'), config.buildsTable),
    ledger: new DynamoSpendLedger(getDynamoClient('request'), config.buildsTable),
    durations: new DynamoDurationHistory(getDynamoClient('request'), config.buildsTable),
    chat,
    approvers: createApproverDirectory(chat, config, systemClock),
    bus: lazyBus(config.eventBusName),
    clock: systemClock,
    log,
  };
}

/**
 * Only approvals and cancellations put events: the EventBridge client (a few ms to build) is
 * built on the first put, not on every cold start (`npm run bench` measures the command's).
 */
function lazyBus(busName: string): Bus {
  let bus: Bus | undefined;
  return { put: (event) => (bus ??= new EventBridgeBus(getEventBridgeClient('request'), busName)).put(event) };
}
