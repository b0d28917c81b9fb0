import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ResourceNotFoundException } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSecretsManagerStandIn, type LocalSecretsManager, localSecretsClient } from '../../../stand-ins/secrets-manager';
import { freshContainer } from '../../support/fresh-container';

// The real SecretsManagerClient against the Secrets Manager stand-in, which logs every read.

const NAME = 'metal-build/slack';
const SIGNING = 'f00dfeedcafe1234deadbeef5678abcd';
const TOKEN = 'xoxb-test-1111-2222-SECRETTOKENVALUE';

describe('loadSlackCredentials', () => {
  let secrets: LocalSecretsManager;
  let client: SecretsManagerClient;
  let arn: string;
  let config: { slackSecretArn: string };

  // Each case in a new container, whose secret is not read yet.
  const newContainer = () => freshContainer(() => import('../../../adapters/aws/slack-secret'));
  let loadSlackCredentials: Awaited<ReturnType<typeof newContainer>>['loadSlackCredentials'];
  beforeAll(async () => {
    secrets = await startSecretsManagerStandIn();
    arn = secrets.setSecret(NAME, JSON.stringify({ signingSecret: SIGNING, botToken: TOKEN }));
    config = { slackSecretArn: arn };
  });
  afterAll(async () => {
    await secrets.close();
  });
  beforeEach(async () => {
    secrets.clear();
    client = localSecretsClient(secrets);
    ({ loadSlackCredentials } = await newContainer());
  });
  afterEach(() => client.destroy());

  /** The secret's next version: what every read answers from now on. */
  const store = (value: unknown) => secrets.setSecret(NAME, typeof value === 'string' ? value : JSON.stringify(value));

  const messageOf = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a rejection');
      },
      (error: unknown) => (error as Error).message,
    );

  it('uses the environment values when both are set and never calls Secrets Manager', async () => {
    const credentials = await loadSlackCredentials({ slackSigningSecret: 'local-secret', slackBotToken: 'xoxb-local', slackSecretArn: arn }, () => client);
    expect(credentials).toEqual({ signingSecret: 'local-secret', botToken: 'xoxb-local' });
    expect(secrets.reads).toHaveLength(0);
  });

  it('reads the JSON secret named by SLACK_SECRET_ARN', async () => {
    store({ signingSecret: SIGNING, botToken: TOKEN });
    expect(await loadSlackCredentials(config, () => client)).toEqual({ signingSecret: SIGNING, botToken: TOKEN });
    expect(secrets.reads).toEqual([{ secretId: arn, found: true }]);
  });

  it('reads the secret once per container: two loads, one call', async () => {
    store({ signingSecret: SIGNING, botToken: TOKEN });
    const [a, b] = await Promise.all([loadSlackCredentials(config, () => client), loadSlackCredentials(config, () => client)]);
    const c = await loadSlackCredentials(config, () => client);
    expect([a, b, c]).toEqual([
      { signingSecret: SIGNING, botToken: TOKEN },
      { signingSecret: SIGNING, botToken: TOKEN },
      { signingSecret: SIGNING, botToken: TOKEN },
    ]);
    expect(secrets.reads).toHaveLength(1);
  });

  it('names the missing key and never shows a value', async () => {
    store({ signingSecret: SIGNING, bot_token: TOKEN });
    const message = await messageOf(loadSlackCredentials(config, () => client));
    expect(message).toContain('botToken');
    expect(message).not.toContain('signingSecret,');
    expect(message).not.toContain(SIGNING);
    expect(message).not.toContain(TOKEN);
  });

  it('names both keys when both are missing or empty', async () => {
    store({ signingSecret: '', botToken: 42 });
    const message = await messageOf(loadSlackCredentials(config, () => client));
    expect(message).toMatch(/signingSecret, botToken/);
  });

  it('refuses a secret that is not JSON without quoting it', async () => {
    store(TOKEN);
    const error = (await loadSlackCredentials(config, () => client).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('not JSON');
    expect(error.message).not.toContain(TOKEN);
    expect(String(error.cause ?? '')).not.toContain(TOKEN);
  });

  it('does not cache a failure: the next load reads again', async () => {
    store({ signingSecret: SIGNING, botToken: TOKEN });
    secrets.failNext('ResourceNotFoundException', 400, 'not yet');
    await expect(loadSlackCredentials(config, () => client)).rejects.toBeInstanceOf(ResourceNotFoundException);
    expect(await loadSlackCredentials(config, () => client)).toEqual({ signingSecret: SIGNING, botToken: TOKEN });
    expect(secrets.reads).toHaveLength(2);
  });

  it('says what to set when there is neither a secret ARN nor both env values', async () => {
    const message = await messageOf(loadSlackCredentials({ slackSigningSecret: 'only-one' }, () => client));
    expect(message).toMatch(/SLACK_SECRET_ARN/);
    expect(message).not.toContain('only-one');
  });
});
