import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createFunctionConfigurations } from '../adapters/aws/function-configuration';
import { PROJECT_ROOT } from '../infra/functions';
import { runSetup } from './setup/run-setup';
import { askHidden } from './setup/hidden-prompt';
import type { SlackCredentials } from './setup/slack-credentials';

// `npm run setup [-- -c key=value …]`: the real ports of scripts/setup/run-setup.ts. Credentials
// and region are the AWS CLI's (environment, profile, SSO), the same the CDK deploy uses.

const nonEmpty = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());

/** From SLACK_SIGNING_SECRET / SLACK_BOT_TOKEN; when neither is set and a terminal is attached, asked for (not echoed). */
async function slackCredentials(): Promise<SlackCredentials> {
  const fromEnv = { signingSecret: nonEmpty(process.env.SLACK_SIGNING_SECRET), botToken: nonEmpty(process.env.SLACK_BOT_TOKEN) };
  if (fromEnv.signingSecret !== undefined || fromEnv.botToken !== undefined)
    return Object.fromEntries(Object.entries(fromEnv).filter(([, v]) => v !== undefined));
  if (!process.stdin.isTTY) return {};
  const signingSecret = nonEmpty(await askHidden('    Signing Secret (Basic Information → App Credentials; Enter to skip): '));
  const botToken = nonEmpty(await askHidden('    Bot User OAuth Token, xoxb-… (OAuth & Permissions; Enter to skip): '));
  return { ...(signingSecret && { signingSecret }), ...(botToken && { botToken }) };
}

const secrets = new SecretsManagerClient({});
const region = await secrets.config.region().catch(() => undefined);
if (region === undefined) {
  console.log('✗ No AWS region: set AWS_REGION or AWS_PROFILE (the credentials cdk deploy uses), then run npm run setup again.');
  process.exit(1);
}
const ok = await runSetup(
  {
    runCommand: (command, args) =>
      new Promise((resolve) => {
        const child = spawn(command, args, { cwd: PROJECT_ROOT, stdio: 'inherit' });
        child.on('error', () => resolve(127));
        child.on('exit', (code) => resolve(code ?? 1));
      }),
    secrets,
    functions: createFunctionConfigurations({ region, credentials: () => secrets.config.credentials() }),
    slackCredentials,
    say: (line) => console.log(line),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  },
  { projectRoot: PROJECT_ROOT, outDir: join(PROJECT_ROOT, '.metal-build'), deployArgs: process.argv.slice(2) },
);
process.exitCode = ok ? 0 : 1;
