import { describe, expect, it } from 'vitest';
import { applyEvent } from '../../domain/apply';
import type { Build } from '../../domain/build';
import { quote } from '../../domain/build-facts';
import type { Config } from '../../domain/config';
import { formatUsd, usd } from '../../domain/cost';
import { monthOf } from '../../domain/spend';
import { MONTH_PREFIX } from '../../adapters/aws/dynamo-ledger';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import type { Env } from '../support/bot-world';
import { useWorld } from '../support/bot-world';

// `type=` and `hours=` (issue 28, docs/design.md "Choosing the machine") through the bot's real
// handler: what the request records and posts, what the approval re-quotes, holds and decides,
// what `status` shows and what a rebuild keeps or refuses. Figures come from `quote` for the
// build's own type and limit: c5n.metal + 500 GB is $3.9428/h, m5zn.metal + 500 GB $4.0189/h.

const world = useWorld();

const T = new Date('2026-11-25T17:00:52.000Z');

/** The maximum of `hours` on `instanceType` under `config`, rounded as the record stores it. */
function maxOf(config: Config, instanceType: string, hours: number): number {
  const q = quote(config, { instanceType, limitHours: hours });
  if (!q) throw new Error(`no price for ${instanceType}`);
  return usd(q.max.total);
}

/** Nothing happened: no item at all (not even a trigger claim), no card, no event. */
async function expectNothingDone() {
  expect(await world().builds()).toEqual([]);
  expect(await world().dynamo.items()).toEqual([]);
  expect(world().slack.callsTo('chat.postMessage')).toEqual([]);
  expect(world().slack.callsTo('chat.update')).toEqual([]);
  expect(world().events.entries).toEqual([]);
}

type Element = { action_id?: string; confirm?: { text?: { text?: string } } };
const approveConfirm = (blocks: unknown): string | undefined =>
  ((blocks as Array<{ type: string; elements?: Element[] }> | undefined) ?? [])
    .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
    .find((e) => e.action_id === 'approve_build')?.confirm?.text?.text;

/** The fields a request's words decide. */
const choiceOf = (b: Build | undefined) => ({
  BuildBranch: b?.BuildBranch,
  BuildCommit: b?.BuildCommit,
  RequestedType: b?.RequestedType,
  LimitHours: b?.LimitHours,
  CostEstimate: b?.CostEstimate,
  CostMax: b?.CostMax,
});

/** A build requested with `text` under `env`, approved and failed at launch, as production leaves it. */
async function failedBuild(text: string, env: Env = {}): Promise<string> {
  const w = world();
  const bot = w.bot(env);
  const id = await bot.request(text);
  await bot.click('approve_build', id, APPROVER);
  const applied = await applyEvent(w.dynamo.store, id, { type: 'launch-failed', message: 'InsufficientInstanceCapacity' }, new Date());
  if (applied.outcome !== 'changed') throw new Error(`launch-failed on ${id}: ${applied.outcome}`);
  await w.dynamo.store.releaseSlot(id);
  w.slack.calls.length = 0;
  w.events.clear();
  return id;
}

