import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodeProvider } from './functions';
import { readSettings } from './settings';
import { MetalBuildStack, STACK_NAME } from './stack';

// `npx cdk synth|deploy` runs this file (cdk.json). No `env` on the stack: it synthesizes with no
// account, region or credentials, and deploys wherever the caller's credentials point.

export interface CreateAppOptions {
  /** Context as `-c` would give it (tests); the CLI passes its own through the environment. */
  context?: Record<string, unknown>;
  outdir?: string;
  code?: CodeProvider;
}

export function createApp(options: CreateAppOptions = {}): { app: App; stack: MetalBuildStack } {
  const app = new App({ context: options.context, outdir: options.outdir });
  const settings = readSettings((key) => app.node.tryGetContext(key));
  const stack = new MetalBuildStack(app, STACK_NAME, { settings, code: options.code });
  // cdk-nag (v3 is a policy-validation plugin): an unacknowledged error stops synth and deploy.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  createApp().app.synth();
}
