import { defineConfig } from 'vitest/config';

// packer/runner.sh with the real aws CLI against local stand-ins (.ci/checks/runner-real-cli.sh);
// vitest.config.ts excludes test/real-cli, so `npm test` keeps the stubbed aws.
export default defineConfig({
  test: {
    include: ['test/real-cli/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
