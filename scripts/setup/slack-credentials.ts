import { GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

// The Slack app's credentials into the stack's secret, merged: the secret's other keys (an
// operator's own, or a future one) survive a re-run. Values are never printed: only which keys
// were written or kept.

export interface SlackCredentials {
  signingSecret?: string;
  botToken?: string;
}

/** The stack's placeholder (infra/stack.ts): the secret holds no real token yet. */
export const PLACEHOLDER_BOT_TOKEN = 'REPLACE-WITH-xoxb-TOKEN';

/** What is wrong with given credentials, named by where they come from; the values are not repeated. */
export function credentialsProblems(credentials: SlackCredentials): string[] {
  const problems: string[] = [];
  const secret = credentials.signingSecret;
  if (secret !== undefined && !/^[0-9a-f]{32}$/i.test(secret))
    problems.push("SLACK_SIGNING_SECRET: expected the 32 hexadecimal characters of the app's Signing Secret (Basic Information → App Credentials)");
  const token = credentials.botToken;
  if (token !== undefined && !/^xoxb-[A-Za-z0-9-]+$/.test(token))
    problems.push('SLACK_BOT_TOKEN: expected the Bot User OAuth Token, xoxb-… (OAuth & Permissions, after installing the app)');
  return problems;
}

export type StoreResult =
  { outcome: 'stored'; versionId: string; written: string[]; kept: string[] } | { outcome: 'unchanged'; versionId: string; placeholder: boolean };

/** A step's failure, with what the operator does about it. */
export class SetupStepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SetupStepError';
  }
}

/** Merges the given keys into the secret's JSON; writes only when a value changes (re-running is free). */
export async function storeSlackCredentials(client: SecretsManagerClient, secretId: string, credentials: SlackCredentials): Promise<StoreResult> {
  const current = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  let stored: unknown;
  try {
    stored = JSON.parse(current.SecretString ?? '');
  } catch {
    stored = undefined;
  }
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored))
    throw new SetupStepError(
      `the secret ${secretId} does not hold a JSON object; put {"signingSecret": "…", "botToken": "xoxb-…"} into it (aws secretsmanager put-secret-value) or delete its value, then run npm run setup again`,
    );
  const before = stored as Record<string, unknown>;
  const given = Object.entries(credentials).filter((entry): entry is [string, string] => entry[1] !== undefined);
  const changed = given.filter(([key, value]) => before[key] !== value);
  if (changed.length === 0) return { outcome: 'unchanged', versionId: current.VersionId ?? 'unknown', placeholder: before.botToken === PLACEHOLDER_BOT_TOKEN };
  const after = { ...before, ...Object.fromEntries(given) };
  const put = await client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(after) }));
  return {
    outcome: 'stored',
    versionId: put.VersionId ?? 'unknown',
    written: changed.map(([key]) => key),
    kept: Object.keys(before).filter((key) => !changed.some(([k]) => k === key)),
  };
}
