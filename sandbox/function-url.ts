import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { functionUrlEvent, lambdaContext, parseLambdaResult } from '../stand-ins/slack-request';

// A Lambda Function URL, locally: the HTTP request becomes the payload-2.0 event Lambda builds
// (lower-case headers; the body base64-encoded unless it is text or JSON, as Function URLs do),
// and the handler's result becomes the HTTP answer as Lambda reads it.

export type FunctionUrlHandler = (event: LambdaFunctionURLEvent, context: Context) => Promise<LambdaFunctionURLResult | undefined | void>;

const TEXT_TYPES = /^(text\/|application\/json|application\/(.+\+)?xml|application\/javascript)/i;

export function toFunctionUrlEvent(req: IncomingMessage, body: Buffer): LambdaFunctionURLEvent {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return functionUrlEvent({
    body: body.toString('utf8'),
    headers,
    method: req.method ?? 'GET',
    path: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
    base64: !TEXT_TYPES.test(headers['content-type'] ?? ''),
  });
}

/** Invoke `handler` as its Function URL would, answering `res`. */
export async function invokeFunctionUrl(
  handler: FunctionUrlHandler,
  functionName: string,
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
): Promise<void> {
  let result: LambdaFunctionURLResult | undefined | void;
  try {
    result = await handler(toFunctionUrlEvent(req, body), lambdaContext(functionName));
  } catch {
    // What Lambda answers when the function throws; the function's own log has the error.
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ Message: 'Internal Server Error' }));
    return;
  }
  const answer = parseLambdaResult(result);
  res.writeHead(answer.statusCode, { 'content-type': 'application/json', ...answer.headers });
  res.end(answer.text);
}
