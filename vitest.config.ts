import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'test/real-cli/**', 'node_modules/**'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Every test file starts its own dynalite and Slack stand-in on port 0, so files can run in parallel.
    pool: 'forks',
  },
});
