import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { freshContainer } from '../../support/fresh-container';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:labapp-metal-build/event-token-key-AbCdEf';
const KEY = 'k'.repeat(64);

describe('loadEventTokenKey', () => {
  const client = new SecretsManagerClient({});
  const secrets = mockClient(client);
  // Each case in a new container, whose key is not read yet; ConfigError from the same container.
  const newContainer = () =>
    freshContainer(async () => ({
      loadEventTokenKey: (await import('../../../adapters/aws/event-token-key')).loadEventTokenKey,
      ConfigError: (await import('../../../domain/config')).ConfigError,
    }));
  let loadEventTokenKey: Awaited<ReturnType<typeof newContainer>>['loadEventTokenKey'];
  let ConfigError: Awaited<ReturnType<typeof newContainer>>['ConfigError'];
  beforeEach(async () => {
    secrets.reset();
    ({ loadEventTokenKey, ConfigError } = await newContainer());
  });
  afterAll(() => secrets.restore());

  it('uses EVENT_TOKEN_KEY without calling Secrets Manager', async () => {
    expect(await loadEventTokenKey({ eventTokenKey: 'local', eventTokenSecretArn: ARN }, () => client)).toBe('local');
    expect(secrets.calls()).toHaveLength(0);
  });

  it('reads the plain-string secret once per container', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: KEY });
    const keys = await Promise.all([
      loadEventTokenKey({ eventTokenSecretArn: ARN }, () => client),
      loadEventTokenKey({ eventTokenSecretArn: ARN }, () => client),
    ]);
    expect(await loadEventTokenKey({ eventTokenSecretArn: ARN }, () => client)).toBe(KEY);
    expect(keys).toEqual([KEY, KEY]);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('does not cache a failure, and never quotes the secret in an error', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(new ResourceNotFoundException({ message: 'not found', $metadata: {} }))
      .resolves({ SecretString: 'short-key' });
    await expect(loadEventTokenKey({ eventTokenSecretArn: ARN }, () => client)).rejects.toThrow('not found');
    const error = await loadEventTokenKey({ eventTokenSecretArn: ARN }, () => client).catch((e: unknown) => e as Error);
    expect((error as Error).message).toMatch(/shorter than 32 characters/);
    expect((error as Error).message).not.toContain('short-key');
  });

  it('rejects with the ConfigError when neither variable is set', async () => {
    await expect(loadEventTokenKey({}, () => client)).rejects.toThrow(ConfigError);
  });
});
