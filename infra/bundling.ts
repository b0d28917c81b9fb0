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
  deadline: 'events/deadline.ts',
  release: 'events/release.ts',
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
  // The AWS SDK's ES module builds, which esbuild can tree-shake (its CommonJS builds bring every
  // command of a client): a quarter of the bot bundle, half of each events bundle (npm run bench).
  mainFields: ['module', 'main'],
  // `import.meta.url` is not defined in CommonJS; nothing on the Lambda path relies on it.
  logLevel: 'warning' as const,
  legalComments: 'none' as const,
};

/**
 * NODE_OPTIONS of each function. Source maps turn minified stack traces back into file:line, but
 * Node then reads and parses the bundle's map at load (about 150 ms of the bot's cold start in
 * `npm run bench`) and decodes it the first time any stack is formatted (with Node's fetch, the
 * bot's first Slack call formatted one: its cold start doubled). The bot never logs a stack
 * (adapters/aws/logger keeps an error's name and message) and answers inside Slack's 3 s, so it runs
 * without them; the event functions, which have time, keep them. The maps ship either way.
 */
export const RUNTIME_NODE_OPTIONS: Record<LambdaName, string> = {
  bot: '',
  launch: '--enable-source-maps',
  'instance-state': '--enable-source-maps',
  'build-phase': '--enable-source-maps',
  watchdog: '--enable-source-maps',
  cancel: '--enable-source-maps',
  deadline: '--enable-source-maps',
  release: '--enable-source-maps',
};
