import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody, answerJson } from './wire';

// CloudWatch Logs on loopback, speaking awsJson1_1 (POST /, `X-Amz-Target: Logs_20140328.<Op>`) as
// both @aws-sdk/client-cloudwatch-logs and the aws CLI send it, so the build machine's runner
// script (`aws logs create-log-stream`, `aws logs put-log-events`, …) can be pointed at it with
// `--endpoint-url`. Signatures are not checked; sequence tokens are answered but, as on AWS
// today, never required. Only the operations the runner and its tests need are served.

export interface LogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

export interface LogStream {
  name: string;
  creationTime: number;
  events: LogEvent[];
}

export interface LogGroup {
  name: string;
  creationTime: number;
  /** Set by PutRetentionPolicy (the runner sets it after creating the group). */
  retentionInDays?: number;
  streams: LogStream[];
}

export interface CloudWatchLogsStandInOptions {
  /** Log groups that exist from the start (the stack creates the build log group, not the runner). */
  groups?: string[];
  region?: string;
  accountId?: string;
}

export interface LocalCloudWatchLogs {
  endpoint: string;
  /** The groups, their streams and events, in creation order (live objects, do not mutate). */
  groups(): LogGroup[];
  /** The next request is refused with this error type and HTTP status; calls queue. */
  failNext(type: string, status: number, message?: string): void;
  /** Every group, stream and event gone but the groups given at the start (emptied); no failures queued. */
  reset(): void;
  close(): Promise<void>;
}

type Request = Record<string, unknown>;

const TARGET_PREFIX = 'Logs_20140328.';
const DAY_MS = 24 * 60 * 60 * 1000;
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
/** Paging tokens are offsets into the answered list; a foreign token reads as the start. */
const offset = (token: unknown, prefix: string): number | undefined =>
  typeof token === 'string' && token.startsWith(prefix) ? Number(token.slice(prefix.length)) || 0 : undefined;

