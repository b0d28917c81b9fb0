import { randomUUID } from 'node:crypto';
import type { AttributeValue, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { SpendLedger } from '../../domain/ports';
import type { CountedBuild, MonthLedger } from '../../domain/spend';
import { SELFTEST_BRANCH } from '../../domain/build-kind';
import { emptyLedger } from '../../domain/spend';
import { usd } from '../../domain/cost';
import { MONTH_INDEX, PARTITION_KEY } from './table-schema';
import { conditionalUpdate } from './condition-failure';

// The SpendLedger on DynamoDB (docs/design.md "Spend control"). A counted build's cost lives on
// its own record (CountedMonth, CountedCost), summed through the sparse MonthIndex; the month item
// `#month#YYYY-MM` keeps only what budget decisions serialise on: `Version`, the holds `H#<BuildID>`
// with their write ids `HO#<BuildID>` (one per build that may still spend), and the warning claim
// (written through the Claims port, adapters/aws/dynamo-claims.ts).
// Nothing in it grows with the number of builds, so no month can pass DynamoDB's 400 KB item limit.

export const MONTH_PREFIX = '#month#';
const HOLD = 'H#';
const HOLD_OP = 'HO#';
/** Entries of the layout before MonthIndex: still read, so a month counted before the upgrade keeps its spend. */
const LEGACY_COUNTED = 'C#';

interface IndexEntry {
  BuildID: string;
  CountedCost: number;
  Requester: string;
  BuildBranch: string;
  Status: CountedBuild['status'];
}

interface LegacyEntry {
  Cost: number;
  Requester: string;
  Branch: string;
  Status: CountedBuild['status'];
}

/** The holds and the version of a month item as stored (absent: none, version 0). */
function holdsOf(item: Record<string, unknown> | undefined): Pick<MonthLedger, 'version' | 'holds'> {
  const holds: Record<string, number> = {};
  for (const [name, value] of Object.entries(item ?? {})) if (name.startsWith(HOLD) && typeof value === 'number') holds[name.slice(HOLD.length)] = value;
  return { version: typeof item?.Version === 'number' ? item.Version : 0, holds };
}

export class DynamoSpendLedger implements SpendLedger {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly newOpId: () => string = randomUUID,
  ) {}

  private key(month: string): Record<string, AttributeValue> {
    return { [PARTITION_KEY]: { S: `${MONTH_PREFIX}${month}` } };
  }

  /** One GetItem of the month item and the MonthIndex pages of the month (one for ~3,000 builds). */
  async read(month: string): Promise<MonthLedger> {
    const [item, indexed] = await Promise.all([this.monthItem(month), this.countedOf(month)]);
    const counted = new Map<string, CountedBuild>();
    for (const [name, value] of Object.entries(item ?? {})) {
      if (!name.startsWith(LEGACY_COUNTED)) continue;
      const e = value as LegacyEntry;
      const buildId = name.slice(LEGACY_COUNTED.length);
      counted.set(buildId, { buildId, cost: e.Cost, requester: e.Requester, branch: e.Branch, status: e.Status });
    }
    for (const e of indexed)
      counted.set(e.BuildID, {
        buildId: e.BuildID,
        cost: e.CountedCost,
        requester: e.Requester,
        branch: e.BuildBranch,
        status: e.Status,
        ...(e.BuildBranch === SELFTEST_BRANCH && { kind: 'selftest' as const }),
      });
    const entries = [...counted.values()].sort((a, b) => a.buildId.localeCompare(b.buildId));
    return {
      ...emptyLedger(month),
      ...holdsOf(item),
      spent: usd(entries.reduce((sum, e) => sum + e.cost, 0)),
      counted: entries,
      ...(typeof item?.BudgetWarnedAt === 'string' ? { budgetWarnedAt: item.BudgetWarnedAt } : {}),
    };
  }

  async holds(month: string): Promise<Pick<MonthLedger, 'version' | 'holds'>> {
    return holdsOf(await this.monthItem(month));
  }

  private async monthItem(month: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key(month), ConsistentRead: true }));
    return out.Item ? (unmarshall(out.Item) as Record<string, unknown>) : undefined;
  }

  /** A global index is eventually consistent (a consistent read is refused): see `release`. */
  private async countedOf(month: string): Promise<IndexEntry[]> {
    const entries: IndexEntry[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: MONTH_INDEX.name,
          KeyConditionExpression: '#month = :month',
          ExpressionAttributeNames: { '#month': MONTH_INDEX.partitionKey },
          ExpressionAttributeValues: { ':month': { S: month } },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) entries.push(unmarshall(item) as IndexEntry);
      start = out.LastEvaluatedKey;
    } while (start);
    return entries;
  }

  async count(month: string, entry: CountedBuild): Promise<boolean> {
    // On the build's own record, once: a redelivery, a retry after a lost answer and the watchdog
    // finding the same end all meet the CountedMonth already written.
    return this.conditional({
      Key: { [PARTITION_KEY]: { S: entry.buildId } },
      UpdateExpression: 'SET #month = :month, #cost = :cost',
      ConditionExpression: 'attribute_exists(#id) AND attribute_not_exists(#month)',
      ExpressionAttributeNames: { '#id': PARTITION_KEY, '#month': 'CountedMonth', '#cost': 'CountedCost' },
      ExpressionAttributeValues: marshall({ ':month': month, ':cost': entry.cost }),
    });
  }

  async hold(month: string, version: number, buildId: string, amount: number): Promise<boolean> {
    // The write id beside the hold (`HO#<BuildID>`, one per build): an SDK retry of a hold that
    // landed fails its version condition, and finds its own id there instead of deciding again
    // on a month that already holds it (which would hold the build twice).
    const op = this.newOpId();
    const landed = await this.conditional({
      Key: this.key(month),
      UpdateExpression: 'SET #hold = :amount, #op = :op, #version = :next',
      // Version 0: no hold was ever written (the item may be absent, or hold only the warning claim).
      ConditionExpression: version === 0 ? 'attribute_not_exists(#version)' : '#version = :version',
      ExpressionAttributeNames: { '#hold': `${HOLD}${buildId}`, '#op': `${HOLD_OP}${buildId}`, '#version': 'Version' },
      ExpressionAttributeValues: marshall({ ':amount': amount, ':op': op, ':next': version + 1, ...(version === 0 ? {} : { ':version': version }) }),
    });
    if (landed) return true;
    const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key(month), ConsistentRead: true }));
    return out.Item?.[`${HOLD_OP}${buildId}`]?.S === op;
  }

  async release(month: string, buildId: string, amount: number): Promise<boolean> {
    // Only the hold as read: one written meanwhile (a new decision) is that decision's to keep.
    // No Version bump: a decision made on a read that still had it only erred towards refusing.
    return this.conditional({
      Key: this.key(month),
      UpdateExpression: 'REMOVE #hold, #op',
      ConditionExpression: '#hold = :amount',
      ExpressionAttributeNames: { '#hold': `${HOLD}${buildId}`, '#op': `${HOLD_OP}${buildId}` },
      ExpressionAttributeValues: marshall({ ':amount': amount }),
    });
  }

  private conditional(input: Omit<ConstructorParameters<typeof UpdateItemCommand>[0], 'TableName'>): Promise<boolean> {
    return conditionalUpdate(this.client, this.tableName, input);
  }
}
