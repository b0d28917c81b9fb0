import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoBuildStore } from '../../../adapters/aws/dynamo-store';
import { aBuild } from '../../../stand-ins/build-fixture';
import { startDynalite, type LocalDynamo } from '../../../stand-ins/dynalite';
import { freshContainer } from '../../support/fresh-container';

const newContainer = () => freshContainer(() => import('../../../adapters/aws/clients'));
type Clients = Awaited<ReturnType<typeof newContainer>>;

/** Closes a container's keep-alive sockets: every client it memoises, reached through its getters. */
function destroyClients(clients: Clients): void {
  for (const profile of ['request', 'background'] as const) {
    clients.getDynamoClient(profile).destroy();
    clients.getEventBridgeClient(profile).destroy();
    clients.getSecretsClient(profile).destroy();
  }
}

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
  // Each case runs in a container of its own, as the next case may point the endpoints elsewhere.
  let clients: Clients;
  beforeEach(async () => {
    clients = await newContainer();
  });
  afterEach(() => destroyClients(clients));

  it('memoises one client per service and profile', () => {
    const { getDynamoClient, getEventBridgeClient, getSecretsClient } = clients;
    expect(getDynamoClient('request')).toBe(getDynamoClient('request'));
    expect(getDynamoClient()).toBe(getDynamoClient('background'));
    expect(getDynamoClient('request')).not.toBe(getDynamoClient('background'));
    expect(getEventBridgeClient('request')).not.toBe(getEventBridgeClient('background'));
    expect(getSecretsClient()).toBe(getSecretsClient());
  });

  it('a new container builds a new client', async () => {
    const before = clients.getDynamoClient();
    const next = await newContainer();
    try {
      expect(next.getDynamoClient()).not.toBe(before);
    } finally {
      destroyClients(next);
    }
  });

  it('sets the retry budget per profile: request 2 attempts, background 3', async () => {
    const { getDynamoClient, getEventBridgeClient } = clients;
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
      const error = await new DynamoBuildStore(clients.getDynamoClient('request'), local.tableName).get('x').catch((e: unknown) => e);
      expect((error as Error).name).toBe('TimeoutError');
    } finally {
      process.env.AWS_ENDPOINT_URL_DYNAMODB = local.endpoint;
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('reaches the endpoint of AWS_ENDPOINT_URL_DYNAMODB, with both profiles', async () => {
    const build = aBuild();
    expect(await new DynamoBuildStore(clients.getDynamoClient('request'), local.tableName).create(build)).toBe(true);
    expect(await new DynamoBuildStore(clients.getDynamoClient('background'), local.tableName).get(build.BuildID)).toEqual(build);
    expect(await local.get(build.BuildID)).toMatchObject({ BuildID: build.BuildID, Status: 'awaiting_approval' });
  });
});
