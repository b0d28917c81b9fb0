import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

// Lambda's GetFunctionConfiguration and UpdateFunctionConfiguration, the two calls `npm run setup`
// makes (restJson: GET and PUT /2015-03-31/functions/{name}/configuration), signed with the SDK's
// own SigV4 signer. The project has no Lambda client: it would be one more package for two
// calls that only the set-up makes, never a Lambda function.

/** As the SDK's credential providers resolve them. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface FunctionConfigurationOptions {
  region: string;
  credentials: () => Promise<Credentials>;
  /** Default: Lambda's regional endpoint (or AWS_ENDPOINT_URL_LAMBDA); tests give a stand-in. */
  endpoint?: string;
}

export interface FunctionEnvironment {
  variables: Record<string, string>;
  /** Passed back on update, so a change made meanwhile is not overwritten. */
  revisionId?: string;
}

/** A refusal by Lambda, with its error type (ResourceNotFoundException, ResourceConflictException, …). */
export class LambdaCallError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'LambdaCallError';
  }
}

export interface FunctionConfigurations {
  environment(functionName: string): Promise<FunctionEnvironment>;
  setEnvironment(functionName: string, environment: FunctionEnvironment): Promise<void>;
}

/** The signer's hash: SHA-256, or HMAC-SHA-256 under a key, with node:crypto. */
class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', typeof secret === 'string' ? secret : Buffer.from(secret as Uint8Array));
  }
  update(data: Uint8Array | string): void {
    this.hash.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
  reset(): void {
    throw new Error('not used by the signer');
  }
}

export function createFunctionConfigurations(options: FunctionConfigurationOptions): FunctionConfigurations {
  const base = new URL(options.endpoint ?? process.env.AWS_ENDPOINT_URL_LAMBDA ?? `https://lambda.${options.region}.amazonaws.com`);
  const signer = new SignatureV4({ service: 'lambda', region: options.region, credentials: options.credentials, sha256: Sha256 });

  async function call(method: 'GET' | 'PUT', functionName: string, body?: unknown): Promise<Record<string, unknown>> {
    const path = `/2015-03-31/functions/${encodeURIComponent(functionName)}/configuration`;
    const text = body === undefined ? '' : JSON.stringify(body);
    const signed = await signer.sign({
      method,
      protocol: base.protocol,
      hostname: base.hostname,
      port: base.port === '' ? undefined : Number(base.port),
      path,
      query: {},
      headers: { host: base.host, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: text === '' ? undefined : text,
    });
    const response = await fetch(new URL(path, base), { method, headers: signed.headers, ...(text !== '' && { body: text }) });
    const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      // restJson: the type in x-amzn-errortype (before any ':'), the message in the body.
      const type = (response.headers.get('x-amzn-errortype') ?? String(answer.__type ?? answer.Type ?? 'UnknownError')).split(':')[0]!;
      throw new LambdaCallError(type, response.status, String(answer.message ?? answer.Message ?? response.statusText));
    }
    return answer;
  }

  return {
    async environment(functionName) {
      const answer = await call('GET', functionName);
      const environment = answer.Environment as { Variables?: Record<string, string> } | undefined;
      return { variables: environment?.Variables ?? {}, ...(typeof answer.RevisionId === 'string' && { revisionId: answer.RevisionId }) };
    },
    async setEnvironment(functionName, environment) {
      await call('PUT', functionName, {
        Environment: { Variables: environment.variables },
        ...(environment.revisionId && { RevisionId: environment.revisionId }),
      });
    },
  };
}
