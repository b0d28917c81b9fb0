import type { AttributeValue, DynamoDBClient, WriteRequest } from '@aws-sdk/client-dynamodb';
import { BatchWriteItemCommand, CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { DynamoSpendLedger, MONTH_PREFIX } from '../adapters/aws/dynamo-ledger';
import { createTableInput } from '../adapters/aws/table-schema';
import { newBuildId } from '../domain/build-id';
import type { LocalWorld } from './local-world';
import { countReads } from './read-counter';
import { localDynamoClient } from '../stand-ins/dynalite';
import { median, percentile, round, timed } from './stats';

// Measurement 5b: what a month's spend costs to read. `DynamoSpendLedger.read(month)` (every
// budget decision and `/metal-build costs`) is one GetItem of the month item `#month#YYYY-MM`
// and the pages of a Query of the sparse MonthIndex (docs/design.md "Spend control"). Measured
// over months of 10, 1,500 and 5,000 counted builds on 200-character branches (the widest index
// entries a team makes), each month in a table of its own, its month item holding 3 holds.
// Requests are counted on the client by command, with the bytes of the HTTP answers.

export interface MonthLedgerFigures {
  builds: number;
  runs: number;
  /** DynamoDB requests per read (constant over the runs; checked): GetItem + Query pages. */
  requests: number;
  getItems: number;
  queryPages: number;
  /** Items read per read, as DynamoDB bills them (one per GetItem, ScannedCount per page). */
  itemsRead: number;
  /** Bytes of the HTTP answers' bodies per read (Content-Length). */
  bytesReturned: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
}

export interface SeededMonth {
  tableName: string;
  month: string;
  builds: number;
  holds: number;
}

const WARMUP = 3;
const BRANCH_LENGTH = 200;
const COST = 11.83;
const HOLDS = 3;
const MONTH = '2026-11';
const MONTH_START = Date.UTC(2026, 10, 1);
const MONTH_DAYS = 30;

/** Deterministic, so every run of the bench seeds the same table. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** `feature/xxx…x-0042`: 200 characters, distinct per build. */
export function branchOf(i: number): string {
  const suffix = `-${String(i % 10_000).padStart(4, '0')}`;
  const branch = `feature/${'x'.repeat(BRANCH_LENGTH - 'feature/'.length - suffix.length)}${suffix}`;
  if (branch.length !== BRANCH_LENGTH) throw new Error(`bench: a branch of ${branch.length} characters`);
  return branch;
}

/** An ended build counted into the month, as the events side leaves it (CountedMonth and CountedCost written). */
function countedRecord(i: number, builds: number, random: () => number): Record<string, unknown> {
  const created = MONTH_START + Math.floor((i * MONTH_DAYS * 86_400_000) / builds);
  const launched = new Date(created + 3 * 60_000).toISOString();
  const ended = new Date(created + 90 * 60_000).toISOString();
  return {
    BuildID: newBuildId(new Date(created), random),
    Status: 'completed',
    NotifiedStatus: 'completed',
    Requester: `U0PERSON${i % 60}`,
    BuildBranch: branchOf(i),
    BuildCommit: 'abc1234',
    Channel: 'C0SANDBOX',
    ThreadTs: `${Math.floor(created / 1000)}.000100`,
    CreatedAt: new Date(created).toISOString(),
    LaunchTime: launched,
    CompletionTime: ended,
    TerminatedAt: ended,
    InstanceType: 'c5n.metal',
    CostEstimate: 5.91,
    CostMax: COST,
    ActualCost: COST,
    CountedMonth: MONTH,
    CountedCost: COST,
  };
}

/** The month item as the new layout keeps it: Version and the holds of builds that may still spend. */
function monthItem(random: () => number): Record<string, unknown> {
  const item: Record<string, unknown> = { BuildID: `${MONTH_PREFIX}${MONTH}`, Version: 40 };
  for (let h = 0; h < HOLDS; h++) {
    const buildId = newBuildId(new Date(MONTH_START + (MONTH_DAYS - 1) * 86_400_000 + h * 60_000), random);
    item[`H#${buildId}`] = COST;
    item[`HO#${buildId}`] = `op-${h}`;
  }
  return item;
}

/** 25 per BatchWriteItem, as DynamoDB takes them; unprocessed items are written again. */
async function batchWrite(client: DynamoDBClient, tableName: string, items: Record<string, AttributeValue>[]): Promise<void> {
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })));
  const lanes = 4;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = lane; i < batches.length; i += lanes) {
        let pending = batches[i]!;
        while (pending.length > 0) {
          const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
          pending = out.UnprocessedItems?.[tableName] ?? [];
        }
      }
    }),
  );
}

