import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Build } from '../../domain/build';
import { FINAL_STATUSES } from '../../domain/build';
import type { Sandbox } from '../../sandbox/sandbox';
import { startSandbox } from '../../sandbox/sandbox';
import { DEFAULT_ROWS, MAX_ROWS } from '../../sandbox/table-view';
import { aBuild } from '../../stand-ins/build-fixture';
import { localDynamoClient } from '../../stand-ins/dynalite';
import { REQUESTER } from '../../stand-ins/slack-api';

// GET /sandbox/state with thousands of builds in the table: the page gets the newest builds and
// a count, never the whole table. Sizes and item counts only; durations belong to the bench.

const BUILDS = 2_000;

let sandbox: Sandbox;

/** A finished build of minute `n` (ascending CreatedAt), with what a real record carries. */
function historic(n: number): Build {
  const created = new Date(Date.parse('2026-01-01T00:00:00Z') + n * 60_000).toISOString();
  const status = FINAL_STATUSES[n % FINAL_STATUSES.length] ?? 'completed';
  return aBuild({
    BuildID: `build-hist-${String(n).padStart(5, '0')}`,
    Status: status,
    CreatedAt: created,
    ThreadTs: `${1767225600 + n * 60}.000100`,
    Approver: 'U0APPROVER',
    InstanceID: `i-${n.toString(16).padStart(17, '0')}`,
    InstanceType: 'c5n.metal',
    ErrorMessage: 'x'.repeat(2_000),
  });
}

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, dynamodbPort: 0, speed: 0, outcome: 'success', logSink: () => {} });
  const client = localDynamoClient(sandbox.dynamodbEndpoint);
  try {
    const items = Array.from({ length: BUILDS }, (_, n) => marshall(historic(n), { removeUndefinedValues: true }));
    for (let i = 0; i < items.length; i += 25) {
      const batch = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { 'labapp-metal-builds': batch } }));
      expect(Object.keys(out.UnprocessedItems ?? {})).toHaveLength(0);
    }
  } finally {
    client.destroy();
  }
}, 120_000);

afterAll(async () => {
  await sandbox?.close();
});

async function state(query = ''): Promise<{ bytes: number; json: { rows: Array<{ BuildID: string }>; table: { total: number; shown: number } } }> {
  const response = await fetch(`${sandbox.url}/sandbox/state?user=${REQUESTER}${query}`);
  expect(response.status).toBe(200);
  const text = await response.text();
  return { bytes: Buffer.byteLength(text), json: JSON.parse(text) as never };
}

describe('GET /sandbox/state with 2,000 builds', { timeout: 60_000 }, () => {
  it('sends the newest builds and the count, not the table', async () => {
    const { bytes, json } = await state();
    expect(json.table).toMatchObject({ total: BUILDS, shown: DEFAULT_ROWS });
    expect(json.rows).toHaveLength(DEFAULT_ROWS);
    expect(json.rows[0]?.BuildID).toBe(`build-hist-${String(BUILDS - 1).padStart(5, '0')}`);
    // ~2.3 KB a build: the whole table would be over 4 MB.
    expect(bytes).toBeLessThan(DEFAULT_ROWS * 3_000 + 20_000);
  });

  it('sends more on ?limit=, up to its maximum, and refuses a bad limit', async () => {
    const some = await state('&limit=5');
    expect(some.json.rows.map((r) => r.BuildID)).toEqual([1999, 1998, 1997, 1996, 1995].map((n) => `build-hist-${String(n).padStart(5, '0')}`));
    const most = await state(`&limit=${MAX_ROWS}`);
    expect(most.json.rows).toHaveLength(MAX_ROWS);
    expect(most.bytes).toBeLessThan(MAX_ROWS * 3_000 + 20_000);
    const none = await state('&limit=0');
    expect(none.json.rows).toHaveLength(0);
    expect(none.json.table.total).toBe(BUILDS);
    expect(none.bytes).toBeLessThan(20_000);
    expect((await fetch(`${sandbox.url}/sandbox/state?user=${REQUESTER}&limit=${MAX_ROWS + 1}`)).status).toBe(400);
    expect((await fetch(`${sandbox.url}/sandbox/state?user=${REQUESTER}&limit=abc`)).status).toBe(400);
  });
});
