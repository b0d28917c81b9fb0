import { describe, expect, it } from 'vitest';
import { applyEvent } from '../../domain/apply';
import type { CountedBuild } from '../../domain/spend';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import type { Bot } from '../support/bot-world';
import { useWorld } from '../support/bot-world';
import { countedBuild } from '../support/counted-builds';

// `/metal-build costs [YYYY-MM]` through the bot's real handler: the month's ledger item on
// dynalite (finished builds, as the events side counts them) and the builds holding a slot. A
// build belongs to the month of its LaunchTime (UTC): one launched Nov 30 23:30 and still running
// at Dec 1 00:30 is November's. Prices: $3.9428/h, so its hour so far is $3.94.

const world = useWorld();

const OTHER = 'U0OTHER';

const counted = (buildId: string, cost: number, requester: string, branch: string, status: CountedBuild['status']): CountedBuild => ({
  buildId,
  cost,
  requester,
  branch,
  status,
});

/** Requested, approved and launched at `launchAt` (the bot's frozen clock meanwhile). */
async function runningSince(bot: Bot, branch: string, launchAt: string): Promise<string> {
  world().frozenAt = new Date(Date.parse(launchAt) - 5 * 60_000);
  const id = await bot.request(branch);
  await bot.click('approve_build', id, APPROVER);
  const applied = await applyEvent(
    world().dynamo.store,
    id,
    {
      type: 'launched',
      instanceId: `i-0${branch.replace(/\W/g, '')}`,
      instanceType: 'c5n.metal',
      availabilityZone: 'us-east-1a',
      launchTime: launchAt,
      limitHours: 3,
    },
    new Date(launchAt),
  );
  if (applied.outcome !== 'changed') throw new Error(`launch of ${id}: ${applied.outcome}`);
  return id;
}

/** November's four finished builds and one still running; December's one finished and one running. */
async function acrossTheMonthBoundary(env: Record<string, string> = { MONTHLY_BUDGET_USD: '100' }) {
  const bot = world().bot({ MAX_CONCURRENT_BUILDS: '2', FALLBACK_INSTANCE_TYPES: '', ...env });
  await countedBuild(world().dynamo, '2026-11', counted('build-20261103-101500-aaaa', 5.91, REQUESTER, 'main', 'completed'));
  await countedBuild(world().dynamo, '2026-11', counted('build-20261104-101500-bbbb', 2.5, OTHER, 'feature/x', 'failed'));
  await countedBuild(world().dynamo, '2026-11', counted('build-20261105-101500-cccc', 11.83, REQUESTER, 'feature/x', 'terminated'));
  await countedBuild(world().dynamo, '2026-11', counted('build-20261106-101500-dddd', 0.07, OTHER, 'main', 'cancelled'));
  await countedBuild(world().dynamo, '2026-12', counted('build-20261201-000100-eeee', 1, OTHER, 'main', 'completed'));
  const november = await runningSince(bot, 'release/1', '2026-11-30T23:30:00.000Z');
  const december = await runningSince(bot, 'feature/s', '2026-12-01T00:10:00.000Z');
  world().frozenAt = new Date('2026-12-01T00:30:00.000Z');
  return { bot, november, december };
}