describe('/metal-build <branch> [commit] type=… hours=…', () => {
  it('type=m5zn.metal hours=1: the card quotes m5zn.metal for 1 h, warns at 40 min, and the record keeps the choice', async () => {
    const bot = world().bot();
    const answer = await bot.command('main abc1234 type=m5zn.metal hours=1');

    const [build] = await world().builds();
    expect(answer.text).toBe(`Requested ${build!.BuildID} — waiting for approval.`);
    const max = maxOf(bot.deps.config, 'm5zn.metal', 1);
    expect(max).toBe(4.02);
    expect(build).toMatchObject({ Status: 'awaiting_approval', BuildCommit: 'abc1234', RequestedType: 'm5zn.metal', LimitHours: 1, CostMax: max });

    const posts = world().slack.callsTo('chat.postMessage');
    expect(posts).toHaveLength(1);
    const blocks = JSON.stringify(posts[0]!.args.blocks);
    expect(blocks).toContain('*Cost estimate* — m5zn.metal at $3.9641/h');
    expect(blocks).toContain(`• Maximum (1 h): *${formatUsd(max)}*`);
    expect(blocks).toContain('Warning after 40 min; forced termination at 1 h');
    expect(blocks).not.toContain('c5n.metal');
    expect(posts[0]!.args.text).toContain(`maximum ${formatUsd(max)}`);
    const confirm = approveConfirm(posts[0]!.args.blocks);
    expect(confirm).toContain('Launches a m5zn.metal');
    expect(confirm).toContain(`Maximum cost ${formatUsd(max)} (1 h limit)`);
    expect(world().events.entries).toEqual([]);
  });

  it('hours=1 expects at most 1 h: the expected line never exceeds the maximum', async () => {
    const bot = world().bot();
    await bot.command('main abc1234 hours=1');

    const [build] = await world().builds();
    expect(build).toMatchObject({ LimitHours: 1, CostMax: maxOf(bot.deps.config, 'c5n.metal', 1) });
    expect(build!.CostEstimate).toBe(build!.CostMax);
    expect(JSON.stringify(world().slack.callsTo('chat.postMessage')[0]!.args.blocks)).toContain(`• Expected (1 h): *${formatUsd(build!.CostMax)}*`);
  });

  it('the words in another order record the same as in the canonical order', async () => {
    const bot = world().bot();
    const canonical = await bot.request('main abc1234 type=c5n.metal hours=2');
    const shuffled = await bot.request('main hours=2 type=c5n.metal abc1234');

    const expected = {
      BuildBranch: 'main',
      BuildCommit: 'abc1234',
      RequestedType: 'c5n.metal',
      LimitHours: 2,
      CostMax: maxOf(bot.deps.config, 'c5n.metal', 2),
    };
    expect(choiceOf(await world().build(canonical))).toMatchObject(expected);
    expect(choiceOf(await world().build(shuffled))).toEqual(choiceOf(await world().build(canonical)));
  });

  it.each([
    ['the defaults', {}, 'c5n.metal', 3],
    ['INSTANCE_TYPE and MAX_LIFETIME_HOURS as set', { INSTANCE_TYPE: 'm5zn.metal', MAX_LIFETIME_HOURS: '2', WARN_AFTER_HOURS: '1' }, 'm5zn.metal', 2],
  ])('without the words the record gets %s', async (_name, env: Env, type, hours) => {
    const bot = world().bot(env);
    const id = await bot.request('main abc1234');
    expect(await world().build(id)).toMatchObject({ RequestedType: type, LimitHours: hours, CostMax: maxOf(bot.deps.config, type, hours) });
  });

  it.each([
    ['a type not in INSTANCE_TYPES', 'main type=c6i.metal', ['type "c6i.metal" is not one this bot launches', 'c5n.metal, m5zn.metal']],
    ['hours above MAX_LIFETIME_HOURS', 'main abc1234 hours=4', ['hours=4 is outside the allowed limits', 'from 1 to 3']],
    ['hours=0', 'main hours=0', ['hours=0 is outside the allowed limits', 'from 1 to 3']],
    ['a malformed type', 'main type=C5N', ['type="C5N" is not an instance type']],
    ['an unknown word', 'main size=big', ['unknown word "size=big"']],
    ['type= given twice', 'main type=c5n.metal type=m5zn.metal', ['`type=` is given twice']],
  ])('refuses %s in one line naming what is allowed, and does nothing', async (_name, text, names) => {
    const answer = await world().bot().command(text);
    expect(answer.statusCode).toBe(200);
    expect(answer.responseType).toBe('ephemeral');
    for (const name of names) expect(answer.text?.toLowerCase()).toContain(name.toLowerCase());
    expect(answer.text).toMatch(/^:warning: .*See `\/metal-build help`\.$/);
    expect(answer.text).not.toContain('\n');
    await expectNothingDone();
  });

  it('a type INSTANCE_TYPES adds (priced by PRICE_OVERRIDES) is accepted and quoted at its price', async () => {
    const bot = world().bot({ INSTANCE_TYPES: 'c5n.metal,m5zn.metal,c6i.metal', PRICE_OVERRIDES: '{"c6i.metal": 4.5}' });
    const id = await bot.request('main type=c6i.metal');
    const max = maxOf(bot.deps.config, 'c6i.metal', 3);
    expect(await world().build(id)).toMatchObject({ RequestedType: 'c6i.metal', LimitHours: 3, CostMax: max });
    expect(JSON.stringify(world().slack.callsTo('chat.postMessage')[0]?.args.blocks)).toContain('*Cost estimate* — c6i.metal at $4.5/h');
  });
});

