import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SandboxRoutes } from './server';
import type { Teardown } from './teardown';

// The ports the sandbox listens on, and what a taken one says.

export class PortInUseError extends Error {
  constructor(
    /** The environment variable that moves it. */
    readonly variable: string,
    readonly port: number,
  ) {
    super(`port ${port} is in use; start on another one with ${variable}=<port>`);
    this.name = 'PortInUseError';
  }
}

function listen(server: Server, port: number, host: string, variable: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' || error.code === 'EACCES' ? new PortInUseError(variable, port) : error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** The one HTTP port: open before anything behind it exists, answering 503 until `serve`. */
export interface FrontPort {
  port: number;
  serve(routes: SandboxRoutes): void;
}

export async function openFrontPort(port: number, host: string, teardown: Teardown): Promise<FrontPort> {
  let routes: SandboxRoutes | undefined;
  const front = createServer((req, res) => {
    if (routes) routes.handle(req, res);
    else {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' });
      res.end('starting');
    }
  });
  const bound = await listen(front, port, host, 'PORT');
  teardown.add(() => closeServer(front));
  return {
    port: bound,
    serve(ready) {
      routes = ready;
      teardown.add(() => {
        routes = undefined;
        ready.close();
      });
    },
  };
}
