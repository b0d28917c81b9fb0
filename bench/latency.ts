import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { localDynamoClient } from '../stand-ins/dynalite';
import { BOT_ANSWER, coldRun } from './cold-start';
import { startDelayProxy, type DelayProxy } from './delay-proxy';
import { startHandlerProcess } from './handler-process';
import type { LocalWorld } from './local-world';
import { median, round, summarize, type Summary } from './stats';
import { measureApprovals, measureCommands, type WarmFigures } from './warm';
import { checkWork, workRunner, type WorkKind, type WorkTable } from './watchdog-work';

// Measurement 6: the latency model. The same stand-ins behind delaying proxies (bench/delay-proxy.ts)
// that hold every call as long as a round trip to the service from a Lambda takes: Slack 250 ms,
// DynamoDB 8 ms, EventBridge 30 ms, EC2 300 ms (the watchdog's fake EC2 waits as long per call).
// Timed: the answer of the bundled bot (own process) to `/metal-build main abc1234` and to an
// approval click, warm and cold (cold: spawn to answer, with the Secrets Manager read, which the
// model does not delay), and watchdog runs with 30 and 300 active builds (and 30 and 300 machines
// nobody accounts for), each with its calls counted by kind. With the delays this large, what
// the machine's load adds is small: these are budget lines.

export const LATENCY_MS = { slack: 250, dynamodb: 8, eventbridge: 30, ec2: 300 } as const;

export type CallCounts = Record<string, Record<string, number>>;

export interface LatencyRequest {
  answer: Summary;
  /** Calls per request, by service and kind. */
  calls: CallCounts;
}

export interface LatencyWatchdog {
  kind: WorkKind;
  size: number;
  runs: number;
  warnings: number;
  redraws: number;
  medianMs: number;
  maxMs: number;
  /** Calls per run, by service and kind (EC2: DescribeInstances pages and DescribeVolumes). */
  calls: CallCounts;
}

export interface LatencyResult {
  delays: typeof LATENCY_MS;
  command: LatencyRequest;
  approval: LatencyRequest;
  coldCommand: LatencyRequest;
  watchdog: LatencyWatchdog[];
}

interface Proxies {
  slack: DelayProxy;
  dynamodb: DelayProxy;
  eventbridge: DelayProxy;
}

function counts(proxies: Proxies, per: number, extra: Record<string, Record<string, number>> = {}): CallCounts {
  const out: CallCounts = {};
  for (const p of Object.values(proxies)) {
    if (p.total() === 0) continue;
    out[p.name] = Object.fromEntries([...p.calls.entries()].sort().map(([k, v]) => [k, round(v / per)]));
  }
  return { ...out, ...extra };
}

const reset = (proxies: Proxies) => Object.values(proxies).forEach((p) => p.reset());

function warmRequest(f: WarmFigures, proxies: Proxies, invocations: number): LatencyRequest {
  return { answer: f.wall, calls: counts(proxies, invocations) };
}

export async function measureLatencyModel(
  world: LocalWorld,
  options: {
    botBundle: string;
    secretEnv: Record<string, string>;
    requests: number;
    coldRuns: number;
    seedClient: DynamoDBClient;
    tables: Array<{ table: WorkTable; runs: number }>;
    now: Date;
  },
): Promise<LatencyResult> {
  const proxies: Proxies = {
    slack: await startDelayProxy('slack', world.slack.url, LATENCY_MS.slack),
    dynamodb: await startDelayProxy('dynamodb', world.dynamo.endpoint, LATENCY_MS.dynamodb),
    eventbridge: await startDelayProxy('eventbridge', world.eventBridge.endpoint, LATENCY_MS.eventbridge),
  };
  const routed = {
    SLACK_API_URL: proxies.slack.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: proxies.dynamodb.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: proxies.eventbridge.endpoint,
  };
  const client = localDynamoClient(proxies.dynamodb.endpoint);
  try {
    const warmup = 2;
    const bot = await startHandlerProcess(options.botBundle, { ...world.env, ...routed });
    let command: LatencyRequest;
    let approval: LatencyRequest;
    try {
      reset(proxies);
      command = warmRequest(await measureCommands(world, bot, options.requests, warmup), proxies, options.requests + warmup);
      reset(proxies);
      approval = warmRequest(await measureApprovals(world, bot, options.requests, warmup), proxies, options.requests + warmup);
    } finally {
      await bot.close();
    }

    reset(proxies);
    const cold: number[] = [];
    for (let i = 0; i < options.coldRuns; i++) {
      cold.push((await coldRun(options.botBundle, { ...options.secretEnv, ...routed }, BOT_ANSWER)).totalMs);
      await world.expireAwaiting();
    }
    const coldCommand = { answer: summarize(cold), calls: counts(proxies, options.coldRuns) };

    const watchdog: LatencyWatchdog[] = [];
    for (const { table, runs } of options.tables) {
      const r = workRunner(world, options.seedClient, table, { client, slackUrl: proxies.slack.endpoint, ec2DelayMs: LATENCY_MS.ec2 }, options.now);
      const times: number[] = [];
      let ec2 = 0;
      reset(proxies);
      for (let i = 0; i < runs; i++) {
        const slackBefore = proxies.slack.total();
        const noticesBefore = r.notifier.count;
        const { ms, ec2Calls } = await r.run();
        checkWork(r, proxies.slack.total() - slackBefore, r.notifier.count - noticesBefore);
        times.push(ms);
        ec2 = ec2Calls;
      }
      watchdog.push({
        kind: table.kind,
        size: table.size,
        runs,
        warnings: table.warnings,
        redraws: table.redraws,
        medianMs: round(median(times)),
        maxMs: round(Math.max(...times)),
        calls: counts(proxies, runs, { ec2: { 'DescribeInstances pages + DescribeVolumes': ec2 } }),
      });
    }
    world.eventBridge.clear();
    return { delays: LATENCY_MS, command, approval, coldCommand, watchdog };
  } finally {
    client.destroy();
    await Promise.all(Object.values(proxies).map((p) => p.close()));
  }
}
