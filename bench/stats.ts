import { performance } from 'node:perf_hooks';

// Summary statistics for the benchmark: nearest-rank percentiles (no interpolation), so every
// figure reported is a time that was actually measured.

export interface Summary {
  runs: number;
  p50: number;
  p99: number;
  min: number;
  max: number;
}

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

export function summarize(samples: readonly number[]): Summary {
  return {
    runs: samples.length,
    p50: round(percentile(samples, 50)),
    p99: round(percentile(samples, 99)),
    min: round(Math.min(...samples)),
    max: round(Math.max(...samples)),
  };
}

/** Milliseconds to 0.01 ms: finer is noise. */
export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Runs `work` and returns how long it took, in milliseconds. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

/** Median and spread (p10–p90) of ratios, e.g. of paired runs. Nearest rank, to 0.001. */
export interface Spread {
  n: number;
  median: number;
  p10: number;
  p90: number;
}

export function spread(samples: readonly number[]): Spread {
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return { n: samples.length, median: r(percentile(samples, 50)), p10: r(percentile(samples, 10)), p90: r(percentile(samples, 90)) };
}
