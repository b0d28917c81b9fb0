import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { STATUSES } from '../domain/build';
import type { BuildStore } from '../domain/ports';
import { STATUS_INDEX } from '../adapters/aws/table-schema';

// The table as the page's panel shows it, without a Scan: the newest builds from StatusIndex
// (the store's `recent`, as `/metal-build list` reads them), how many builds there are in all
// (COUNT queries on the same index: no items are sent), and the slots item. The other
// bookkeeping items (`#request#…`, `#click#…`, `#stray#…`, `#release#…`, `#durations#…`, `#month#…`) carry no Status, so
// StatusIndex never returns them: the panel says what they are and how to scan for them. So
// GET /sandbox/state stays the same size with 2,000 builds as with 2.

/** Builds sent when the page does not say (?limit=). */
export const DEFAULT_ROWS = 25;
/** The most a page may ask for. */
export const MAX_ROWS = 200;

export interface TableView {
  /** The newest builds, newest first, at most `limit`. */
  rows: Record<string, unknown>[];
  /** Every build in the table (bookkeeping items not counted). */
  total: number;
  /** The BuildIDs holding a concurrency slot (the `#slots` item), oldest claim order not kept. */
  slots: string[];
  limit: number;
}

async function countStatus(client: DynamoDBClient, tableName: string, status: string): Promise<number> {
  let count = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: STATUS_INDEX.name,
        KeyConditionExpression: '#s = :s',
        ExpressionAttributeNames: { '#s': STATUS_INDEX.partitionKey },
        ExpressionAttributeValues: { ':s': { S: status } },
        Select: 'COUNT',
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  return count;
}

export async function tableView(store: BuildStore, client: DynamoDBClient, tableName: string, limit: number = DEFAULT_ROWS): Promise<TableView> {
  const n = Math.max(0, Math.min(MAX_ROWS, Math.floor(limit)));
  const [rows, counts, slots] = await Promise.all([
    store.recent(n),
    Promise.all(STATUSES.map((status) => countStatus(client, tableName, status))),
    store.slots(),
  ]);
  return {
    rows: rows as unknown as Record<string, unknown>[],
    total: counts.reduce((a, b) => a + b, 0),
    slots: [...slots].sort(),
    limit: n,
  };
}
