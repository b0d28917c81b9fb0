import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USAGE } from '../../domain/command';
import { bundleLambda } from '../../scripts/bundle';
import { SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { parseLambdaResult, SANDBOX_SIGNING_SECRET, slashCommandEvent } from '../../stand-ins/slack-request';
import type { World } from '../support/bot-world';
import { startWorld } from '../support/bot-world';

// The bundle the stack deploys (esbuild, CommonJS, infra/bundling.ts), run in a plain Node process
// as the Lambda runtime would: `require` it, call `handler(event, context)`. Its adapters come from
// the environment, pointed at this file's dynalite and stand-ins.

const run = promisify(execFile);

/** Loads the bundle and invokes it once per event, in order; the results go to a file (stdout carries the logs). */
const RUNNER = `
const fs = require('node:fs');
const [bundle, eventsFile, outFile] = process.argv.slice(1);
const { handler } = require(bundle);
(async () => {
  const results = [];
  for (const event of JSON.parse(fs.readFileSync(eventsFile, 'utf8'))) results.push(await handler(event, { functionName: 'metal-build-bot' }));
  fs.writeFileSync(outFile, JSON.stringify({ length: handler.length, results }));
})().catch((error) => { console.error(error); process.exit(1); });
`;

let world: World;
let dir: string;
let bundle: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'metal-build-bot-'));
  [world, bundle] = await Promise.all([startWorld(), bundleLambda('bot', dir)]);
});
afterAll(async () => {
  await world?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the bundled bot handler', () => {
  it('answers a signed help, a status and a build request with the real adapters', async () => {
    const events = [slashCommandEvent({ text: 'help' }), slashCommandEvent({ text: 'status' }), slashCommandEvent({ text: 'main abc1234' })];
    const eventsFile = join(dir, 'events.json');
    const outFile = join(dir, 'out.json');
    writeFileSync(eventsFile, JSON.stringify(events));
    await run(process.execPath, ['-e', RUNNER, resolve(bundle), eventsFile, outFile], {
      timeout: 20_000,
      env: {
        PATH: process.env.PATH ?? '',
        SLACK_SIGNING_SECRET: SANDBOX_SIGNING_SECRET,
        SLACK_BOT_TOKEN: world.slack.token,
        SLACK_API_URL: world.slack.url,
        AWS_ENDPOINT_URL_DYNAMODB: world.dynamo.endpoint,
        AWS_ENDPOINT_URL_EVENTBRIDGE: world.events.endpoint,
        BUILDS_TABLE: world.dynamo.tableName,
        APPROVER_IDS: 'U0APPROVER',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      },
    });
    const out = JSON.parse(readFileSync(outFile, 'utf8')) as { length: number; results: unknown[] };
    expect(out.length).toBe(2);
    const [help, status, request] = out.results.map((r) => parseLambdaResult(r as Parameters<typeof parseLambdaResult>[0]));

    expect(help?.statusCode).toBe(200);
    expect(help?.json).toMatchObject({ response_type: 'ephemeral' });
    expect(help?.json?.text).toContain(USAGE);
    expect(status?.json?.text).toBe('No active builds. `/metal-build list` shows recent ones.');

    const builds = await world.builds();
    expect(builds).toHaveLength(1);
    expect(request?.json?.text).toBe(`Requested ${builds[0]!.BuildID} — waiting for approval.`);
    expect(builds[0]?.ThreadTs).toBe(world.slack.messages(SANDBOX_CHANNEL)[0]?.ts);
    expect(world.slack.callsTo('auth.test')).toEqual([]);
  });
});
