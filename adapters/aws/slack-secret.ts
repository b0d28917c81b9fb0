import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import type { Config } from '../../domain/config';
import { getSecretsClient } from './clients';
import { secretCache } from './secret-cache';

// The Slack credentials: from the environment locally, from the JSON secret named by
// SLACK_SECRET_ARN on AWS, read once per container. No error message built here ever contains
// a value from the secret (not even JSON.parse's, which quotes the input).

export interface SlackCredentials {
  signingSecret: string;
  botToken: string;
}

// zod/mini, as domain/config.ts: the classic API costs the bot's cold start ~13 ms more to load.
const secretSchema = z.object({
  signingSecret: z.string().check(z.minLength(1)),
  botToken: z.string().check(z.minLength(1)),
});

const cache = secretCache<SlackCredentials>();

async function readSecret(arn: string, client: SecretsManagerClient): Promise<SlackCredentials> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  if (out.SecretString === undefined) throw new Error(`Slack secret ${arn} has no SecretString; store it as JSON text`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(out.SecretString);
  } catch {
    throw new Error(`Slack secret ${arn} is not JSON; expected {"signingSecret": "...", "botToken": "xoxb-..."}`);
  }
  const r = secretSchema.safeParse(parsed);
  if (!r.success) {
    const keys = [...new Set(r.error.issues.map((i) => String(i.path[0] ?? '(root)')))];
    throw new Error(`Slack secret ${arn}: missing or empty ${keys.join(', ')}; expected {"signingSecret": "...", "botToken": "xoxb-..."}`);
  }
  return r.data;
}

export function loadSlackCredentials(
  config: Pick<Config, 'slackSigningSecret' | 'slackBotToken' | 'slackSecretArn'>,
  client: () => SecretsManagerClient = getSecretsClient,
): Promise<SlackCredentials> {
  if (config.slackSigningSecret !== undefined && config.slackBotToken !== undefined)
    return Promise.resolve({ signingSecret: config.slackSigningSecret, botToken: config.slackBotToken });
  const arn = config.slackSecretArn;
  if (arn === undefined) return Promise.reject(new Error('no Slack credentials: set SLACK_SECRET_ARN, or SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN'));
  return cache.get(arn, (a) => readSecret(a, client()));
}
