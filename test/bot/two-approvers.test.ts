import { describe, expect, it } from 'vitest';
import { MONTH_PREFIX } from '../../adapters/aws/dynamo-ledger';
import { monthOf } from '../../domain/spend';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import { useWorld } from '../support/bot-world';

// SECOND_APPROVAL_ABOVE_USD (docs/design.md "Spend control"): a build whose maximum ($11.83 at
// the defaults) is above the threshold needs two different approvers. The first click is only
// recorded (FirstApprover, the card says so): no slot, no budget hold, no event. The second, by
// someone else, goes the whole way, and of any number of second clicks exactly one wins.

const world = useWorld();

// The Slack stand-in delivers ephemerals only to its sandbox people (Avery, Riley): a case that
// reads what someone was told has it told to one of them, so Riley approves too, and the builds
// are requested by someone else.
const SECOND_APPROVER = 'U0APPROVER2';
const RILEY = REQUESTER;
const REQUESTED_BY = 'U0STRANGER';
const APPROVERS = `${APPROVER},${SECOND_APPROVER},${RILEY}`;
const TWO_NEEDED = { APPROVER_IDS: APPROVERS, SECOND_APPROVAL_ABOVE_USD: '10' };

const lastCardBlocks = () => JSON.stringify(world().slack.callsTo('chat.update').at(-1)?.args.blocks);

/** Everything a click that changes nothing must leave as it was. */
async function snapshot(buildId: string) {
  return {
    build: await world().build(buildId),
    slots: await world().slots(),
    bus: world().bus(),
    // `slots` above says who holds one; a refused approval may leave the #slots item empty rather than absent.
    // A permitted click leaves its claim (`#click#…`, kept a day) whatever it did: each is its own.
    items: (await world().dynamo.items()).filter((i) => i.BuildID !== '#slots' && !String(i.BuildID).startsWith('#click#')),
    updates: world().slack.callsTo('chat.update').length,
    thread: await world().thread(buildId),
  };
}

