import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoSpendLedger, MONTH_PREFIX } from '../../adapters/aws/dynamo-ledger';
import { DynamoBuildStore } from '../../adapters/aws/dynamo-store';
import type { LostAnswerProxy } from '../../stand-ins/lost-answer-proxy';
import { startLostAnswerProxy } from '../../stand-ins/lost-answer-proxy';
import { APPROVER } from '../../stand-ins/slack-api';
import type { Bot } from '../support/bot-world';
import { useWorld } from '../support/bot-world';

// A write lands and its answer is lost: the proxy forwards every write to dynalite at once and
// answers only after the client gave up, so the SDK sends the same write again and that retry
// fails its condition. The bot must recognise the write as its own: one card per request, one
// `Build Approved` per approval, one hour per Extend click.

const world = useWorld();
let proxy: LostAnswerProxy;
let client: DynamoDBClient;

/** The bot's `request` profile (adapters/aws/clients.ts) with shorter times, so the case runs fast. */
const TIMEOUT_MS = 250;

beforeAll(async () => {
  proxy = await startLostAnswerProxy({ target: world().dynamo.endpoint, holdMs: TIMEOUT_MS + 150 });
  client = new DynamoDBClient({
    endpoint: proxy.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 2,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 500, requestTimeout: TIMEOUT_MS, throwOnRequestTimeout: true }),
  });
});

afterAll(async () => {
  client.destroy();
  await proxy.close();
});

function lossyBot(env: Record<string, string> = {}): Bot {
  const table = world().dynamo.tableName;
  return world().bot(env, { store: new DynamoBuildStore(client, table), ledger: new DynamoSpendLedger(client, table) });
}

const monthItem = async () => (await world().dynamo.items()).find((i) => String(i.BuildID).startsWith(MONTH_PREFIX));

describe('writes whose answers were lost', () => {
  it('a request: one record, one card, and the requester is told it was posted', async () => {
    const held = proxy.held;
    const answer = await lossyBot().command('main abc1234');

    expect(proxy.held).toBeGreaterThan(held);
    const builds = await world().builds();
    expect(builds).toHaveLength(1);
    expect(answer.text).toContain(builds[0]!.BuildID);
    expect(
      world()
        .slack.callsTo('chat.postMessage')
        .filter((c) => c.args.thread_ts === undefined),
    ).toHaveLength(1);
    // The card points at the one record: no "could not be recorded", no re-pointed buttons.
    expect(
      world()
        .slack.callsTo('chat.update')
        .filter((c) => String(c.args.text).includes('could not be recorded')),
    ).toEqual([]);
  });

  it('an approval: approved, the slot held, exactly one Build Approved, one thread reply', async () => {
    const id = await world().bot().request();
    const held = proxy.held;
    await lossyBot().click('approve_build', id, APPROVER);

    expect(proxy.held).toBeGreaterThan(held);
    expect(await world().build(id)).toMatchObject({ Status: 'approved', Approver: APPROVER });
    expect(await world().slots()).toEqual([id]);
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    expect((await world().thread(id)).filter((t) => t.includes('Approved by'))).toHaveLength(1);
    expect(world().ephemerals(APPROVER)).toEqual([]);
  });

  it('an Extend click adds one hour, told once', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('approve_build', id, APPROVER);
    await world().launch(id);
    const held = proxy.held;
    await lossyBot().click('extend_build', id, APPROVER);

    expect(proxy.held).toBeGreaterThan(held);
    expect(await world().build(id)).toMatchObject({ ExtendedHours: 1 });
    expect((await world().thread(id)).filter((t) => t.includes('Extended by'))).toHaveLength(1);
    expect(world().ephemerals(APPROVER)).toEqual([]);
  });

  it('an approval under a budget: its hold landed unseen is recognised, held once at what the launch may spend, approved', async () => {
    const id = await world().bot().request();
    await lossyBot({ MONTHLY_BUDGET_USD: '100' }).click('approve_build', id, APPROVER);

    expect(await world().build(id)).toMatchObject({ Status: 'approved', CostMax: 11.83 });
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    // m5zn.metal, the default fallback, may cost up to $12.06: within the 10% the approval covers.
    expect(await monthItem()).toMatchObject({ Version: 1, [`H#${id}`]: 12.06 });
    expect(world().ephemerals(APPROVER)).toEqual([]);
  });

  // The launch here records the machine without trimming the approval's $12.06 hold (as a launch
  // whose trim failed would): the Extend holds what the build may cost, not the stale hold + 1 h.
  it('an Extend under a budget: the hold grows once, to the new maximum ($15.77), not by the hour twice', async () => {
    const bot = world().bot({ MONTHLY_BUDGET_USD: '100' });
    const id = await bot.request();
    await bot.click('approve_build', id, APPROVER);
    await world().launch(id);
    await lossyBot({ MONTHLY_BUDGET_USD: '100' }).click('extend_build', id, APPROVER);

    expect(await world().build(id)).toMatchObject({ ExtendedHours: 1 });
    expect(await monthItem()).toMatchObject({ Version: 2, [`H#${id}`]: 15.77 });
  });
});
