import { createHash } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, request } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

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
  const sockets = new Set<Socket>();
  let held = 0;
  let armed = 0;

  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
      const out = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
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
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
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

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
