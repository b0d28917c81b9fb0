import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bundleOf, measureBundles, MINIMAL_APP } from './bundle-size';
import { measureColdStarts } from './cold-start';
import { costTable } from './cost-table';
import { measureDeadlineMargins } from './deadline-margins';
import { measureInstanceState } from './instance-state';
import { measureMonthLedger, seedMonths } from './month-ledger';
import { startLocalWorld } from './local-world';
import { allowLoopbackOnly, refusedConnections } from './loopback-only';
import { budgetLines, printReport, RESULTS_FILE, summaryLine, writeResults } from './report';
import { startHandlerProcess } from './handler-process';
import { measureLatencyModel } from './latency';
import { measureWarm } from './warm';
import { seedingChat } from './warm';
import { measureWatchdogWork, seedWorkTable, type WorkKind, type WorkTable } from './watchdog-work';
import { countReads } from './read-counter';
import { parseConfig } from '../domain/config';
import { localDynamoClient } from '../stand-ins/dynalite';
import { measureWatchdog, seedWatchdogTables } from './watchdog';
import { measureSlackOutage, OUTAGE_ACTIVE, OUTAGE_RETRY_AFTER_SECONDS, OUTAGE_UNACCOUNTED } from './watchdog-outage';

// `npm run bench`: every measurement in one run, on loopback only, then the tables, the budget
// lines and bench/out/results.json (ignored by git). It exits 0 when a budget is missed (it
// reports); only a broken measurement (a handler that did not answer as it should) exits 1.

/** BENCH_QUICK=1: a few runs of each, to try the bench itself out (its figures are not the record). */
const QUICK = process.env.BENCH_QUICK === '1';
const n = (full: number, quick: number) => (QUICK ? quick : full);

const COLD_START_ROUNDS = n(21, 2);
const WARM_RUNS = n(300, 20);
const WATCHDOG_RUNS = { query: n(50, 5), scan: n(50, 5) };
const HISTORY_SIZES = [10, 1_000, 10_000] as const;
const WORK_SIZES = [30, 300] as const;
const WORK_RUNS = n(10, 2);
const INSTANCE_STATE_EVENTS = n(300, 20);
/** Counted builds in a month (200-character branches); 1,450 passed the old month item's 400 KB. */
const MONTH_SIZES = [10, 1_500, 5_000] as const;
const MONTH_READS = n(30, 3);
const LATENCY_REQUESTS = n(15, 3);
const LATENCY_COLD_RUNS = n(5, 1);
/** Watchdog runs while Slack refuses, per way of refusing (each on a freshly seeded world of its own). */
const OUTAGE_RUNS = n(2, 1);
/** Watchdog runs per table in the latency model: a run with 300 active builds takes many seconds. */
const LATENCY_WATCHDOG_RUNS: Record<WorkKind, Record<number, number>> = QUICK
  ? { active: { 30: 1, 300: 1 }, machines: { 30: 1, 300: 1 } }
  : { active: { 30: 3, 300: 1 }, machines: { 30: 1, 300: 2 } };

const begun = performance.now();
const step = (what: string) => console.error(`bench: [${((performance.now() - begun) / 1000).toFixed(0)} s] ${what}…`);

