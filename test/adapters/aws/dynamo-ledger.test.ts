import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoSpendLedger, MONTH_PREFIX } from '../../../adapters/aws/dynamo-ledger';
import type { CountedBuild } from '../../../domain/spend';
import { emptyLedger } from '../../../domain/spend';
import type { LocalDynamo } from '../../../stand-ins/dynalite';
import { startDynalite } from '../../../stand-ins/dynalite';

// The SpendLedger on dynalite: what only the conditional writes can get wrong. Each case reads
// the month back through the adapter and checks the stored item itself.

let dynamo: LocalDynamo;
let ledger: DynamoSpendLedger;

beforeAll(async () => {
  dynamo = await startDynalite();
  ledger = new DynamoSpendLedger(dynamo.client, dynamo.tableName);
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  await dynamo.reset();
});

const MONTH = '2026-11';
const entry = (buildId: string, cost: number): CountedBuild => ({ buildId, cost, requester: 'U0REQUESTER', branch: 'main', status: 'completed' });
const monthItem = () => dynamo.get(`${MONTH_PREFIX}${MONTH}`);

describe('DynamoSpendLedger', () => {
  it('reads an empty month as version 0 and writes nothing', async () => {
    expect(await ledger.read(MONTH)).toEqual(emptyLedger(MONTH));
    expect(await dynamo.items()).toEqual([]);
  });

  it('counts a build once: a second count (in turn or at once) adds nothing', async () => {
    expect(await ledger.count(MONTH, entry('build-a', 5.91))).toBe(true);
    expect(await ledger.count(MONTH, entry('build-a', 5.91))).toBe(false);
    const both = await Promise.all([ledger.count(MONTH, entry('build-b', 2.5)), ledger.count(MONTH, entry('build-b', 2.5))]);
    expect(both.filter(Boolean)).toHaveLength(1);

    expect(await ledger.read(MONTH)).toEqual({ ...emptyLedger(MONTH), spent: 8.41, counted: [entry('build-a', 5.91), entry('build-b', 2.5)] });
    expect(await monthItem()).toEqual({
      BuildID: `${MONTH_PREFIX}${MONTH}`,
      Spent: 8.41,
      'C#build-a': { Cost: 5.91, Requester: 'U0REQUESTER', Branch: 'main', Status: 'completed' },
      'C#build-b': { Cost: 2.5, Requester: 'U0REQUESTER', Branch: 'main', Status: 'completed' },
    });
    // Each month is its own item.
    expect(await ledger.read('2026-12')).toEqual(emptyLedger('2026-12'));
  });

  it('two holds on the same version: exactly one lands; the loser lands on a fresh read', async () => {
    const results = await Promise.all([ledger.hold(MONTH, 0, 'build-a', 11.83), ledger.hold(MONTH, 0, 'build-b', 11.83)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const after = await ledger.read(MONTH);
    expect(after.version).toBe(1);
    expect(Object.keys(after.holds)).toHaveLength(1);

    const loser = results[0] ? 'build-b' : 'build-a';
    expect(await ledger.hold(MONTH, 0, loser, 11.83)).toBe(false);
    expect(await ledger.hold(MONTH, after.version, loser, 11.83)).toBe(true);
    expect(await ledger.read(MONTH)).toMatchObject({ version: 2, holds: { 'build-a': 11.83, 'build-b': 11.83 } });
  });

  it('counts do not bump the version: a hold read after counts only still lands at version 0', async () => {
    await ledger.count(MONTH, entry('build-a', 5.91));
    const read = await ledger.read(MONTH);
    expect(read.version).toBe(0);
    expect(await ledger.hold(MONTH, read.version, 'build-b', 11.83)).toBe(true);
    // And a count between a read and its hold does not make the hold lose.
    const next = await ledger.read(MONTH);
    await ledger.count(MONTH, entry('build-c', 1));
    expect(await ledger.hold(MONTH, next.version, 'build-d', 11.83)).toBe(true);
    expect(await ledger.read(MONTH)).toMatchObject({ version: 2, spent: 6.91, holds: { 'build-b': 11.83, 'build-d': 11.83 } });
  });

  it('claims the warning once; a release by another build changes nothing; the claimer’s release lets the next claim in', async () => {
    const now = new Date('2026-11-25T17:00:52.000Z');
    const claims = await Promise.all([ledger.claimWarning(MONTH, 'build-a', now), ledger.claimWarning(MONTH, 'build-b', now)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    const claimer = claims[0] ? 'build-a' : 'build-b';
    expect(await ledger.claimWarning(MONTH, 'build-c', now)).toBe(false);
    expect((await ledger.read(MONTH)).budgetWarnedAt).toBe(now.toISOString());

    await ledger.releaseWarning(MONTH, 'build-c');
    expect(await monthItem()).toMatchObject({ BudgetWarnedAt: now.toISOString(), BudgetWarnedFor: claimer });
    await ledger.releaseWarning(MONTH, claimer);
    expect((await ledger.read(MONTH)).budgetWarnedAt).toBeUndefined();
    expect(await ledger.claimWarning(MONTH, 'build-c', now)).toBe(true);
    expect(await monthItem()).toMatchObject({ BudgetWarnedFor: 'build-c' });
  });
});
