import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, request } from 'node:http';
import { bodyOf, listenOnLoopback } from '../stand-ins/loopback-proxy';

// The latency model's delaying proxy: an HTTP proxy on loopback in front of one stand-in that
// holds each request `delayMs` before forwarding it (one round trip to the service, as seen from
// a Lambda in the same region), and counts the calls by kind (the AWS operation from
// X-Amz-Target, the Slack method from the path). Clients pointed at it change nothing else.

export interface DelayProxy {
  name: string;
  endpoint: string;
  delayMs: number;
  /** Calls since the last reset, by kind (PutItem, chat.postMessage…). */
  calls: Map<string, number>;
  total(): number;
  reset(): void;
  close(): Promise<void>;
}

function kindOf(req: IncomingMessage): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').pop() ?? target;
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  return path.split('/').filter(Boolean).pop() ?? path;
}

export async function startDelayProxy(name: string, target: string, delayMs: number): Promise<DelayProxy> {
  const to = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const calls = new Map<string, number>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await bodyOf(req);
    const kind = kindOf(req);
    calls.set(kind, (calls.get(kind) ?? 0) + 1);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const headers = { ...req.headers, host: to.host };
    await new Promise<void>((resolve, reject) => {
      const out = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers, agent }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', resolve);
        answer.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });
  };

  const server = await listenOnLoopback(handle);
  return {
    name,
    endpoint: `${server.origin}${to.pathname === '/' ? '' : to.pathname}`,
    delayMs,
    calls,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    reset: () => calls.clear(),
    close: async () => {
      agent.destroy();
      await server.close();
    },
  };
}
