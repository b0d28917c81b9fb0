import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getDynamoClient, getEventBridgeClient, getSecretsClient, resetClients } from '../../core/aws/clients';
import { DynamoBuildStore } from '../../core/aws/dynamo-store';
import { aBuild } from '../../stand-ins/build-fixture';
import { startDynalite, type LocalDynamo } from '../../stand-ins/dynalite';

// Clients are built once per container, and without endpoints in code: the standard
// AWS_ENDPOINT_URL_* variables are what point them at local servers.

describe('AWS clients', () => {
  let local: LocalDynamo;
  const saved = process.env.AWS_ENDPOINT_URL_DYNAMODB;

  beforeAll(async () => {
    local = await startDynalite();
    process.env.AWS_ENDPOINT_URL_DYNAMODB = local.endpoint;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
    else process.env.AWS_ENDPOINT_URL_DYNAMODB = saved;
    await local.close();
  });
  afterEach(() => resetClients());

  it('memoises one client per service and profile', () => {
    expect(getDynamoClient('request')).toBe(getDynamoClient('request'));
    expect(getDynamoClient()).toBe(getDynamoClient('background'));
    expect(getDynamoClient('request')).not.toBe(getDynamoClient('background'));
    expect(getEventBridgeClient('request')).not.toBe(getEventBridgeClient('background'));
    expect(getSecretsClient()).toBe(getSecretsClient());
  });

  it('resetClients makes the next call build a new client', () => {
    const before = getDynamoClient();
    resetClients();
    expect(getDynamoClient()).not.toBe(before);
  });

  it('sets the retry budget per profile: request 2 attempts, background 3', async () => {
    expect(await getDynamoClient('request').config.maxAttempts()).toBe(2);
    expect(await getDynamoClient('background').config.maxAttempts()).toBe(3);
    expect(await getEventBridgeClient('request').config.maxAttempts()).toBe(2);
  });

  it('request profile: a DynamoDB that never answers ends in a TimeoutError instead of hanging', async () => {
    // Accepts connections and never answers: only the client's own request timeout ends the call.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    process.env.AWS_ENDPOINT_URL_DYNAMODB = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const error = await new DynamoBuildStore(getDynamoClient('request'), local.tableName).get('x').catch((e: unknown) => e);
      expect((error as Error).name).toBe('TimeoutError');
    } finally {
      process.env.AWS_ENDPOINT_URL_DYNAMODB = local.endpoint;
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('reaches the endpoint of AWS_ENDPOINT_URL_DYNAMODB, with both profiles', async () => {
    const build = aBuild();
    expect(await new DynamoBuildStore(getDynamoClient('request'), local.tableName).create(build)).toBe(true);
    expect(await new DynamoBuildStore(getDynamoClient('background'), local.tableName).get(build.BuildID)).toEqual(build);
    expect(await local.get(build.BuildID)).toMatchObject({ BuildID: build.BuildID, Status: 'awaiting_approval' });
  });
});