async function main(): Promise<void> {
  const started = performance.now();
  allowLoopbackOnly();
  const outDir = mkdtempSync(join(tmpdir(), 'metal-build-bench-'));
  try {
    step('bundling every Lambda and the minimal Bolt app');
    const bundles = await measureBundles(outDir);
    const botBundle = bundleOf(bundles, 'bot').file;

    step('starting dynalite, the Slack, EventBridge and Secrets Manager stand-ins on loopback');
    const world = await startLocalWorld();
    // The in-process handlers build their SDK clients from the environment, as on Lambda.
    Object.assign(process.env, world.env);
    const refused: string[] = [];
    try {
      step(`cold starts (${COLD_START_ROUNDS} rounds: minimal app, bot, bot with the Secrets Manager read)`);
      const coldStart = await measureColdStarts(
        {
          bundles: { bot: botBundle, minimal: bundleOf(bundles, MINIMAL_APP).file },
          env: world.env,
          secretEnv: world.secretEnv,
          afterBotRun: async () => {
            await world.expireAwaiting();
          },
        },
        COLD_START_ROUNDS,
      );
      // The deployed path really was measured: one secret read per cold run that was given the ARN.
      const secretReads = world.secrets.reads.filter((r) => r.found).length;
      if (secretReads < COLD_START_ROUNDS)
        throw new Error(`bench: ${secretReads} Secrets Manager reads for ${COLD_START_ROUNDS} cold runs with SLACK_SECRET_ARN`);

      step(`warm requests, bundled bot in its own process (${WARM_RUNS} commands, ${WARM_RUNS} approvals)`);
      const bot = await startHandlerProcess(botBundle, world.env);
      let warm;
      try {
        warm = await measureWarm(world, bot, WARM_RUNS);
        refused.push(...(await bot.refused()));
      } finally {
        await bot.close();
      }

      step(`seeding ${HISTORY_SIZES.join(', ')} builds of history`);
      const now = new Date();
      const seeded = await seedWatchdogTables(world, HISTORY_SIZES, now);

      step(`watchdog runs, nothing due (${WATCHDOG_RUNS.query} per table, Query and Scan)`);
      const watchdog = await measureWatchdog(world, seeded, WATCHDOG_RUNS);

      step(`seeding watchdog tables with work (${WORK_SIZES.join(' and ')} active builds, ${WORK_SIZES.join(' and ')} unaccounted machines)`);
      const seedClient = localDynamoClient(world.dynamo.endpoint);
      const chat = seedingChat(world);
      const workTables: WorkTable[] = [];
      for (const kind of ['active', 'machines'] as const)
        for (const size of WORK_SIZES) workTables.push(await seedWorkTable(seedClient, chat, kind, size, now));
      step(`watchdog runs with work (${WORK_RUNS} per table)`);
      const storeClient = localDynamoClient(world.dynamo.endpoint);
      const watchdogWork = await measureWatchdogWork(world, seedClient, countReads(storeClient), storeClient, workTables, WORK_RUNS, now);
      storeClient.destroy();

      step(`instance-state (${INSTANCE_STATE_EVENTS} unknown instances per table)`);
      const instanceState = await measureInstanceState(world, seeded, INSTANCE_STATE_EVENTS);
      seeded.client.destroy();

      step(`seeding months of ${MONTH_SIZES.join(', ')} counted builds`);
      const months = await seedMonths(seedClient, MONTH_SIZES);
      step(`month ledger reads (${MONTH_READS} per month)`);
      const monthLedger = await measureMonthLedger(world, months, MONTH_READS);

      step('latency model (Slack 250 ms, DynamoDB 8 ms, EventBridge 30 ms, EC2 300 ms per call)');
      const latency = await measureLatencyModel(world, {
        botBundle,
        secretEnv: world.secretEnv,
        requests: LATENCY_REQUESTS,
        coldRuns: LATENCY_COLD_RUNS,
        seedClient,
        tables: workTables.map((table) => ({ table, runs: LATENCY_WATCHDOG_RUNS[table.kind][table.size] ?? 1 })),
        now,
      });

      step(
        `latency model, Slack answering 429 (Retry-After ${OUTAGE_RETRY_AFTER_SECONDS} s) and Slack down ` +
          `(${OUTAGE_RUNS} runs each, ${OUTAGE_ACTIVE} active builds, ${OUTAGE_UNACCOUNTED} unaccounted machines)`,
      );
      const slackOutage = await measureSlackOutage(world, seedClient, OUTAGE_RUNS, now);
      seedClient.destroy();

      const measurements = {
        bundles,
        coldStart,
        warm,
        watchdog,
        watchdogWork,
        instanceState,
        monthLedger,
        latency,
        slackOutage,
        deadlines: measureDeadlineMargins(),
        costs: costTable(parseConfig(world.env)),
        refusedConnections: [...refusedConnections, ...refused],
        durationSeconds: (performance.now() - started) / 1000,
      };
      const lines = budgetLines(measurements);
      printReport(measurements, lines);
      writeResults(measurements, lines);
      console.log(`\nwrote ${RESULTS_FILE}`);
      console.log(summaryLine(lines));
    } finally {
      await world.close();
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

main().then(
  // Keep-alive sockets of SDK clients would otherwise hold the process open.
  () => process.exit(0),
  (error: unknown) => {
    console.error('bench: a measurement failed:', error);
    process.exit(1);
  },
);
