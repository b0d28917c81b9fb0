import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoClaims } from '../../../adapters/aws/dynamo-claims';
import { DynamoBuildStore } from '../../../adapters/aws/dynamo-store';
import { aBuild, aLaunchedBuild, anApprovedBuild, at } from '../../../stand-ins/build-fixture';
import { localDynamoClient, startDynalite, type LocalDynamo } from '../../../stand-ins/dynalite';

// What only the DynamoDB store can get wrong: the requests it sends and the items it leaves.

interface Sent {
  command: string;
  input: Record<string, unknown>;
}

/** A client that records every command it sends, by name and input. */
function recordingClient(endpoint: string): { client: DynamoDBClient; sent: Sent[] } {
  const client = localDynamoClient(endpoint);
  const sent: Sent[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push({ command: context.commandName ?? '?', input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return { client, sent };
}

const EXPRESSIONS = ['ConditionExpression', 'KeyConditionExpression', 'UpdateExpression', 'FilterExpression'];

describe('DynamoBuildStore on dynalite', () => {
  let local: LocalDynamo;
  let store: DynamoBuildStore;
  let sent: Sent[];
  let client: DynamoDBClient;

  beforeAll(async () => {
    local = await startDynalite({ tableName: 'store-test-builds' });
  });
  afterAll(async () => {
    await local.close();
  });
  beforeEach(async () => {
    await local.reset();
    ({ client, sent } = recordingClient(local.endpoint));
    store = new DynamoBuildStore(client, local.tableName);
  });
  afterEach(() => client.destroy());

  it('lists builds without a Scan: byStatus, active and recent only Query StatusIndex', async () => {
    await store.create(aBuild({ BuildID: 'build-20261125-170052-0001' }));
    await store.create(aLaunchedBuild('building', { BuildID: 'build-20261125-170052-0002', CreatedAt: at(3) }));
    sent.length = 0;

    await store.byStatus('completed', { limit: 5, createdBefore: at(60) });
    await store.active();
    expect((await store.recent(10)).map((b) => b.BuildID)).toEqual(['build-20261125-170052-0002', 'build-20261125-170052-0001']);
    await store.findByInstance('i-0123456789abcdef0');

    const commands = new Set(sent.map((s) => s.command));
    expect(commands).toEqual(new Set(['QueryCommand']));
    expect(sent.map((s) => s.input.IndexName)).not.toContain(undefined);
    expect(sent.filter((s) => s.input.IndexName === 'StatusIndex').every((s) => s.input.ScanIndexForward === false)).toBe(true);
  });

  it('aliases every attribute name in every expression (Status is a reserved word)', async () => {
    await store.create(aBuild());
    await store.update(
      aBuild().BuildID,
      { status: ['awaiting_approval'], absent: ['InstanceID'], instanceStateBefore: 'running' },
      {
        Status: 'approved',
        InstanceState: 'pending',
      },
    );
    await store.update(aBuild().BuildID, { status: ['approved'], equals: { InstanceID: 'i-0123456789abcdef0' } }, { Phase: 'building' });
    await store.byStatus('approved', { createdBefore: at(5), limit: 1 });
    await store.findByInstance('i-0123456789abcdef0');
    await new DynamoClaims(client, local.tableName).claim({ kind: 'request', request: 'trigger-1', buildId: aBuild().BuildID }, new Date(at(0)));
    await store.takeSlot(aBuild().BuildID, 1);
    await store.releaseSlot(aBuild().BuildID);

    const expressions = sent.flatMap((s) => EXPRESSIONS.map((k) => s.input[k]).filter((e): e is string => typeof e === 'string'));
    expect(expressions.length).toBeGreaterThanOrEqual(9);
    for (const expression of expressions) {
      // Left after removing aliases, placeholders and the expression language: nothing.
      const bare = expression
        .replace(/[#:][a-z]\d+/g, '')
        .replace(/\b(attribute_exists|attribute_not_exists|size|contains|AND|OR|IN|SET|ADD|DELETE)\b/g, '')
        .replace(/[\s(),=<]/g, '');
      expect(bare, expression).toBe('');
    }
  });

  it('leaves the slots item as docs/design.md describes: #slots with a string set Active', async () => {
    await store.takeSlot('build-20261125-170052-0001', 2);
    await store.takeSlot('build-20261125-170052-0002', 2);
    expect(await local.get('#slots')).toEqual({
      BuildID: '#slots',
      Active: new Set(['build-20261125-170052-0001', 'build-20261125-170052-0002']),
    });
    await store.releaseSlot('build-20261125-170052-0001');
    await store.releaseSlot('build-20261125-170052-0002');
    // An emptied set is removed by DynamoDB; the next take starts afresh.
    expect(await local.get('#slots')).toEqual({ BuildID: '#slots' });
    expect(await store.takeSlot('build-20261125-170052-0003', 1)).toBe('added');
  });

  it('reads the item back after a failed condition, as dynalite returns no ALL_OLD', async () => {
    await store.create(anApprovedBuild());
    sent.length = 0;
    const result = await store.update(aBuild().BuildID, { status: ['awaiting_approval'] }, { Status: 'rejected' });
    expect(result).toEqual({ ok: false, current: anApprovedBuild() });
    expect(sent.map((s) => s.command)).toEqual(['UpdateItemCommand', 'GetItemCommand']);
    expect(sent[0]?.input.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
  });

  it('reads a ThreadTs stored as a number back as a string', async () => {
    // Written as another writer might have: the item straight into the table, ThreadTs a number.
    await local.client.send(new PutItemCommand({ TableName: local.tableName, Item: { ...marshall(aBuild()), ThreadTs: { N: '1764090052.0001' } } }));
    expect((await store.get(aBuild().BuildID))?.ThreadTs).toBe('1764090052.0001');
  });

  it('a network failure is thrown, not taken for an answer', async () => {
    const closed = await startDynalite();
    const endpoint = closed.endpoint;
    await closed.close();
    const offline = new DynamoBuildStore(localDynamoClient(endpoint), 'store-test-builds');
    await expect(offline.get(aBuild().BuildID)).rejects.toThrow();
    await expect(offline.takeSlot(aBuild().BuildID, 1)).rejects.toThrow();
    await expect(offline.create(aBuild())).rejects.toThrow();
  });
});

// Only what dynalite cannot answer as DynamoDB does: the old item on a failed condition
// (ReturnValuesOnConditionCheckFailure, which dynalite leaves out) and throttling (dynalite never throttles).
describe('DynamoBuildStore against a mocked DynamoDB', () => {
  // The instance only: dynalite clients elsewhere in this file stay real.
  const mocked = new DynamoDBClient({});
  const dynamo = mockClient(mocked);
  const store = new DynamoBuildStore(mocked, 'labapp-metal-builds');

  beforeEach(() => dynamo.reset());
  afterAll(() => dynamo.restore());

  it('uses the old item DynamoDB returns on a failed condition instead of reading again', async () => {
    // Mocked: dynalite's ConditionalCheckFailedException carries no old item (ReturnValuesOnConditionCheckFailure).
    dynamo
      .on(UpdateItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, Item: marshall(anApprovedBuild()) }));
    const result = await store.update(aBuild().BuildID, { status: ['awaiting_approval'] }, { Status: 'rejected' });
    expect(result).toEqual({ ok: false, current: anApprovedBuild() });
    expect(dynamo.commandCalls(GetItemCommand)).toHaveLength(0);
  });

  it('throws throttling unchanged, from writes and reads', async () => {
    // Mocked: dynalite never throttles, so only a mock answers ProvisionedThroughputExceededException.
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
    dynamo.on(UpdateItemCommand).rejects(throttled);
    dynamo.on(GetItemCommand).rejects(throttled);
    await expect(store.update(aBuild().BuildID, { status: ['awaiting_approval'] }, { Status: 'approved' })).rejects.toBe(throttled);
    await expect(store.takeSlot(aBuild().BuildID, 1)).rejects.toBe(throttled);
    await expect(store.releaseSlot(aBuild().BuildID)).rejects.toBe(throttled);
    await expect(store.get(aBuild().BuildID)).rejects.toBe(throttled);
  });
});
