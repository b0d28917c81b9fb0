import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { httpFetch } from '../../../adapters/slack/http-fetch';

// The fetch WebClient uses, against a plain server: what goes out, what comes back, and the
// failures WebClient must see as failures (HTTP status, no answer in time, redirects).

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let handle: Handler;
let base: string;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => handle(req, Buffer.concat(chunks).toString('utf8'), res));
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  handle = (_req, _body, res) => res.end();
});

describe('httpFetch', () => {
  it('sends method, headers and a string body; reads status, headers and the body', async () => {
    let seen: { method?: string; type?: string; auth?: string; length?: string; body?: string } = {};
    handle = (req, body, res) => {
      seen = { method: req.method, type: req.headers['content-type'], auth: req.headers.authorization, length: req.headers['content-length'], body };
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-OAuth-Scopes': 'chat:write' }).end('{"ok":true,"ts":"1.2"}');
    };
    const response = await httpFetch(`${base}/api/chat.postMessage`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: 'Bearer xoxb-1' },
      body: 'channel=C1&text=h%C3%A9',
    });
    expect(seen).toEqual({ method: 'POST', type: 'application/x-www-form-urlencoded', auth: 'Bearer xoxb-1', length: '23', body: 'channel=C1&text=h%C3%A9' });
    expect([response.ok, response.status, response.url]).toEqual([true, 200, `${base}/api/chat.postMessage`]);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('X-OAuth-Scopes')).toBe('chat:write');
    expect(response.headers.get('retry-after')).toBeNull();
    expect(Object.fromEntries(response.headers.entries())).toMatchObject({ 'x-oauth-scopes': 'chat:write' });
    expect(await response.json()).toEqual({ ok: true, ts: '1.2' });
    expect(await response.text()).toBe('{"ok":true,"ts":"1.2"}');
    expect(new TextDecoder().decode(await response.arrayBuffer())).toBe('{"ok":true,"ts":"1.2"}');
  });

  it('answers an HTTP error as a response, not a rejection (as fetch does)', async () => {
    handle = (_req, _body, res) => res.writeHead(503, 'Service Unavailable', { 'Retry-After': '3' }).end('down');
    const response = await httpFetch(`${base}/api/x`, { method: 'POST', body: '' });
    expect([response.ok, response.status, response.statusText, await response.text()]).toEqual([false, 503, 'Service Unavailable', 'down']);
    expect(response.headers.get('retry-after')).toBe('3');
  });

  it('rejects a redirect, an unreachable server, an abort and a body it cannot send', async () => {
    handle = (_req, _body, res) => res.writeHead(302, { Location: 'https://example.invalid/' }).end();
    await expect(httpFetch(`${base}/api/x`, { method: 'POST', body: '', redirect: 'error' })).rejects.toThrow(/redirect/);

    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const { port } = gone.address() as AddressInfo;
    await new Promise((resolve) => gone.close(resolve));
    await expect(httpFetch(`http://127.0.0.1:${port}/api/x`, { method: 'POST', body: '' })).rejects.toThrow();

    handle = () => {}; // never answers
    const controller = new AbortController();
    const pending = httpFetch(`${base}/api/x`, { method: 'POST', body: '', signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toThrow(/abort/i);

    await expect(httpFetch(`${base}/api/x`, { method: 'POST', body: new FormData() })).rejects.toThrow(/string bodies only/);
  });

  it('carries a WebClient call, whose timeout ends a call that gets no answer', async () => {
    handle = (_req, body, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ok: true, echo: body }));
    const client = new WebClient('xoxb-1', { slackApiUrl: `${base}/api/`, fetch: httpFetch, retryConfig: { retries: 0 }, timeout: 200 });
    const result = await client.chat.postMessage({ channel: 'C1', text: 'hi' });
    expect(result.ok).toBe(true);
    expect(String((result as { echo?: unknown }).echo)).toContain('text=hi');

    handle = () => {}; // never answers
    await expect(client.chat.postMessage({ channel: 'C1', text: 'hi' })).rejects.toMatchObject({ code: 'slack_webapi_request_error' });
  });
});