describe('two approvers above SECOND_APPROVAL_ABOVE_USD', () => {
  it('the first click records FirstApprover and the card says "1 of 2 approvals"; no slot, no hold, no event', async () => {
    const bot = world().bot({ ...TWO_NEEDED, MONTHLY_BUDGET_USD: '100' });
    const id = await bot.request('main abc1234', REQUESTED_BY);
    const updates = world().slack.callsTo('chat.update').length;
    await bot.click('approve_build', id, APPROVER);

    const build = await world().build(id);
    expect(build).toMatchObject({ Status: 'awaiting_approval', FirstApprover: APPROVER });
    expect(build?.FirstApprovedAt).toBeDefined();
    expect(build?.Approver).toBeUndefined();
    expect(await world().slots()).toEqual([]);
    expect(world().bus()).toEqual([]);
    expect(await world().dynamo.get(`${MONTH_PREFIX}${monthOf(new Date())}`)).toBeUndefined();
    expect(world().ephemerals(APPROVER)).toEqual([
      `:+1: Your approval of ${id} is recorded (1 of 2): its maximum is above $10.00, so a second approver is needed. Nothing was started yet.`,
    ]);
    expect(world().slack.callsTo('chat.update')).toHaveLength(updates + 1);
    expect(lastCardBlocks()).toContain(
      `1 of 2 approvals, by <@${APPROVER}>; a second approver is needed (may still approve: <@${SECOND_APPROVER}>, <@${RILEY}>)`,
    );
    // Still open for the second approver, and the redraw keeps the card's lines, as of now.
    expect(lastCardBlocks()).toContain('approve_build');
    expect(lastCardBlocks()).toContain('*Builds already running*: none (limit 1 at a time; as of');
    expect(lastCardBlocks()).toContain('*Budget*: $0.00 of $100.00 used this month, this build up to $11.83');
    expect(await world().thread(id)).toEqual([]);
  });

  it('the first approver clicking again is told so, and nothing changes', async () => {
    const bot = world().bot(TWO_NEEDED);
    const id = await bot.request('main abc1234', REQUESTED_BY);
    await bot.click('approve_build', id, APPROVER);
    const before = await snapshot(id);
    await bot.click('approve_build', id, APPROVER);

    expect(world().ephemerals(APPROVER).at(-1)).toBe(`You have already approved ${id}; it needs a second approval by someone else. Nothing was changed.`);
    expect(await snapshot(id)).toEqual(before);
  });

  it('two second approvals at once (two different people): exactly one Build Approved, the other is told who won', async () => {
    const bot = world().bot(TWO_NEEDED);
    const id = await bot.request('main abc1234', REQUESTED_BY);
    await bot.click('approve_build', id, SECOND_APPROVER);
    await Promise.all([bot.click('approve_build', id, APPROVER), bot.click('approve_build', id, RILEY)]);

    const build = await world().build(id);
    expect(build).toMatchObject({ Status: 'approved', FirstApprover: SECOND_APPROVER });
    expect([APPROVER, RILEY]).toContain(build?.Approver);
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    expect(await world().slots()).toEqual([id]);
    const loser = build?.Approver === APPROVER ? RILEY : APPROVER;
    expect(world().ephemerals(loser)).toEqual([`${id} is already approved by <@${build?.Approver}>.`]);
    expect(world().ephemerals(build!.Approver!)).toEqual([]);
    expect(await world().thread(id)).toEqual([expect.stringContaining(`Approved by <@${build?.Approver}>`)]);
  });

  it('two first clicks at once by two people: both approvals are given, approved once', async () => {
    const bot = world().bot(TWO_NEEDED);
    const id = await bot.request('main abc1234', REQUESTED_BY);
    await Promise.all([bot.click('approve_build', id, APPROVER), bot.click('approve_build', id, SECOND_APPROVER)]);

    const build = await world().build(id);
    expect(build?.Status).toBe('approved');
    expect([build?.FirstApprover, build?.Approver].sort()).toEqual([APPROVER, SECOND_APPROVER].sort());
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    expect(await world().slots()).toEqual([id]);
  });

  it('one approval, then a deny: the request ends denied, no event, no slot; a later approval is refused', async () => {
    const bot = world().bot(TWO_NEEDED);
    const id = await bot.request('main abc1234', REQUESTED_BY);
    await bot.click('approve_build', id, APPROVER);
    await bot.click('deny_build', id, SECOND_APPROVER);

    expect(await world().build(id)).toMatchObject({ Status: 'rejected', DeniedBy: SECOND_APPROVER, FirstApprover: APPROVER });
    expect(world().bus()).toEqual([]);
    expect(await world().slots()).toEqual([]);

    const before = await snapshot(id);
    await bot.click('approve_build', id, RILEY);
    expect(world().ephemerals(RILEY)).toEqual([`${id} is already rejected by <@${SECOND_APPROVER}>.`]);
    expect(await snapshot(id)).toEqual(before);
  });

  it('the second approval over the budget: refused, the first approval kept, no slot, no event', async () => {
    const bot = world().bot({ ...TWO_NEEDED, MONTHLY_BUDGET_USD: '10' });
    const id = await bot.request('main abc1234', REQUESTED_BY);
    await bot.click('approve_build', id, SECOND_APPROVER);
    const before = await snapshot(id);
    await bot.click('approve_build', id, APPROVER);

    expect(world().ephemerals(APPROVER)).toEqual([expect.stringContaining(`:no_entry: ${id} was not approved: it could take`)]);
    expect(await snapshot(id)).toEqual(before);
    expect(before.build).toMatchObject({ Status: 'awaiting_approval', FirstApprover: SECOND_APPROVER });
  });

  it('at or below the threshold one approval suffices', async () => {
    const bot = world().bot({ APPROVER_IDS: APPROVERS, SECOND_APPROVAL_ABOVE_USD: '11.83' });
    const id = await bot.request('main abc1234', REQUESTED_BY);
    await bot.click('approve_build', id, APPROVER);

    const build = await world().build(id);
    expect(build).toMatchObject({ Status: 'approved', Approver: APPROVER });
    expect(build?.FirstApprover).toBeUndefined();
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    expect(await world().slots()).toEqual([id]);
    expect(world().ephemerals(APPROVER)).toEqual([]);
  });

  it('decides by the re-quote: a price rise above the threshold makes the click a first approval, stores the new maximum and redraws the card', async () => {
    const rules = { APPROVER_IDS: APPROVERS, SECOND_APPROVAL_ABOVE_USD: '15' };
    const id = await world().bot(rules).request('main abc1234', REQUESTED_BY);
    expect((await world().build(id))?.CostMax).toBe(11.83);
    const dearer = world().bot({ ...rules, PRICE_OVERRIDES: '{"c5n.metal": 5.3}' });
    await dearer.click('approve_build', id, APPROVER);

    const build = await world().build(id);
    expect(build).toMatchObject({ Status: 'awaiting_approval', FirstApprover: APPROVER });
    expect(build!.CostMax).toBeGreaterThan(15);
    expect(world().bus()).toEqual([]);
    expect(await world().slots()).toEqual([]);
    expect(world().ephemerals(APPROVER)).toEqual([
      `:+1: Your approval of ${id} is recorded (1 of 2): prices changed since the card was posted, and its maximum rose from $11.83 to $${build!.CostMax.toFixed(2)}, above $15.00, so a second approver is needed. Nothing was started yet.`,
    ]);
    expect(lastCardBlocks()).toContain(`1 of 2 approvals, by <@${APPROVER}>`);
    expect(lastCardBlocks()).toContain(`$${build!.CostMax.toFixed(2)}`);

    await dearer.click('approve_build', id, RILEY);
    expect(await world().build(id)).toMatchObject({ Status: 'approved', FirstApprover: APPROVER, Approver: RILEY });
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
  });

  it('a first approval whose giver is no longer an approver does not count: the next click becomes the first, the card says so', async () => {
    const id = await world().bot(TWO_NEEDED).request('main abc1234', REQUESTED_BY);
    await world().bot(TWO_NEEDED).click('approve_build', id, SECOND_APPROVER);
    expect(await world().build(id)).toMatchObject({ FirstApprover: SECOND_APPROVER });

    const withoutThem = world().bot({ ...TWO_NEEDED, APPROVER_IDS: `${APPROVER},${RILEY}` });
    await withoutThem.click('approve_build', id, APPROVER);
    expect(await world().build(id)).toMatchObject({ Status: 'awaiting_approval', FirstApprover: APPROVER });
    expect(world().bus()).toEqual([]);
    expect(await world().slots()).toEqual([]);
    expect(world().ephemerals(APPROVER)).toEqual([
      `:+1: Your approval of ${id} is recorded (1 of 2): the earlier approval by <@${SECOND_APPROVER}> no longer counts (they are not an approver now), so yours is the first and a second approver is needed. Nothing was started yet.`,
    ]);
    expect(lastCardBlocks()).toContain(`1 of 2 approvals, by <@${APPROVER}>`);

    await withoutThem.click('approve_build', id, RILEY);
    expect(await world().build(id)).toMatchObject({ Status: 'approved', FirstApprover: APPROVER, Approver: RILEY });
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
  });
});
