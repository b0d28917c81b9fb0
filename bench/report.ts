import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { BundleSizes } from './bundle-size';
import type { ColdStartFigures, ColdStartResult } from './cold-start';
import type { InstanceStateFigures } from './instance-state';
import type { WarmResult } from './warm';
import type { WatchdogFigures } from './watchdog';

// The benchmark's output: one table per measurement, one line per budget item (MET or MISSED),
// a summary line, and the same figures in bench/results.json (the README cites it).

export const RESULTS_FILE = 'bench/results.json';

export interface Measurements {
  bundles: BundleSizes;
  coldStart: ColdStartResult;
  /** The same, with NODE_OPTIONS=--enable-source-maps: what the bot paid before it dropped them. */
  coldStartWithSourceMaps: ColdStartResult;
  warm: WarmResult;
  watchdog: WatchdogFigures[];
  instanceState: InstanceStateFigures[];
  /** Connections to anything but loopback that were attempted (and refused). */
  refusedConnections: string[];
  durationSeconds: number;
}

export interface BudgetLine {
  budget: string;
  measured: string;
  met: boolean;
}

/** Budget limits, from docs/design.md "Performance budget". */
export const LIMITS = {
  warmP99Ms: 50,
  coldStartRatio: 1.5,
  bundleRatio: 1.5,
  watchdogTimeRatio: 1.5,
  runSeconds: 300,
} as const;

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const ms = (n: number) => `${n.toFixed(1)} ms`;
const ratio = (a: number, b: number) => a / b;
const x = (r: number) => `${r.toFixed(2)}×`;

function watchdogAt(figures: WatchdogFigures[], historical: number, variant: WatchdogFigures['variant']): WatchdogFigures {
  const found = figures.find((f) => f.historical === historical && f.variant === variant);
  if (!found) throw new Error(`no watchdog figures for ${historical} (${variant})`);
  return found;
}

export function budgetLines(m: Measurements): BudgetLine[] {
  const smallest = Math.min(...m.watchdog.map((f) => f.historical));
  const largest = Math.max(...m.watchdog.map((f) => f.historical));
  const small = watchdogAt(m.watchdog, smallest, 'query');
  const large = watchdogAt(m.watchdog, largest, 'query');
  const bot = m.bundles.lambdas.find((b) => b.name === 'bot');
  if (!bot) throw new Error('no bot bundle measured');
  const coldRatio = ratio(m.coldStart.bot.medianMs, m.coldStart.minimal.medianMs);
  const bundleRatio = ratio(bot.bytes, m.bundles.minimal.bytes);
  const timeRatio = ratio(large.medianMs, small.medianMs);
  return [
    {
      budget: `warm p99 of /metal-build ≤ ${LIMITS.warmP99Ms} ms`,
      measured: `${ms(m.warm.command.p99)} (p50 ${ms(m.warm.command.p50)}, ${m.warm.command.runs} requests)`,
      met: m.warm.command.p99 <= LIMITS.warmP99Ms,
    },
    {
      budget: `warm p99 of approve_build ≤ ${LIMITS.warmP99Ms} ms`,
      measured: `${ms(m.warm.approval.p99)} (p50 ${ms(m.warm.approval.p50)}, ${m.warm.approval.runs} requests)`,
      met: m.warm.approval.p99 <= LIMITS.warmP99Ms,
    },
    {
      budget: `cold start ≤ ${LIMITS.coldStartRatio}× the minimal Bolt app`,
      measured: `${x(coldRatio)} (${ms(m.coldStart.bot.medianMs)} vs ${ms(m.coldStart.minimal.medianMs)}, medians of ${m.coldStart.bot.runs})`,
      met: coldRatio <= LIMITS.coldStartRatio,
    },
    {
      budget: `bot bundle ≤ ${LIMITS.bundleRatio}× the minimal Bolt app's`,
      measured: `${x(bundleRatio)} (${kb(bot.bytes)} vs ${kb(m.bundles.minimal.bytes)})`,
      met: bundleRatio <= LIMITS.bundleRatio,
    },
    {
      budget: `watchdog items read at ${largest.toLocaleString('en')} history = at ${smallest}`,
      measured: `${large.itemsRead} vs ${small.itemsRead} (Scan: ${watchdogAt(m.watchdog, largest, 'scan').itemsRead} vs ${watchdogAt(m.watchdog, smallest, 'scan').itemsRead})`,
      met: large.itemsRead === small.itemsRead,
    },
    {
      budget: `watchdog median at ${largest.toLocaleString('en')} history ≤ ${LIMITS.watchdogTimeRatio}× at ${smallest}`,
      measured: `${x(timeRatio)} (${ms(large.medianMs)} vs ${ms(small.medianMs)}; Scan: ${ms(watchdogAt(m.watchdog, largest, 'scan').medianMs)} vs ${ms(watchdogAt(m.watchdog, smallest, 'scan').medianMs)})`,
      met: timeRatio <= LIMITS.watchdogTimeRatio,
    },
    {
      budget: 'no network: loopback only',
      measured: m.refusedConnections.length === 0 ? 'no other connection attempted' : `refused: ${[...new Set(m.refusedConnections)].join(', ')}`,
      met: m.refusedConnections.length === 0,
    },
    {
      budget: `whole run < ${LIMITS.runSeconds / 60} minutes (on 2 cores)`,
      measured: `${m.durationSeconds.toFixed(0)} s on ${availableParallelism()} cores`,
      met: m.durationSeconds < LIMITS.runSeconds,
    },
  ];
}