describe('approval of a chosen type and limit', () => {
  it('approves with the build’s own quote: the record stays m5zn.metal / 1 h, the re-quote is for that, not the default', async () => {
    const id = await world().bot().request('main abc1234 type=m5zn.metal hours=1');
    // The price of m5zn.metal changed since the card: the re-quote is still for 1 h of it.
    const dearer = world().bot({ PRICE_OVERRIDES: '{"m5zn.metal": 5}' });
    await dearer.click('approve_build', id, APPROVER);

    const requoted = maxOf(dearer.deps.config, 'm5zn.metal', 1);
    expect(requoted).toBe(5.05);
    expect(await world().build(id)).toMatchObject({ Status: 'approved', Approver: APPROVER, RequestedType: 'm5zn.metal', LimitHours: 1, CostMax: requoted });
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    expect(await world().slots()).toEqual([id]);
  });

  it('at unchanged prices the approval keeps CostMax: never the default type’s 3-hour figure', async () => {
    const bot = world().bot();
    const id = await bot.request('main abc1234 type=m5zn.metal hours=1');
    await bot.click('approve_build', id, APPROVER);

    const build = await world().build(id);
    expect(build).toMatchObject({ Status: 'approved', RequestedType: 'm5zn.metal', LimitHours: 1, CostMax: maxOf(bot.deps.config, 'm5zn.metal', 1) });
    expect(build?.CostMax).not.toBe(maxOf(bot.deps.config, 'c5n.metal', 3));
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
  });

  it.each([
    // m5zn.metal's chain is m5zn.metal alone (the fallback is the same type): its own 1-hour maximum.
    ['type=m5zn.metal hours=1', {}, 'm5zn.metal'],
    // c5n.metal for 1 h ($3.94) may fall back to m5zn.metal for 1 h ($4.02, within 10 %): that is held.
    ['hours=1', {}, 'm5zn.metal'],
    // Without overrun allowance the fallback is never launched: the build's own maximum.
    ['hours=1', { FALLBACK_MAX_OVERRUN_PERCENT: '0' }, 'c5n.metal'],
  ])('`%s` (%j) holds the 1-hour maximum of %s in the month’s budget', async (words, env: Env, heldType) => {
    world().frozenAt = T;
    const bot = world().bot({ MONTHLY_BUDGET_USD: '100', ...env });
    const id = await bot.request(`main abc1234 ${words}`);
    await bot.click('approve_build', id, APPROVER);

    expect(await world().build(id)).toMatchObject({ Status: 'approved', LimitHours: 1 });
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    const month = await world().dynamo.get(`${MONTH_PREFIX}${monthOf(T)}`);
    expect(month).toMatchObject({ [`H#${id}`]: maxOf(bot.deps.config, heldType, 1) });
  });
});

describe('two approvers compare the build’s own maximum', () => {
  const SECOND_APPROVER = 'U0APPROVER2';
  const REQUESTED_BY = 'U0STRANGER';
  const TWO_NEEDED = { APPROVER_IDS: `${APPROVER},${SECOND_APPROVER}`, SECOND_APPROVAL_ABOVE_USD: '10' };

  it('hours=1 (about $4) is approved by one click', async () => {
    const bot = world().bot(TWO_NEEDED);
    const id = await bot.request('main abc1234 hours=1', REQUESTED_BY);
    await bot.click('approve_build', id, APPROVER);

    const build = await world().build(id);
    expect(build).toMatchObject({ Status: 'approved', Approver: APPROVER, CostMax: maxOf(bot.deps.config, 'c5n.metal', 1) });
    expect(build?.FirstApprover).toBeUndefined();
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    expect(await world().slots()).toEqual([id]);
  });

  it('the default 3 h ($11.83) needs two: after one click it still awaits approval', async () => {
    const bot = world().bot(TWO_NEEDED);
    const id = await bot.request('main abc1234', REQUESTED_BY);
    await bot.click('approve_build', id, APPROVER);

    expect(await world().build(id)).toMatchObject({ Status: 'awaiting_approval', FirstApprover: APPROVER, CostMax: 11.83 });
    expect(world().bus()).toEqual([]);
    expect(await world().slots()).toEqual([]);

    await bot.click('approve_build', id, SECOND_APPROVER);
    expect(await world().build(id)).toMatchObject({ Status: 'approved', Approver: SECOND_APPROVER });
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
  });
});

