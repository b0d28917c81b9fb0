import { describe, expect, it } from 'vitest';
import { DynamoSpendLedger } from '../../adapters/aws/dynamo-ledger';
import { expirationTime } from '../../domain/build';
import { localDynamoClient } from '../../stand-ins/dynalite';
import { APPROVER } from '../../stand-ins/slack-api';
import { aLaunchedBuild } from '../../stand-ins/build-fixture';
import { useWorld } from '../support/bot-world';
import { aMonthOfBuilds, countedBuilds } from '../support/counted-builds';

// The next month after 1,500 counted builds on 200-character branches (issue 25, item 1): in the
// layout with every count on one month item, freeing a stale slot first counted into the full
// November item, so every December approval failed. Now the approval frees it and goes on, and
// `costs` reads November in a few requests, whatever its number of builds.

const world = useWorld();

describe('the month after 1,500 counted builds', () => {
  it('an approval frees a stale November slot (counting it) and is approved; costs reads November in two requests', async () => {
    await countedBuilds(world().dynamo, '2026-11', aMonthOfBuilds(1500));
    // November's last build ended, its slot not given back (a lost release), its cost not counted.
    const stale = aLaunchedBuild('building', {
      BuildID: 'build-20261130-220000-stal',
      Status: 'failed',
      LaunchTime: '2026-11-30T22:00:00.000Z',
      TerminatedAt: '2026-11-30T23:00:00.000Z',
      ActualCost: 3.94,
      ExpirationTime: expirationTime(new Date('2026-11-30T23:00:00.000Z')),
    });
    await world().dynamo.store.create(stale);
    await world().dynamo.store.takeSlot(stale.BuildID, 1);

    world().frozenAt = new Date('2026-12-01T08:00:00.000Z');
    let requests = 0;
    const client = localDynamoClient(world().dynamo.endpoint);
    client.middlewareStack.add((next) => (args) => (requests++, next(args)), { step: 'initialize' });
    const bot = world().bot({ MONTHLY_BUDGET_USD: '100', MAX_CONCURRENT_BUILDS: '1' }, { ledger: new DynamoSpendLedger(client, world().dynamo.tableName) });
    const id = await bot.request();
    await bot.click('approve_build', id, APPROVER);

    expect(await world().build(id)).toMatchObject({ Status: 'approved' });
    expect(await world().slots()).toEqual([id]);
    expect(await world().build(stale.BuildID)).toMatchObject({ CountedMonth: '2026-11', CountedCost: 3.94 });

    requests = 0;
    const answer = await bot.command('costs 2026-11');
    // The month item and MonthIndex, one page each.
    expect(requests).toBe(2);
    expect(answer.text).toContain('*Builds* 1501: 1500 completed · 1 failed');
    expect(answer.text).toContain('*Spent* $17748.94 — $17748.94 final');
    client.destroy();
  });
});
