import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Build } from '../domain/build';
import { ACTIVE_STATUSES } from '../domain/build';
import { DynamoBuildStore } from '../adapters/aws/dynamo-store';

// The obvious alternative, for comparison only: "the active builds" as one Scan of the whole
// table with a Status filter, as the original launcher's watchdog read them. A filter is
// applied after the read, so every item of the table is read (and paid for) on every run,
// however few match. Everything else is the real store.

export class ScanBuildStore extends DynamoBuildStore {
  constructor(
    private readonly scanClient: DynamoDBClient,
    private readonly scanTable: string,
  ) {
    super(scanClient, scanTable);
  }

  override async active(): Promise<Build[]> {
    const values = Object.fromEntries(ACTIVE_STATUSES.map((s, i) => [`:s${i}`, { S: s } as AttributeValue]));
    const builds: Build[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.scanClient.send(
        new ScanCommand({
          TableName: this.scanTable,
          FilterExpression: `#status IN (${Object.keys(values).join(', ')})`,
          ExpressionAttributeNames: { '#status': 'Status' },
          ExpressionAttributeValues: values,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      builds.push(...(out.Items ?? []).map((item) => unmarshall(item) as Build));
      start = out.LastEvaluatedKey;
    } while (start);
    return builds.sort((a, b) => (a.CreatedAt < b.CreatedAt ? 1 : -1));
  }
}
