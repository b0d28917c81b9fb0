import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { SlackLambdaHandler } from '../../bot/app';
import { createApproverDirectory } from '../../bot/approvers';
import { createHandler as createBot } from '../../bot/handler';
import { DynamoSpendLedger } from '../../adapters/aws/dynamo-ledger';
import { DynamoBuildStore } from '../../adapters/aws/dynamo-store';
import { EventBridgeBus } from '../../adapters/aws/event-bus';
import type { Build } from '../../domain/build';
import { parseConfig } from '../../domain/config';
import { SlackChat } from '../../adapters/slack/chat';
import { createSlackWebClient } from '../../adapters/slack/web-client';
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
  click(actionId: string, buildId: string, user: string): Promise<number>;
  builds(): Promise<Build[]>;
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
  // The bot's budget step goes through the same lossy proxy and gate as its table writes.
  const ledger = gated(new DynamoSpendLedger(client, events.dynamo.tableName), 'ledger.');
  bus.onPut((e) => {
    if (e.detailType === 'Build Approved') gate.onApproved?.(envelopeOf(e));
  });
  const eventBridge = new EventBridgeClient({ endpoint: bus.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

  // A budget far above what a schedule spends: every approval takes the budget step, none is refused by it.
  const env = {
    ...BASE_ENV,
    SLACK_SIGNING_SECRET: SANDBOX_SIGNING_SECRET,
    APPROVER_IDS: `${APPROVER},${SECOND_APPROVER}`,
    MAX_CONCURRENT_BUILDS: '1',
    MONTHLY_BUDGET_USD: '100000',
  };
  const config = parseConfig({ ...env, SLACK_API_URL: events.slack.url, BUILDS_TABLE: events.dynamo.tableName });
  events.configure(env);
  const deps: EventDeps = { ...events.deps, config, store };
  const bot = createBot({
    config,
    credentials: { signingSecret: SANDBOX_SIGNING_SECRET, botToken: SANDBOX_BOT_TOKEN },
    store,
    ledger,
    durations: events.deps.durations,
    approvers: createApproverDirectory(
      new SlackChat(createSlackWebClient({ token: SANDBOX_BOT_TOKEN, apiUrl: events.slack.url, profile: 'request' })),
      config,
      events.clock,
    ),
    chat: new SlackChat(createSlackWebClient({ token: SANDBOX_BOT_TOKEN, apiUrl: events.slack.url, profile: 'request' })),
    bus: new EventBridgeBus(eventBridge, config.eventBusName),
    clock: events.clock,
    log: events.log,
  });
  let trigger = 0;
  const status = async (event: Parameters<SlackLambdaHandler>[0]) => {
    const result = await bot(event, lambdaContext());
    return typeof result === 'object' && result !== null && 'statusCode' in result ? Number(result.statusCode) : 0;
  };

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
      const ports = ['store', 'ledger', 'durations', 'chat', 'compute', 'quotas', 'deadlines', 'notifier', 'artifacts'] as const;
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
    click: (actionId, buildId, user) => status(blockActionEvent({ actionId, value: buildId, user, channel: SANDBOX_CHANNEL })),
    builds: () => events.builds(),
    async reset() {
      delete gate.before;
      delete gate.onApproved;
      proxy.losing = false;
      await events.reset();
      events.configure(env);
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
