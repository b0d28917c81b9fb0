import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Completion } from '../../domain/expected-duration';
import { withCompletion } from '../../domain/expected-duration';
import type { DurationHistory } from '../../domain/ports';
import { PARTITION_KEY } from './table-schema';
import { isConditionFailure } from './condition-failure';

// The DurationHistory on DynamoDB (docs/design.md "Build record", `#durations#<instanceType>`):
// one item per instance type in the builds table holding the newest completions and a version.
// A write is read → add → write conditional on the version read, so two builds completing at
// once both land (the loser reads again); an item without Status or InstanceID stays out of
// both indexes, so no build listing ever sees it.

export const DURATIONS_PREFIX = '#durations#';
/** Writers at once are bounded by MAX_CONCURRENT_BUILDS; each round of conflicts lands one of them. */
const MAX_ATTEMPTS = 5;

interface StoredCompletion {
  BuildID: string;
  Seconds: number;
  CompletedAt: string;
}

function fromStored(value: unknown): Completion[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((v: Partial<StoredCompletion>) =>
    typeof v?.BuildID === 'string' && typeof v.Seconds === 'number' && typeof v.CompletedAt === 'string'
      ? [{ buildId: v.BuildID, seconds: v.Seconds, completedAt: v.CompletedAt }]
      : [],
  );
}

const toStored = (c: Completion): StoredCompletion => ({ BuildID: c.buildId, Seconds: c.seconds, CompletedAt: c.completedAt });

export class DynamoDurationHistory implements DurationHistory {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  private key(instanceType: string): Record<string, AttributeValue> {
    return { [PARTITION_KEY]: { S: `${DURATIONS_PREFIX}${instanceType}` } };
  }

  private async read(instanceType: string): Promise<{ completions: Completion[]; version: number }> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: this.key(instanceType), ConsistentRead: true }));
    if (!out.Item) return { completions: [], version: 0 };
    const item = unmarshall(out.Item) as { Completions?: unknown; Version?: unknown };
    return { completions: fromStored(item.Completions), version: typeof item.Version === 'number' ? item.Version : 0 };
  }

  async recent(instanceType: string): Promise<Completion[]> {
    return (await this.read(instanceType)).completions;
  }

  async record(instanceType: string, completion: Completion): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const { completions, version } = await this.read(instanceType);
      const next = withCompletion(completions, completion);
      // There already (a redelivery, or our own write whose answer was lost), or older than the
      // newest HISTORY_SIZE: nothing to write.
      if (completions.some((c) => c.buildId === completion.buildId) || !next.some((c) => c.buildId === completion.buildId)) return;
      try {
        await this.write(instanceType, version, next);
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    throw new Error(`${DURATIONS_PREFIX}${instanceType}: gave up adding ${completion.buildId} after ${MAX_ATTEMPTS} conflicting writes`);
  }

  private async write(instanceType: string, version: number, completions: Completion[]): Promise<void> {
    const values = { ':completions': completions.map(toStored), ':next': version + 1 };
    if (version === 0) {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: { ...this.key(instanceType), ...marshall({ InstanceType: instanceType, Completions: values[':completions'], Version: values[':next'] }) },
          ConditionExpression: 'attribute_not_exists(#id)',
          ExpressionAttributeNames: { '#id': PARTITION_KEY },
        }),
      );
      return;
    }
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(instanceType),
        UpdateExpression: 'SET #completions = :completions, #version = :next',
        ConditionExpression: 'attribute_exists(#id) AND #version = :version',
        ExpressionAttributeNames: { '#id': PARTITION_KEY, '#completions': 'Completions', '#version': 'Version' },
        ExpressionAttributeValues: marshall({ ...values, ':version': version }),
      }),
    );
  }
}
