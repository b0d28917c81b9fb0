import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { DynamoSpendLedger, MONTH_PREFIX } from '../../../adapters/aws/dynamo-ledger';
import type { CountedBuild } from '../../../domain/spend';
import { emptyLedger } from '../../../domain/spend';
import type { LocalDynamo } from '../../../stand-ins/dynalite';
import { startDynalite } from '../../../stand-ins/dynalite';

// The SpendLedger on dynalite: what only the conditional writes can get wrong. Each case reads
// the month back through the adapter and checks the stored items themselves: counts on the
// builds' records (read through MonthIndex), holds and the warning on the month item.

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
/** An ended build's record, as the events side leaves it before counting. */
const ended = (buildId: string) =>
  dynamo.client.send(
    new PutItemCommand({
      TableName: dynamo.tableName,
      Item: marshall({ BuildID: buildId, Status: 'completed', Requester: 'U0REQUESTER', BuildBranch: 'main', CreatedAt: `${MONTH}-01T09:00:00.000Z` }),
    }),
  );

describe('DynamoSpendLedger', () => {
  it('reads an empty month as version 0 and writes nothing', async () => {
    expect(await ledger.read(MONTH)).toEqual(emptyLedger(MONTH));
    expect(await dynamo.items()).toEqual([]);
  });

  it('counts a build once, on its record: a second count (in turn or at once) adds nothing, and the month item is not touched', async () => {
    await Promise.all([ended('build-a'), ended('build-b')]);
    expect(await ledger.count(MONTH, entry('build-a', 5.91))).toBe(true);
    expect(await ledger.count(MONTH, entry('build-a', 5.91))).toBe(false);
    const both = await Promise.all([ledger.count(MONTH, entry('build-b', 2.5)), ledger.count(MONTH, entry('build-b', 2.5))]);
    expect(both.filter(Boolean)).toHaveLength(1);

    expect(await ledger.read(MONTH)).toEqual({ ...emptyLedger(MONTH), spent: 8.41, counted: [entry('build-a', 5.91), entry('build-b', 2.5)] });
    expect(await dynamo.get('build-a')).toMatchObject({ CountedMonth: MONTH, CountedCost: 5.91 });
    expect(await monthItem()).toBeUndefined();
    // Each month is its own index partition.
    expect(await ledger.read('2026-12')).toEqual(emptyLedger('2026-12'));
  });

  it('counts nothing for a build without a record: no record is made up', async () => {
    expect(await ledger.count(MONTH, entry('build-gone', 5.91))).toBe(false);
    expect(await dynamo.items()).toEqual([]);
  });

  it('still reads a month counted before MonthIndex (C# entries on the month item), a build in both counted once', async () => {
    await ended('build-a');
    await ledger.count(MONTH, entry('build-a', 5.91));
    await dynamo.client.send(
      new PutItemCommand({
        TableName: dynamo.tableName,
        Item: marshall({
          BuildID: `${MONTH_PREFIX}${MONTH}`,
          Spent: 7.91,
          Version: 3,
          'C#build-a': { Cost: 5.91, Requester: 'U0REQUESTER', Branch: 'main', Status: 'completed' },
          'C#build-old': { Cost: 2, Requester: 'U0OTHER', Branch: 'feature/x', Status: 'failed' },
        }),
      }),
    );
    expect(await ledger.read(MONTH)).toEqual({
      ...emptyLedger(MONTH),
      version: 3,
      spent: 7.91,
      counted: [entry('build-a', 5.91), { buildId: 'build-old', cost: 2, requester: 'U0OTHER', branch: 'feature/x', status: 'failed' }],
    });
  });

  it('removes a hold only while it is what was read; a hold written meanwhile stays', async () => {
    await ledger.hold(MONTH, 0, 'build-a', 11.83);
    expect(await ledger.release(MONTH, 'build-a', 15.77)).toBe(false);
    expect((await ledger.read(MONTH)).holds).toEqual({ 'build-a': 11.83 });
    expect(await ledger.release(MONTH, 'build-a', 11.83)).toBe(true);
    expect(await ledger.release(MONTH, 'build-a', 11.83)).toBe(false);
    const item = await monthItem();
    expect(Object.keys(item ?? {}).sort()).toEqual(['BuildID', 'Version']);
    expect(await ledger.read(MONTH)).toMatchObject({ version: 1, holds: {} });
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
    await Promise.all([ended('build-a'), ended('build-c')]);
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
});
