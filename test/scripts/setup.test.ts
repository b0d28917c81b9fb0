import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createFunctionConfigurations } from '../../adapters/aws/function-configuration';
import { PROJECT_ROOT } from '../../infra/functions';
import { STACK_NAME } from '../../infra/stack';
import { SECRET_VERSION_VARIABLE } from '../../scripts/setup/function-refresh';
import { runSetup, type SetupPorts } from '../../scripts/setup/run-setup';
import type { SlackCredentials } from '../../scripts/setup/slack-credentials';
import { renderManifest } from '../../scripts/setup/slack-manifest';
import { parseStackOutputs } from '../../scripts/setup/stack-outputs';
import { startLambdaStandIn, type LambdaStandIn } from '../../stand-ins/lambda';
import { localSecretsClient, startSecretsManagerStandIn, type LocalSecretsManager } from '../../stand-ins/secrets-manager';

// npm run setup offline: the CDK deploy stubbed where it is a command, the secret in the Secrets
// Manager stand-in, the function refresh against the Lambda stand-in through the real signed calls.

const FUNCTIONS = ['bot', 'launch', 'instance-state', 'build-phase', 'watchdog', 'cancel', 'deadline', 'release'].map((n) => `labapp-metal-build-${n}`);
const REQUEST_URL = 'https://abcdefghij0123456789.lambda-url.us-east-1.on.aws/slack/events';
const SIGNING_SECRET = '0123456789abcdef0123456789abcdef';
const BOT_TOKEN = 'xoxb-test-setup-fake-token';

let secrets: LocalSecretsManager;
let lambda: LambdaStandIn;
let secretArn: string;
let outDir: string;
let deploys: string[][];
let said: string[];
let credentials: SlackCredentials;
let deployExit: number;

beforeEach(async () => {
  secrets = await startSecretsManagerStandIn({
    // As the stack creates it: a random signing secret and the placeholder token, plus a key of the operator's own.
    secrets: { 'labapp-metal-build/slack': JSON.stringify({ botToken: 'REPLACE-WITH-xoxb-TOKEN', signingSecret: 'generated', teamNote: 'kept' }) },
  });
  secretArn = secrets.setSecret('labapp-metal-build/slack', secrets.valueOf('labapp-metal-build/slack')!);
  lambda = await startLambdaStandIn({
    functions: Object.fromEntries(FUNCTIONS.map((f) => [f, { BUILDS_TABLE: 'labapp-metal-builds', NODE_OPTIONS: '--enable-source-maps' }])),
  });
  outDir = mkdtempSync(join(tmpdir(), 'metal-build-setup-'));
  deploys = [];
  said = [];
  credentials = {};
  deployExit = 0;
});

afterEach(async () => {
  await secrets.close();
  await lambda.close();
});

function ports(): SetupPorts {
  return {
    // The command boundary: what cdk deploy would do, write the outputs file.
    runCommand: (command, args) => {
      deploys.push([command, ...args]);
      const file = args[args.indexOf('--outputs-file') + 1]!;
      if (deployExit === 0)
        writeFileSync(
          file,
          JSON.stringify({
            [STACK_NAME]: {
              SlackRequestUrl: REQUEST_URL,
              BotFunctionUrl: REQUEST_URL.replace('slack/events', ''),
              SlackSecretArn: secretArn,
              FunctionNames: FUNCTIONS.join(','),
            },
          }),
        );
      return Promise.resolve(deployExit);
    },
    secrets: localSecretsClient(secrets),
    functions: createFunctionConfigurations({
      region: 'us-east-1',
      endpoint: lambda.endpoint,
      credentials: () => Promise.resolve({ accessKeyId: 'test', secretAccessKey: 'test' }),
    }),
    slackCredentials: () => Promise.resolve(credentials),
    say: (line) => said.push(line),
    sleep: () => Promise.resolve(),
  };
}

const setup = (deployArgs: string[] = []) => runSetup(ports(), { projectRoot: PROJECT_ROOT, outDir, deployArgs });
const storedSecret = () => JSON.parse(secrets.valueOf('labapp-metal-build/slack')!) as Record<string, string>;

