import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody, answerJson } from './wire';

// EventBridge PutEvents on loopback, speaking what @aws-sdk/client-eventbridge sends (awsJson1_1:
// POST /, `X-Amz-Target: AWSEvents.PutEvents`, JSON body), so the real EventBridgeClient with
// `endpoint` (or AWS_ENDPOINT_URL_EVENTBRIDGE) set to it works unchanged. Signatures are not
// checked. The sandbox routes the accepted entries to the handlers through `onPut`.

export interface PutEntry {
  /** The EventId answered to the caller. */
  id: string;
  source: string;
  detailType: string;
  detail: unknown;
  eventBusName?: string;
  /** The entry's Time when given, else when it arrived. */
  time: string;
}

export type PutListener = (entry: PutEntry) => void | Promise<void>;

export interface LocalEventBridge {
  endpoint: string;
  /** Accepted entries, in order; `clear()` empties them (listeners stay). */
  entries: PutEntry[];
  /** Called for each accepted entry after the HTTP answer went out, as EventBridge delivers after PutEvents returns. */
  /** Returns a function that removes the listener again. */
  onPut(listener: PutListener): () => void;
  /** The next `count` entries are refused with this code (FailedEntryCount > 0), not recorded. */
  failNext(count: number, errorCode?: string): void;
  /** Errors thrown by listeners (a listener failing never breaks PutEvents). */
  listenerErrors: unknown[];
  /** Resolves once every listener call started so far (and any they caused) has finished. */
  idle(): Promise<void>;
  clear(): void;
  close(): Promise<void>;
}

interface WireEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Time?: string | number;
}

type WireResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** The SDK sends Time as epoch seconds. */
function entryTime(time: WireEntry['Time']): string {
  if (typeof time === 'number') return new Date(time * 1000).toISOString();
  if (typeof time === 'string' && !Number.isNaN(Date.parse(time))) return new Date(time).toISOString();
  return new Date().toISOString();
}

export async function startEventBridge(): Promise<LocalEventBridge> {
  const entries: PutEntry[] = [];
  const listeners: PutListener[] = [];
  const listenerErrors: unknown[] = [];
  const pending = new Set<Promise<void>>();
  let failures: { count: number; code: string } = { count: 0, code: 'InternalFailure' };

  // Registered before the answer goes out, so `idle()` called on receipt of the answer waits for them.
  const deliver = (entry: PutEntry, answered: Promise<void>) => {
    for (const listener of listeners) {
      const call = answered
        .then(() => listener(entry))
        .catch((error: unknown) => {
          listenerErrors.push(error);
        })
        .finally(() => pending.delete(call));
      pending.add(call);
    }
  };

  const accept = (entry: WireEntry): { result: WireResult; accepted?: PutEntry } => {
    if (failures.count > 0) {
      failures.count--;
      return { result: { ErrorCode: failures.code, ErrorMessage: `stand-in refused the entry (${failures.code})` } };
    }
    if (!entry.Source || !entry.DetailType || entry.Detail === undefined)
      return { result: { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameters Source, DetailType and Detail are required' } };
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      return { result: { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' } };
    }
    const id = randomUUID();
    const accepted: PutEntry = {
      id,
      source: entry.Source,
      detailType: entry.DetailType,
      detail,
      ...(entry.EventBusName ? { eventBusName: entry.EventBusName } : {}),
      time: entryTime(entry.Time),
    };
    return { result: { EventId: id }, accepted };
  };

  const server = createServer((req, res) => {
    void (async () => {
      const target = req.headers['x-amz-target'];
      const body = await readBody(req);
      if (req.method !== 'POST' || target !== 'AWSEvents.PutEvents') {
        answerJson(res, 400, { __type: 'UnknownOperationException', message: `stand-in supports only PutEvents, got ${String(target)}` });
        return;
      }
      let request: { Entries?: WireEntry[] };
      try {
        request = JSON.parse(body) as { Entries?: WireEntry[] };
      } catch {
        answerJson(res, 400, { __type: 'SerializationException', message: 'body is not JSON' });
        return;
      }
      const outcomes = (request.Entries ?? []).map(accept);
      const accepted = outcomes.flatMap((o) => (o.accepted ? [o.accepted] : []));
      entries.push(...accepted);
      const answered = new Promise<void>((resolve) => res.once('close', resolve));
      for (const entry of accepted) deliver(entry, answered);
      answerJson(res, 200, { FailedEntryCount: outcomes.length - accepted.length, Entries: outcomes.map((o) => o.result) });
    })().catch((error: unknown) => {
      if (!res.headersSent) answerJson(res, 500, { __type: 'InternalException', message: String(error) });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    entries,
    listenerErrors,
    onPut: (listener) => {
      listeners.push(listener);
      return () => {
        const i = listeners.indexOf(listener);
        if (i >= 0) listeners.splice(i, 1);
      };
    },
    failNext: (count, errorCode = 'InternalFailure') => {
      failures = { count, code: errorCode };
    },
    idle: async () => {
      // A listener may put further events, whose deliveries join `pending` while we wait.
      while (pending.size > 0) await Promise.all([...pending]);
    },
    clear: () => {
      entries.length = 0;
      listenerErrors.length = 0;
      failures = { count: 0, code: 'InternalFailure' };
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
