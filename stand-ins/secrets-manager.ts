import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readBody, answerJson } from './wire';

// Secrets Manager GetSecretValue and PutSecretValue on loopback, speaking what
// @aws-sdk/client-secrets-manager sends (awsJson1_1: POST /, `X-Amz-Target:
// secretsmanager.<Operation>`), so the real client with `endpoint` (or
// AWS_ENDPOINT_URL_SECRETS_MANAGER) set to it works unchanged. Signatures are not checked. Every
// read and write is logged, so a test can tell whether a cache really kept the secret, and whether
// `npm run setup` wrote only when something changed.

export interface SecretsManagerStandInOptions {
  /** Secret name → SecretString. */
  secrets?: Record<string, string>;
  region?: string;
  accountId?: string;
}

export interface SecretRead {
  /** The SecretId as the caller sent it (name or ARN). */
  secretId: string;
  /** Whether a secret was answered (false: an error went back). */
  found: boolean;
}

export interface SecretWrite {
  secretId: string;
  /** The version the write created. */
  versionId: string;
}

export interface LocalSecretsManager {
  endpoint: string;
  /** Every GetSecretValue that reached the stand-in, in order, refused ones included. */
  reads: SecretRead[];
  /** Every PutSecretValue that stored a value, in order. */
  writes: SecretWrite[];
  /** The current value of a secret, by name (undefined: no such secret). */
  valueOf(name: string): string | undefined;
  /** Creates the secret, or gives it a new current version; returns its ARN. */
  setSecret(name: string, value: string): string;
  /** The next GetSecretValue is refused with this error type and HTTP status; calls queue. */
  failNext(type: string, status: number, message?: string): void;
  /** Empties `reads`, `writes` and the queued failures; the secrets stay. */
  clear(): void;
  close(): Promise<void>;
}

interface StoredSecret {
  arn: string;
  name: string;
  versionId: string;
  value: string;
  createdDate: number;
}

const NOT_FOUND = "Secrets Manager can't find the specified secret.";

class ServiceError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The real SDK client pointed at a stand-in, one attempt per call (a test counts the reads). */
export function localSecretsClient(standIn: Pick<LocalSecretsManager, 'endpoint'>): SecretsManagerClient {
  return new SecretsManagerClient({
    region: 'us-east-1',
    endpoint: standIn.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

export async function startSecretsManagerStandIn(options: SecretsManagerStandInOptions = {}): Promise<LocalSecretsManager> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const secrets = new Map<string, StoredSecret>();
  const reads: SecretRead[] = [];
  const writes: SecretWrite[] = [];
  const failures: ServiceError[] = [];

  const setSecret = (name: string, value: string): string => {
    // AWS appends six random characters to a secret's ARN, so code that builds ARNs from names breaks here too.
    const arn = secrets.get(name)?.arn ?? `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${randomBytes(3).toString('hex')}`;
    secrets.set(name, { arn, name, versionId: randomUUID(), value, createdDate: Date.now() / 1000 });
    return arn;
  };
  for (const [name, value] of Object.entries(options.secrets ?? {})) setSecret(name, value);

  // By name, full ARN, or the ARN without its random suffix, as GetSecretValue accepts.
  const find = (secretId: string): StoredSecret | undefined =>
    [...secrets.values()].find((s) => s.name === secretId || s.arn === secretId || s.arn.slice(0, -7) === secretId);

  const getSecretValue = (request: { SecretId?: string; VersionId?: string; VersionStage?: string }) => {
    const secretId = request.SecretId;
    if (!secretId) throw new ServiceError('InvalidParameterException', 400, 'SecretId is required.');
    const read: SecretRead = { secretId, found: false };
    reads.push(read);
    const failure = failures.shift();
    if (failure) throw failure;
    const secret = find(secretId);
    if (!secret) throw new ServiceError('ResourceNotFoundException', 400, NOT_FOUND);
    // Only the current version is kept: asking for any other is a miss, as for a deleted version.
    if (request.VersionId !== undefined && request.VersionId !== secret.versionId)
      throw new ServiceError('ResourceNotFoundException', 400, `Secrets Manager can't find the specified secret value for VersionId: ${request.VersionId}`);
    if (request.VersionStage !== undefined && request.VersionStage !== 'AWSCURRENT')
      throw new ServiceError(
        'ResourceNotFoundException',
        400,
        `Secrets Manager can't find the specified secret value for staging label: ${request.VersionStage}`,
      );
    read.found = true;
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: secret.versionId,
      SecretString: secret.value,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: secret.createdDate,
    };
  };

  // Only SecretString, as the stack's secrets are; the value becomes the current (and only) version.
  const putSecretValue = (request: { SecretId?: string; SecretString?: string; ClientRequestToken?: string }) => {
    const secretId = request.SecretId;
    if (!secretId) throw new ServiceError('InvalidParameterException', 400, 'SecretId is required.');
    if (typeof request.SecretString !== 'string') throw new ServiceError('InvalidParameterException', 400, 'SecretString is required.');
    const failure = failures.shift();
    if (failure) throw failure;
    const secret = find(secretId);
    if (!secret) throw new ServiceError('ResourceNotFoundException', 400, NOT_FOUND);
    setSecret(secret.name, request.SecretString);
    const stored = secrets.get(secret.name)!;
    writes.push({ secretId, versionId: stored.versionId });
    return { ARN: stored.arn, Name: stored.name, VersionId: stored.versionId, VersionStages: ['AWSCURRENT'] };
  };

  const server = createServer((req, res) => {
    void (async () => {
      const target = req.headers['x-amz-target'];
      const body = await readBody(req);
      const operation = target === 'secretsmanager.GetSecretValue' ? getSecretValue : target === 'secretsmanager.PutSecretValue' ? putSecretValue : undefined;
      if (req.method !== 'POST' || operation === undefined)
        throw new ServiceError('UnknownOperationException', 400, `stand-in supports only GetSecretValue and PutSecretValue, got ${String(target)}`);
      let request: unknown;
      try {
        request = JSON.parse(body);
      } catch {
        throw new ServiceError('SerializationException', 400, 'body is not JSON');
      }
      answerJson(res, 200, operation((request ?? {}) as Parameters<typeof getSecretValue>[0] & Parameters<typeof putSecretValue>[0]));
    })().catch((error: unknown) => {
      if (res.headersSent) return;
      const e = error instanceof ServiceError ? error : new ServiceError('InternalServiceError', 500, String(error));
      answerJson(res, e.status, { __type: e.type, message: e.message });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    reads,
    writes,
    valueOf: (name) => secrets.get(name)?.value,
    setSecret,
    failNext: (type, status, message = `stand-in refused the request (${type})`) => {
      failures.push(new ServiceError(type, status, message));
    },
    clear: () => {
      reads.length = 0;
      writes.length = 0;
      failures.length = 0;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
