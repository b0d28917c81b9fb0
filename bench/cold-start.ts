import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { RUNTIME_NODE_OPTIONS } from '../infra/bundling';
import { parseLambdaResult, slashCommandEvent } from '../stand-ins/slack-request';
import { median, round, spread, type Spread } from './stats';

// Measurement 2: a cold start as Lambda does one. A fresh `node` process (NODE_OPTIONS as the
// stack sets it for the bot) requires the CommonJS bundle, calls `handler(event, context)` once with a
// signed `/metal-build main abc1234`, and prints the answer. The time is taken by this process
// from spawn to the answer's arrival: process start, module load, the first request (the bot's
// includes its config, clients, a DynamoDB claim, the slot read, chat.postMessage and the
// record's write; with SLACK_SECRET_ARN also the Secrets Manager read, as on AWS).
//
// Paired: each round runs the minimal app, the bot with the credentials in its environment and
// the bot reading them from the Secrets Manager stand-in, back to back, in an order that rotates
// from round to round; each bot run is divided by the same round's minimal run. A burst of load
// then hits both sides of a ratio alike, and the median and spread of the per-round ratios say
// what unpaired medians could not.

export interface ColdRun {
  /** Spawn to answer, as seen from here. */
  totalMs: number;
  /** Inside the child: `require` of the bundle. */
  loadMs: number;
  /** Inside the child: the first `handler` call. */
  firstRequestMs: number;
  /** The child's CPU time (user + system) up to the answer: less sensitive to a busy machine than wall time. */
  cpuMs: number;
}

export interface ColdStartFigures {
  runs: number;
  medianMs: number;
  medianLoadMs: number;
  medianFirstRequestMs: number;
  medianCpuMs: number;
  samples: number[];
}

export interface ColdStartResult {
  /** The bot with SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN in its environment. */
  bot: ColdStartFigures;
  /** The bot reading its Slack secret from Secrets Manager (SLACK_SECRET_ARN), as deployed. */
  botWithSecret: ColdStartFigures;
  minimal: ColdStartFigures;
  /** Per-round bot / minimal, environment credentials. */
  ratio: Spread;
  /** Per-round bot / minimal, with the Secrets Manager read. */
  ratioWithSecret: Spread;
  /** The same two ratios of the children's CPU time (what load moves least), for comparison. */
  cpuRatio: Spread;
  cpuRatioWithSecret: Spread;
  nodeOptions: string;
  /** Runs that answered with an error and were run again (0 on a machine that is not saturated). */
  failedRuns: number;
}

/** What the bot's Lambda runs with (infra/functions.ts); the minimal app is run the same way. */
export const LAMBDA_NODE_OPTIONS = RUNTIME_NODE_OPTIONS.bot;

const MARK = 'BENCH_RESULT ';

// The child, as plain CommonJS (no tsx: its loader would be part of the measurement). The
// preamble refuses non-loopback sockets, as bench/loopback-only.ts does in this process; the
// warm handler process (bench/handler-process.ts) starts with it too.
export const CHILD_PREAMBLE = `
const net = require('node:net');
const refused = [];
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let o = Array.isArray(args[0]) ? args[0][0] : args[0];
  const host = typeof o === 'object' && o !== null ? (o.path ? undefined : o.host ?? 'localhost')
    : typeof args[1] === 'string' ? args[1] : typeof o === 'string' ? undefined : 'localhost';
  if (host !== undefined && !['127.0.0.1', 'localhost', '::1'].includes(host)) {
    refused.push(host);
    throw new Error('refused a connection to ' + host);
  }
  return connect.apply(this, args);
};
const { performance } = require('node:perf_hooks');
const context = {
  callbackWaitsForEmptyEventLoop: true, functionName: 'metal-build-bench', functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:metal-build-bench', memoryLimitInMB: '512',
  awsRequestId: 'bench', logGroupName: '/aws/lambda/metal-build-bench', logStreamName: 'bench',
  getRemainingTimeInMillis: () => 10000, done() {}, fail() {}, succeed() {},
};
`;

