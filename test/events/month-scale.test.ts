import { describe, expect, it } from 'vitest';
import { createHandler as instanceStateHandler } from '../../events/instance-state';
import { INSTANCE_ID, aLaunchedBuild, at } from '../../stand-ins/build-fixture';
import { BRANCH_200, aMonthOfBuilds, countedBuilds } from '../support/counted-builds';
import { ec2StateChange } from '../support/event-fixtures';
import { useWorld } from '../support/events-world';

// A month of 1,500 counted builds on 200-character branches (issue 25, item 1): in the layout
// with every count on one month item, that item passed DynamoDB's 400 KB limit at about 1,450,
// and from then on every ending delivery threw before it freed its slot. Counts live on the
// builds' records now (docs/design.md "Spend control"): nothing grows with the number of builds.

const world = useWorld({ minutesAfterT0: 93 });
const MONTH = '2026-11';
describe('a month of 1,500 counted builds', () => {
  it('an ending delivery still counts its build and frees its slot, and the month item stays small', async () => {
    const month = aMonthOfBuilds(1500);
    expect(month.every((b) => b.branch.length === 200)).toBe(true);
    await countedBuilds(world().dynamo, MONTH, month);

    const build = await world().seed(aLaunchedBuild('building', { BuildBranch: BRANCH_200 }), { instanceState: 'running' });
    await instanceStateHandler(world().deps)(ec2StateChange(INSTANCE_ID, 'terminated', at(92)));

    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'terminated', CountedMonth: MONTH, CountedCost: 5.91 });
    expect(await world().slots()).toEqual([]);
    const ledger = await world().dynamo.ledger.read(MONTH);
    expect(ledger.counted).toHaveLength(1501);
    expect(ledger.spent).toBeCloseTo(1500 * 11.83 + 5.91, 6);
    // No month item at all: no budget, so no hold was ever written.
    expect(await world().dynamo.get(`#month#${MONTH}`)).toBeUndefined();
  });
});
