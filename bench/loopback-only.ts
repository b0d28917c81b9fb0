import net from 'node:net';

// "No network" is a budget line, so it is checked rather than assumed: every socket this process
// opens goes through net.Socket#connect, and anything but loopback (or a local pipe) is refused
// and counted. The cold-start children get the same guard (see COLD_START_GUARD in cold-start.ts).

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '::ffff:127.0.0.1']);

export const refusedConnections: string[] = [];

type ConnectArgs = Parameters<net.Socket['connect']>;

function target(args: unknown[]): { host?: string; path?: string } {
  const first = args[0];
  if (Array.isArray(first)) return target(first);
  if (typeof first === 'object' && first !== null) {
    const o = first as { host?: string; path?: string };
    return { ...(o.host !== undefined ? { host: o.host } : {}), ...(o.path !== undefined ? { path: o.path } : {}) };
  }
  if (typeof first === 'string' && typeof args[1] !== 'string') return { path: first };
  return { host: typeof args[1] === 'string' ? args[1] : 'localhost' };
}

let installed = false;

export function allowLoopbackOnly(): void {
  if (installed) return;
  installed = true;
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guarded(this: net.Socket, ...args: unknown[]) {
    const { host, path } = target(args);
    if (path === undefined && !LOOPBACK.has(host ?? 'localhost')) {
      refusedConnections.push(host ?? '?');
      throw new Error(`bench: refused a connection to ${host ?? '?'} (loopback only)`);
    }
    return connect.apply(this, args as ConnectArgs);
  } as net.Socket['connect'];
}
