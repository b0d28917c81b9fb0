// How every Lambda is bundled, in one place: the CDK stack (NodejsFunction), `npm run build`,
// the bundled-handler test and the benchmark all use these settings, so what is measured and
// tested is what is deployed.

export const LAMBDA_ENTRIES = {
  bot: 'bot/handler.ts',
  launch: 'events/launch.ts',
  'instance-state': 'events/instance-state.ts',
  'build-phase': 'events/build-phase.ts',
  watchdog: 'events/watchdog.ts',
  cancel: 'events/cancel.ts',
} as const;

export type LambdaName = keyof typeof LAMBDA_ENTRIES;

/** Node.js major the bundles target: the Lambda runtime is at least nodejs22.x. */
export const NODE_TARGET = 'node22';

/**
 * CommonJS (an ESM bundle of Bolt fails at the first request with "Dynamic require of
 * node:util"), the AWS SDK bundled rather than taken from the runtime (a pinned, tested
 * version), minified, with source maps.
 */
export const ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node' as const,
  format: 'cjs' as const,
  target: NODE_TARGET,
  minify: true,
  sourcemap: true,
  external: [] as string[],
  // `import.meta.url` is not defined in CommonJS; nothing on the Lambda path relies on it.
  logLevel: 'warning' as const,
  legalComments: 'none' as const,
};
