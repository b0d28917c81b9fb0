import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'test/real-cli/**', 'node_modules/**'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Every test file starts its own dynalite and Slack stand-in on port 0, so files can run in parallel.
    // Worker threads rather than child processes: the same files took 137 s in forks and 119 s in
    // threads on an idle 2-core machine (each file's environment is still its own).
    pool: 'threads',
    // Vitest's default is one worker fewer than the cores: a single worker on a 2-core machine,
    // where the files (mostly waiting on loopback servers) then ran one after another in ~200 s.
    // Two workers there take ~130 s; three contend for the CPU and gain nothing.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
