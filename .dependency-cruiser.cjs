/* global module */
/**
 * The dependency rule of docs/design.md "Layout and the dependency rule", as a checked rule set
 * (after Sairyss/domain-driven-hexagon's .dependency-cruiser.js). `npm run depcruise` runs it
 * over every source folder; CI runs it after lint. Each rule is `forbidden`: a match is a
 * violation. Paths are relative to the repository root.
 *
 * Type-only imports count (tsPreCompilationDeps: true): `import type { X } from '../bot/…'` is
 * as much a dependency as a value import.
 */

/** Entry points: modules nothing imports on purpose. Everything else must be imported by someone. */
const entryPoints = [
  // Lambda handlers (infra/bundling.ts bundles these by path)
  '^bot/handler\\.ts$',
  '^events/(launch|instance-state|build-phase|watchdog|cancel|deadline|release)\\.ts$',
  // CDK app (cdk.json)
  '^infra/app\\.ts$',
  // npm start, npm run bench
  '^sandbox/main\\.ts$',
  '^bench/main\\.ts$',
  // bench/bundle-size.ts bundles it by path (MINIMAL_APP_ENTRY): the yardstick Bolt app
  '^bench/minimal-bolt-app\\.ts$',
  // the page's browser script, loaded by sandbox/page/index.html, not imported
  '^sandbox/page/page\\.js$',
  // npm run build, npm run gen
  '^scripts/[^/]+\\.ts$',
  // vitest: test files and the setup file (vitest.config.ts setupFiles)
  '^test/.+\\.test\\.ts$',
  '^test/support/setup\\.ts$',
  // config files (not in the cruised folders today, listed so a run over `.` stays clean)
  '(^|/)[^/]+\\.config\\.(js|cjs|mjs|ts)$',
  '(^|/)\\.dependency-cruiser\\.cjs$',
  '\\.d\\.ts$',
];

/**
 * Used as `to: { pathNot: [..., notOurs], dependencyTypesNot: ['core'] }`: "any module of ours
 * outside the allowed folders". Packages (node_modules) and node builtins are not ours; the
 * SDK and builtin bans for domain/ are separate rules below.
 */
const notOurs = '(^|/)node_modules/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    // ---- domain: pure, imports nothing of ours but itself -------------------------------------
    {
      name: 'domain-imports-only-domain',
      comment: 'domain/ is pure: among our modules it imports only domain/ (no adapter, view, use case or handler).',
      severity: 'error',
      from: { path: '^domain/' },
      to: { dependencyTypesNot: ['core'], pathNot: ['^domain/', notOurs] },
    },
    {
      name: 'domain-no-node-builtins',
      comment: 'domain/ uses no node:* (or bare builtin) module: time, randomness and I/O come through ports.',
      severity: 'error',
      from: { path: '^domain/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'domain-and-views-no-aws-or-slack-sdk',
      comment: 'domain/ and views/ import no AWS or Slack SDK; those live in adapters/. Small pure libraries (zod) are fine.',
      severity: 'error',
      from: { path: '^(domain|views)/' },
      to: { path: '(^|/)node_modules/(@aws-sdk|@slack|@smithy)/' },
    },

    // ---- views: every text a person reads ------------------------------------------------------
    {
      name: 'views-import-only-domain',
      comment: 'views/ (Block Kit, thread and card texts, replies, mails) imports only domain/ and itself among our modules.',
      severity: 'error',
      from: { path: '^views/' },
      to: { dependencyTypesNot: ['core'], pathNot: ['^domain/', '^views/', notOurs] },
    },

    // ---- adapters: AWS and Slack at the edges --------------------------------------------------
    {
      name: 'adapters-import-only-domain',
      comment:
        'adapters/aws, adapters/slack and adapters/github import only domain/ and their own folder among our modules (and their SDKs): ' +
        'never a view, a use case, a handler or the other adapter folder; a policy they need lives in domain/.',
      severity: 'error',
      from: { path: '^adapters/(aws|slack|github)/' },
      to: { dependencyTypesNot: ['core'], pathNot: ['^domain/', '^adapters/$1/', notOurs] },
    },

    // ---- use-cases: steps both Lambda families share ---------------------------------------------
    {
      name: 'use-cases-import-only-domain-and-views',
      comment:
        'use-cases/ (the steps bot/ and events/ share, such as the notice protocol) imports only domain/ (ports included), ' +
        'views/ and itself among our modules: adapters arrive as ports.',
      severity: 'error',
      from: { path: '^use-cases/' },
      to: { dependencyTypesNot: ['core'], pathNot: ['^domain/', '^views/', '^use-cases/', notOurs] },
    },

    // ---- the two Lambda families -------------------------------------------------------------
    {
      name: 'bot-not-events',
      comment:
        'The Slack-facing Lambda (bot/) and the EventBridge Lambdas (events/) never import each other: shared code goes to domain/, views/, adapters/ or use-cases/.',
      severity: 'error',
      from: { path: '^bot/' },
      to: { path: '^events/' },
    },
    {
      name: 'events-not-bot',
      comment:
        'The EventBridge Lambdas (events/) and the Slack-facing Lambda (bot/) never import each other: shared code goes to domain/, views/, adapters/ or use-cases/.',
      severity: 'error',
      from: { path: '^events/' },
      to: { path: '^bot/' },
    },

    // ---- sandbox, bench, test: leaves nothing depends on -------------------------------------
    {
      name: 'nothing-imports-sandbox',
      comment: 'sandbox/ is wiring for `npm start`; only sandbox itself and its own tests (test/sandbox, test/e2e) import it.',
      severity: 'error',
      from: { pathNot: ['^sandbox/', '^test/sandbox/', '^test/e2e/'] },
      to: { path: '^sandbox/' },
    },
    {
      name: 'nothing-imports-bench',
      comment: 'bench/ is `npm run bench`; only bench itself imports it.',
      severity: 'error',
      from: { pathNot: '^bench/' },
      to: { path: '^bench/' },
    },
    {
      name: 'nothing-outside-test-imports-test',
      comment: 'No production or support folder imports test/; test helpers stay in test/ (test/support).',
      severity: 'error',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },

    // ---- stand-ins ---------------------------------------------------------------------------
    {
      name: 'stand-ins-import-only-domain-and-aws-adapters',
      comment:
        'stand-ins/ (local servers and fixtures shared by tests, sandbox and bench) imports only domain/, adapters/aws ' +
        '(the table schema, store and ledger construction) and itself among our modules: never a Lambda, infra, sandbox, bench or test.',
      severity: 'error',
      from: { path: '^stand-ins/' },
      to: { dependencyTypesNot: ['core'], pathNot: ['^domain/', '^adapters/aws/', '^stand-ins/', notOurs] },
    },

    // ---- whole-graph rules -------------------------------------------------------------------
    {
      name: 'no-circular',
      comment: 'No module reaches itself through its imports (type-only imports included).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment:
        'Every module is imported by someone or is a listed entry point (Lambda handler, CDK app, sandbox/bench ' +
        'main, script, test file, config file). An orphan is dead code or a missing entry in the list above.',
      severity: 'error',
      from: { orphan: true, pathNot: entryPoints },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves (a typo or a missing package is caught here, not at bundle time).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|cdk\\.out)/' }, // not node_modules: excluding it would hide the SDK imports from the rules
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
