import type { IncomingMessage, ServerResponse } from 'node:http';

// GET /sandbox/stream: the page's live updates, as server-sent events. Each says only "something
// changed" with a version; the page then reads /sandbox/state again.

export interface LiveUpdates {
  open(req: IncomingMessage, res: ServerResponse): void;
  /** Ends every stream. */
  close(): void;
}

export function liveUpdates(onChange: (listener: () => void) => () => void): LiveUpdates {
  const streams = new Set<ServerResponse>();
  let pending: ReturnType<typeof setTimeout> | undefined;
  let version = 0;
  // Many changes land together (a post, an update, a table write): one event per burst.
  const unsubscribe = onChange(() => {
    version += 1;
    if (pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      for (const res of streams) res.write(`event: change\ndata: ${version}\n\n`);
    }, 50);
  });
  const keepAlive = setInterval(() => {
    for (const res of streams) res.write(': keep-alive\n\n');
  }, 15_000);
  keepAlive.unref();

  const open = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`retry: 1000\nevent: change\ndata: ${version}\n\n`);
    streams.add(res);
    req.on('close', () => streams.delete(res));
  };
  const close = () => {
    unsubscribe();
    clearInterval(keepAlive);
    if (pending) clearTimeout(pending);
    for (const res of streams) res.end();
    streams.clear();
  };
  return { open, close };
}