function coldRow(name: string, f: ColdStartFigures): Array<string | number> {
  return [name, f.runs, ms(f.medianMs), ms(f.medianLoadMs), ms(f.medianFirstRequestMs), ms(f.medianCpuMs)];
}

function table(title: string, header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [`\n${title}`, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function printReport(m: Measurements, lines: BudgetLine[], print: (text: string) => void = console.log): void {
  const { bundles, coldStart, warm } = m;
  const minimal = bundles.minimal.bytes;
  print(
    table(
      '1. Bundle sizes (CommonJS, minified, SDK bundled; as the stack builds them)',
      ['bundle', 'bytes', 'gzip', 'vs minimal'],
      [...bundles.lambdas, bundles.minimal].map((b) => [b.name, b.bytes.toLocaleString('en'), b.gzipBytes.toLocaleString('en'), x(b.bytes / minimal)]),
    ),
  );
  print(
    table(
      `2. Cold start: fresh node (NODE_OPTIONS="${coldStart.nodeOptions}" as the bot's Lambda), one signed /metal-build main abc1234, spawn to answer`,
      ['app', 'runs', 'median', 'of which require', 'first request', 'CPU time'],
      [
        coldRow('bot', coldStart.bot),
        coldRow('minimal Bolt app', coldStart.minimal),
        coldRow(`bot, ${m.coldStartWithSourceMaps.nodeOptions}`, m.coldStartWithSourceMaps.bot),
        coldRow(`minimal, ${m.coldStartWithSourceMaps.nodeOptions}`, m.coldStartWithSourceMaps.minimal),
      ],
    ),
  );
  const failedRuns = coldStart.failedRuns + m.coldStartWithSourceMaps.failedRuns;
  if (failedRuns > 0) print(`(${failedRuns} cold run(s) answered with an error and were run again: the machine is too busy for these figures)`);
  print(
    table(
      `3. Warm handler, in-process, real adapters on loopback (after ${warm.warmup} untimed requests)`,
      ['request', 'runs', 'p50', 'p99', 'min', 'max'],
      [
        ['/metal-build main abc1234', warm.command.runs, ms(warm.command.p50), ms(warm.command.p99), ms(warm.command.min), ms(warm.command.max)],
        ['approve_build (success)', warm.approval.runs, ms(warm.approval.p50), ms(warm.approval.p99), ms(warm.approval.min), ms(warm.approval.max)],
      ],
    ),
  );
  print(
    table(
      '4. Watchdog run: 3 running builds + N final builds of history',
      ['history', 'active builds by', 'runs', 'items read', 'requests', 'median', 'p99'],
      m.watchdog.map((f) => [
        f.historical.toLocaleString('en'),
        f.variant === 'query' ? 'StatusIndex Query' : 'Scan + filter',
        f.runs,
        f.itemsRead.toLocaleString('en'),
        f.requests,
        ms(f.medianMs),
        ms(f.p99Ms),
      ]),
    ),
  );
  print(
    table(
      '5. instance-state, EC2 state change of an instance that is not ours',
      ['history', 'events', 'items read/event', 'requests/event', 'median', 'p99'],
      m.instanceState.map((f) => [f.historical.toLocaleString('en'), f.events, f.itemsReadPerEvent, f.requestsPerEvent, ms(f.medianMs), ms(f.p99Ms)]),
    ),
  );
  print('\nBudget');
  for (const l of lines) print(`  ${l.met ? 'MET   ' : 'MISSED'}  ${l.budget}: ${l.measured}`);
}

export function summaryLine(lines: BudgetLine[]): string {
  const missed = lines.filter((l) => !l.met);
  return missed.length === 0
    ? `bench: all ${lines.length} budget lines met`
    : `bench: ${lines.length - missed.length} of ${lines.length} budget lines met; missed: ${missed.map((l) => l.budget).join('; ')}`;
}

export function writeResults(m: Measurements, lines: BudgetLine[], file: string = RESULTS_FILE): void {
  const results = {
    generatedAt: new Date().toISOString(),
    environment: { node: process.version, platform: `${process.platform}-${process.arch}`, cores: availableParallelism() },
    durationSeconds: Math.round(m.durationSeconds),
    bundles: {
      minimal: { bytes: m.bundles.minimal.bytes, gzipBytes: m.bundles.minimal.gzipBytes },
      lambdas: Object.fromEntries(m.bundles.lambdas.map((b) => [b.name, { bytes: b.bytes, gzipBytes: b.gzipBytes }])),
    },
    coldStart: m.coldStart,
    coldStartWithSourceMaps: m.coldStartWithSourceMaps,
    warm: m.warm,
    watchdog: m.watchdog,
    instanceState: m.instanceState,
    budget: lines,
    summary: summaryLine(lines),
  };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}
