import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bundleOf, measureBundles, MINIMAL_APP } from './bundle-size';
import { measureColdStarts } from './cold-start';
import { measureInstanceState } from './instance-state';
import { startLocalWorld } from './local-world';
import { allowLoopbackOnly, refusedConnections } from './loopback-only';
import { budgetLines, printReport, RESULTS_FILE, summaryLine, writeResults } from './report';
import { measureWarm } from './warm';
import { measureWatchdog, seedWatchdogTables } from './watchdog';

// `npm run bench`: five measurements in one run, on loopback only, then the table,
// the budget lines and bench/results.json. It exits 0 when a budget is missed (it reports);
// only a broken measurement (a handler that did not answer as it should) exits 1.

const COLD_START_RUNS = 21;
const SOURCE_MAP_RUNS = 5;
const SOURCE_MAPS = '--enable-source-maps';
const WARM_RUNS = 500;
const WATCHDOG_RUNS = { query: 200, scan: 200 };
const HISTORY_SIZES = [10, 1_000, 10_000] as const;
const INSTANCE_STATE_EVENTS = 300;

const step = (what: string) => console.error(`bench: ${what}…`);

async function main(): Promise<void> {
  const started = performance.now();
  allowLoopbackOnly();
  const outDir = mkdtempSync(join(tmpdir(), 'metal-build-bench-'));
  try {
    step('bundling every Lambda and the minimal Bolt app');
    const bundles = await measureBundles(outDir);

    step('starting dynalite, the Slack and EventBridge stand-ins on loopback');
    const world = await startLocalWorld();
    // The in-process handlers build their SDK clients from the environment, as on Lambda.
    Object.assign(process.env, world.env);
    try {
      step(`cold starts (${COLD_START_RUNS} of each, alternating)`);
      const coldStart = await measureColdStarts(
        world,
        { bot: bundleOf(bundles, 'bot').file, minimal: bundleOf(bundles, MINIMAL_APP).file },
        COLD_START_RUNS,
        async () => {
          await world.expireAwaiting();
        },
      );

      // For the record: the same with source maps on, as every function ran before the bot dropped them.
      step(`cold starts with ${SOURCE_MAPS} (${SOURCE_MAP_RUNS} of each, for comparison)`);
      const coldStartWithSourceMaps = await measureColdStarts(
        world,
        { bot: bundleOf(bundles, 'bot').file, minimal: bundleOf(bundles, MINIMAL_APP).file },
        SOURCE_MAP_RUNS,
        async () => {
          await world.expireAwaiting();
        },
        SOURCE_MAPS,
      );

      step(`warm requests (${WARM_RUNS} commands, ${WARM_RUNS} approvals)`);
      const warm = await measureWarm(world, WARM_RUNS);

      step(`seeding ${HISTORY_SIZES.join(', ')} builds of history`);
      const seeded = await seedWatchdogTables(world, HISTORY_SIZES, new Date());

      step(`watchdog runs (${WATCHDOG_RUNS.query} per table, Query and Scan)`);
      const watchdog = await measureWatchdog(world, seeded, WATCHDOG_RUNS);

      step(`instance-state (${INSTANCE_STATE_EVENTS} unknown instances per table)`);
      const instanceState = await measureInstanceState(world, seeded, INSTANCE_STATE_EVENTS);
      seeded.client.destroy();

      const measurements = {
        bundles,
        coldStart,
        coldStartWithSourceMaps,
        warm,
        watchdog,
        instanceState,
        refusedConnections,
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
