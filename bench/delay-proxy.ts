import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { bodyOf, listenOnLoopback } from '../stand-ins/loopback-proxy';

// The latency model's delaying proxy: an HTTP proxy on loopback in front of one stand-in that
// holds each request `delayMs` before forwarding it (one round trip to the service, as seen from
// a Lambda in the same region), and counts the calls by kind (the AWS operation from
// X-Amz-Target or, for EC2's Query protocol, the body's Action; the Slack method from the path).
// A connection the service drops (Slack unreachable) is dropped here too, not turned into an
// answer. Clients pointed at it change nothing else.

/** One call as it was forwarded: `receivedAt` from the client, `forwardedAt` to the service (performance.now()). */
export interface ForwardedCall {
  kind: string;
  body: Buffer;
  receivedAt: number;
  forwardedAt: number;
}

export interface DelayProxy {
  name: string;
  endpoint: string;
  delayMs: number;
  /** Calls since the last reset, by kind (PutItem, chat.postMessage…). */
  calls: Map<string, number>;
  total(): number;
  /** Called as each call reaches the service (after its delay); the latency model's timestamps. */
  onForward: ((call: ForwardedCall) => void) | undefined;
  reset(): void;
  close(): Promise<void>;
}

function kindOf(req: IncomingMessage, body: Buffer): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').pop() ?? target;
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  // EC2 (AWS Query protocol): POST / with Action=… in the form body.
  const action = path === '/' ? new URLSearchParams(body.toString('utf8')).get('Action') : null;
  return action ?? path.split('/').filter(Boolean).pop() ?? path;
}

export async function startDelayProxy(name: string, target: string, delayMs: number): Promise<DelayProxy> {
  const to = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const calls = new Map<string, number>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const receivedAt = performance.now();
    const body = await bodyOf(req);
    const kind = kindOf(req, body);
    calls.set(kind, (calls.get(kind) ?? 0) + 1);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    proxy.onForward?.({ kind, body, receivedAt, forwardedAt: performance.now() });
    const headers = { ...req.headers, host: to.host };
    await new Promise<void>((resolve, reject) => {
      const out = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers, agent }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', resolve);
        answer.on('error', reject);
      });
      out.on('error', (error) => {
        // The service dropped the connection before answering: so does the proxy.
        if (res.headersSent) return reject(error);
        req.socket.destroy();
        resolve();
      });
      out.end(body);
    });
  };

  const server = await listenOnLoopback(handle);
  const proxy: DelayProxy = {
    name,
    endpoint: `${server.origin}${to.pathname === '/' ? '' : to.pathname}`,
    delayMs,
    calls,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    onForward: undefined,
    reset: () => calls.clear(),
    close: async () => {
      agent.destroy();
      await server.close();
    },
  };
  return proxy;
}
