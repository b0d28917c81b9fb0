import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../../domain/config';
import { eventTokenKeySource } from '../../domain/config';
import { getSecretsClient } from './clients';
import { secretCache } from './secret-cache';

// The key of the builds' event tokens (events/event-token.ts): EVENT_TOKEN_KEY locally, the
// plain-string secret named by EVENT_TOKEN_SECRET_ARN on AWS, read once per container. As
// adapters/aws/slack-secret.ts, no error message built here contains a value from the secret.

/** Shorter keys would make the tokens guessable; the stack generates 64 characters. */
export const EVENT_TOKEN_KEY_MIN_LENGTH = 32;

const cache = secretCache<string>();

async function readKey(arn: string, client: SecretsManagerClient): Promise<string> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  const key = out.SecretString;
  if (key === undefined) throw new Error(`event-token key secret ${arn} has no SecretString; store it as text`);
  if (key.length < EVENT_TOKEN_KEY_MIN_LENGTH) throw new Error(`event-token key secret ${arn} is shorter than ${EVENT_TOKEN_KEY_MIN_LENGTH} characters`);
  return key;
}

/** Throws a ConfigError when neither EVENT_TOKEN_KEY nor EVENT_TOKEN_SECRET_ARN is set. */
export function loadEventTokenKey(
  config: Pick<Config, 'eventTokenKey' | 'eventTokenSecretArn'>,
  client: () => SecretsManagerClient = () => getSecretsClient('background'),
): Promise<string> {
  let source: ReturnType<typeof eventTokenKeySource>;
  try {
    source = eventTokenKeySource(config);
  } catch (error) {
    return Promise.reject(error as Error);
  }
  if ('key' in source) return Promise.resolve(source.key);
  return cache.get(source.secretArn, (arn) => readKey(arn, client()));
}
