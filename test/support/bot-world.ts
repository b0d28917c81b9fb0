import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { applyEvent } from '../../domain/apply';
import type { Build } from '../../domain/build';
import type { BuildStore, Claims, SpendLedger } from '../../domain/ports';
import { DynamoBuildStore } from '../../adapters/aws/dynamo-store';
import { memoryLogger } from '../../stand-ins/memory-logger';
import { parseConfig } from '../../domain/config';
import type { SlackLambdaHandler } from '../../bot/app';
import type { BotDeps } from '../../bot/deps';
import { wireBotDeps } from '../../bot/deps';
import { createHandler } from '../../bot/handler';
import { INSTANCE_ID } from '../../stand-ins/build-fixture';
import type { LocalDynamo } from '../../stand-ins/dynalite';
import { startDynalite } from '../../stand-ins/dynalite';
import type { LocalCloudWatchLogs } from '../../stand-ins/cloudwatch-logs';
import { startCloudWatchLogsStandIn } from '../../stand-ins/cloudwatch-logs';
import type { LocalEventBridge } from '../../stand-ins/eventbridge';
import { startEventBridge } from '../../stand-ins/eventbridge';
import type { SlackApi, SlackView } from '../../stand-ins/slack-api';
import { APPROVER, REQUESTER, SANDBOX_BOT_TOKEN, SANDBOX_CHANNEL, startSlackApi } from '../../stand-ins/slack-api';
import {
  SANDBOX_SIGNING_SECRET,
  blockActionEvent,
  lambdaContext,
  parseLambdaResult,
  slashCommandEvent,
  viewSubmissionEvent,
} from '../../stand-ins/slack-request';
import { appHomeOpenedEvent, homeActionEvent } from '../../stand-ins/slack-request';
import { logsClient, writeBuildLog } from './build-log';
import { useWorldOf } from './use-world';

// The bot's world for a test file: dynalite, the Slack stand-in and the EventBridge stand-in, and
// the bot built from its factory over the REAL adapters pointed at them. Each case asserts what
// is left afterwards: table items, Slack calls, events put.

export type Env = Record<string, string>;

