import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSecretsManagerStandIn, type LocalSecretsManager, localSecretsClient } from '../../../stand-ins/secrets-manager';
import { freshContainer } from '../../support/fresh-container';

// The real SecretsManagerClient against the Secrets Manager stand-in, which logs every read.

const NAME = 'labapp-metal-build/event-token-key';
const KEY = 'k'.repeat(64);

describe('loadEventTokenKey', () => {
  let secrets: LocalSecretsManager;
  let client: SecretsManagerClient;
  let arn: string;
  // Each case in a new container, whose key is not read yet; ConfigError from the same container.
  const newContainer = () =>
    freshContainer(async () => ({
      loadEventTokenKey: (await import('../../../adapters/aws/event-token-key')).loadEventTokenKey,
      ConfigError: (await import('../../../domain/config')).ConfigError,
    }));
  let loadEventTokenKey: Awaited<ReturnType<typeof newContainer>>['loadEventTokenKey'];
  let ConfigError: Awaited<ReturnType<typeof newContainer>>['ConfigError'];

  beforeAll(async () => {
    secrets = await startSecretsManagerStandIn();
    arn = secrets.setSecret(NAME, KEY);
  });
  afterAll(async () => {
    await secrets.close();
  });
  beforeEach(async () => {
    secrets.clear();
    client = localSecretsClient(secrets);
    ({ loadEventTokenKey, ConfigError } = await newContainer());
  });
  afterEach(() => client.destroy());

  it('uses EVENT_TOKEN_KEY without calling Secrets Manager', async () => {
    expect(await loadEventTokenKey({ eventTokenKey: 'local', eventTokenSecretArn: arn }, () => client)).toBe('local');
    expect(secrets.reads).toHaveLength(0);
  });

  it('reads the plain-string secret once per container', async () => {
    secrets.setSecret(NAME, KEY);
    const keys = await Promise.all([
      loadEventTokenKey({ eventTokenSecretArn: arn }, () => client),
      loadEventTokenKey({ eventTokenSecretArn: arn }, () => client),
    ]);
    expect(await loadEventTokenKey({ eventTokenSecretArn: arn }, () => client)).toBe(KEY);
    expect(keys).toEqual([KEY, KEY]);
    expect(secrets.reads).toEqual([{ secretId: arn, found: true }]);
  });

  it('does not cache a failure, and never quotes the secret in an error', async () => {
    secrets.setSecret(NAME, 'short-key');
    secrets.failNext('ResourceNotFoundException', 400, 'not found');
    await expect(loadEventTokenKey({ eventTokenSecretArn: arn }, () => client)).rejects.toThrow('not found');
    const error = await loadEventTokenKey({ eventTokenSecretArn: arn }, () => client).catch((e: unknown) => e as Error);
    expect((error as Error).message).toMatch(/shorter than 32 characters/);
    expect((error as Error).message).not.toContain('short-key');
  });

  it('rejects with the ConfigError when neither variable is set', async () => {
    await expect(loadEventTokenKey({}, () => client)).rejects.toThrow(ConfigError);
  });
});
