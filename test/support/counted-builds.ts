import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { CountedBuild } from '../../domain/spend';
import type { LocalDynamo } from '../../stand-ins/dynalite';

// Builds already ended and counted into a month, as the events side leaves them: a final record
// whose cost the real ledger counted (docs/design.md "Spend control").

function endedRecord(month: string, entry: CountedBuild): Record<string, unknown> {
  const launched = `${month}-01T09:00:00.000Z`;
  return {
    BuildID: entry.buildId,
    Status: entry.status,
    NotifiedStatus: entry.status,
    Requester: entry.requester,
    BuildBranch: entry.branch,
    CreatedAt: launched,
    LaunchTime: launched,
    ActualCost: entry.cost,
    Channel: 'C0SANDBOX',
    ThreadTs: '1700000000.000100',
  };
}

/** One ended build, counted through the real ledger. */
export async function countedBuild(dynamo: LocalDynamo, month: string, entry: CountedBuild): Promise<void> {
  await dynamo.client.send(new PutItemCommand({ TableName: dynamo.tableName, Item: marshall(endedRecord(month, entry)) }));
  if (!(await dynamo.ledger.count(month, entry))) throw new Error(`${entry.buildId} was counted already`);
}

/** Many ended builds, each counted through the real ledger, a few dozen at a time. */
export async function countedBuilds(dynamo: LocalDynamo, month: string, entries: readonly CountedBuild[]): Promise<void> {
  for (let i = 0; i < entries.length; i += 50) await Promise.all(entries.slice(i, i + 50).map((e) => countedBuild(dynamo, month, e)));
}

export const BRANCH_200 = `feature/${'x'.repeat(192)}`;

/** `count` completed builds at $11.83 on distinct 200-character branches, by 60 requesters. */
export function aMonthOfBuilds(count: number): CountedBuild[] {
  return Array.from({ length: count }, (_, i) => ({
    buildId: `build-20261110-${String(100000 + i).slice(1)}-${(i % 1296).toString(36).padStart(2, '0')}zz`,
    cost: 11.83,
    requester: `U0PERSON${i % 60}`,
    branch: `${BRANCH_200.slice(0, 196)}${String(i % 1000).padStart(4, '0')}`,
    status: 'completed',
  }));
}