describe('/metal-build costs', () => {
  it('this month (December): its own builds only, the running one at its cost so far, what it may still add', async () => {
    const { bot, december } = await acrossTheMonthBoundary();
    const before = await world().dynamo.items();
    const answer = await bot.command('costs');

    // 20 minutes so far: $1.31; up to $11.83 at its deadline, so $10.52 more may come.
    expect(answer.statusCode).toBe(200);
    expect(answer.text).toBe(
      [
        '*Costs for December 2026* (UTC, by launch month)',
        '*Spent* $2.31 — $1.00 final + $1.31 so far for 1 running',
        '*Budget*: $2.31 of $100.00 used (2%); running and approved builds may add up to $10.52',
        '*Builds* 2: 1 running · 1 completed',
        `*By requester* <@${REQUESTER}> $1.31 · <@${OTHER}> $1.00`,
        '*By branch* `feature/s` $1.31 · `main` $1.00',
        `*Most expensive* \`${december}\` $1.31 (\`feature/s\`, running) · \`build-20261201-000100-eeee\` $1.00 (\`main\`, completed)`,
      ].join('\n'),
    );
    // A read: nothing written, nothing posted, nothing put.
    expect(await world().dynamo.items()).toEqual(before);
    expect(
      world()
        .bus()
        .map(([type]) => type),
    ).toEqual(['Build Approved', 'Build Approved']);
  });

  it('2026-11 asked in December: the build launched Nov 30 23:30 and still running is November’s; totals, outcomes, people, branches, top 3', async () => {
    const { bot, november } = await acrossTheMonthBoundary();
    const before = await world().dynamo.items();
    const answer = await bot.command('costs 2026-11');

    expect(answer.text).toBe(
      [
        '*Costs for November 2026* (UTC, by launch month)',
        '*Spent* $24.25 — $20.31 final + $3.94 so far for 1 running',
        '*Budget*: $24.25 of $100.00 used (24%)',
        '*Builds* 5: 1 running · 1 completed · 1 failed · 1 terminated · 1 cancelled',
        `*By requester* <@${REQUESTER}> $21.68 · <@${OTHER}> $2.57`,
        '*By branch* `feature/x` $14.33 · `main` $5.98 · `release/1` $3.94',
        '*Most expensive* `build-20261105-101500-cccc` $11.83 (`feature/x`, terminated) · `build-20261103-101500-aaaa` $5.91 (`main`, completed) · ' +
          `\`${november}\` $3.94 (\`release/1\`, running)`,
      ].join('\n'),
    );
    expect(await world().dynamo.items()).toEqual(before);
  });

  it('self-tests have their own `selftest` line: in the totals, not among the builds, people, branches or the top 3', async () => {
    const { bot } = await acrossTheMonthBoundary();
    await countedBuild(world().dynamo, '2026-11', { ...counted('build-20261107-101500-5e1f', 0.01, OTHER, 'HEAD', 'completed'), kind: 'selftest' });
    await countedBuild(world().dynamo, '2026-11', { ...counted('build-20261108-101500-5e2f', 0, OTHER, 'HEAD', 'failed'), kind: 'selftest' });
    const answer = await bot.command('costs 2026-11');

    expect(answer.text).toBe(
      [
        '*Costs for November 2026* (UTC, by launch month)',
        '*Spent* $24.26 — $20.32 final + $3.94 so far for 1 running',
        '*Budget*: $24.26 of $100.00 used (24%)',
        '*Builds* 5: 1 running · 1 completed · 1 failed · 1 terminated · 1 cancelled',
        `*By requester* <@${REQUESTER}> $21.68 · <@${OTHER}> $2.57`,
        '*By branch* `feature/x` $14.33 · `main` $5.98 · `release/1` $3.94',
        '*Most expensive* `build-20261105-101500-cccc` $11.83 (`feature/x`, terminated) · `build-20261103-101500-aaaa` $5.91 (`main`, completed) · ' +
          `\`${(await world().builds()).find((b) => b.BuildBranch === 'release/1')!.BuildID}\` $3.94 (\`release/1\`, running)`,
        '*selftest* 2 runs, $0.01',
      ].join('\n'),
    );
  });

  it('without MONTHLY_BUDGET_USD the budget line says none is set', async () => {
    const { bot } = await acrossTheMonthBoundary({});
    const answer = await bot.command('costs 2026-11');
    expect(answer.text?.split('\n')[2]).toBe('*Budget*: none set');
  });

  it('builds GitHub asked for are listed under "GitHub", never as a Slack user', async () => {
    world().frozenAt = new Date('2026-12-01T00:30:00.000Z');
    await countedBuild(world().dynamo, '2026-11', counted('build-20261103-101500-aaaa', 5.91, 'github', 'v1.4.0', 'completed'));
    await countedBuild(world().dynamo, '2026-11', counted('build-20261104-101500-bbbb', 2.5, REQUESTER, 'main', 'completed'));
    const answer = await world().bot().command('costs 2026-11');
    expect(answer.text).toContain(`*By requester* GitHub $5.91 · <@${REQUESTER}> $2.50`);
    expect(answer.text).not.toContain('<@github>');
  });

  it('a month without builds says so, with the budget', async () => {
    world().frozenAt = new Date('2026-12-01T00:30:00.000Z');
    const bot = world().bot({ MONTHLY_BUDGET_USD: '100' });
    const answer = await bot.command('costs 2026-10');
    expect(answer.text).toBe(
      ['*Costs for October 2026* (UTC, by launch month)', 'No builds were launched in this month.', '*Budget*: $0.00 of $100.00 used'].join('\n'),
    );
    expect(await world().dynamo.items()).toEqual([]);
  });

  it('a month past the records’ 365-day retention says its builds are gone, not that none were launched', async () => {
    world().frozenAt = new Date('2026-12-01T00:30:00.000Z');
    const answer = await world().bot({ MONTHLY_BUDGET_USD: '100' }).command('costs 2025-10');
    expect(answer.text).toBe(
      [
        '*Costs for October 2025* (UTC, by launch month)',
        'Builds are kept 365 days: the records of October 2025 are gone, so its costs can no longer be told.',
      ].join('\n'),
    );
    // November 2025's last builds may still be there: that month is answered as usual.
    expect((await world().bot().command('costs 2025-11')).text).toContain('No builds were launched in this month.');
  });

  it('a malformed month is refused with a clear message and nothing is read or written', async () => {
    const { bot } = await acrossTheMonthBoundary();
    const before = await world().dynamo.items();
    const calls = world().slack.calls.length;

    expect((await bot.command('costs 2026-13')).text).toBe(':warning: "2026-13" is not a month; write it as YYYY-MM, e.g. 2026-11. See `/metal-build help`.');
    expect((await bot.command('costs november')).text).toBe(':warning: "november" is not a month; write it as YYYY-MM, e.g. 2026-11. See `/metal-build help`.');
    expect((await bot.command('costs 2026-11 2026-12')).text).toBe(':warning: `costs` takes at most one month (YYYY-MM). See `/metal-build help`.');

    expect(await world().dynamo.items()).toEqual(before);
    expect(world().slack.calls.length).toBe(calls);
    expect(world().log.lines.filter((l) => l.message === 'costs shown')).toEqual([]);
  });
});
