import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { FunctionConfigurations } from '../../adapters/aws/function-configuration';
import { SETTINGS_FILE } from '../../infra/settings-file';
import { STACK_NAME } from '../../infra/stack';
import { FunctionRefreshError, refreshFunctions } from './function-refresh';
import { credentialsProblems, SetupStepError, storeSlackCredentials, type SlackCredentials } from './slack-credentials';
import { renderManifest } from './slack-manifest';
import { parseStackOutputs } from './stack-outputs';

// `npm run setup` (docs/operator-guide.md "Deploy"): deploy with the settings file, render the
// Slack app manifest from the stack's outputs, store the Slack credentials, make every function
// read them. Each step says what it did; a failing one says what to do and stops the rest.
// Re-running is safe: the deploy is CloudFormation's, the secret is written and the functions
// touched only when something changed.

export interface SetupPorts {
  /** Runs a command with the terminal attached (the CDK CLI asks before widening IAM); its exit code. */
  runCommand(command: string, args: readonly string[]): Promise<number>;
  secrets: SecretsManagerClient;
  functions: FunctionConfigurations;
  /** The credentials to store: from the environment, or asked for; {} when none are given. */
  slackCredentials(): Promise<SlackCredentials>;
  say(line: string): void;
  sleep(ms: number): Promise<void>;
}

export interface SetupOptions {
  projectRoot: string;
  /** Where the outputs and the rendered manifest go (ignored by git). */
  outDir: string;
  /** Passed on to `cdk deploy` (`npm run setup -- -c key=value` overrides a setting for this deploy). */
  deployArgs?: readonly string[];
}

const RERUN = 'then run npm run setup again (it is safe to repeat)';

export async function runSetup(ports: SetupPorts, options: SetupOptions): Promise<boolean> {
  const { say } = ports;
  const shown = (path: string) => relative(options.projectRoot, path) || path;
  mkdirSync(options.outDir, { recursive: true });
  const outputsFile = join(options.outDir, 'stack-outputs.json');
  const manifestFile = join(options.outDir, 'slack-app-manifest.yml');

  say(`1/4 Deploy: npx cdk deploy ${STACK_NAME} with ${SETTINGS_FILE}`);
  const code = await ports.runCommand('npx', ['cdk', 'deploy', STACK_NAME, '--outputs-file', outputsFile, ...(options.deployArgs ?? [])]);
  if (code !== 0) {
    say(`    ✗ cdk deploy exited with ${code}. Fix what it printed above (a settings problem names its key in ${SETTINGS_FILE}), ${RERUN}.`);
    return false;
  }
  let file: unknown;
  try {
    file = JSON.parse(readFileSync(outputsFile, 'utf8'));
  } catch {
    file = undefined;
  }
  const read = parseStackOutputs(file, STACK_NAME);
  if (!read.ok) {
    say(`    ✗ ${shown(outputsFile)}: ${read.problem}. Check that the deploy finished, ${RERUN}.`);
    return false;
  }
  const { outputs } = read;
  say(`    ✓ deployed; the stack's outputs are in ${shown(outputsFile)}`);

  say('2/4 Slack app manifest');
  const manifest = renderManifest(readFileSync(join(options.projectRoot, 'bot/manifest.yml'), 'utf8'), outputs.slackRequestUrl);
  if (!manifest.ok) {
    say(`    ✗ ${manifest.problem}: restore the placeholder in bot/manifest.yml, ${RERUN}.`);
    return false;
  }
  writeFileSync(manifestFile, manifest.text);
  say(`    ✓ written to ${shown(manifestFile)} with the request URL ${outputs.slackRequestUrl}, and printed here:`);
  say(manifest.text.trimEnd());
  say(
    `    A new app: api.slack.com/apps → Create New App → From an app manifest → paste it, then install it. An existing app: its App Manifest page → paste it (or set both Request URLs to ${outputs.slackRequestUrl}).`,
  );

  say('3/4 Slack credentials');
  const credentials = await ports.slackCredentials();
  const problems = credentialsProblems(credentials);
  if (problems.length > 0) {
    for (const problem of problems) say(`    ✗ ${problem}`);
    say(`    Nothing was stored; give the right values, ${RERUN}.`);
    return false;
  }
  let versionId: string;
  try {
    const stored = await storeSlackCredentials(ports.secrets, outputs.slackSecretArn, credentials);
    versionId = stored.versionId;
    if (stored.outcome === 'stored')
      say(
        `    ✓ stored ${stored.written.join(' and ')} in the stack's secret${stored.kept.length > 0 ? `, keeping ${stored.kept.join(', ')}` : ''} (version ${versionId.slice(0, 8)})`,
      );
    else if (Object.keys(credentials).length > 0) say('    ✓ the secret already holds these credentials; nothing written');
    else if (stored.placeholder)
      say(
        '    – none given, and the secret still holds the placeholder token: every Slack request fails until you give them. ' +
          'After installing the app, run SLACK_SIGNING_SECRET=… SLACK_BOT_TOKEN=… npm run setup (or npm run setup in a terminal, and paste them when asked).',
      );
    else say('    – none given; the secret keeps the credentials it holds');
  } catch (error) {
    const why =
      error instanceof SetupStepError
        ? error.message
        : `${(error as Error).name}: ${(error as Error).message}; check that your credentials may read and write ${outputs.slackSecretArn}, ${RERUN}`;
    say(`    ✗ ${why}`);
    return false;
  }

  say(`4/4 Functions read the secret again (${outputs.functionNames.length}, named by the stack's output FunctionNames)`);
  try {
    const refreshed = await refreshFunctions(ports.functions, outputs.functionNames, versionId, ports.sleep);
    if (refreshed.refreshed.length > 0) say(`    ✓ new containers for ${refreshed.refreshed.join(', ')}`);
    if (refreshed.unchanged.length > 0) say(`    ✓ already on this version of the secret: ${refreshed.unchanged.join(', ')}`);
  } catch (error) {
    if (!(error instanceof FunctionRefreshError)) throw error;
    say(
      `    ✗ ${error.message}. ${error.sofar.refreshed.length + error.sofar.unchanged.length} function(s) before it read the secret; ` +
        `check that your credentials may call lambda:GetFunctionConfiguration and lambda:UpdateFunctionConfiguration, ${RERUN}.`,
    );
    return false;
  }
  say('Done. Invite the bot into the build channel (/invite @metal-build), then try /metal-build help.');
  return true;
}
