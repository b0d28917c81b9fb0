import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerJson, readBody } from './wire';

// Lambda GetFunctionConfiguration and UpdateFunctionConfiguration on loopback, speaking AWS's
// restJson for them (`GET` and `PUT /2015-03-31/functions/{FunctionName}/configuration`, errors
// as `x-amzn-errortype` and a JSON body), so adapters/aws/function-configuration.ts pointed at it
// works unchanged. Signatures are not checked. Only the environment is modelled: it is all
// `npm run setup` changes (a new variable makes Lambda replace every running container, so each
// function reads the Slack secret again). Every update is logged.

export interface FunctionUpdate {
  functionName: string;
  variables: Record<string, string>;
}

export interface LambdaRequest {
  method: string;
  path: string;
  /** The Authorization header as sent: a SigV4 signature is not checked, only kept for a test to read. */
  authorization?: string;
}

export interface LambdaStandInOptions {
  /** Function name → its environment variables. */
  functions?: Record<string, Record<string, string>>;
  region?: string;
  accountId?: string;
}

export interface LambdaStandIn {
  endpoint: string;
  /** Every request that reached the stand-in, in order. */
  requests: LambdaRequest[];
  /** Every UpdateFunctionConfiguration that changed a function, in order. */
  updates: FunctionUpdate[];
  /** A function's environment now (undefined: no such function). */
  environmentOf(name: string): Record<string, string> | undefined;
  /** The next call is refused with this error type and HTTP status; calls queue. */
  failNext(type: string, status: number, message?: string): void;
  close(): Promise<void>;
}

interface StoredFunction {
  name: string;
  arn: string;
  variables: Record<string, string>;
  revisionId: string;
}

class ServiceError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const PATH = /^\/2015-03-31\/functions\/([^/]+)\/configuration\/?$/;

export async function startLambdaStandIn(options: LambdaStandInOptions = {}): Promise<LambdaStandIn> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const functions = new Map<string, StoredFunction>();
  for (const [name, variables] of Object.entries(options.functions ?? {}))
    functions.set(name, { name, arn: `arn:aws:lambda:${region}:${accountId}:function:${name}`, variables: { ...variables }, revisionId: randomUUID() });
  const updates: FunctionUpdate[] = [];
  const requests: LambdaRequest[] = [];
  const failures: ServiceError[] = [];

  // By name or ARN, as Lambda accepts.
  const find = (id: string): StoredFunction => {
    const fn = [...functions.values()].find((f) => f.name === id || f.arn === id);
    if (!fn) throw new ServiceError('ResourceNotFoundException', 404, `Function not found: arn:aws:lambda:${region}:${accountId}:function:${id}`);
    return fn;
  };

  const configuration = (fn: StoredFunction) => ({
    FunctionName: fn.name,
    FunctionArn: fn.arn,
    Environment: { Variables: fn.variables },
    RevisionId: fn.revisionId,
    State: 'Active',
    LastUpdateStatus: 'Successful',
  });

  const update = (fn: StoredFunction, request: { Environment?: { Variables?: Record<string, string> }; RevisionId?: string }) => {
    // The revision guards against overwriting a change made since the caller read the function.
    if (request.RevisionId !== undefined && request.RevisionId !== fn.revisionId)
      throw new ServiceError('PreconditionFailedException', 412, 'The Revision Id provided does not match the latest Revision Id.');
    // As in Lambda, Environment replaces the whole set of variables.
    if (request.Environment !== undefined) fn.variables = { ...(request.Environment.Variables ?? {}) };
    fn.revisionId = randomUUID();
    updates.push({ functionName: fn.name, variables: { ...fn.variables } });
    return configuration(fn);
  };

  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      requests.push({ method: req.method ?? '', path: req.url ?? '', ...(req.headers.authorization && { authorization: req.headers.authorization }) });
      const match = PATH.exec(new URL(req.url ?? '/', 'http://stand-in').pathname);
      if (!match || (req.method !== 'GET' && req.method !== 'PUT'))
        throw new ServiceError('UnknownOperationException', 400, `stand-in supports only Get/UpdateFunctionConfiguration, got ${req.method} ${req.url}`);
      const failure = failures.shift();
      if (failure) throw failure;
      const fn = find(decodeURIComponent(match[1]!));
      if (req.method === 'GET') return answerJson(res, 200, configuration(fn), 'application/json');
      let request: unknown;
      try {
        request = JSON.parse(body || '{}');
      } catch {
        throw new ServiceError('InvalidRequestContentException', 400, 'body is not JSON');
      }
      answerJson(res, 200, update(fn, request as Parameters<typeof update>[1]), 'application/json');
    })().catch((error: unknown) => {
      if (res.headersSent) return;
      const e = error instanceof ServiceError ? error : new ServiceError('ServiceException', 500, String(error));
      answerJson(res, e.status, { Type: 'User', message: e.message }, 'application/json', { 'x-amzn-errortype': e.type });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    updates,
    environmentOf: (name) => (functions.has(name) ? { ...functions.get(name)!.variables } : undefined),
    failNext: (type, status, message = `stand-in refused the request (${type})`) => {
      failures.push(new ServiceError(type, status, message));
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