describe('status of a chosen type and limit', () => {
  it('`status <id>` of an awaiting build shows its type, its limit and its maximum', async () => {
    const bot = world().bot();
    const id = await bot.request('main abc1234 type=m5zn.metal hours=1');
    world().slack.reset();
    world().events.clear();

    const answer = await bot.command(`status ${id}`);
    expect(answer.text).toContain('Type: m5zn.metal');
    expect(answer.text).toContain('Limit: 1 h');
    expect(answer.text).toContain(`Maximum cost ${formatUsd(maxOf(bot.deps.config, 'm5zn.metal', 1))}`);
    expect(answer.text).not.toContain('c5n.metal');
    expect(world().slack.calls).toEqual([]);
    expect(world().bus()).toEqual([]);
  });
});

describe('rebuild keeps the type and the limit', () => {
  it('a failed m5zn.metal / 2 h build is rebuilt as m5zn.metal / 2 h', async () => {
    const earlierId = await failedBuild('main abc1234 type=m5zn.metal hours=2');
    const bot = world().bot();
    await bot.click('rebuild_build', earlierId, REQUESTER);

    const later = (await world().builds()).filter((b) => b.BuildID !== earlierId);
    expect(later).toHaveLength(1);
    expect(later[0]).toMatchObject({
      Status: 'awaiting_approval',
      RebuildOf: earlierId,
      BuildCommit: 'abc1234',
      RequestedType: 'm5zn.metal',
      LimitHours: 2,
      CostMax: maxOf(bot.deps.config, 'm5zn.metal', 2),
    });
    const posts = world().slack.callsTo('chat.postMessage');
    expect(posts).toHaveLength(1);
    expect(JSON.stringify(posts[0]!.args.blocks)).toContain('forced termination at 2 h');
    expect(approveConfirm(posts[0]!.args.blocks)).toContain('Launches a m5zn.metal');
    expect(world().bus()).toEqual([]);
  });

  it('under a fractional MAX_LIFETIME_HOURS (2.5) a build of the default limit is rebuilt as it ran', async () => {
    const env = { MAX_LIFETIME_HOURS: '2.5', WARN_AFTER_HOURS: '2' };
    const earlierId = await failedBuild('main abc1234', env);
    expect(await world().build(earlierId)).toMatchObject({ LimitHours: 2.5 });

    const answer = await world().bot(env).command(`rebuild ${earlierId}`);
    expect(answer.text).toMatch(/^Requested build-/);
    const later = (await world().builds()).filter((b) => b.BuildID !== earlierId);
    expect(later).toEqual([expect.objectContaining({ RebuildOf: earlierId, LimitHours: 2.5 })]);
  });

  it('a 5 h build after MAX_LIFETIME_HOURS went down to 3 is refused with the reason; nothing is recorded', async () => {
    const earlierId = await failedBuild('main abc1234 hours=5', { MAX_LIFETIME_HOURS: '6' });
    expect(await world().build(earlierId)).toMatchObject({ Status: 'failed', LimitHours: 5 });
    const before = await world().dynamo.items();
    const bot = world().bot();

    const answer = await bot.command(`rebuild ${earlierId}`);
    await bot.click('rebuild_build', earlierId, REQUESTER);

    expect(answer.text).toContain(`${earlierId} cannot be rebuilt as it ran`);
    expect(answer.text).toContain('from 1 to 3');
    expect(answer.text).toContain('`/metal-build main abc1234`');
    expect(world().ephemerals(REQUESTER)).toEqual([answer.text]);
    expect(await world().dynamo.items()).toEqual(before);
    expect((await world().build(earlierId))?.RebuiltAs).toBeUndefined();
    expect(world().slack.callsTo('chat.postMessage')).toEqual([]);
    expect(world().slack.callsTo('chat.update')).toEqual([]);
    expect(world().bus()).toEqual([]);
  });
});
