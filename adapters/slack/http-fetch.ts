import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { FetchFunction } from '@slack/web-api';

// The `fetch` WebClient calls, over node:http(s). Node's own fetch costs a fresh process about
// 40 ms to load (its undici) and 25 ms more for its HTTP parser on the first request (about
// 30 ms of the bot's cold start in `npm run bench`), where node:http(s) is loaded already for the
// AWS SDK. WebClient POSTs a string body (form or JSON) and reads the status, a few headers and
// the text; that is all this supports. Errors and aborts (WebClient's timeout) reject, as fetch does.

type FetchInit = NonNullable<Parameters<FetchFunction>[1]>;
type FetchResponse = Awaited<ReturnType<FetchFunction>>;

function toResponse(url: URL, res: IncomingMessage, body: Buffer): FetchResponse {
  const status = res.statusCode ?? 0;
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const text = body.toString('utf8');
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: res.statusMessage ?? '',
    url: url.href,
    headers: { get: (name) => headers.get(name.toLowerCase()) ?? null, entries: () => headers.entries() },
    text: async () => text,
    json: async () => JSON.parse(text) as unknown,
    arrayBuffer: async () => new Uint8Array(body).buffer,
  };
}

export const httpFetch: FetchFunction = (input, init: FetchInit = {}) =>
  new Promise<FetchResponse>((resolve, reject) => {
    const url = new URL(String(input));
    const { body } = init;
    if (body !== undefined && typeof body !== 'string') {
      reject(new TypeError('httpFetch sends string bodies only (no file uploads)'));
      return;
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { ...init.headers };
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const req = send(url, { method: init.method ?? 'GET', headers, ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      // Redirects are not followed; WebClient asks for `redirect: 'error'` anyway.
      if (status >= 300 && status < 400 && init.redirect !== 'manual') {
        res.resume();
        reject(new TypeError(`httpFetch: redirect (${status}) from ${url.href}`));
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => resolve(toResponse(url, res, Buffer.concat(chunks))));
    });
    req.on('error', reject);
    req.end(body);
  });