describe('npm run setup', () => {
  it('deploys, renders the manifest, stores the credentials merged, and refreshes every function named by the stack', async () => {
    credentials = { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN };
    expect(await setup(['-c', 'maxLifetimeHours=4'])).toBe(true);

    expect(deploys).toEqual([['npx', 'cdk', 'deploy', STACK_NAME, '--outputs-file', join(outDir, 'stack-outputs.json'), '-c', 'maxLifetimeHours=4']]);

    const manifest = parse(readFileSync(join(outDir, 'slack-app-manifest.yml'), 'utf8')) as {
      features: { slash_commands: Array<{ url: string }> };
      settings: { interactivity: { request_url: string } };
    };
    expect(manifest.features.slash_commands[0]!.url).toBe(REQUEST_URL);
    expect(manifest.settings.interactivity.request_url).toBe(REQUEST_URL);

    expect(storedSecret()).toEqual({ signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, teamNote: 'kept' });
    expect(secrets.writes).toHaveLength(1);
    const version = secrets.writes[0]!.versionId;

    expect(lambda.updates.map((u) => u.functionName)).toEqual(FUNCTIONS);
    // Read, then written back with the variable added: the restJson calls, SigV4-signed for Lambda.
    expect(lambda.requests.slice(0, 2).map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /2015-03-31/functions/labapp-metal-build-bot/configuration',
      'PUT /2015-03-31/functions/labapp-metal-build-bot/configuration',
    ]);
    for (const request of lambda.requests)
      expect(request.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=test\/\d{8}\/us-east-1\/lambda\/aws4_request, SignedHeaders=.*host.*, Signature=[0-9a-f]{64}$/,
      );
    for (const name of FUNCTIONS)
      expect(lambda.environmentOf(name)).toEqual({
        BUILDS_TABLE: 'labapp-metal-builds',
        NODE_OPTIONS: '--enable-source-maps',
        [SECRET_VERSION_VARIABLE]: version,
      });

    expect(said.filter((l) => /^\d\/4 /.test(l))).toEqual([
      `1/4 Deploy: npx cdk deploy ${STACK_NAME} with metal-build.config.json`,
      '2/4 Slack app manifest',
      '3/4 Slack credentials',
      "4/4 Functions read the secret again (8, named by the stack's output FunctionNames)",
    ]);
    expect(said).toContain(`    ✓ stored signingSecret and botToken in the stack's secret, keeping teamNote (version ${version.slice(0, 8)})`);
    expect(said).toContain(`    ✓ new containers for ${FUNCTIONS.join(', ')}`);
  });

  it('is safe to run again: nothing written, no function touched, and it says so', async () => {
    credentials = { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN };
    await setup();
    said = [];
    secrets.clear();
    lambda.updates.length = 0;
    expect(await setup()).toBe(true);
    expect(secrets.writes).toEqual([]);
    expect(lambda.updates).toEqual([]);
    expect(said).toContain('    ✓ the secret already holds these credentials; nothing written');
    expect(said).toContain(`    ✓ already on this version of the secret: ${FUNCTIONS.join(', ')}`);
  });

  it('never prints a credential', async () => {
    credentials = { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN };
    await setup();
    await setup();
    const output = said.join('\n');
    expect(output).not.toContain(SIGNING_SECRET);
    expect(output).not.toContain('setup-fake-token');
  });

  it('without credentials stores nothing, says the placeholder is still there, and still points the functions at the current secret', async () => {
    expect(await setup()).toBe(true);
    expect(secrets.writes).toEqual([]);
    expect(storedSecret().botToken).toBe('REPLACE-WITH-xoxb-TOKEN');
    expect(said.find((l) => l.includes('placeholder'))).toMatch(/none given, and the secret still holds the placeholder token/);
    expect(lambda.updates).toHaveLength(FUNCTIONS.length);
  });

  it('stores one credential alone, keeping the other', async () => {
    credentials = { botToken: BOT_TOKEN };
    expect(await setup()).toBe(true);
    expect(storedSecret()).toEqual({ signingSecret: 'generated', botToken: BOT_TOKEN, teamNote: 'kept' });
  });

  it('stops at a failed deploy and says what to do, touching nothing', async () => {
    deployExit = 1;
    credentials = { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN };
    expect(await setup()).toBe(false);
    expect(said.at(-1)).toBe(
      '    ✗ cdk deploy exited with 1. Fix what it printed above (a settings problem names its key in metal-build.config.json), then run npm run setup again (it is safe to repeat).',
    );
    expect(secrets.reads).toEqual([]);
    expect(lambda.updates).toEqual([]);
  });

  it('refuses malformed credentials without repeating them, and stores nothing', async () => {
    credentials = { signingSecret: 'not-hex', botToken: 'xoxp-test-fake-user-token' };
    expect(await setup()).toBe(false);
    expect(said.slice(-3)).toEqual([
      "    ✗ SLACK_SIGNING_SECRET: expected the 32 hexadecimal characters of the app's Signing Secret (Basic Information → App Credentials)",
      '    ✗ SLACK_BOT_TOKEN: expected the Bot User OAuth Token, xoxb-… (OAuth & Permissions, after installing the app)',
      '    Nothing was stored; give the right values, then run npm run setup again (it is safe to repeat).',
    ]);
    expect(said.join('\n')).not.toContain('xoxp-test-fake-user-token');
    expect(secrets.writes).toEqual([]);
  });

  it('refuses to overwrite a secret that is not a JSON object', async () => {
    secrets.setSecret('labapp-metal-build/slack', 'plain text');
    credentials = { botToken: BOT_TOKEN };
    expect(await setup()).toBe(false);
    expect(said.at(-1)).toMatch(/does not hold a JSON object; put \{"signingSecret": "…", "botToken": "xoxb-…"\} into it/);
    expect(secrets.valueOf('labapp-metal-build/slack')).toBe('plain text');
  });

  it('waits out a function still being updated, and names the function that fails', async () => {
    lambda.failNext('ResourceConflictException', 409, 'The operation cannot be performed at this time. An update is in progress');
    expect(await setup()).toBe(true);
    expect(lambda.updates).toHaveLength(FUNCTIONS.length);

    said = [];
    lambda.failNext('AccessDeniedException', 403, 'not authorized to perform: lambda:GetFunctionConfiguration');
    secrets.setSecret('labapp-metal-build/slack', JSON.stringify({ botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET })); // a new version to roll out
    expect(await setup()).toBe(false);
    expect(said.at(-1)).toBe(
      '    ✗ labapp-metal-build-bot: AccessDeniedException: not authorized to perform: lambda:GetFunctionConfiguration. 0 function(s) before it read the secret; ' +
        'check that your credentials may call lambda:GetFunctionConfiguration and lambda:UpdateFunctionConfiguration, then run npm run setup again (it is safe to repeat).',
    );
  });
});

