import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT, type CodeProvider } from './functions';
import { describePolicy } from './policy-summary';
import { readSettings, SettingsError } from './settings';
import { mergeSettings, readCdkJsonContext, readSettingsFile, SETTINGS_FILE } from './settings-file';
import { MetalBuildStack, STACK_NAME } from './stack';

// `npx cdk synth|deploy` runs this file (cdk.json). No `env` on the stack: it synthesizes with no
// account, region or credentials, and deploys wherever the caller's credentials point.

export interface CreateAppOptions {
  /** Context as `-c` would give it (tests); the CLI passes its own through the environment. */
  context?: Record<string, unknown>;
  /**
   * The settings file's content. Tests give it (or nothing: every default) and stay hermetic; the
   * CLI run reads `settingsFile`.
   */
  settings?: Record<string, unknown>;
  settingsFile?: string;
  /** cdk.json's `context` (tests), or the file to read it from (the CLI run). */
  cdkJsonContext?: Record<string, unknown>;
  cdkJsonFile?: string;
  /** The region the deploy targets, when known (the CLI sets CDK_DEFAULT_REGION from the credentials). */
  region?: string;
  /** Where the effective policy is printed, one line at a time; nowhere unless given. */
  report?: (line: string) => void;
  outdir?: string;
  code?: CodeProvider;
}

/** A file's object, or its problem added to `problems` (an empty object then). */
function objectOf(read: ReturnType<typeof readSettingsFile>, problems: string[]): Record<string, unknown> {
  if (read.ok) return read.value;
  problems.push(read.problem);
  return {};
}

export function createApp(options: CreateAppOptions = {}): { app: App; stack: MetalBuildStack } {
  const app = new App({ context: options.context, outdir: options.outdir });
  const fileProblems: string[] = [];
  const file = options.settingsFile !== undefined ? objectOf(readSettingsFile(options.settingsFile), fileProblems) : (options.settings ?? {});
  const cdkJsonContext = options.cdkJsonFile !== undefined ? objectOf(readCdkJsonContext(options.cdkJsonFile), fileProblems) : (options.cdkJsonContext ?? {});
  const merged = mergeSettings({ file, cdkJsonContext, context: app.node.getAllContext() as Record<string, unknown> });

  let settings;
  try {
    settings = readSettings((key) => merged.values[key], { region: options.region });
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    throw new SettingsError([...fileProblems, ...merged.problems, ...error.problems]);
  }
  if (fileProblems.length > 0 || merged.problems.length > 0) throw new SettingsError([...fileProblems, ...merged.problems]);

  for (const line of describePolicy({ config: settings.config, region: options.region, overridden: merged.overridden })) options.report?.(line);
  const stack = new MetalBuildStack(app, STACK_NAME, { settings, code: options.code });
  // cdk-nag (v3 is a policy-validation plugin): an unacknowledged error stops synth and deploy.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { app } = createApp({
      settingsFile: join(PROJECT_ROOT, SETTINGS_FILE),
      cdkJsonFile: join(PROJECT_ROOT, 'cdk.json'),
      region: process.env.CDK_DEFAULT_REGION,
      // stderr: `cdk synth` prints the template on stdout.
      report: (line) => console.error(line),
    });
    app.synth();
  } catch (error) {
    // A settings mistake is the operator's to fix: the message says how, a stack trace would bury it.
    if (!(error instanceof SettingsError)) throw error;
    console.error(error.message);
    process.exitCode = 1;
  }
}
