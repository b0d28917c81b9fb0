import type { ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Clock } from '../domain/ports';
import type { DeadLetter, Fired } from './scheduler-firing';
import { createFiring, dueAt } from './scheduler-firing';
import type { Schedule, ScheduleBody } from './scheduler-schedule';
import { checkName, copySchedule, scheduleFromBody, SchedulerError, wireSchedule } from './scheduler-schedule';
import { readBody, answerJson } from './wire';

// EventBridge Scheduler on loopback, speaking what @aws-sdk/client-scheduler sends (restJson1:
// the operation is the method and path, errors carry `x-amzn-ErrorType` and `{ Message }`), so
// the real SchedulerClient with `endpoint` (or AWS_ENDPOINT_URL_SCHEDULER) set to it works
// unchanged. Signatures are not checked. Only one-time `at(...)` schedules in UTC exist here:
// they are what a build's deadline needs, and time moves only when the owner calls fireDue.

export type { DeadLetter, Fired } from './scheduler-firing';
export type { Schedule } from './scheduler-schedule';

export type SchedulerOperation = 'CreateSchedule' | 'GetSchedule' | 'UpdateSchedule' | 'DeleteSchedule' | 'ListSchedules';

export interface SchedulerRequest {
  operation: SchedulerOperation | 'Unknown';
  method: string;
  path: string;
  query: Record<string, string>;
  /** The JSON body, parsed; undefined for GET and DELETE. */
  body: unknown;
  /** The injected clock's time on arrival. */
  at: Date;
}

export interface SchedulerStandInOptions {
  clock: Clock;
  /** Where TerminateInstances goes when a deadline fires; without it every such firing dead-letters. */
  ec2Endpoint?: string;
  region?: string;
  accountId?: string;
  /** For the EC2Client the firing uses; the EC2 stand-in is not expected to check them. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Schedule groups besides `default`. */
  groups?: string[];
  /** The second of the scheduled minute at which a schedule fires; 59 (the latest AWS may fire) unless told. */
  fireSecond?: number;
  /** ListSchedules page size when the caller gives no MaxResults; small, so callers' paging is exercised. */
  pageSize?: number;
}