export interface World {
  dynamo: LocalDynamo;
  slack: SlackApi;
  events: LocalEventBridge;
  /** Where the build machines' logs are (CloudWatch Logs). */
  logs: LocalCloudWatchLogs;
  log: ReturnType<typeof memoryLogger>;
  /**
   * The bot's clock: the wall clock moved ahead by `clockOffsetMinutes`, or `frozenAt`. Slack
   * signatures always use the wall clock, as Bolt checks them against it.
   */
  clockOffsetMinutes: number;
  frozenAt?: Date;
  /** A bot with these environment variables on top of the defaults (APPROVER_IDS = Avery). */
  bot(env?: Env, options?: { random?: () => number; store?: BuildStore; claims?: Claims; ledger?: SpendLedger }): Bot;
  /** The build records (no #slots / #request# items). */
  builds(): Promise<Build[]>;
  build(buildId: string): Promise<Build | undefined>;
  slots(): Promise<string[]>;
  /** The build machine's log as the runner writes it: one event per message, a second apart, the last at `lastAt`. */
  writeLog(buildId: string, messages: readonly string[], options?: { instanceId?: string; lastAt?: Date }): Promise<void>;
  /** What the launch handler records once EC2 answered RunInstances. */
  launch(buildId: string): Promise<Build>;
  /** What was put on the bus: (detail-type, detail), all from the bot's source. */
  bus(): Array<[string, unknown]>;
  /** Texts of the ephemeral messages sent to `user` (chat.postEphemeral). */
  ephemerals(user: string): string[];
  /** Texts of the thread under the build's card, replies only. */
  thread(buildId: string): Promise<string[]>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

export interface Answer {
  statusCode: number;
  /** The ack body's text (ephemeral answers to a slash command). */
  text?: string;
  responseType?: string;
  /** The ack body when it is a dialog's answer (`response_action`). */
  json?: Record<string, unknown>;
}

export interface Bot {
  deps: BotDeps;
  handler: SlackLambdaHandler;
  command(text: string, options?: { user?: string; channel?: string; triggerId?: string; retryNum?: number }): Promise<Answer>;
  /** `threadTs`: the button is on a reply in that thread (the warning), as Slack's payload then says. */
  click(actionId: string, buildId: string, user: string, options?: { channel?: string; threadTs?: string }): Promise<Answer>;
  /** `user` opens the app's Home tab (app_home_opened). */
  openHome(user: string, tab?: 'home' | 'messages'): Promise<Answer>;
  /** A button in `user`'s Home tab; `value` is the BuildID for a build's buttons. */
  homeClick(actionId: string, value: string, user: string, triggerId?: string): Promise<Answer>;
  /** Submit a dialog opened with views.open (the stand-in's `modals()`), as Slack sends it. */
  submit(view: SlackView, values: Record<string, string | undefined>, options?: { user?: string; forge?: boolean }): Promise<Answer>;
  /** `/metal-build main abc1234` by Riley (or `user`); the new BuildID. */
  request(text?: string, user?: string): Promise<string>;
}

export const DEFAULT_ENV: Env = {
  SLACK_SIGNING_SECRET: SANDBOX_SIGNING_SECRET,
  SLACK_BOT_TOKEN: SANDBOX_BOT_TOKEN,
  APPROVER_IDS: APPROVER,
};

let triggerCount = 0;

export async function startWorld(): Promise<World> {
  const [dynamo, slack, events, logs] = await Promise.all([startDynalite(), startSlackApi(), startEventBridge(), startCloudWatchLogsStandIn()]);
  const cloudWatchLogs = logsClient(logs);
  const log = memoryLogger();
  const eventBridgeClient = new EventBridgeClient({
    endpoint: events.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const store = new DynamoBuildStore(dynamo.client, dynamo.tableName);

  const world: World = {
    dynamo,
    slack,
    events,
    logs,
    log,
    clockOffsetMinutes: 0,
    bot(env = {}, options = {}) {
      const config = parseConfig({ ...DEFAULT_ENV, SLACK_API_URL: slack.url, BUILDS_TABLE: dynamo.tableName, ...env });
      const sameTable = config.buildsTable === dynamo.tableName;
      // Over this world's table the shared store, claims and ledger; over another (BUILDS_TABLE
      // in `env`) the wiring's own. `options` override either.
      const deps = wireBotDeps(
        { dynamo: dynamo.client, eventBridge: eventBridgeClient, logs: cloudWatchLogs },
        {
          config,
          credentials: {
            signingSecret: SANDBOX_SIGNING_SECRET,
            botToken: SANDBOX_BOT_TOKEN,
            ...(config.githubWebhookSecret !== undefined && { githubWebhookSecret: config.githubWebhookSecret }),
          },
          clock: { now: () => world.frozenAt ?? new Date(Date.now() + world.clockOffsetMinutes * 60_000) },
          log,
          ...(options.random ? { random: options.random } : {}),
        },
        {
          ...(sameTable && { store, claims: dynamo.claims, ledger: dynamo.ledger }),
          ...(options.store && { store: options.store }),
          ...(options.claims && { claims: options.claims }),
          ...(options.ledger && { ledger: options.ledger }),
        },
      );
      const handler = createHandler(deps);
      const bot: Bot = {
        deps,
        handler,
        async command(text, o = {}) {
          const event = slashCommandEvent(
            { text, user: o.user ?? REQUESTER, channel: o.channel ?? SANDBOX_CHANNEL, triggerId: o.triggerId ?? `trigger-${++triggerCount}` },
            o.retryNum !== undefined ? { retryNum: o.retryNum } : {},
          );
          return invoke(handler, event);
        },
        async click(actionId, buildId, user, o = {}) {
          const event = blockActionEvent({
            actionId,
            value: buildId,
            user,
            channel: o.channel ?? SANDBOX_CHANNEL,
            ...(o.threadTs ? { threadTs: o.threadTs } : {}),
          });
          return invoke(handler, event);
        },
        openHome: (user, tab = 'home') => invoke(handler, appHomeOpenedEvent(user, tab)),
        homeClick: (actionId, value, user, triggerId) => invoke(handler, homeActionEvent({ actionId, value, user, ...(triggerId ? { triggerId } : {}) })),
        async submit(view, values, o = {}) {
          return invoke(handler, viewSubmissionEvent({ view, values, user: o.user ?? REQUESTER, ...(o.forge ? { forge: true } : {}) }));
        },
        async request(text = 'main abc1234', user = REQUESTER) {
          const before = new Set((await world.builds()).map((b) => b.BuildID));
          const a = await bot.command(text, { user });
          const created = (await world.builds()).filter((b) => !before.has(b.BuildID));
          if (a.statusCode !== 200 || created.length !== 1) throw new Error(`request failed: ${JSON.stringify(a)}`);
          return created[0]!.BuildID;
        },
      };
      return bot;
    },
    async builds() {
      return (await dynamo.items()).filter((i) => typeof i.BuildID === 'string' && !i.BuildID.startsWith('#')) as unknown as Build[];
    },
    build: (buildId) => store.get(buildId),
    writeLog: (buildId, messages, o = {}) => writeBuildLog(cloudWatchLogs, buildId, o.instanceId ?? INSTANCE_ID, messages, o.lastAt),
    slots: () => store.slots(),
    async launch(buildId) {
      const applied = await applyEvent(
        store,
        buildId,
        {
          type: 'launched',
          instanceId: INSTANCE_ID,
          instanceType: 'c5n.metal',
          availabilityZone: 'us-east-1a',
          launchTime: new Date().toISOString(),
          limitHours: 3,
        },
        new Date(),
      );
      if (applied.outcome !== 'changed') throw new Error(`launch of ${buildId}: ${applied.outcome}`);
      return applied.build;
    },
    bus: () =>
      events.entries.map((e) => {
        if (e.source !== 'labapp.metal-build') throw new Error(`unexpected source ${e.source}`);
        return [e.detailType, e.detail];
      }),
    ephemerals: (user) => slack.ephemerals(user).map((e) => e.text),
    async thread(buildId) {
      const build = await store.get(buildId);
      return slack
        .replies(SANDBOX_CHANNEL, build!.ThreadTs)
        .slice(1)
        .map((m) => m.text);
    },
    async reset() {
      await dynamo.reset();
      slack.reset();
      events.clear();
      logs.reset();
      log.lines.length = 0;
      world.clockOffsetMinutes = 0;
      delete world.frozenAt;
    },
    async close() {
      eventBridgeClient.destroy();
      cloudWatchLogs.destroy();
      await Promise.all([dynamo.close(), slack.close(), events.close(), logs.close()]);
    },
  };
  return world;
}

/** This file's world, started, reset and closed around its cases (test/support/use-world.ts). */
export function useWorld(): () => World {
  return useWorldOf(startWorld);
}

/** Run the handler as Lambda would and read its answer. */
export async function invoke(handler: SlackLambdaHandler, event: Parameters<SlackLambdaHandler>[0]): Promise<Answer> {
  const parsed = parseLambdaResult(await handler(event, lambdaContext()));
  return {
    statusCode: parsed.statusCode,
    ...(parsed.json?.text !== undefined ? { text: parsed.json.text } : {}),
    ...(parsed.json?.response_type !== undefined ? { responseType: parsed.json.response_type } : {}),
    ...(parsed.json?.response_action !== undefined ? { json: parsed.json } : {}),
  };
}
