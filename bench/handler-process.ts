import { spawn, type ChildProcess } from 'node:child_process';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { CHILD_PREAMBLE, LAMBDA_NODE_OPTIONS } from './cold-start';

// The deployed bundle in a process of its own, kept warm: a plain `node` (NODE_OPTIONS as the
// bot's Lambda) that requires the CommonJS bundle once and then answers one event per IPC
// message, as a warm Lambda container answers one invocation at a time. The child times each
// handler call itself and measures its own CPU time for it (process.cpuUsage before and after):
// dynalite and the stand-ins run in this, the parent, process, so their work is not in it, and a
// busy machine stretches the wall time far more than the CPU time.

export interface Invocation {
  result: unknown;
  /** Wall time of the handler call, inside the child. */
  ms: number;
  /** CPU time (user + system) of the child during the call. */
  cpuMs: number;
}

export interface HandlerProcess {
  invoke(event: LambdaFunctionURLEvent): Promise<Invocation>;
  /** Non-loopback connections the child attempted (and refused). */
  refused(): Promise<string[]>;
  close(): Promise<void>;
}

const CHILD = `${CHILD_PREAMBLE}
const { handler } = require(process.env.BENCH_BUNDLE);
process.on('message', (m) => {
  if (m.refused) { process.send({ id: m.id, refused }); return; }
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  handler(m.event, context).then(
    (result) => {
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      process.send({ id: m.id, result, ms, cpuMs: (cpu.user + cpu.system) / 1000 });
    },
    (error) => process.send({ id: m.id, error: String((error && error.stack) || error) }),
  );
});
process.send({ ready: true });
`;

interface Answer {
  id?: number;
  ready?: boolean;
  result?: unknown;
  ms?: number;
  cpuMs?: number;
  error?: string;
  refused?: string[];
}

export async function startHandlerProcess(bundle: string, env: Record<string, string>, nodeOptions: string = LAMBDA_NODE_OPTIONS): Promise<HandlerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['-e', CHILD], {
    env: { PATH: process.env.PATH ?? '', ...env, NODE_OPTIONS: nodeOptions, BENCH_BUNDLE: bundle },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const waiting = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let exited: Error | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    child.on('message', (raw) => {
      const a = raw as Answer;
      if (a.ready) return resolve();
      const w = a.id !== undefined ? waiting.get(a.id) : undefined;
      if (!w || a.id === undefined) return;
      waiting.delete(a.id);
      w.resolve(a);
    });
    child.on('exit', (code) => {
      exited = new Error(`bench: the handler process of ${bundle} exited ${code}\n${stderr}`);
      reject(exited);
      for (const w of waiting.values()) w.reject(exited);
      waiting.clear();
    });
  });
  await ready;
  const ask = (message: Record<string, unknown>): Promise<Answer> =>
    new Promise((resolve, reject) => {
      if (exited) return reject(exited);
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      child.send({ ...message, id });
    });
  return {
    invoke: async (event) => {
      const a = await ask({ event });
      if (a.error !== undefined) throw new Error(`bench: the bundled handler threw: ${a.error}`);
      return { result: a.result, ms: a.ms ?? 0, cpuMs: a.cpuMs ?? 0 };
    },
    refused: async () => (await ask({ refused: true })).refused ?? [],
    close: async () => {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill();
      await gone;
    },
  };
}
