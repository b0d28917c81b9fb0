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
  /** GitHub's webhook secret (`githubWebhookSecret`): without it `/github/webhook` refuses every delivery. */
  githubWebhookSecret?: string;
  /** The token that sets commit statuses (`githubStatusToken`): without it no status is set. */
  githubStatusToken?: string;
}

// zod/mini, as domain/config.ts: the classic API costs the bot's cold start ~13 ms more to load.
const secretSchema = z.object({
  signingSecret: z.string().check(z.minLength(1)),
  botToken: z.string().check(z.minLength(1)),
  githubWebhookSecret: z.optional(z.string().check(z.minLength(1))),
  githubStatusToken: z.optional(z.string().check(z.minLength(1))),
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
  const { githubWebhookSecret, githubStatusToken, ...slack } = r.data;
  return {
    ...slack,
    ...(githubWebhookSecret !== undefined && { githubWebhookSecret }),
    ...(githubStatusToken !== undefined && { githubStatusToken }),
  };
}

/** The GitHub secrets given directly (GITHUB_WEBHOOK_SECRET, GITHUB_STATUS_TOKEN) win over the secret's. */
function withGithub(credentials: SlackCredentials, config: Pick<Config, 'githubWebhookSecret' | 'githubStatusToken'>): SlackCredentials {
  const webhook = config.githubWebhookSecret ?? credentials.githubWebhookSecret;
  const status = config.githubStatusToken ?? credentials.githubStatusToken;
  return { ...credentials, ...(webhook !== undefined && { githubWebhookSecret: webhook }), ...(status !== undefined && { githubStatusToken: status }) };
}

export async function loadSlackCredentials(
  config: Pick<Config, 'slackSigningSecret' | 'slackBotToken' | 'slackSecretArn' | 'githubWebhookSecret' | 'githubStatusToken'>,
  client: () => SecretsManagerClient = getSecretsClient,
): Promise<SlackCredentials> {
  if (config.slackSigningSecret !== undefined && config.slackBotToken !== undefined)
    return withGithub({ signingSecret: config.slackSigningSecret, botToken: config.slackBotToken }, config);
  const arn = config.slackSecretArn;
  if (arn === undefined) throw new Error('no Slack credentials: set SLACK_SECRET_ARN, or SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN');
  return withGithub(await cache.get(arn, (a) => readSecret(a, client())), config);
}
