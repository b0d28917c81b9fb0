import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoClaims } from '../../../adapters/aws/dynamo-claims';
import { DynamoSpendLedger, MONTH_PREFIX } from '../../../adapters/aws/dynamo-ledger';
import type { ClaimKey } from '../../../domain/ports';
import { aBuild } from '../../../stand-ins/build-fixture';
import { localDynamoClient, startDynalite, type LocalDynamo } from '../../../stand-ins/dynalite';

// What only the DynamoDB Claims can get wrong: the items it leaves (docs/design.md "Build record —
// DynamoDB", unchanged since the store and the ledger wrote them) and the requests it sends.

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

const release = (version: string, buildId: string): ClaimKey => ({ kind: 'release', version, buildId });
const MONTH = '2026-11';
const warning = (buildId: string): ClaimKey => ({ kind: 'budget-warning', month: MONTH, buildId });

describe('DynamoClaims on dynalite', () => {
  let local: LocalDynamo;
  let claims: DynamoClaims;
  let ledger: DynamoSpendLedger;
  let sent: Sent[];
  let client: DynamoDBClient;
  const monthItem = () => local.get(`${MONTH_PREFIX}${MONTH}`);

  beforeAll(async () => {
    local = await startDynalite({ tableName: 'claims-test-builds' });
  });
  afterAll(async () => {
    await local.close();
  });
  beforeEach(async () => {
    await local.reset();
    ({ client, sent } = recordingClient(local.endpoint));
    claims = new DynamoClaims(client, local.tableName);
    ledger = new DynamoSpendLedger(local.client, local.tableName);
  });
  afterEach(() => client.destroy());

  it('writes the request claim as #request#<trigger> with For and a one-day TTL', async () => {
    const now = new Date('2026-11-25T17:00:52.000Z');
    await claims.claim({ kind: 'request', request: '1234.5678.abcdef', buildId: aBuild().BuildID }, now);
    expect(await local.get('#request#1234.5678.abcdef')).toEqual({
      BuildID: '#request#1234.5678.abcdef',
      For: aBuild().BuildID,
      ExpirationTime: now.getTime() / 1000 + 86_400,
    });
  });

  it('writes the release lock as #release#vX.Y.Z with For and ClaimedAt (no TTL), then PublishedAt, with no DeleteItem', async () => {
    const now = new Date('2026-11-25T19:00:00.000Z');
    const buildId = aBuild().BuildID;
    expect(await claims.claim(release('1.2.3', buildId), now)).toEqual({ claimed: true });
    const claimed = await local.get('#release#v1.2.3');
    expect(claimed).toMatchObject({ BuildID: '#release#v1.2.3', For: buildId, ClaimedAt: now.toISOString() });
    expect(claimed).not.toHaveProperty('ExpirationTime');
    await claims.complete(release('1.2.3', buildId), new Date('2026-11-25T19:04:00.000Z'));
    expect(await local.get('#release#v1.2.3')).toMatchObject({ For: buildId, PublishedAt: '2026-11-25T19:04:00.000Z' });
    expect(sent.map((s) => s.command)).toEqual(['PutItemCommand', 'UpdateItemCommand']);
    // Absent, or given back (Free) by a holder whose copy was not its build's bytes.
    expect(sent[0]?.input.ConditionExpression).toMatch(/^attribute_not_exists\(#n\d+\) OR #n\d+ = :v\d+$/);
  });

  it('a release given back is free for the next claim, and never once published', async () => {
    const now = new Date('2026-11-25T19:00:00.000Z');
    const first = aBuild().BuildID;
    const other = 'build-20261125-190000-b2c3';
    await claims.claim(release('1.2.3', first), now);
    await claims.giveBack(release('1.2.3', other));
    expect(await claims.claim(release('1.2.3', other), now)).toEqual({ claimed: false, holder: first });
    await claims.giveBack(release('1.2.3', first));
    expect(await local.get('#release#v1.2.3')).toMatchObject({ For: first, Free: true });
    expect(await claims.claim(release('1.2.3', other), now)).toEqual({ claimed: true });
    expect(await local.get('#release#v1.2.3')).not.toHaveProperty('Free');
    await claims.complete(release('1.2.3', other), now);
    await claims.giveBack(release('1.2.3', other));
    expect(await claims.claim(release('1.2.3', first), now)).toEqual({ claimed: false, holder: other, completedAt: now.toISOString() });
  });

  it('claims the warning once; a release by another build changes nothing; the claimer’s release lets the next claim in', async () => {
    const now = new Date('2026-11-25T17:00:52.000Z');
    const results = await Promise.all([claims.claim(warning('build-a'), now), claims.claim(warning('build-b'), now)]);
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
    const claimer = results[0]!.claimed ? 'build-a' : 'build-b';
    expect(await claims.claim(warning('build-c'), now)).toEqual({ claimed: false });
    expect((await ledger.read(MONTH)).budgetWarnedAt).toBe(now.toISOString());

    await claims.giveBack(warning('build-c'));
    expect(await monthItem()).toMatchObject({ BudgetWarnedAt: now.toISOString(), BudgetWarnedFor: claimer });
    await claims.giveBack(warning(claimer));
    expect((await ledger.read(MONTH)).budgetWarnedAt).toBeUndefined();
    expect(await claims.claim(warning('build-c'), now)).toEqual({ claimed: true });
    expect(await monthItem()).toMatchObject({ BudgetWarnedFor: 'build-c' });
  });
});

// Only what dynalite cannot answer as DynamoDB does: the old item on a failed condition.
describe('DynamoClaims against a mocked DynamoDB', () => {
  const mocked = new DynamoDBClient({});
  const dynamo = mockClient(mocked);

  beforeEach(() => dynamo.reset());
  afterAll(() => dynamo.restore());

  it('a release claim whose answer was lost recognises itself on the retry (its own AppliedOps id)', async () => {
    const replay = new DynamoClaims(mocked, 'labapp-metal-builds', () => 'op-1');
    // The first put landed, its answer was lost, the SDK's retry failed the condition on that very item.
    // Mocked: only DynamoDB's ConditionalCheckFailedException carries that item (dynalite returns no ALL_OLD).
    dynamo.on(PutItemCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: { ...marshall({ BuildID: '#release#v1.2.3', For: aBuild().BuildID, ClaimedAt: '2026-11-25T19:00:00.000Z' }), AppliedOps: { SS: ['op-1'] } },
      }),
    );
    expect(await replay.claim(release('1.2.3', aBuild().BuildID), new Date('2026-11-25T19:00:00.000Z'))).toEqual({ claimed: true });
    expect(dynamo.commandCalls(GetItemCommand)).toHaveLength(0);
  });
});
