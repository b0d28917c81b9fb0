import { describe, expect, it } from 'vitest';
import { APPROVER, NOT_MEMBER_CHANNEL, REQUESTER, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { useWorld } from '../support/bot-world';

// `/metal-build selftest` through the bot's real handler (docs/design.md "Self-test"): an
// approver's command records a self-test in `approved`, posts one line (no card, no buttons),
// holds its budget and slot, and puts `Build Approved`; anyone else is refused with nothing changed.

const world = useWorld();

describe('/metal-build selftest', () => {
  it('by an approver: one line, a record in approved on the self-test type for 30 minutes, a slot, Build Approved', async () => {
    const bot = world().bot({ MONTHLY_BUDGET_USD: '100' });
    const answer = await bot.command('selftest', { user: APPROVER });

    const [test] = await world().builds();
    expect(answer.text).toBe(`Self-test ${test!.BuildID} started; its thread follows it.`);
    expect(test).toMatchObject({
      Status: 'approved',
      Kind: 'selftest',
      BuildBranch: 'HEAD',
      RequestedType: 't3.small',
      LimitHours: 0.5,
      Requester: APPROVER,
      Approver: APPROVER,
      Channel: SANDBOX_CHANNEL,
      NotifiedStatus: 'approved',
    });
    expect(test!.BuildCommit).toBeUndefined();
    // t3.small for half an hour and its disk at VOLUME_SIZE_GB's price: a few cents at most.
    expect(test!.CostMax).toBeLessThan(0.05);
    const messages = world().slack.messages(SANDBOX_CHANNEL);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.ts).toBe(test!.ThreadTs);
    expect(messages[0]!.text).toContain(`Self-test \`${test!.BuildID}\` by <@${APPROVER}> on a t3.small`);
    expect(JSON.stringify(messages[0]!.blocks ?? [])).not.toContain('"button"');
    expect(await world().thread(test!.BuildID)).toEqual([]);
    expect(await world().slots()).toEqual([test!.BuildID]);
    expect(world().bus()).toEqual([['Build Approved', { buildId: test!.BuildID }]]);
  });

  it('holds its maximum in the month like an approval', async () => {
    const bot = world().bot({ MONTHLY_BUDGET_USD: '100' });
    await bot.command('selftest', { user: APPROVER });
    const [test] = await world().builds();
    const month = test!.CreatedAt.slice(0, 7);
    expect((await world().dynamo.ledger.holds(month)).holds[test!.BuildID]).toBe(test!.CostMax);
  });

  it('refused for someone who is not an approver: the table, Slack and the bus as before', async () => {
    const bot = world().bot();
    const before = await world().dynamo.items();
    const answer = await bot.command('selftest', { user: REQUESTER });

    expect(answer.text).toBe(`:no_entry: Only approvers can run a self-test: <@${APPROVER}>. Nothing was changed.`);
    expect(await world().dynamo.items()).toEqual(before);
    expect(world().slack.messages(SANDBOX_CHANNEL)).toEqual([]);
    expect(world().bus()).toEqual([]);
  });

  it('refused outside the allowed channels, even for an approver', async () => {
    const bot = world().bot({ ALLOWED_CHANNEL_IDS: SANDBOX_CHANNEL });
    const answer = await bot.command('selftest', { user: APPROVER, channel: 'C0ELSEWHERE' });
    expect(answer.text).toContain(`<#${SANDBOX_CHANNEL}>`);
    expect(await world().builds()).toEqual([]);
    expect(world().bus()).toEqual([]);
  });

  it('in a channel the bot is not in: asks to be invited, records nothing, holds nothing', async () => {
    const bot = world().bot({ MONTHLY_BUDGET_USD: '100' });
    const answer = await bot.command('selftest', { user: APPROVER, channel: NOT_MEMBER_CHANNEL });
    expect(answer.text).toContain('/invite @metal-build');
    expect(await world().builds()).toEqual([]);
    expect(await world().slots()).toEqual([]);
    expect(world().bus()).toEqual([]);
  });

  it('with every slot taken: queued (the queue row from approved), no Build Approved yet', async () => {
    const bot = world().bot({ MAX_CONCURRENT_BUILDS: '1' });
    const running = await bot.request();
    await bot.click('approve_build', running, APPROVER);
    world().events.clear();
    const answer = await bot.command('selftest', { user: APPROVER });
    const test = (await world().builds()).find((b) => b.Kind === 'selftest')!;
    expect(test.Status).toBe('queued');
    expect(answer.text).toBe(`Self-test ${test.BuildID} is queued: every slot is taken; it launches when one frees.`);
    expect((await world().dynamo.store.slotSet()).queue).toEqual([test.BuildID]);
    expect(world().bus()).toEqual([]);
  });

  it('over the monthly budget: refused with the figures, nothing posted or recorded', async () => {
    const bot = world().bot({ MONTHLY_BUDGET_USD: '0.01' });
    const answer = await bot.command('selftest', { user: APPROVER });
    expect(answer.text).toMatch(/budget/);
    expect(await world().builds()).toEqual([]);
    expect(world().slack.messages(SANDBOX_CHANNEL)).toEqual([]);
    expect(world().bus()).toEqual([]);
  });

  it('a self-test is not rebuilt: `/metal-build rebuild` says to run it again, and opens nothing', async () => {
    const bot = world().bot();
    await bot.command('selftest', { user: APPROVER });
    const [test] = await world().builds();
    await world().dynamo.store.update(test!.BuildID, { status: ['approved'] }, { Status: 'failed' });
    const answer = await bot.command(`rebuild ${test!.BuildID}`, { user: APPROVER });
    expect(answer.text).toBe(`${test!.BuildID} is a self-test, which is not rebuilt: run \`/metal-build selftest\` again.`);
    expect(await world().builds()).toHaveLength(1);
  });

  it('a Slack retry of the same command starts one self-test', async () => {
    const bot = world().bot();
    await bot.command('selftest', { user: APPROVER, triggerId: 'trigger-selftest' });
    const again = await bot.command('selftest', { user: APPROVER, triggerId: 'trigger-selftest', retryNum: 1 });
    expect(again.text).toMatch(/already handled/);
    expect(await world().builds()).toHaveLength(1);
  });
});
