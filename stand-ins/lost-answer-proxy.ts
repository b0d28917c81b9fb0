import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'node:http';
import { bodyOf, listenOnLoopback } from './loopback-proxy';

// A proxy in front of dynalite that loses the answers of writes: each write is forwarded at
// once (so it lands), but its answer is held past the client's timeout, as when a Lambda's
// connection to DynamoDB drops after the write. The SDK then sends the same request again; the
// proxy answers that retry at once. This is the fault behind "a write that landed but whose
// answer was lost" and is what the store's write ids (AppliedOps) are tested against.

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem']);

export interface LostAnswerProxy {
  endpoint: string;
  /** How many write answers were held back (each one a write that landed unseen). */
  readonly held: number;
  /** Lose the answer of every first-seen write while this is true (default true). */
  losing: boolean;
  /** Besides `losing`: lose the answers of the next `n` first-seen writes. */
  loseNext(n: number): void;
  close(): Promise<void>;
}

export async function startLostAnswerProxy(options: { target: string; holdMs: number }): Promise<LostAnswerProxy> {
  const target = new URL(options.target);
  const seen = new Set<string>();
  let held = 0;
  let armed = 0;

  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
      const out = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });

  const proxy: LostAnswerProxy = {
    endpoint: '',
    get held() {
      return held;
    },
    losing: true,
    loseNext: (n) => {
      armed += n;
    },
    // `server` exists by the time anyone can call close: the proxy is returned after listening.
    close: () => server.close(),
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await bodyOf(req);
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    // A retry carries the same body (the signature headers differ): its answer goes through.
    const key = `${operation}:${createHash('sha256').update(body).digest('hex')}`;
    const fresh = WRITES.has(operation) && !seen.has(key);
    const lose = fresh && (proxy.losing || armed > 0);
    if (lose && !proxy.losing) armed--;
    seen.add(key);
    const answer = await forward(req, body);
    if (lose) {
      held++;
      await new Promise((resolve) => setTimeout(resolve, options.holdMs));
    }
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  };

  const server = await listenOnLoopback(handle);
  proxy.endpoint = server.origin;
  return proxy;
}