export interface SchedulerStandIn {
  endpoint: string;
  /** Copies of the stored schedules, ordered by group and name. */
  schedules(): Schedule[];
  /** Every target invocation, in order. */
  fired: Fired[];
  /** What the dead-letter queue would have received: invocations whose every attempt failed. */
  deadLetters: DeadLetter[];
  requests: SchedulerRequest[];
  /** Fires each ENABLED schedule whose firing instant has come by the clock; answers what fired in this call. */
  fireDue(): Promise<Fired[]>;
  /** The next call of `operation` is answered with this error (queued: several calls queue several errors). */
  failNext(operation: SchedulerOperation, errorType: string, status: number, message?: string): void;
  /** Tests: forget every schedule, firing, request and queued failure. */
  reset(): void;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json';

function answerError(res: ServerResponse, error: SchedulerError): void {
  // The SDK's restJson1 reads the code from this header first; the body only carries the message.
  answerJson(res, error.status, { Message: error.message }, JSON_TYPE, { 'x-amzn-ErrorType': error.type });
}

function operationOf(method: string, segments: string[]): SchedulerOperation | 'Unknown' {
  if (segments[0] !== 'schedules') return 'Unknown';
  if (segments.length === 1) return method === 'GET' ? 'ListSchedules' : 'Unknown';
  if (segments.length !== 2) return 'Unknown';
  const byMethod: Record<string, SchedulerOperation> = {
    POST: 'CreateSchedule',
    GET: 'GetSchedule',
    PUT: 'UpdateSchedule',
    DELETE: 'DeleteSchedule',
  };
  return byMethod[method] ?? 'Unknown';
}

const key = (group: string, name: string) => `${group}/${name}`;
const epochSeconds = (date: Date) => date.getTime() / 1000;

export async function startSchedulerStandIn(options: SchedulerStandInOptions): Promise<SchedulerStandIn> {
  const { clock } = options;
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '123456789012';
  const groups = new Set(['default', ...(options.groups ?? [])]);
  const pageSize = options.pageSize ?? 2;
  const stored = new Map<string, Schedule>();
  const fired: Fired[] = [];
  const deadLetters: DeadLetter[] = [];
  const requests: SchedulerRequest[] = [];
  const failures = new Map<SchedulerOperation, SchedulerError[]>();
  const firing = createFiring({
    ec2Endpoint: options.ec2Endpoint,
    region,
    credentials: options.credentials ?? { accessKeyId: 'test-access-key', secretAccessKey: 'test-secret-key' },
    fireSecond: options.fireSecond ?? 59,
  });

  const groupOf = (value: unknown): string => {
    const group = typeof value === 'string' && value.length > 0 ? value : 'default';
    checkName(group, 'GroupName');
    if (!groups.has(group)) throw new SchedulerError('ResourceNotFoundException', 404, `Schedule group ${group} does not exist.`);
    return group;
  };
  const find = (group: string, name: string): Schedule => {
    const schedule = stored.get(key(group, name));
    if (!schedule) throw new SchedulerError('ResourceNotFoundException', 404, `Schedule ${name} does not exist.`);
    return schedule;
  };
  const sorted = () => [...stored.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  const create = (name: string, body: ScheduleBody) => {
    const group = groupOf(body.GroupName);
    checkName(name, 'Name');
    const existing = stored.get(key(group, name));
    // The SDK fills ClientToken once per call and keeps it across its retries: a retry of a
    // create that landed is the same request, not a conflict.
    if (existing && typeof body.ClientToken === 'string' && existing.clientToken === body.ClientToken) return { ScheduleArn: existing.Arn };
    if (existing) throw new SchedulerError('ConflictException', 409, `Schedule ${name} already exists.`);
    const now = epochSeconds(clock.now());
    const arn = `arn:aws:scheduler:${region}:${accountId}:schedule/${group}/${name}`;
    const schedule = scheduleFromBody(name, body, { arn, groupName: group, creationDate: now, now });
    if (typeof body.ClientToken === 'string') schedule.clientToken = body.ClientToken;
    stored.set(key(group, name), schedule);
    return { ScheduleArn: arn };
  };

  const update = (name: string, body: ScheduleBody) => {
    const group = groupOf(body.GroupName);
    const existing = find(group, name);
    // UpdateSchedule replaces every field: what the body leaves out takes its default again.
    // The firing mark goes too, so moving a fired NONE schedule to a new time arms it again.
    const schedule = scheduleFromBody(name, body, {
      arn: existing.Arn,
      groupName: group,
      creationDate: existing.CreationDate,
      now: epochSeconds(clock.now()),
    });
    if (existing.clientToken !== undefined) schedule.clientToken = existing.clientToken;
    stored.set(key(group, name), schedule);
    return { ScheduleArn: existing.Arn };
  };

  const list = (query: Record<string, string>) => {
    // The SDK sends ListSchedulesInput.GroupName as the `ScheduleGroup` query parameter.
    const group = query.ScheduleGroup === undefined ? undefined : groupOf(query.ScheduleGroup);
    const state = query.State;
    if (state !== undefined && state !== 'ENABLED' && state !== 'DISABLED')
      throw new SchedulerError('ValidationException', 400, 'State must be ENABLED or DISABLED');
    const max = query.MaxResults === undefined ? pageSize : Number(query.MaxResults);
    if (!Number.isInteger(max) || max < 1 || max > 100) throw new SchedulerError('ValidationException', 400, 'MaxResults must be between 1 and 100');
    let after: string | undefined;
    if (query.NextToken !== undefined) {
      after = Buffer.from(query.NextToken, 'base64url').toString('utf8');
      if (!after.includes('/')) throw new SchedulerError('ValidationException', 400, 'Invalid NextToken');
    }
    // The token names the last key answered, not an offset, so a delete between pages skips nothing.
    const matching = sorted()
      .filter(([k]) => after === undefined || k > after)
      .map(([, s]) => s)
      .filter((s) => group === undefined || s.GroupName === group)
      .filter((s) => query.NamePrefix === undefined || s.Name.startsWith(query.NamePrefix))
      .filter((s) => state === undefined || s.State === state);
    const page = matching.slice(0, max);
    const last = page[page.length - 1];
    return {
      Schedules: page.map((s) => ({
        Arn: s.Arn,
        Name: s.Name,
        GroupName: s.GroupName,
        State: s.State,
        CreationDate: s.CreationDate,
        LastModificationDate: s.LastModificationDate,
        Target: { Arn: s.Target.Arn },
      })),
      ...(matching.length > max && last ? { NextToken: Buffer.from(key(last.GroupName, last.Name)).toString('base64url') } : {}),
    };
  };

  const handle = (operation: SchedulerOperation, name: string, query: Record<string, string>, body: ScheduleBody): unknown => {
    const queued = failures.get(operation)?.shift();
    if (queued) throw queued;
    switch (operation) {
      case 'CreateSchedule':
        return create(name, body);
      case 'UpdateSchedule':
        return update(name, body);
      case 'GetSchedule':
        return wireSchedule(find(groupOf(query.groupName), name));
      case 'DeleteSchedule': {
        const group = groupOf(query.groupName);
        find(group, name);
        stored.delete(key(group, name));
        return {};
      }
      case 'ListSchedules':
        return list(query);
    }
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const method = req.method ?? 'GET';
      const operation = operationOf(method, segments);
      const text = await readBody(req);
      const query = Object.fromEntries(url.searchParams);
      let body: unknown;
      try {
        body = text.length > 0 ? JSON.parse(text) : undefined;
      } catch {
        requests.push({ operation, method, path: url.pathname, query, body: text, at: clock.now() });
        answerError(res, new SchedulerError('SerializationException', 400, 'body is not JSON'));
        return;
      }
      requests.push({ operation, method, path: url.pathname, query, body, at: clock.now() });
      if (operation === 'Unknown') {
        answerError(res, new SchedulerError('UnknownOperationException', 404, `stand-in does not serve ${method} ${url.pathname}`));
        return;
      }
      try {
        answerJson(res, 200, handle(operation, segments[1] ?? '', query, (body ?? {}) as ScheduleBody));
      } catch (error) {
        if (error instanceof SchedulerError) answerError(res, error);
        else throw error;
      }
    })().catch((error: unknown) => {
      if (!res.headersSent) answerError(res, new SchedulerError('InternalServerException', 500, String(error)));
    });
  });

  // One firing pass at a time, so a schedule is never invoked twice by overlapping calls.
  let passes: Promise<unknown> = Promise.resolve();
  const fireDue = (): Promise<Fired[]> => {
    const pass = passes.then(async () => {
      const now = clock.now();
      const due = sorted()
        .map(([k, s]) => ({ k, s, at: dueAt(s, options.fireSecond ?? 59) }))
        .filter(({ s, at }) => s.State === 'ENABLED' && s.firedAt === undefined && at.getTime() <= now.getTime())
        .sort((a, b) => a.at.getTime() - b.at.getTime());
      const firedNow: Fired[] = [];
      for (const { k, s } of due) {
        const outcome = await firing.invoke(s, now);
        fired.push(outcome.fired);
        firedNow.push(outcome.fired);
        if (outcome.deadLetter) deadLetters.push(outcome.deadLetter);
        // Only the record that fired is retired: an UpdateSchedule during the call stays armed.
        if (stored.get(k) !== s) continue;
        // AWS deletes after the last invocation whether the target succeeded or not.
        if (s.ActionAfterCompletion === 'DELETE') stored.delete(k);
        else s.firedAt = now;
      }
      return firedNow;
    });
    passes = pass.catch(() => undefined);
    return pass;
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    schedules: () => sorted().map(([, s]) => copySchedule(s)),
    fired,
    deadLetters,
    requests,
    fireDue,
    failNext: (operation, errorType, status, message = `stand-in failed ${operation} (${errorType})`) => {
      const queue = failures.get(operation) ?? [];
      queue.push(new SchedulerError(errorType, status, message));
      failures.set(operation, queue);
    },
    reset: () => {
      stored.clear();
      failures.clear();
      fired.length = 0;
      deadLetters.length = 0;
      requests.length = 0;
    },
    close: async () => {
      firing.close();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
