import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetSecretValueCommand, PutSecretValueCommand, InternalServiceError, ResourceNotFoundException } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSecretsManagerStandIn, type LocalSecretsManager, localSecretsClient } from '../../stand-ins/secrets-manager';
import { freshContainer } from '../support/fresh-container';

// The Secrets Manager stand-in against the real SecretsManagerClient, and the bot's Slack-secret
// path (adapters/aws/slack-secret.ts) against the stand-in: the secret is read once per cache
// lifetime (a container's), and a missing secret surfaces as the SDK's own exception.

const SLACK_SECRET = JSON.stringify({ signingSecret: 'sig-0123', botToken: 'xoxb-123-456' });

describe('Secrets Manager stand-in', () => {
  let secrets: LocalSecretsManager;
  let client: SecretsManagerClient;
  let slackArn: string;

  beforeAll(async () => {
    secrets = await startSecretsManagerStandIn({ secrets: { 'metal-build/slack': SLACK_SECRET } });
    slackArn = secrets.setSecret('metal-build/slack', SLACK_SECRET);
  });
  afterAll(async () => {
    await secrets.close();
  });
  beforeEach(() => {
    secrets.clear();
    client = localSecretsClient(secrets);
  });
  afterEach(() => client.destroy());

  it('answers GetSecretValue by name and by ARN with the current version', async () => {
    const byName = await client.send(new GetSecretValueCommand({ SecretId: 'metal-build/slack' }));
    const byArn = await client.send(new GetSecretValueCommand({ SecretId: slackArn }));
    expect(byName.$metadata.httpStatusCode).toBe(200);
    expect(byName).toMatchObject({
      ARN: slackArn,
      Name: 'metal-build/slack',
      SecretString: SLACK_SECRET,
      VersionStages: ['AWSCURRENT'],
    });
    expect(byName.VersionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(byName.CreatedDate).toBeInstanceOf(Date);
    expect(Math.abs(Date.now() - (byName.CreatedDate?.getTime() ?? 0))).toBeLessThan(60_000);
    expect(byArn.SecretString).toBe(SLACK_SECRET);
    // A partial ARN (without the random suffix) finds the secret too, as on AWS.
    const byPartialArn = await client.send(new GetSecretValueCommand({ SecretId: slackArn.slice(0, -7) }));
    expect(byPartialArn.ARN).toBe(slackArn);
    expect(slackArn).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:metal-build\/slack-[0-9a-f]{6}$/);
    expect(secrets.reads).toEqual([
      { secretId: 'metal-build/slack', found: true },
      { secretId: slackArn, found: true },
      { secretId: slackArn.slice(0, -7), found: true },
    ]);
  });

  it('stores PutSecretValue as the new current version and logs the write', async () => {
    secrets.setSecret('written', '{"a":1}');
    const put = await client.send(new PutSecretValueCommand({ SecretId: 'written', SecretString: '{"a":2}' }));
    const read = await client.send(new GetSecretValueCommand({ SecretId: 'written' }));
    expect(read).toMatchObject({ SecretString: '{"a":2}', VersionId: put.VersionId });
    expect(secrets.writes).toEqual([{ secretId: 'written', versionId: put.VersionId }]);
    const missing = await client.send(new PutSecretValueCommand({ SecretId: 'nope', SecretString: 'x' })).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
  });

  it('gives a secret set again a new version under the same ARN', async () => {
    const before = await client.send(new GetSecretValueCommand({ SecretId: 'rotating' })).catch((e: unknown) => e);
    expect(before).toBeInstanceOf(ResourceNotFoundException);
    const arn = secrets.setSecret('rotating', 'one');
    const first = await client.send(new GetSecretValueCommand({ SecretId: 'rotating' }));
    expect(secrets.setSecret('rotating', 'two')).toBe(arn);
    const second = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    expect([first.SecretString, second.SecretString]).toEqual(['one', 'two']);
    expect(second.VersionId).not.toBe(first.VersionId);
  });

  it('answers ResourceNotFoundException (400) for an unknown secret', async () => {
    const error = await client.send(new GetSecretValueCommand({ SecretId: 'no-such-secret' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error).toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    expect(secrets.reads).toEqual([{ secretId: 'no-such-secret', found: false }]);
  });

  it('refuses the next read with failNext', async () => {
    secrets.failNext('InternalServiceError', 500);
    const error = await client.send(new GetSecretValueCommand({ SecretId: 'metal-build/slack' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServiceError);
    expect(error).toMatchObject({ $fault: 'server', $metadata: { httpStatusCode: 500 } });
    const out = await client.send(new GetSecretValueCommand({ SecretId: 'metal-build/slack' }));
    expect(out.SecretString).toBe(SLACK_SECRET);
  });

  describe('with the real Slack-secret path', () => {
    const config = (arn: string) => ({ slackSigningSecret: undefined, slackBotToken: undefined, slackSecretArn: arn });
    // Each case in a new container, whose secret is not read yet.
    const newContainer = () => freshContainer(() => import('../../adapters/aws/slack-secret'));
    let loadSlackCredentials: Awaited<ReturnType<typeof newContainer>>['loadSlackCredentials'];
    beforeEach(async () => {
      ({ loadSlackCredentials } = await newContainer());
    });

    it('returns the credentials and reads the secret once per cache lifetime', async () => {
      const first = await loadSlackCredentials(config(slackArn), () => client);
      const again = await Promise.all([loadSlackCredentials(config(slackArn), () => client), loadSlackCredentials(config(slackArn), () => client)]);
      expect(first).toEqual({ signingSecret: 'sig-0123', botToken: 'xoxb-123-456' });
      expect(again).toEqual([first, first]);
      expect(secrets.reads).toEqual([{ secretId: slackArn, found: true }]);

      ({ loadSlackCredentials } = await newContainer());
      await loadSlackCredentials(config(slackArn), () => client);
      expect(secrets.reads).toHaveLength(2);
    });

    it('surfaces a missing secret as the SDK ResourceNotFoundException and does not keep the failure', async () => {
      const missing = slackArn.replace('slack', 'slack-gone');
      const error = await loadSlackCredentials(config(missing), () => client).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResourceNotFoundException);
      expect(error).toMatchObject({ $metadata: { httpStatusCode: 400 } });

      // A failed read is forgotten: once the secret exists, the next call reads it.
      const created = secrets.setSecret('metal-build/slack-gone', SLACK_SECRET);
      await expect(loadSlackCredentials(config(created), () => client)).resolves.toEqual({ signingSecret: 'sig-0123', botToken: 'xoxb-123-456' });
      expect(secrets.reads.map((r) => r.found)).toEqual([false, true]);
    });

    it('reads githubWebhookSecret and githubStatusToken when the secret holds them; GITHUB_* given directly win', async () => {
      const arn = secrets.setSecret(
        'metal-build/slack-github',
        JSON.stringify({ signingSecret: 'sig-0123', botToken: 'xoxb-123-456', githubWebhookSecret: 'test-hook', githubStatusToken: 'ghp_test_a' }),
      );
      expect(await loadSlackCredentials(config(arn), () => client)).toEqual({
        signingSecret: 'sig-0123',
        botToken: 'xoxb-123-456',
        githubWebhookSecret: 'test-hook',
        githubStatusToken: 'ghp_test_a',
      });
      expect(await loadSlackCredentials({ ...config(arn), githubStatusToken: 'ghp_test_b' }, () => client)).toMatchObject({
        githubWebhookSecret: 'test-hook',
        githubStatusToken: 'ghp_test_b',
      });
    });

    it('names the missing keys of a malformed secret without echoing its value', async () => {
      const arn = secrets.setSecret('metal-build/slack-partial', JSON.stringify({ signingSecret: 'sig-hidden' }));
      const error = await loadSlackCredentials(config(arn), () => client).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toContain('missing or empty botToken');
      expect((error as Error).message).not.toContain('sig-hidden');
    });

    it('does not read Secrets Manager when both values are in the environment', async () => {
      const credentials = await loadSlackCredentials({ slackSigningSecret: 's', slackBotToken: 'xoxb-t', slackSecretArn: slackArn }, () => client);
      expect(credentials).toEqual({ signingSecret: 's', botToken: 'xoxb-t' });
      expect(secrets.reads).toEqual([]);
    });
  });
});