const CHILD = `${CHILD_PREAMBLE}
const report = (o) => process.stdout.write(${JSON.stringify(MARK)} + JSON.stringify({ ...o, refused }) + '\\n');
const t0 = performance.now();
const { handler } = require(process.env.BENCH_BUNDLE);
const t1 = performance.now();
handler(JSON.parse(process.env.BENCH_EVENT), context).then(
  (result) => {
    const cpu = process.cpuUsage();
    report({ result, loadMs: t1 - t0, firstRequestMs: performance.now() - t1, cpuMs: (cpu.user + cpu.system) / 1000 });
    process.exit(0);
  },
  (error) => { report({ error: String((error && error.stack) || error) }); process.exit(1); },
);
`;

interface ChildReport {
  result?: unknown;
  error?: string;
  loadMs?: number;
  firstRequestMs?: number;
  cpuMs?: number;
  refused: string[];
}

interface ChildRun {
  totalMs: number;
  report: ChildReport;
  /** The child's own log lines, for a failed run's error. */
  logs: string;
}

// Below Node 22 the SDK's first client prints a notice that the Node version loses support, which
// costs the bot's first request ~7 ms that it never pays on Lambda (nodejs22.x or newer). Only
// that is taken away: the bench runs the bundle as the runtime it is deployed to would.
const NODE_VERSION_NOTICE_OFF: Record<string, string> =
  Number(process.versions.node.split('.')[0]) < 22 ? { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } : {};

function runChild(bundle: string, event: LambdaFunctionURLEvent, env: Record<string, string>, nodeOptions: string): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['-e', CHILD], {
      env: {
        PATH: process.env.PATH ?? '',
        ...env,
        ...NODE_VERSION_NOTICE_OFF,
        NODE_OPTIONS: nodeOptions,
        BENCH_BUNDLE: bundle,
        BENCH_EVENT: JSON.stringify(event),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let answered: Omit<ChildRun, 'logs'> | undefined;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (answered) return;
      const line = out.split('\n').find((l) => l.startsWith(MARK));
      // The answer's line is complete once the newline after it has arrived.
      if (line && out.includes(`${line}\n`)) answered = { totalMs: performance.now() - start, report: JSON.parse(line.slice(MARK.length)) as ChildReport };
    });
    child.stderr.on('data', (chunk: string) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (answered && code === 0) resolve({ ...answered, logs: `${out}${err}` });
      else reject(new Error(`cold-start child for ${bundle} exited ${code}: ${answered?.report.error ?? ''}\n${err.slice(-2000)}`));
    });
  });
}

export type AnswerCheck = (text: string | undefined) => boolean;

export async function coldRun(bundle: string, env: Record<string, string>, check: AnswerCheck, nodeOptions: string = LAMBDA_NODE_OPTIONS): Promise<ColdRun> {
  const event = slashCommandEvent({ text: 'main abc1234' });
  const { totalMs, report, logs } = await runChild(bundle, event, env, nodeOptions);
  if (report.refused.length > 0) throw new Error(`cold start of ${bundle} tried the network: ${report.refused.join(', ')}`);
  const answer = parseLambdaResult(report.result as Parameters<typeof parseLambdaResult>[0]);
  if (answer.statusCode !== 200 || !check(answer.json?.text))
    throw new Error(`cold start of ${bundle} answered ${answer.statusCode} ${answer.text.slice(0, 300)}\n${logs.slice(-3000)}`);
  return { totalMs, loadMs: report.loadMs ?? 0, firstRequestMs: report.firstRequestMs ?? 0, cpuMs: report.cpuMs ?? 0 };
}

