import { describe, expect, it } from 'vitest';
import { applyEvent } from '../../domain/apply';
import type { Build } from '../../domain/build';
import { MONTH_PREFIX } from '../../adapters/aws/dynamo-ledger';
import { APPROVER, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { useWorld } from '../support/bot-world';
import { countedBuild } from '../support/counted-builds';

// MONTHLY_BUDGET_USD through the bot's real handler (docs/design.md "Spend control"): the month's
// ledger item on dynalite, the Slack calls and the events put. The clock is frozen so the
// figures are exact: c5n.metal + 500 GB is $3.9428/h, a build's maximum (3 h) $11.83, an hour
// of extension $3.94, and a build launched 30 minutes ago has cost $1.97 so far.

const world = useWorld();

/** The figures of one instance type; the fallback type's hold has its own test. */
const ONE_TYPE = { FALLBACK_INSTANCE_TYPES: '' };

const T = new Date('2026-11-25T17:00:52.000Z');
const MONTH = '2026-11';
const minutesAfter = (minutes: number) => new Date(T.getTime() + minutes * 60_000);
const monthItem = () => world().dynamo.get(`${MONTH_PREFIX}${MONTH}`);

let machines = 0;

/** What the launch handler records once EC2 answered, at the bot's frozen time. */
async function launch(buildId: string): Promise<Build> {
  const now = world().frozenAt!;
  const instanceId = `i-0budget${String(++machines).padStart(9, '0')}`;
  const applied = await applyEvent(
    world().dynamo.store,
    buildId,
    { type: 'launched', instanceId, instanceType: 'c5n.metal', availabilityZone: 'us-east-1a', launchTime: now.toISOString(), limitHours: 3 },
    now,
  );
  if (applied.outcome !== 'changed') throw new Error(`launch of ${buildId}: ${applied.outcome}`);
  return applied.build;
}

/** A finished build already counted into November, as the events side leaves it. */
async function spentAlready(cost: number): Promise<void> {
  await countedBuild(world().dynamo, MONTH, { buildId: 'build-20261101-090000-old1', cost, requester: 'U0SOMEONE', branch: 'main', status: 'completed' });
}

/** Everything a refusal must leave as it was. */
async function snapshot(buildId: string) {
  return {
    build: await world().build(buildId),
    month: await monthItem(),
    slots: await world().slots(),
    bus: world().bus(),
    updates: world().slack.callsTo('chat.update').length,
    posts: world().slack.callsTo('chat.postMessage').length,
  };
}

describe('the monthly budget at approval', () => {
  it('refused: the text gives spent, committed by running builds and this build’s maximum; nothing changes', async () => {
    world().frozenAt = T;
    const bot = world().bot({ ...ONE_TYPE, MONTHLY_BUDGET_USD: '25', MAX_CONCURRENT_BUILDS: '2' });
    await spentAlready(5);
    const running = await bot.request();
    await bot.click('approve_build', running, APPROVER);
    await launch(running);
    world().frozenAt = minutesAfter(30);
    const id = await bot.request('feature/x');
    const before = await snapshot(id);

    await bot.click('approve_build', id, APPROVER);

    // $5 counted + $1.97 so far; the running build may still cost $11.83 − $1.97; this one $11.83.
    expect(world().ephemerals(APPROVER)).toEqual([
      `:no_entry: ${id} was not approved: it could take November 2026 past its budget of $25.00 ` +
        `(spent so far $6.97, running and approved builds may still cost up to $9.86, and this build up to $11.83: $28.66 in all). ` +
        'Nothing was started; the request stays open.',
    ]);
    expect(await snapshot(id)).toEqual(before);
    expect(before.build).toMatchObject({ Status: 'awaiting_approval' });
    expect(before.build?.Approver).toBeUndefined();
    expect(await world().slots()).toEqual([running]);
    expect(world().bus()).toEqual([['Build Approved', { buildId: running }]]);
    expect(Object.keys(before.month ?? {})).not.toContain(`H#${id}`);
    expect(await world().thread(id)).toEqual([]);
    expect(world().log.lines.find((l) => l.message === 'approval refused: over the monthly budget')).toMatchObject({
      buildId: id,
      spent: 6.97,
      committed: 9.86,
      adding: 11.83,
    });
  });

  it('the same approval passes once the budget has room: the hold is this build’s maximum', async () => {
    world().frozenAt = T;
    const bot = world().bot({ ...ONE_TYPE, MONTHLY_BUDGET_USD: '30', MAX_CONCURRENT_BUILDS: '2' });
    await spentAlready(5);
    const id = await bot.request();
    await bot.click('approve_build', id, APPROVER);

    expect(await world().build(id)).toMatchObject({ Status: 'approved' });
    expect(await world().slots()).toEqual([id]);
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    expect(await monthItem()).toMatchObject({ Version: 1, [`H#${id}`]: 11.83 });
    expect(world().ephemerals(APPROVER)).toEqual([]);
  });

  it('two builds approved at once at the edge of the budget: exactly one is approved, the other refused', async () => {
    world().frozenAt = T;
    const bot = world().bot({ ...ONE_TYPE, MONTHLY_BUDGET_USD: '20', MAX_CONCURRENT_BUILDS: '2' });
    const a = await bot.request();
    const b = await bot.request('feature/x');
    // Each fits alone ($11.83 of $20); both together do not.
    await Promise.all([bot.click('approve_build', a, APPROVER), bot.click('approve_build', b, APPROVER)]);

    const [winner, loser] = (await world().build(a))?.Status === 'approved' ? [a, b] : [b, a];
    expect(await world().build(winner)).toMatchObject({ Status: 'approved', Approver: APPROVER });
    expect(await world().build(loser)).toMatchObject({ Status: 'awaiting_approval' });
    expect((await world().build(loser))?.Approver).toBeUndefined();
    expect(await world().slots()).toEqual([winner]);
    expect(world().bus()).toEqual([['Build Approved', { buildId: winner }]]);
    const month = await monthItem();
    expect(Object.keys(month ?? {}).filter((k) => k.startsWith('H#'))).toEqual([`H#${winner}`]);
    expect(world().ephemerals(APPROVER)).toEqual([
      `:no_entry: ${loser} was not approved: it could take November 2026 past its budget of $20.00 ` +
        `(spent so far $0.00, running and approved builds may still cost up to $11.83, and this build up to $11.83: $23.66 in all). ` +
        'Nothing was started; the request stays open.',
    ]);
  });

  it('the warning at BUDGET_WARN_PERCENT (80%) is posted once in the channel, not again on later approvals', async () => {
    world().frozenAt = T;
    const bot = world().bot({ ...ONE_TYPE, MONTHLY_BUDGET_USD: '200', MAX_CONCURRENT_BUILDS: '4' });
    await spentAlready(140);
    const ids: string[] = [];
    for (const branch of ['main', 'feature/a', 'feature/b', 'feature/c']) ids.push(await bot.request(branch));
    const [a, b, c, d] = ids as [string, string, string, string];

    // $140 + $11.83 = 75.9%: no warning yet.
    await bot.click('approve_build', a, APPROVER);
    expect(
      world()
        .slack.messages(SANDBOX_CHANNEL)
        .filter((m) => m.text.includes('money_with_wings')),
    ).toEqual([]);
    // $140 + $11.83 committed + $11.83 = 81.8%: the warning, in the channel, not in a thread.
    await bot.click('approve_build', b, APPROVER);
    // 87.7% and 93.7%: still approved, no second warning.
    await bot.click('approve_build', c, APPROVER);
    await bot.click('approve_build', d, APPROVER);

    const warnings = world()
      .slack.messages(SANDBOX_CHANNEL)
      .filter((m) => m.text.includes('money_with_wings'));
    expect(warnings.map((m) => [m.text, m.thread_ts])).toEqual([
      [
        `:money_with_wings: November 2026 has reached 82% of its $200.00 budget with the approval of \`${b}\`: ` +
          '$140.00 spent, up to $163.66 with what approved builds may still cost. ' +
          'Approvals that would go past $200.00 are refused. `/metal-build costs` shows where it went.',
        undefined,
      ],
    ]);
    expect(world().bus()).toEqual(ids.map((buildId) => ['Build Approved', { buildId }]));
    expect(await monthItem()).toMatchObject({ BudgetWarnedAt: T.toISOString(), BudgetWarnedFor: b, Version: 4 });
    expect(world().ephemerals(APPROVER)).toEqual([]);
  });

  it('the warning’s post fails: the claim is given back, and the next approval posts it', async () => {
    world().frozenAt = T;
    const bot = world().bot({ ...ONE_TYPE, MONTHLY_BUDGET_USD: '100', MAX_CONCURRENT_BUILDS: '2' });
    await spentAlready(70);
    const a = await bot.request();
    const b = await bot.request('feature/a');
    // Every post of this approval fails (its thread reply and the warning); the approval stands.
    world().slack.failNext('chat.postMessage', 'ratelimited');
    world().slack.failNext('chat.postMessage', 'ratelimited');
    world().slack.failNext('chat.postMessage', 'ratelimited');
    await bot.click('approve_build', a, APPROVER);
    expect(await world().build(a)).toMatchObject({ Status: 'approved' });
    expect((await monthItem())?.BudgetWarnedAt).toBeUndefined();
    expect(world().log.lines.find((l) => l.message === 'could not post the budget warning; the next approval tries again')).toMatchObject({ month: MONTH });

    await bot.click('approve_build', b, APPROVER);
    const warnings = world()
      .slack.messages(SANDBOX_CHANNEL)
      .filter((m) => m.text.includes('money_with_wings'));
    expect(warnings.map((m) => m.text)).toEqual([expect.stringContaining(`94% of its $100.00 budget with the approval of \`${b}\``)]);
    expect(await monthItem()).toMatchObject({ BudgetWarnedFor: b });
  });

  it('the card of a request shows the month’s budget line when MONTHLY_BUDGET_USD is set', async () => {
    world().frozenAt = T;
    const bot = world().bot({ ...ONE_TYPE, MONTHLY_BUDGET_USD: '100' });
    await spentAlready(5);
    await bot.request();

    const card = world().slack.callsTo('chat.postMessage')[0];
    expect(JSON.stringify(card?.args.blocks)).toContain('*Budget*: $5.00 of $100.00 used this month, this build up to $11.83');
  });
  it('a fallback type dearer than the first: the approval holds what the launch may really spend, and is refused when that passes the budget', async () => {
    world().frozenAt = T;
    // CostMax is c5n.metal's $11.83; m5zn.metal, the default fallback, may cost $12.06 (within 10%).
    const id = await world().bot({ MONTHLY_BUDGET_USD: '12' }).request();
    const before = await snapshot(id);
    await world().bot({ MONTHLY_BUDGET_USD: '12' }).click('approve_build', id, APPROVER);

    expect(world().ephemerals(APPROVER)).toEqual([
      `:no_entry: ${id} was not approved: it could take November 2026 past its budget of $12.00 ` +
        '(spent so far $0.00, running and approved builds may still cost up to $0.00, and this build up to $12.06: $12.06 in all). ' +
        'Nothing was started; the request stays open.',
    ]);
    expect(await snapshot(id)).toEqual(before);

    await world().bot({ MONTHLY_BUDGET_USD: '13' }).click('approve_build', id, APPROVER);
    expect(await world().build(id)).toMatchObject({ Status: 'approved', CostMax: 11.83 });
    expect((await world().dynamo.ledger.read(MONTH)).holds).toEqual({ [id]: 12.06 });
  });
});

/** The store of a click whose write waits until Avery's Extend click on `id` went the whole way. */
function extendingFirst(bot: ReturnType<ReturnType<typeof world>['bot']>, id: string) {
  let first = true;
  return new Proxy(world().dynamo.store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property !== 'update' || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (first) {
          first = false;
          await bot.click('extend_build', id, APPROVER);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe('the monthly budget at extension', () => {
  async function runningBuild(budget: string): Promise<{ id: string; bot: ReturnType<ReturnType<typeof world>['bot']> }> {
    world().frozenAt = T;
    const bot = world().bot({ ...ONE_TYPE, MONTHLY_BUDGET_USD: budget });
    const id = await bot.request();
    await bot.click('approve_build', id, APPROVER);
    await launch(id);
    world().frozenAt = minutesAfter(30);
    return { id, bot };
  }

  it('refused: the text gives the figures, DeadlineAt and the ledger unchanged, no Build Extended', async () => {
    const { id, bot } = await runningBuild('15');
    const before = await snapshot(id);

    await bot.click('extend_build', id, APPROVER);

    expect(world().ephemerals(APPROVER)).toEqual([
      `:no_entry: ${id} was not extended: the hour could take November 2026 past its budget of $15.00 ` +
        `(spent so far $1.97, running and approved builds may still cost up to $9.86, and the hour up to $3.94: $15.77 in all). ` +
        'The deadline stays as it was.',
    ]);
    expect(await snapshot(id)).toEqual(before);
    expect(before.build?.DeadlineAt).toBe(minutesAfter(180).toISOString());
    expect(before.build?.ExtendedHours).toBeUndefined();
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    expect((await world().thread(id)).filter((t) => t.includes('Extended by'))).toEqual([]);
  });

  it('an hour that fits: extended, and the build’s hold grows to its new maximum', async () => {
    const { id, bot } = await runningBuild('20');
    await bot.click('extend_build', id, APPROVER);

    expect(await world().build(id)).toMatchObject({ ExtendedHours: 1, DeadlineAt: minutesAfter(240).toISOString() });
    expect(await monthItem()).toMatchObject({ Version: 2, [`H#${id}`]: 15.77 });
    expect(world().bus()).toEqual([
      ['Build Approved', { buildId: id }],
      ['Build Extended', { buildId: id, by: APPROVER, hours: 1 }],
    ]);
    expect(world().ephemerals(APPROVER)).toEqual([]);
  });

  it('across a month boundary: an Extend is checked against the launch month, where the build’s cost is counted', async () => {
    // Launched Nov 30 at 22:00; the Extend comes Dec 1 at 00:30, against November's figures.
    world().frozenAt = new Date('2026-11-30T22:00:00.000Z');
    const bot = world().bot({ ...ONE_TYPE, MONTHLY_BUDGET_USD: '17' });
    await spentAlready(4);
    const id = await bot.request();
    await bot.click('approve_build', id, APPROVER);
    await launch(id);
    world().frozenAt = new Date('2026-12-01T00:30:00.000Z');
    const before = await snapshot(id);

    await bot.click('extend_build', id, APPROVER);

    expect(world().ephemerals(APPROVER)).toEqual([
      expect.stringContaining(`:no_entry: ${id} was not extended: the hour could take November 2026 past its budget of $17.00`),
    ]);
    expect(await snapshot(id)).toEqual(before);
    expect(await world().dynamo.get(`${MONTH_PREFIX}2026-12`)).toBeUndefined();
  });

  it('two Extend clicks at once with two hours left: one hour is added, not two, and the hold is that hour’s maximum', async () => {
    const { id, bot } = await runningBuild('100');
    // Blake's click has held its hour (seen: no extension yet) and is about to write; Avery's click
    // goes the whole way first. Blake's write, decided again on the new record, is refused: the
    // month holds one hour, so the build may get one.
    const racing = extendingFirst(bot, id);
    const blake = world().bot({ ...ONE_TYPE, MONTHLY_BUDGET_USD: '100', APPROVER_IDS: `${APPROVER},U0APPROVER2` }, { store: racing });
    await blake.click('extend_build', id, 'U0APPROVER2');

    expect(await world().build(id)).toMatchObject({ ExtendedHours: 1, DeadlineAt: minutesAfter(240).toISOString() });
    expect(await monthItem()).toMatchObject({ [`H#${id}`]: 15.77 });
    expect(
      world()
        .slack.callsTo('chat.postEphemeral')
        .map((c) => [c.args.user, c.args.text]),
    ).toEqual([['U0APPROVER2', `:no_entry: ${id} was not extended: another approver extended it just now.`]]);
    expect(
      world()
        .bus()
        .filter(([type]) => type === 'Build Extended'),
    ).toHaveLength(1);
  });

  it('two Extend clicks at once: the one whose write loses gives back its hour, so the hold is the build’s new maximum', async () => {
    const { id, bot } = await runningBuild('100');
    // One hour of extension allowed. Blake's click has held its hour and is about to write; Avery's
    // click goes the whole way first, so Blake's write, decided again, is refused.
    const racing = extendingFirst(bot, id);
    const blake = world().bot({ ...ONE_TYPE, MONTHLY_BUDGET_USD: '100', MAX_EXTENSION_HOURS: '1', APPROVER_IDS: `${APPROVER},U0APPROVER2` }, { store: racing });
    await blake.click('extend_build', id, 'U0APPROVER2');

    expect(await world().build(id)).toMatchObject({ ExtendedHours: 1, DeadlineAt: minutesAfter(240).toISOString() });
    expect(await monthItem()).toMatchObject({ [`H#${id}`]: 15.77 });
    expect(
      world()
        .bus()
        .filter(([type]) => type === 'Build Extended'),
    ).toHaveLength(1);
  });
});
