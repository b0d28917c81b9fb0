import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

// What every protocol stand-in does with a request and an answer: read the whole body, and answer
// JSON the way AWS's JSON protocols do (the content type of the protocol, a length, and the
// request id the SDK puts in `$metadata.requestId`).

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** AWS JSON 1.1 (EventBridge, Secrets Manager, CloudWatch Logs, Service Quotas). */
export const AWS_JSON_1_1 = 'application/x-amz-json-1.1';

export function answerJson(res: ServerResponse, status: number, body: unknown, contentType: string = AWS_JSON_1_1, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID(), ...headers });
  res.end(text);
}
