import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { SlackLambdaHandler } from '../../bot/app';
import { wireBotDeps } from '../../bot/deps';
import { createHandler as createBot } from '../../bot/handler';
import { DynamoClaims } from '../../adapters/aws/dynamo-claims';
import { DynamoSpendLedger } from '../../adapters/aws/dynamo-ledger';
import { DynamoBuildStore } from '../../adapters/aws/dynamo-store';
import { EventBridgeBus } from '../../adapters/aws/event-bus';
import type { Build } from '../../domain/build';
import type { ClaimKey, Claims } from '../../domain/ports';
import { parseConfig } from '../../domain/config';
import type { EventDeps } from '../../events/deps';
import { createHandler as createBuildPhase } from '../../events/build-phase';
import { createHandler as createCancel } from '../../events/cancel';
import { createHandler as createInstanceState } from '../../events/instance-state';
import { createHandler as createLaunch } from '../../events/launch';
import { createHandler as createWatchdog } from '../../events/watchdog';
import type { LocalEventBridge, PutEntry } from '../../stand-ins/eventbridge';
import { startEventBridge } from '../../stand-ins/eventbridge';
import type { LostAnswerProxy } from '../../stand-ins/lost-answer-proxy';
import { startLostAnswerProxy } from '../../stand-ins/lost-answer-proxy';
import { APPROVER, REQUESTER, SANDBOX_BOT_TOKEN, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { SANDBOX_SIGNING_SECRET, blockActionEvent, lambdaContext, slashCommandEvent } from '../../stand-ins/slack-request';
import type { World as EventsWorld } from '../support/events-world';
import { BASE_ENV, startWorld as startEventsWorld } from '../support/events-world';

// The whole system for the model-based test: the real bot and the five real events handlers
// over ONE table (dynalite, reached through a proxy that can lose write answers), the Slack
// stand-in, the EventBridge stand-in the bot puts on, EC2 behind the real Ec2Compute, and SNS.
// Events are not routed automatically: the test delivers them, at least once, in any order.

export const SECOND_APPROVER = 'U0APPROVER2';
export const MODEL_BUDGET_USD = 30;
/** Two hours before a month turns: schedules that move the clock cross it mid-build. */
export const MODEL_START = '2026-11-30T22:00:00.000Z';

/**
 * Where a step can steer interleavings: `before` runs ahead of every table call of every handler
 * (and of the bot's month-ledger calls, named `ledger.<method>`)
 * (fc.scheduler decides their order), and `onApproved` is given each `Build Approved` as soon as
 * the bus accepts it, as EventBridge would deliver it while the other clicks are still running.
 */
export interface Gate {
  before?: (call: string) => Promise<void>;
  onApproved?: (event: unknown) => void;
}

/** Which approval rules a click meets: as configured, or changed by a redeploy between clicks. */
export type Roster = 'plain' | 'two-approvals' | 'two-approvals-without-second';

export interface ModelWorld {
  gate: Gate;
  events: EventsWorld;
  bus: LocalEventBridge;
  proxy: LostAnswerProxy;
  deps: EventDeps;
  bot: SlackLambdaHandler;
  handlers: {
    launch: (event: unknown) => Promise<void>;
    cancel: (event: unknown) => Promise<void>;
    instanceState: (event: unknown) => Promise<void>;
    buildPhase: (event: unknown) => Promise<void>;
    watchdog: (event: unknown) => Promise<void>;
  };
  /**
   * One watchdog invocation as Lambda runs it: after `timeoutMs` of real time it is frozen (every
   * port call it then makes throws, as nothing of a timed-out Lambda runs on) and its outcome is
   * `timed-out`. Its remaining time, as the context tells it, counts down from `contextMs`.
   * `order`: the run's TerminateInstances and Slack calls, in the order it started them.
   */
  watchdogInvocation(
    event: unknown,
    timeoutMs: number,
    contextMs?: number,
  ): Promise<{ outcome: 'done' | 'failed' | 'timed-out'; order: Array<'terminate' | 'slack'> }>;
  command(text: string, user: string): Promise<number>;
  /** A click through the bot deployed with `roster`'s approval rules (default: as configured). */
  click(actionId: string, buildId: string, user: string, roster?: Roster): Promise<number>;
  /**
   * The `index`-th click sent (modulo their number) sent again, the same signed body to the same
   * bot; `claim` is the table item that click's first delivery left if it was handled.
   */
  replay(index: number): Promise<{ status: number; claim: string } | undefined>;
  builds(): Promise<Build[]>;
  /** The next `calls` month-ledger calls, of any handler, fail (DynamoDB unavailable for a while). */
  ledgerOutage(calls: number): void;
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Short timeouts through the proxy: a lost answer costs the client one timeout and one retry. */
const TIMEOUT_MS = 150;

export async function startModelWorld(): Promise<ModelWorld> {
  const [events, bus] = await Promise.all([startEventsWorld(), startEventBridge()]);
  const proxy = await startLostAnswerProxy({ target: events.dynamo.endpoint, holdMs: TIMEOUT_MS + 50 });
  proxy.losing = false;
  const client = new DynamoDBClient({
    endpoint: proxy.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 500, requestTimeout: TIMEOUT_MS, throwOnRequestTimeout: true }),
  });
  const gate: Gate = {};
  /** Every method call of `port` waits for `gate.before` first, named `<prefix><method>`. */
  const gated = <T extends object>(port: T, prefix = ''): T =>
    new Proxy(port, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          await gate.before?.(`${prefix}${String(property)}`);
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
  const store = gated(new DynamoBuildStore(client, events.dynamo.tableName));
  // Every side's month ledger goes through the same lossy proxy and gate as the table writes, and
  // fails outright while an outage lasts (`ledgerOutage`): a budget decision, a count, the books.
  let outage = 0;
  const failing = <T extends object>(port: T): T =>
    new Proxy(port, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (outage > 0) {
            outage--;
            return Promise.reject(Object.assign(new Error('the month ledger is unavailable'), { name: 'InternalServerError' }));
          }
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
  const ledger = failing(gated(new DynamoSpendLedger(client, events.dynamo.tableName), 'ledger.'));
  // The claims go the same way: the month's budget warning (on the month item) as a ledger call,
  // the others as table calls, as they were when the store and the ledger carried them.
  const dynamoClaims = new DynamoClaims(client, events.dynamo.tableName);
  const tableClaims = gated(dynamoClaims);
  const monthClaims = failing(gated(dynamoClaims, 'ledger.'));
  const claimsFor = (key: ClaimKey): Claims => (key.kind === 'budget-warning' ? monthClaims : tableClaims);
  const claims: Claims = {
    claim: (key, now, options) => claimsFor(key).claim(key, now, options),
    complete: (key, now) => claimsFor(key).complete(key, now),
    giveBack: (key) => claimsFor(key).giveBack(key),
  };
  bus.onPut((e) => {
    if (e.detailType === 'Build Approved') gate.onApproved?.(envelopeOf(e));
  });
  const eventBridge = new EventBridgeClient({ endpoint: bus.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

  // A budget a few builds reach: approvals and extensions are refused by it in longer schedules.
  const env = {
    ...BASE_ENV,
    SLACK_SIGNING_SECRET: SANDBOX_SIGNING_SECRET,
    APPROVER_IDS: `${APPROVER},${SECOND_APPROVER}`,
    MAX_CONCURRENT_BUILDS: '1',
    MONTHLY_BUDGET_USD: String(MODEL_BUDGET_USD),
  };
  const config = parseConfig({ ...env, SLACK_API_URL: events.slack.url, BUILDS_TABLE: events.dynamo.tableName });
  events.configure(env);
  const botBus = new EventBridgeBus(eventBridge, config.eventBusName);
  // A freed slot's hand-over puts `Build Approved` for the queue's head on the same bus as the bot.
  const deps: EventDeps = { ...events.deps, config, store, claims, ledger, bus: botBus };
  const botWith = (botConfig: typeof config) =>
    createBot(
      wireBotDeps(
        { dynamo: client },
        { config: botConfig, credentials: { signingSecret: SANDBOX_SIGNING_SECRET, botToken: SANDBOX_BOT_TOKEN }, clock: events.clock, log: events.log },
        // The gated store, claims and ledger; the history build-phase writes, as the handlers read it.
        { store, claims, ledger, durations: events.deps.durations, bus: botBus },
      ),
    );
  const bot = botWith(config);
  // The same deployment with its approval rules changed (a redeploy between two clicks): two
  // approvals above $11 (every default build), with both approvers or without the second.
  const strict = { ...config, secondApprovalAboveUsd: 11 };
  const bots: Record<Roster, SlackLambdaHandler> = {
    plain: bot,
    'two-approvals': botWith(strict),
    'two-approvals-without-second': botWith({ ...strict, approverIds: [APPROVER] }),
  };
  let trigger = 0;
  const status = async (event: Parameters<SlackLambdaHandler>[0], roster: Roster = 'plain') => {
    const result = await bots[roster](event, lambdaContext());
    return typeof result === 'object' && result !== null && 'statusCode' in result ? Number(result.statusCode) : 0;
  };
  /** Every click sent, signed, for replays. */
  const clicks: Array<{ event: Parameters<SlackLambdaHandler>[0]; roster: Roster }> = [];

  return {
    gate,
    events,
    bus,
    proxy,
    deps,
    bot,
    handlers: {
      launch: createLaunch(deps),
      cancel: createCancel(deps),
      instanceState: createInstanceState(deps),
      buildPhase: createBuildPhase(deps),
      watchdog: createWatchdog(deps),
    },
    async watchdogInvocation(event, timeoutMs, contextMs = 60_000) {
      let frozen = false;
      const order: Array<'terminate' | 'slack'> = [];
      const freezable = <T extends object>(port: T, name: string): T =>
        new Proxy(port, {
          get(target, property, receiver) {
            const value = Reflect.get(target, property, receiver) as unknown;
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              if (frozen) return Promise.reject(new Error('the watchdog Lambda timed out'));
              if (name === 'chat') order.push('slack');
              if (name === 'compute' && property === 'terminate') order.push('terminate');
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        });
      const ports = ['store', 'claims', 'ledger', 'durations', 'chat', 'compute', 'quotas', 'deadlines', 'notifier', 'artifacts'] as const;
      const frozenDeps = { ...deps, ...Object.fromEntries(ports.map((p) => [p, freezable(deps[p], p)])) } as EventDeps;
      const endsAt = Date.now() + contextMs;
      const run = createWatchdog(frozenDeps)(event, { getRemainingTimeInMillis: () => Math.max(0, endsAt - Date.now()) }).then(
        () => 'done' as const,
        () => 'failed' as const,
      );
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timed-out'>((resolve) => (timer = setTimeout(() => resolve('timed-out'), timeoutMs)));
      const outcome = await Promise.race([run, timeout]);
      clearTimeout(timer);
      if (outcome === 'timed-out') frozen = true;
      return { outcome, order };
    },
    command: (text, user) => status(slashCommandEvent({ text, user, channel: SANDBOX_CHANNEL, triggerId: `model-${++trigger}` })),
    click: (actionId, buildId, user, roster = 'plain') => {
      const event = blockActionEvent({ actionId, value: buildId, user, channel: SANDBOX_CHANNEL });
      clicks.push({ event, roster });
      return status(event, roster);
    },
    async replay(index) {
      const sent = clicks[index % Math.max(1, clicks.length)];
      if (!sent) return undefined;
      return { status: await status(sent.event, sent.roster), claim: clickClaimOf(sent.event) };
    },
    builds: () => events.builds(),
    ledgerOutage(calls) {
      outage = calls;
    },
    async reset() {
      delete gate.before;
      delete gate.onApproved;
      proxy.losing = false;
      outage = 0;
      clicks.length = 0;
      await events.reset();
      events.configure(env);
      events.clock.set(MODEL_START);
      bus.clear();
    },
    async close() {
      client.destroy();
      eventBridge.destroy();
      await proxy.close();
      await Promise.all([events.close(), bus.close()]);
    },
  };
}

export const PEOPLE = [REQUESTER, APPROVER, SECOND_APPROVER] as const;

/** A bus entry as EventBridge hands it to a Lambda target. */
export function envelopeOf(e: PutEntry): unknown {
  return {
    version: '0',
    id: e.id,
    source: e.source,
    'detail-type': e.detailType,
    time: e.time,
    detail: e.detail,
    account: '123456789012',
    region: 'us-east-1',
    resources: [],
  };
}

/** `#click#<action_ts>#<user>#<action_id>` of a signed block_actions event, read from its body. */
function clickClaimOf(event: { body?: string | null; isBase64Encoded?: boolean }): string {
  const body = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
  const payload = JSON.parse(new URLSearchParams(body).get('payload') ?? '{}') as {
    user: { id: string };
    actions: Array<{ action_ts: string; action_id: string }>;
  };
  const action = payload.actions[0]!;
  return `#click#${action.action_ts}#${payload.user.id}#${action.action_id}`;
}
