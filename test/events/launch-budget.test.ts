import { describe, expect, it } from 'vitest';
import { MONTH_PREFIX } from '../../adapters/aws/dynamo-ledger';
import { expirationTime } from '../../domain/build';
import { createHandler as launchHandler } from '../../events/launch';
import { createHandler as watchdogHandler } from '../../events/watchdog';
import { aLaunchedBuild, anApprovedBuild, at } from '../../stand-ins/build-fixture';
import { countedBuild } from '../support/counted-builds';
import { buildApproved, scheduled } from '../support/event-fixtures';
import { useWorld } from '../support/events-world';

// The budget on the events side (docs/design.md "Spend control"): the launch holds what it may
// really spend, in the month its cost will belong to, and the watchdog keeps the month's holds
// true. Figures: c5n.metal's maximum (3 h with 500 GB) is $11.83; m5zn.metal, the default
// fallback, $12.06, within the 10% an approval covers, so an approval holds $12.06.

const world = useWorld({ minutesAfterT0: 2 });
const NOV = '2026-11';
const DEC = '2026-12';
const holdsOf = async (month: string) => (await world().dynamo.ledger.read(month)).holds;
const launch = (buildId: string, time: string) => launchHandler(world().deps)(buildApproved(buildId, time));
const watchdogAt = (iso: string) => {
  world().clock.set(iso);
  return watchdogHandler(world().deps)(scheduled(iso));
};

describe('the launch and the month’s budget', () => {
  it('a launch on the first type brings the approval’s hold down from the costliest type’s $12.06 to the machine’s $11.83', async () => {
    world().configure({ MONTHLY_BUDGET_USD: '100' });
    const build = await world().seed(anApprovedBuild());
    expect(await world().dynamo.ledger.hold(NOV, 0, build.BuildID, 12.06)).toBe(true);

    await launch(build.BuildID, at(1));

    expect(
      world()
        .ec2.runRequests()
        .map((r) => r.InstanceType),
    ).toEqual(['c5n.metal']);
    expect(await holdsOf(NOV)).toEqual({ [build.BuildID]: 11.83 });
  });

  it('approved on Nov 30, launched on Dec 1: the hold moves to December, decided again there, then trimmed', async () => {
    world().configure({ MONTHLY_BUDGET_USD: '100' });
    const build = await world().seed(anApprovedBuild({ CreatedAt: '2026-11-30T23:50:00.000Z', ApprovedAt: '2026-11-30T23:59:30.000Z' }));
    await world().dynamo.ledger.hold(NOV, 0, build.BuildID, 12.06);
    world().clock.set('2026-12-01T00:00:10.000Z');

    await launch(build.BuildID, '2026-11-30T23:59:31.000Z');

    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching' });
    expect(await holdsOf(NOV)).toEqual({});
    expect(await holdsOf(DEC)).toEqual({ [build.BuildID]: 11.83 });
  });

  it('approved on Nov 30, and December no longer has room: failed with the figures, no machine, the slot given back', async () => {
    world().configure({ MONTHLY_BUDGET_USD: '20' });
    await countedBuild(world().dynamo, DEC, { buildId: 'build-20261201-000000-dec1', cost: 10, requester: 'U0OTHER', branch: 'main', status: 'completed' });
    const build = await world().seed(anApprovedBuild({ CreatedAt: '2026-11-30T23:50:00.000Z', ApprovedAt: '2026-11-30T23:59:30.000Z' }));
    await world().dynamo.ledger.hold(NOV, 0, build.BuildID, 12.06);
    world().clock.set('2026-12-01T00:00:10.000Z');

    await launch(build.BuildID, '2026-11-30T23:59:31.000Z');

    expect(world().ec2.runRequests()).toEqual([]);
    expect(await world().get(build.BuildID)).toMatchObject({
      Status: 'failed',
      ErrorMessage:
        'No machine was launched: the build was approved last month, and in December 2026 it could take the month past its budget of $20.00 ' +
        '(spent so far $10.00, running and approved builds may still cost up to $0.00, and this build up to $12.06: $22.06 in all).',
    });
    expect(await world().slots()).toEqual([]);
    expect(await holdsOf(DEC)).toEqual({});
    expect(
      world()
        .replies(build)
        .map((m) => m.text),
    ).toEqual([expect.stringContaining('past its budget of $20.00')]);
  });
});

describe('the watchdog’s month books', () => {
  it('counts an ended build its hold still stands for, removes holds once the index shows the count, of builds never launched, and of builds gone', async () => {
    world().configure({ MONTHLY_BUDGET_USD: '100' });
    const ended = await world().seed(
      aLaunchedBuild('building', {
        BuildID: 'build-20261125-170052-endd',
        Status: 'failed',
        TerminatedAt: at(92),
        ActualCost: 5.91,
        ExpirationTime: expirationTime(new Date(at(92))),
      }),
      { slot: false, machine: false },
    );
    const cancelled = await world().seed(
      anApprovedBuild({ BuildID: 'build-20261125-170052-cncl', Status: 'cancelled', ExpirationTime: expirationTime(new Date(at(3))) }),
      { slot: false },
    );
    const running = await world().seed(aLaunchedBuild('building', { BuildID: 'build-20261125-170052-runn', DeadlineAt: at(182) }));
    const { ledger } = world().dynamo;
    let version = 0;
    for (const [id, amount] of [
      [ended.BuildID, 11.83],
      [cancelled.BuildID, 12.06],
      [running.BuildID, 12.06],
      ['build-20261101-000000-gone', 11.83],
    ] as const)
      expect(await ledger.hold(NOV, version++, id, amount)).toBe(true);

    await watchdogAt(at(100));
    // The ended build is counted; its hold, read before the count, is brought down to its final cost.
    expect(await world().get(ended.BuildID)).toMatchObject({ CountedMonth: NOV, CountedCost: 5.91 });
    // The running build's hold is its own handlers' to trim: the watchdog leaves it.
    expect(await holdsOf(NOV)).toEqual({ [ended.BuildID]: 5.91, [running.BuildID]: 12.06 });

    await watchdogAt(at(101));
    expect(await holdsOf(NOV)).toEqual({ [running.BuildID]: 12.06 });
    expect((await world().dynamo.ledger.read(NOV)).spent).toBe(5.91);
    expect(Object.keys((await world().dynamo.get(`${MONTH_PREFIX}${NOV}`)) ?? {}).sort()).toEqual([
      'BuildID',
      `H#${running.BuildID}`,
      `HO#${running.BuildID}`,
      'Version',
    ]);
  });
});
