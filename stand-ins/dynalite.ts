import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { BatchWriteItemCommand, CreateTableCommand, DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DynamoClaims } from '../adapters/aws/dynamo-claims';
import { DynamoSpendLedger } from '../adapters/aws/dynamo-ledger';
import { APPLIED_OPS_ATTRIBUTE, DynamoBuildStore } from '../adapters/aws/dynamo-store';
import { PARTITION_KEY, TABLE_DEFAULT_NAME, createTableInput } from '../adapters/aws/table-schema';

// dynalite (DynamoDB on LevelDB in memory) for tests and the sandbox. The table comes from the
// one schema definition, so tests exercise the same indexes the stack deploys.

// dynalite is CommonJS without types; the options used here are the documented ones.
type Dynalite = (options: { createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

export interface LocalDynamo {
  endpoint: string;
  port: number;
  /** A client pointed at this dynalite. */
  client: DynamoDBClient;
  tableName: string;
  store: DynamoBuildStore;
  claims: DynamoClaims;
  ledger: DynamoSpendLedger;
  /** Every item, unmarshalled: for assertions on the table contents (a Scan, test support only). */
  items(): Promise<Record<string, unknown>[]>;
  get(buildId: string): Promise<Record<string, unknown> | undefined>;
  /** Delete every item; the table stays. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** A DynamoDB client for a local endpoint: fixed region and dummy credentials, no retries needed. */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/** An item as assertions read it: the store's write ids (AppliedOps) are bookkeeping, not state. */
function readable(item: Record<string, AttributeValue>): Record<string, unknown> {
  const { [APPLIED_OPS_ATTRIBUTE]: _ops, ...rest } = item;
  return unmarshall(rest);
}

export async function startDynalite(options: { port?: number; tableName?: string } = {}): Promise<LocalDynamo> {
  const tableName = options.tableName ?? TABLE_DEFAULT_NAME;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localDynamoClient(endpoint);
  await client.send(new CreateTableCommand(createTableInput(tableName)));

  const scan = async (): Promise<Record<string, AttributeValue>[]> => {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  };

  return {
    endpoint,
    port,
    client,
    tableName,
    store: new DynamoBuildStore(client, tableName),
    claims: new DynamoClaims(client, tableName),
    ledger: new DynamoSpendLedger(client, tableName),
    items: async () => (await scan()).map(readable),
    get: async (buildId) => {
      const out = await client.send(new GetItemCommand({ TableName: tableName, Key: { [PARTITION_KEY]: { S: buildId } }, ConsistentRead: true }));
      return out.Item && readable(out.Item);
    },
    reset: async () => {
      const keys = (await scan()).map((item) => ({ DeleteRequest: { Key: { [PARTITION_KEY]: item[PARTITION_KEY]! } } }));
      // 25 per batch, as DynamoDB takes them: a month of counted builds is gone in a few requests.
      const batches = Array.from({ length: Math.ceil(keys.length / 25) }, (_, i) => keys.slice(i * 25, i * 25 + 25));
      await Promise.all(batches.map((batch) => client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: batch } }))));
    },
    close: async () => {
      client.destroy();
      // Keep-alive sockets of other clients would hold server.close open.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