export async function startCloudWatchLogsStandIn(options: CloudWatchLogsStandInOptions = {}): Promise<LocalCloudWatchLogs> {
  const arnPrefix = `arn:aws:logs:${options.region ?? 'us-east-1'}:${options.accountId ?? '123456789012'}:log-group:`;
  const groups = new Map<string, LogGroup>();
  const failures: ServiceError[] = [];
  let sequence = 0;
  for (const name of options.groups ?? []) groups.set(name, { name, creationTime: Date.now(), streams: [] });

  // logGroupIdentifier may be a name or an ARN (with or without the trailing `:*`).
  const group = (request: Request): LogGroup => {
    const id = str(request.logGroupName) ?? str(request.logGroupIdentifier)?.replace(arnPrefix, '').replace(/:\*$/, '') ?? '';
    const found = groups.get(id);
    if (!found) throw new ServiceError('ResourceNotFoundException', 'The specified log group does not exist.');
    return found;
  };
  const stream = (request: Request): LogStream => {
    const found = group(request).streams.find((s) => s.name === request.logStreamName);
    if (!found) throw new ServiceError('ResourceNotFoundException', 'The specified log stream does not exist.');
    return found;
  };

  const operations: Record<string, (request: Request) => unknown> = {
    CreateLogGroup: (request) => {
      const name = str(request.logGroupName);
      if (!name) throw new ServiceError('InvalidParameterException', 'logGroupName is required.');
      if (groups.has(name)) throw new ServiceError('ResourceAlreadyExistsException', 'The specified log group already exists');
      groups.set(name, { name, creationTime: Date.now(), streams: [] });
      return {};
    },
    PutRetentionPolicy: (request) => {
      const target = group(request);
      const days = num(request.retentionInDays);
      if (days === undefined || !RETENTION_DAYS.includes(days))
        throw new ServiceError(
          'InvalidParameterException',
          `1 validation error detected: Value '${String(request.retentionInDays)}' at 'retentionInDays' failed to satisfy constraint`,
        );
      target.retentionInDays = days;
      return {};
    },
    CreateLogStream: (request) => {
      const target = group(request);
      const name = str(request.logStreamName);
      if (!name) throw new ServiceError('InvalidParameterException', 'logStreamName is required.');
      if (target.streams.some((s) => s.name === name)) throw new ServiceError('ResourceAlreadyExistsException', 'The specified log stream already exists');
      target.streams.push({ name, creationTime: Date.now(), events: [] });
      return {};
    },
    PutLogEvents: (request) => {
      const target = stream(request);
      const batch = Array.isArray(request.logEvents) ? (request.logEvents as Request[]) : [];
      if (batch.length === 0) throw new ServiceError('InvalidParameterException', 'logEvents must contain at least 1 event.');
      const times = batch.map((e) => num(e.timestamp) ?? Number.NaN);
      if (times.some((t, i) => Number.isNaN(t) || (i > 0 && t < (times[i - 1] ?? t))))
        throw new ServiceError('InvalidParameterException', 'Log events in a single PutLogEvents request must be in chronological order.');
      if ((times.at(-1) ?? 0) - (times[0] ?? 0) > DAY_MS)
        throw new ServiceError('InvalidParameterException', 'The batch of log events in a single PutLogEvents request cannot span more than 24 hours.');
      const ingestionTime = Date.now();
      target.events.push(...batch.map((e, i) => ({ timestamp: times[i] ?? 0, message: str(e.message) ?? '', ingestionTime })));
      return { nextSequenceToken: String(++sequence).padStart(56, '0') };
    },
    DescribeLogStreams: (request) => {
      const prefix = str(request.logStreamNamePrefix) ?? '';
      const byTime = request.orderBy === 'LastEventTime';
      if (byTime && prefix) throw new ServiceError('InvalidParameterException', 'Cannot order by LastEventTime with a logStreamNamePrefix.');
      const last = (s: LogStream) => s.events.reduce((m, e) => Math.max(m, e.timestamp), 0);
      const first = (s: LogStream) => s.events.reduce((m, e) => Math.min(m, e.timestamp), Infinity);
      const streams = group(request)
        .streams.filter((s) => s.name.startsWith(prefix))
        .sort((a, b) => (byTime ? last(a) - last(b) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (request.descending === true) streams.reverse();
      const start = offset(request.nextToken, 's/') ?? 0;
      const end = start + (num(request.limit) ?? 50);
      const { name } = group(request);
      return {
        logStreams: streams.slice(start, end).map((s) => ({
          logStreamName: s.name,
          creationTime: s.creationTime,
          arn: `${arnPrefix}${name}:log-stream:${s.name}`,
          storedBytes: 0,
          // Events arrive batch by batch, so the newest ingestion is the last event's.
          ...(s.events.length > 0 && { firstEventTimestamp: first(s), lastEventTimestamp: last(s), lastIngestionTime: s.events.at(-1)?.ingestionTime }),
        })),
        ...(end < streams.length ? { nextToken: `s/${end}` } : {}),
      };
    },
    GetLogEvents: (request) => {
      const from = num(request.startTime) ?? -Infinity;
      const until = num(request.endTime) ?? Infinity;
      const events = stream(request).events.filter((e) => e.timestamp >= from && e.timestamp < until);
      const limit = num(request.limit) ?? 10_000;
      // Without a token AWS answers the newest page unless startFromHead; the tokens page from there.
      const forward = offset(request.nextToken, 'f/');
      const backward = offset(request.nextToken, 'b/');
      const start =
        forward ?? (backward !== undefined ? Math.max(0, backward - limit) : request.startFromHead === true ? 0 : Math.max(0, events.length - limit));
      const end = backward ?? Math.min(events.length, start + limit);
      return { events: events.slice(start, end), nextForwardToken: `f/${end}`, nextBackwardToken: `b/${start}` };
    },
  };

  const server = createServer((req, res) => {
    void (async () => {
      const target = str(req.headers['x-amz-target']) ?? '';
      const body = await readBody(req);
      const operation = target.startsWith(TARGET_PREFIX) ? operations[target.slice(TARGET_PREFIX.length)] : undefined;
      if (req.method !== 'POST' || !operation) throw new ServiceError('UnknownOperationException', `stand-in does not serve ${target || '(no X-Amz-Target)'}`);
      let request: unknown;
      try {
        request = JSON.parse(body || '{}');
      } catch {
        throw new ServiceError('SerializationException', 'body is not JSON');
      }
      const failure = failures.shift();
      if (failure) throw failure;
      answerJson(res, 200, operation((request ?? {}) as Request));
    })().catch((error: unknown) => {
      if (res.headersSent) return;
      const e = error instanceof ServiceError ? error : new ServiceError('ServiceUnavailableException', String(error), 500);
      answerJson(res, e.status, { __type: e.type, message: e.message });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    groups: () => [...groups.values()],
    failNext: (type, status, message = `stand-in refused the request (${type})`) => {
      failures.push(new ServiceError(type, message, status));
    },
    reset: () => {
      groups.clear();
      failures.length = 0;
      for (const name of options.groups ?? []) groups.set(name, { name, creationTime: Date.now(), streams: [] });
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
