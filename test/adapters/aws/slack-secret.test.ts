import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { freshContainer } from '../../support/fresh-container';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:metal-build/slack-AbCdEf';
const SIGNING = 'f00dfeedcafe1234deadbeef5678abcd';
const TOKEN = 'xoxb-test-1111-2222-SECRETTOKENVALUE';

describe('loadSlackCredentials', () => {
  const client = new SecretsManagerClient({});
  const secrets = mockClient(client);
  const config = { slackSecretArn: ARN };

  // Each case in a new container, whose secret is not read yet.
  const newContainer = () => freshContainer(() => import('../../../adapters/aws/slack-secret'));
  let loadSlackCredentials: Awaited<ReturnType<typeof newContainer>>['loadSlackCredentials'];
  beforeEach(async () => {
    secrets.reset();
    ({ loadSlackCredentials } = await newContainer());
  });
  afterAll(() => secrets.restore());

  const messageOf = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a rejection');
      },
      (error: unknown) => (error as Error).message,
    );

  it('uses the environment values when both are set and never calls Secrets Manager', async () => {
    const credentials = await loadSlackCredentials({ slackSigningSecret: 'local-secret', slackBotToken: 'xoxb-local', slackSecretArn: ARN }, () => client);
    expect(credentials).toEqual({ signingSecret: 'local-secret', botToken: 'xoxb-local' });
    expect(secrets.calls()).toHaveLength(0);
  });

  it('reads the JSON secret named by SLACK_SECRET_ARN', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: JSON.stringify({ signingSecret: SIGNING, botToken: TOKEN }) });
    expect(await loadSlackCredentials(config, () => client)).toEqual({ signingSecret: SIGNING, botToken: TOKEN });
  });

  it('reads the secret once per container: two loads, one call', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ signingSecret: SIGNING, botToken: TOKEN }) });
    const [a, b] = await Promise.all([loadSlackCredentials(config, () => client), loadSlackCredentials(config, () => client)]);
    const c = await loadSlackCredentials(config, () => client);
    expect([a, b, c]).toEqual([
      { signingSecret: SIGNING, botToken: TOKEN },
      { signingSecret: SIGNING, botToken: TOKEN },
      { signingSecret: SIGNING, botToken: TOKEN },
    ]);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('names the missing key and never shows a value', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ signingSecret: SIGNING, bot_token: TOKEN }) });
    const message = await messageOf(loadSlackCredentials(config, () => client));
    expect(message).toContain('botToken');
    expect(message).not.toContain('signingSecret,');
    expect(message).not.toContain(SIGNING);
    expect(message).not.toContain(TOKEN);
  });

  it('names both keys when both are missing or empty', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ signingSecret: '', botToken: 42 }) });
    const message = await messageOf(loadSlackCredentials(config, () => client));
    expect(message).toMatch(/signingSecret, botToken/);
  });

  it('refuses a secret that is not JSON without quoting it', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    const error = (await loadSlackCredentials(config, () => client).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('not JSON');
    expect(error.message).not.toContain(TOKEN);
    expect(String(error.cause ?? '')).not.toContain(TOKEN);
  });

  it('does not cache a failure: the next load reads again', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(new ResourceNotFoundException({ message: 'not yet', $metadata: {} }))
      .resolves({ SecretString: JSON.stringify({ signingSecret: SIGNING, botToken: TOKEN }) });
    await expect(loadSlackCredentials(config, () => client)).rejects.toBeInstanceOf(ResourceNotFoundException);
    expect(await loadSlackCredentials(config, () => client)).toEqual({ signingSecret: SIGNING, botToken: TOKEN });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('says what to set when there is neither a secret ARN nor both env values', async () => {
    const message = await messageOf(loadSlackCredentials({ slackSigningSecret: 'only-one' }, () => client));
    expect(message).toMatch(/SLACK_SECRET_ARN/);
    expect(message).not.toContain('only-one');
  });
});