function figures(runs: ColdRun[]): ColdStartFigures {
  return {
    runs: runs.length,
    medianMs: round(median(runs.map((r) => r.totalMs))),
    medianLoadMs: round(median(runs.map((r) => r.loadMs))),
    medianFirstRequestMs: round(median(runs.map((r) => r.firstRequestMs))),
    medianCpuMs: round(median(runs.map((r) => r.cpuMs))),
    samples: runs.map((r) => round(r.totalMs)),
  };
}

export const BOT_ANSWER: AnswerCheck = (text) => text?.startsWith('Requested build-') === true;
export const MINIMAL_ANSWER: AnswerCheck = (text) => text === 'ok';

export interface ColdStartSetup {
  bundles: { bot: string; minimal: string };
  /** The environment with the Slack credentials in it (the minimal app always runs with it). */
  env: Record<string, string>;
  /** The same, with SLACK_SECRET_ARN and the Secrets Manager endpoint instead of the credentials. */
  secretEnv: Record<string, string>;
  /** Runs untimed after each bot run (the bench expires the request just made). */
  afterBotRun: () => Promise<void>;
  nodeOptions?: string;
}

/** `rounds` rounds of three runs (one untimed round first fills the page cache). */
export async function measureColdStarts(setup: ColdStartSetup, rounds: number): Promise<ColdStartResult> {
  const nodeOptions = setup.nodeOptions ?? LAMBDA_NODE_OPTIONS;
  const runs = { bot: [] as ColdRun[], botWithSecret: [] as ColdRun[], minimal: [] as ColdRun[] };
  let failed = 0;
  // A run whose answer is an error (on a saturated machine the bot's 900 ms DynamoDB timeout can
  // pass) is counted, reported and run again; three in a row end the bench.
  const attempt = async (run: () => Promise<ColdRun>): Promise<ColdRun> => {
    for (let tries = 1; ; tries++) {
      try {
        return await run();
      } catch (error) {
        if (tries >= 3) throw error;
        failed++;
      }
    }
  };
  const kinds = {
    bot: async () => {
      const r = await attempt(() => coldRun(setup.bundles.bot, setup.env, BOT_ANSWER, nodeOptions));
      await setup.afterBotRun();
      return r;
    },
    botWithSecret: async () => {
      const r = await attempt(() => coldRun(setup.bundles.bot, setup.secretEnv, BOT_ANSWER, nodeOptions));
      await setup.afterBotRun();
      return r;
    },
    minimal: () => attempt(() => coldRun(setup.bundles.minimal, setup.env, MINIMAL_ANSWER, nodeOptions)),
  };
  const order = ['minimal', 'bot', 'botWithSecret'] as const;
  const ratio: number[] = [];
  const ratioWithSecret: number[] = [];
  const cpuRatio: number[] = [];
  const cpuRatioWithSecret: number[] = [];
  for (let i = -1; i < rounds; i++) {
    const round: Partial<Record<(typeof order)[number], ColdRun>> = {};
    for (let k = 0; k < order.length; k++) {
      const kind = order[(k + Math.max(i, 0)) % order.length]!;
      round[kind] = await kinds[kind]();
    }
    if (i < 0) continue;
    const { bot, botWithSecret, minimal } = round as Record<(typeof order)[number], ColdRun>;
    runs.bot.push(bot);
    runs.botWithSecret.push(botWithSecret);
    runs.minimal.push(minimal);
    ratio.push(bot.totalMs / minimal.totalMs);
    ratioWithSecret.push(botWithSecret.totalMs / minimal.totalMs);
    cpuRatio.push(bot.cpuMs / minimal.cpuMs);
    cpuRatioWithSecret.push(botWithSecret.cpuMs / minimal.cpuMs);
  }
  return {
    bot: figures(runs.bot),
    botWithSecret: figures(runs.botWithSecret),
    minimal: figures(runs.minimal),
    ratio: spread(ratio),
    ratioWithSecret: spread(ratioWithSecret),
    cpuRatio: spread(cpuRatio),
    cpuRatioWithSecret: spread(cpuRatioWithSecret),
    nodeOptions,
    failedRuns: failed,
  };
}