export async function seedMonths(client: DynamoDBClient, sizes: readonly number[]): Promise<SeededMonth[]> {
  const months: SeededMonth[] = [];
  for (const builds of sizes) {
    const tableName = `metal-builds-month-${builds}`;
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    const random = seeded(builds);
    const records = Array.from({ length: builds }, (_, i) => countedRecord(i, builds, random));
    if (new Set(records.map((r) => r.BuildID)).size !== builds) throw new Error(`bench: BuildIDs collided in the month of ${builds}`);
    await batchWrite(
      client,
      tableName,
      [...records, monthItem(random)].map((r) => marshall(r)),
    );
    months.push({ tableName, month: MONTH, builds, holds: HOLDS });
  }
  return months;
}

interface Counts {
  getItems: number;
  queryPages: number;
  other: number;
  bytes: number;
}

/** Requests by command and the bytes of their answers' bodies, as the HTTP response tells them. */
function countByCommand(client: DynamoDBClient): Counts {
  const counts: Counts = { getItems: 0, queryPages: 0, other: 0, bytes: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const headers = (result.response as { headers?: Record<string, string> } | undefined)?.headers ?? {};
      counts.bytes += Number(headers['content-length'] ?? 0);
      const command = String(context.commandName);
      if (command === 'GetItemCommand') counts.getItems++;
      else if (command === 'QueryCommand') counts.queryPages++;
      else counts.other++;
      return result;
    },
    { step: 'initialize', name: 'benchMonthLedgerCounter' },
  );
  return counts;
}

interface Runner {
  month: SeededMonth;
  ledger: DynamoSpendLedger;
  times: number[];
  seen: Set<string>;
}

/** Round-robin over the months (one read of each per round), after WARMUP untimed rounds. */
export async function measureMonthLedger(world: LocalWorld, months: readonly SeededMonth[], runs: number): Promise<MonthLedgerFigures[]> {
  const client = localDynamoClient(world.dynamo.endpoint);
  try {
    const reads = countReads(client);
    const counts = countByCommand(client);
    const runners: Runner[] = months.map((month) => ({ month, ledger: new DynamoSpendLedger(client, month.tableName), times: [], seen: new Set() }));
    for (let i = -WARMUP; i < runs; i++) {
      for (const r of runners) {
        reads.reset();
        Object.assign(counts, { getItems: 0, queryPages: 0, other: 0, bytes: 0 });
        let ledger: Awaited<ReturnType<DynamoSpendLedger['read']>> | undefined;
        const ms = await timed(async () => {
          ledger = await r.ledger.read(r.month.month);
        });
        // Every read must see the whole month: a measurement of a read that missed builds is broken.
        const spent = ledger?.spent ?? 0;
        if (ledger?.counted.length !== r.month.builds || Math.abs(spent - r.month.builds * COST) > 0.01 || Object.keys(ledger.holds).length !== r.month.holds)
          throw new Error(
            `bench: the month of ${r.month.builds} read ${ledger?.counted.length ?? 0} counted builds, $${spent}, ${Object.keys(ledger?.holds ?? {}).length} holds`,
          );
        if (counts.other > 0) throw new Error(`bench: the month's read made ${counts.other} requests other than GetItem and Query`);
        if (i < 0) continue;
        r.times.push(ms);
        r.seen.add(
          JSON.stringify({ requests: reads.requests, items: reads.items, getItems: counts.getItems, queryPages: counts.queryPages, bytes: counts.bytes }),
        );
      }
    }
    return runners.map((r) => {
      if (r.seen.size !== 1) throw new Error(`bench: the month of ${r.month.builds} was read differently between runs: ${[...r.seen].join(', ')}`);
      const seen = JSON.parse([...r.seen][0]!) as { requests: number; items: number; getItems: number; queryPages: number; bytes: number };
      return {
        builds: r.month.builds,
        runs: r.times.length,
        requests: seen.requests,
        getItems: seen.getItems,
        queryPages: seen.queryPages,
        itemsRead: seen.items,
        bytesReturned: seen.bytes,
        medianMs: round(median(r.times)),
        p95Ms: round(percentile(r.times, 95)),
        maxMs: round(Math.max(...r.times)),
      };
    });
  } finally {
    client.destroy();
  }
}