describe('the Slack app manifest from the stack outputs', () => {
  const template = readFileSync(join(PROJECT_ROOT, 'bot/manifest.yml'), 'utf8');

  it('puts the request URL in all three places (command, interactivity, events) and leaves no placeholder nor instruction to replace one', () => {
    const rendered = renderManifest(template, REQUEST_URL);
    if (!rendered.ok) throw new Error(rendered.problem);
    expect(rendered.text).not.toContain('<function-url>');
    expect(rendered.text.split(REQUEST_URL)).toHaveLength(4);
    expect(Object.keys(parse(rendered.text) as object)).toEqual(Object.keys(parse(template) as object));
  });

  it('takes the outputs of the stack, and names what is missing', () => {
    expect(
      parseStackOutputs(
        { [STACK_NAME]: { SlackRequestUrl: REQUEST_URL, SlackSecretArn: 'arn:aws:secretsmanager:us-east-1:1:secret:x', FunctionNames: 'a,b' } },
        STACK_NAME,
      ),
    ).toEqual({
      ok: true,
      outputs: { slackRequestUrl: REQUEST_URL, slackSecretArn: 'arn:aws:secretsmanager:us-east-1:1:secret:x', functionNames: ['a', 'b'] },
    });
    expect(parseStackOutputs({ [STACK_NAME]: { SlackRequestUrl: REQUEST_URL } }, STACK_NAME)).toEqual({
      ok: false,
      problem: `the deploy's outputs lack or garble SlackSecretArn, FunctionNames of ${STACK_NAME}`,
    });
  });
});
