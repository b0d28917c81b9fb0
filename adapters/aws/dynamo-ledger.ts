import { randomUUID } from 'node:crypto';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { SpendLedger } from '../../domain/ports';
import type { CountedBuild, MonthLedger } from '../../domain/spend';
import { emptyLedger } from '../../domain/spend';
import { PARTITION_KEY } from './table-schema';
import { isConditionFailure } from './condition-failure';

// The SpendLedger on DynamoDB (docs/design.md "Spend control"): one item per month in the builds
// table, `#month#YYYY-MM`. Each counted build is its own top-level attribute `C#<BuildID>` (so
// "count once" is one attribute_not_exists condition, and the first count creates the item), and
// each hold `H#<BuildID>`. A month of a small team's builds stays far below DynamoDB's 400 KB
// item limit: an entry is ~150 bytes, so ~2,000 builds (about $12,000 of metal) fit.

export const MONTH_PREFIX = '#month#';
const COUNTED = 'C#';
const HOLD = 'H#';
const HOLD_OP = 'HO#';

interface StoredEntry {
  Cost: number;
  Requester: string;
  Branch: string;
  Status: CountedBuild['status'];
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

  async read(month: string): Promise<MonthLedger> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key(month), ConsistentRead: true }));
    if (!out.Item) return emptyLedger(month);
    const item = unmarshall(out.Item) as Record<string, unknown>;
    const counted: CountedBuild[] = [];
    const holds: Record<string, number> = {};
    for (const [name, value] of Object.entries(item)) {
      if (name.startsWith(COUNTED)) {
        const e = value as StoredEntry;
        counted.push({ buildId: name.slice(COUNTED.length), cost: e.Cost, requester: e.Requester, branch: e.Branch, status: e.Status });
      } else if (name.startsWith(HOLD) && typeof value === 'number') holds[name.slice(HOLD.length)] = value;
    }
    return {
      month,
      version: typeof item.Version === 'number' ? item.Version : 0,
      spent: typeof item.Spent === 'number' ? item.Spent : 0,
      counted: counted.sort((a, b) => a.buildId.localeCompare(b.buildId)),
      holds,
      ...(typeof item.BudgetWarnedAt === 'string' ? { budgetWarnedAt: item.BudgetWarnedAt } : {}),
    };
  }

  async count(month: string, entry: CountedBuild): Promise<boolean> {
    const stored: StoredEntry = { Cost: entry.cost, Requester: entry.requester, Branch: entry.branch, Status: entry.status };
    return this.conditional({
      Key: this.key(month),
      UpdateExpression: 'SET #entry = :entry ADD #spent :cost',
      ConditionExpression: 'attribute_not_exists(#entry)',
      ExpressionAttributeNames: { '#entry': `${COUNTED}${entry.buildId}`, '#spent': 'Spent' },
      ExpressionAttributeValues: marshall({ ':entry': stored, ':cost': entry.cost }),
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
      // Version 0 is "no item, or an item only counts have touched": Version absent.
      ConditionExpression: version === 0 ? 'attribute_not_exists(#version)' : '#version = :version',
      ExpressionAttributeNames: { '#hold': `${HOLD}${buildId}`, '#op': `${HOLD_OP}${buildId}`, '#version': 'Version' },
      ExpressionAttributeValues: marshall({ ':amount': amount, ':op': op, ':next': version + 1, ...(version === 0 ? {} : { ':version': version }) }),
    });
    if (landed) return true;
    const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key(month), ConsistentRead: true }));
    return out.Item?.[`${HOLD_OP}${buildId}`]?.S === op;
  }

  async claimWarning(month: string, buildId: string, now: Date): Promise<boolean> {
    return this.conditional({
      Key: this.key(month),
      UpdateExpression: 'SET #at = :at, #for = :for',
      ConditionExpression: 'attribute_not_exists(#at)',
      ExpressionAttributeNames: { '#at': 'BudgetWarnedAt', '#for': 'BudgetWarnedFor' },
      ExpressionAttributeValues: marshall({ ':at': now.toISOString(), ':for': buildId }),
    });
  }

  async releaseWarning(month: string, buildId: string): Promise<void> {
    await this.conditional({
      Key: this.key(month),
      UpdateExpression: 'REMOVE #at, #for',
      ConditionExpression: '#for = :for',
      ExpressionAttributeNames: { '#at': 'BudgetWarnedAt', '#for': 'BudgetWarnedFor' },
      ExpressionAttributeValues: marshall({ ':for': buildId }),
    });
  }

  /** One conditional UpdateItem: true when it landed, false when its condition failed. */
  private async conditional(input: Omit<ConstructorParameters<typeof UpdateItemCommand>[0], 'TableName'>): Promise<boolean> {
    try {
      await this.client.send(new UpdateItemCommand({ TableName: this.tableName, ...input }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
