import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  GetScheduleCommand,
  paginateListSchedules,
  ResourceNotFoundException,
  SchedulerClient,
  ThrottlingException,
  UpdateScheduleCommand,
  ValidationException,
} from '@aws-sdk/client-scheduler';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { startSchedulerStandIn, type SchedulerStandIn } from '../../stand-ins/scheduler';

// The Scheduler stand-in driven by the real SchedulerClient: what these tests send and read
// back is what @aws-sdk/client-scheduler puts on and takes off the wire.

const credentials = { accessKeyId: 'test-access-key', secretAccessKey: 'test-secret-key' };
const TERMINATE = 'arn:aws:scheduler:::aws-sdk:ec2:terminateInstances';
const ROLE = 'arn:aws:iam::123456789012:role/metal-build-deadline';

/** EC2's Query API, just enough for TerminateInstances: records each form body, answers OK or the next queued error. */
async function startFakeEc2() {
  const bodies: URLSearchParams[] = [];
  const errors: { status: number; code: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      bodies.push(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const error = errors.shift();
      const xml = error
        ? `<Response><Errors><Error><Code>${error.code}</Code><Message>fake EC2 says no</Message></Error></Errors><RequestID>x</RequestID></Response>`
        : '<TerminateInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>x</requestId><instancesSet/></TerminateInstancesResponse>';
      res.writeHead(error?.status ?? 200, { 'content-type': 'text/xml' });
      res.end(xml);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    reset: () => {
      bodies.length = 0;
      errors.length = 0;
    },
    failNext: (count: number, status = 500, code = 'InternalError') => {
      for (let i = 0; i < count; i++) errors.push({ status, code });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function deadline(name: string, at: string, extra: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput {
  return {
    Name: name,
    ScheduleExpression: `at(${at})`,
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: { Arn: TERMINATE, RoleArn: ROLE, Input: JSON.stringify({ InstanceIds: ['i-0abc'] }) },
    ActionAfterCompletion: 'DELETE',
    ...extra,
  };
}

const expectError = async (promise: Promise<unknown>) => {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error & { $metadata: { httpStatusCode?: number } };
};

describe('Scheduler stand-in', () => {
  let ec2: Awaited<ReturnType<typeof startFakeEc2>>;
  let scheduler: SchedulerStandIn;
  let client: SchedulerClient;
  let now: Date;
  const setClock = (iso: string) => {
    now = new Date(iso);
  };

  const start = async (options: { fireSecond?: number } = {}) => {
    scheduler = await startSchedulerStandIn({
      clock: { now: () => now },
      ec2Endpoint: ec2.endpoint,
      credentials,
      groups: ['metal-builds'],
      ...options,
    });
    client = new SchedulerClient({ endpoint: scheduler.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  };

  beforeAll(async () => {
    ec2 = await startFakeEc2();
  });
  afterAll(async () => {
    await ec2.close();
  });
  beforeEach(async () => {
    setClock('2026-12-02T08:00:00.000Z');
    ec2.reset();
    await start();
  });
  afterEach(async () => {
    client.destroy();
    await scheduler.close();
  });

  describe('schedules', () => {
    it('reads back every field it was given, with ARN and dates', async () => {
      const created = await client.send(
        new CreateScheduleCommand({
          Name: 'build-20261202-080000-a1b2',
          GroupName: 'metal-builds',
          ScheduleExpression: 'at(2026-12-02T11:00:00)',
          ScheduleExpressionTimezone: 'UTC',
          FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 5 },
          Target: {
            Arn: TERMINATE,
            RoleArn: ROLE,
            Input: '{"InstanceIds":["i-0abc"]}',
            RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3 },
            DeadLetterConfig: { Arn: 'arn:aws:sqs:us-east-1:123456789012:deadlines-dlq' },
          },
          ActionAfterCompletion: 'NONE',
          State: 'DISABLED',
          Description: 'deadline of build-20261202-080000-a1b2',
        }),
      );
      const arn = 'arn:aws:scheduler:us-east-1:123456789012:schedule/metal-builds/build-20261202-080000-a1b2';
      expect(created.ScheduleArn).toBe(arn);

      const got = await client.send(new GetScheduleCommand({ Name: 'build-20261202-080000-a1b2', GroupName: 'metal-builds' }));
      expect(got).toMatchObject({
        Arn: arn,
        Name: 'build-20261202-080000-a1b2',
        GroupName: 'metal-builds',
        ScheduleExpression: 'at(2026-12-02T11:00:00)',
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 5 },
        Target: {
          Arn: TERMINATE,
          RoleArn: ROLE,
          Input: '{"InstanceIds":["i-0abc"]}',
          RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3 },
          DeadLetterConfig: { Arn: 'arn:aws:sqs:us-east-1:123456789012:deadlines-dlq' },
        },
        ActionAfterCompletion: 'NONE',
        State: 'DISABLED',
        Description: 'deadline of build-20261202-080000-a1b2',
        CreationDate: now,
        LastModificationDate: now,
      });
      expect(scheduler.requests[0]).toMatchObject({ operation: 'CreateSchedule', method: 'POST', path: '/schedules/build-20261202-080000-a1b2' });
    });

    it('is reached through AWS_ENDPOINT_URL_SCHEDULER by a client without an endpoint', async () => {
      process.env.AWS_ENDPOINT_URL_SCHEDULER = scheduler.endpoint;
      const fromEnv = new SchedulerClient({ region: 'us-east-1', credentials, maxAttempts: 1 });
      try {
        await fromEnv.send(new CreateScheduleCommand(deadline('d1', '2026-12-02T11:00:00')));
        expect(scheduler.schedules().map((s) => s.Name)).toEqual(['d1']);
      } finally {
        fromEnv.destroy();
        delete process.env.AWS_ENDPOINT_URL_SCHEDULER;
      }
    });

    it('defaults the group, timezone, state and action after completion as AWS does', async () => {
      await client.send(new CreateScheduleCommand({ ...deadline('d1', '2026-12-02T11:00:00'), ActionAfterCompletion: undefined }));
      const got = await client.send(new GetScheduleCommand({ Name: 'd1' }));
      expect(got).toMatchObject({ GroupName: 'default', ScheduleExpressionTimezone: 'UTC', State: 'ENABLED', ActionAfterCompletion: 'NONE' });
    });

    it('UpdateSchedule replaces the whole schedule and keeps its creation date', async () => {
      await client.send(new CreateScheduleCommand(deadline('d1', '2026-12-02T11:00:00', { Description: 'first' })));
      setClock('2026-12-02T09:30:00.000Z');
      await client.send(new UpdateScheduleCommand({ ...deadline('d1', '2026-12-02T12:00:00'), State: 'DISABLED' }));
      const got = await client.send(new GetScheduleCommand({ Name: 'd1' }));
      expect(got.ScheduleExpression).toBe('at(2026-12-02T12:00:00)');
      expect(got.State).toBe('DISABLED');
      expect(got.Description).toBeUndefined();
      expect(got.CreationDate).toEqual(new Date('2026-12-02T08:00:00.000Z'));
      expect(got.LastModificationDate).toEqual(now);
    });

    it('DeleteSchedule removes it; deleting or reading it again is ResourceNotFoundException 404', async () => {
      await client.send(new CreateScheduleCommand(deadline('d1', '2026-12-02T11:00:00')));
      await client.send(new DeleteScheduleCommand({ Name: 'd1' }));
      expect(scheduler.schedules()).toEqual([]);
      for (const command of [new GetScheduleCommand({ Name: 'd1' }), new DeleteScheduleCommand({ Name: 'd1' })]) {
        const error = await expectError(client.send(command as GetScheduleCommand));
        expect(error).toBeInstanceOf(ResourceNotFoundException);
        expect(error.$metadata.httpStatusCode).toBe(404);
      }
      const update = await expectError(client.send(new UpdateScheduleCommand(deadline('d1', '2026-12-02T11:00:00'))));
      expect(update).toBeInstanceOf(ResourceNotFoundException);
    });

    it('lists in small pages across groups, filtered by group, prefix and state', async () => {
      for (const name of ['a1', 'a2', 'a3', 'b1']) await client.send(new CreateScheduleCommand(deadline(name, '2026-12-02T11:00:00')));
      await client.send(new CreateScheduleCommand(deadline('a4', '2026-12-02T11:00:00', { GroupName: 'metal-builds', State: 'DISABLED' })));

      const collect = async (input: Parameters<typeof paginateListSchedules>[1]) => {
        const names: string[] = [];
        for await (const page of paginateListSchedules({ client }, input)) names.push(...(page.Schedules ?? []).map((s) => `${s.GroupName}/${s.Name}`));
        return names;
      };
      expect(await collect({})).toEqual(['default/a1', 'default/a2', 'default/a3', 'default/b1', 'metal-builds/a4']);
      expect(scheduler.requests.filter((r) => r.operation === 'ListSchedules')).toHaveLength(3);
      expect(await collect({ GroupName: 'default', NamePrefix: 'a' })).toEqual(['default/a1', 'default/a2', 'default/a3']);
      expect(await collect({ State: 'DISABLED' })).toEqual(['metal-builds/a4']);
      expect(scheduler.requests.at(-2)?.query).toEqual({ ScheduleGroup: 'default', NamePrefix: 'a', NextToken: expect.any(String) });

      const page = await paginateListSchedules({ client, pageSize: 1 }, { GroupName: 'metal-builds' }).next();
      expect(page.value?.Schedules).toEqual([
        {
          Arn: expect.stringContaining(':schedule/metal-builds/a4'),
          Name: 'a4',
          GroupName: 'metal-builds',
          State: 'DISABLED',
          CreationDate: now,
          LastModificationDate: now,
          Target: { Arn: TERMINATE },
        },
      ]);
    });
  });

  describe('errors', () => {
    it('creating an existing name is ConflictException 409', async () => {
      await client.send(new CreateScheduleCommand(deadline('d1', '2026-12-02T11:00:00')));
      const error = await expectError(client.send(new CreateScheduleCommand(deadline('d1', '2026-12-02T11:00:00'))));
      expect(error).toBeInstanceOf(ConflictException);
      expect(error.$metadata.httpStatusCode).toBe(409);
      expect(error.message).toContain('d1');
    });

    it('a create repeated with its ClientToken (an SDK retry after a lost answer) succeeds again', async () => {
      const first = await client.send(new CreateScheduleCommand({ ...deadline('d1', '2026-12-02T11:00:00'), ClientToken: 'token-1' }));
      const again = await client.send(new CreateScheduleCommand({ ...deadline('d1', '2026-12-02T11:00:00'), ClientToken: 'token-1' }));
      expect(again.ScheduleArn).toBe(first.ScheduleArn);
      const other = await expectError(client.send(new CreateScheduleCommand({ ...deadline('d1', '2026-12-02T11:00:00'), ClientToken: 'token-2' })));
      expect(other).toBeInstanceOf(ConflictException);
    });

    it('an unknown group is ResourceNotFoundException', async () => {
      const error = await expectError(client.send(new CreateScheduleCommand(deadline('d1', '2026-12-02T11:00:00', { GroupName: 'nope' }))));
      expect(error).toBeInstanceOf(ResourceNotFoundException);
      const list = await expectError(paginateListSchedules({ client }, { GroupName: 'nope' }).next());
      expect(list).toBeInstanceOf(ResourceNotFoundException);
    });

    it.each<[string, Partial<CreateScheduleCommandInput>]>([
      ['a rate expression', { ScheduleExpression: 'rate(5 minutes)' }],
      ['a cron expression', { ScheduleExpression: 'cron(0 12 * * ? *)' }],
      ['a date that does not exist', { ScheduleExpression: 'at(2026-02-30T10:00:00)' }],
      ['no expression', { ScheduleExpression: undefined }],
      ['no FlexibleTimeWindow', { FlexibleTimeWindow: undefined }],
      ['a FLEXIBLE window without its size', { FlexibleTimeWindow: { Mode: 'FLEXIBLE' } }],
      ['an unknown ActionAfterCompletion', { ActionAfterCompletion: 'KEEP' as 'NONE' }],
      ['a timezone other than UTC', { ScheduleExpressionTimezone: 'Europe/Berlin' }],
      ['a target without a role', { Target: { Arn: TERMINATE, RoleArn: undefined as unknown as string } }],
      ['too many retries', { Target: { Arn: TERMINATE, RoleArn: ROLE, RetryPolicy: { MaximumRetryAttempts: 186 } } }],
    ])('%s is ValidationException 400', async (_, change) => {
      const error = await expectError(client.send(new CreateScheduleCommand({ ...deadline('d1', '2026-12-02T11:00:00'), ...change })));
      expect(error).toBeInstanceOf(ValidationException);
      expect(error.$metadata.httpStatusCode).toBe(400);
      expect(scheduler.schedules()).toEqual([]);
    });

    it('failNext answers the next call of that operation with the error; the SDK retries through it by default', async () => {
      scheduler.failNext('GetSchedule', 'ThrottlingException', 429);
      await client.send(new CreateScheduleCommand(deadline('d1', '2026-12-02T11:00:00')));
      const error = await expectError(client.send(new GetScheduleCommand({ Name: 'd1' })));
      expect(error).toBeInstanceOf(ThrottlingException);
      expect(error.$metadata.httpStatusCode).toBe(429);

      scheduler.failNext('CreateSchedule', 'InternalServerException', 500);
      const retrying = new SchedulerClient({ endpoint: scheduler.endpoint, region: 'us-east-1', credentials });
      try {
        await retrying.send(new CreateScheduleCommand(deadline('d2', '2026-12-02T11:00:00')));
      } finally {
        retrying.destroy();
      }
      const creates = scheduler.requests.filter((r) => r.operation === 'CreateSchedule' && r.path.endsWith('/d2'));
      expect(creates).toHaveLength(2);
      // The retry carries the same ClientToken as the failed attempt.
      expect((creates[0]?.body as { ClientToken: string }).ClientToken).toBe((creates[1]?.body as { ClientToken: string }).ClientToken);
    });
  });

  describe('firing', () => {
    it('fires in the last second of the scheduled minute by default', async () => {
      await client.send(new CreateScheduleCommand(deadline('d1', '2026-12-02T08:37:00')));
      for (const t of ['08:36:59', '08:37:00', '08:37:58']) {
        setClock(`2026-12-02T${t}.000Z`);
        expect(await scheduler.fireDue()).toEqual([]);
      }
      setClock('2026-12-02T08:37:59.000Z');
      expect(await scheduler.fireDue()).toEqual([expect.objectContaining({ name: 'd1', at: now, due: now, instanceIds: ['i-0abc'], ok: true, attempts: 1 })]);
    });

    it('with fireSecond 0 fires as the minute begins', async () => {
      client.destroy();
      await scheduler.close();
      await start({ fireSecond: 0 });
      await client.send(new CreateScheduleCommand(deadline('d1', '2026-12-02T08:37:00')));
      setClock('2026-12-02T08:36:59.999Z');
      expect(await scheduler.fireDue()).toEqual([]);
      setClock('2026-12-02T08:37:00.000Z');
      expect(await scheduler.fireDue()).toHaveLength(1);
    });

    it('calls TerminateInstances on the EC2 endpoint with the instance IDs of its Input', async () => {
      await client.send(
        new CreateScheduleCommand(
          deadline('d1', '2026-12-02T08:37:00', { Target: { Arn: TERMINATE, RoleArn: ROLE, Input: '{"InstanceIds":["i-0abc","i-0def"]}' } }),
        ),
      );
      setClock('2026-12-02T08:40:00.000Z');
      await scheduler.fireDue();
      expect(ec2.bodies).toHaveLength(1);
      expect(Object.fromEntries(ec2.bodies[0] ?? [])).toMatchObject({
        Action: 'TerminateInstances',
        Version: '2016-11-15',
        'InstanceId.1': 'i-0abc',
        'InstanceId.2': 'i-0def',
      });
      expect(scheduler.fired[0]).toMatchObject({ due: new Date('2026-12-02T08:37:59.000Z'), at: now, instanceIds: ['i-0abc', 'i-0def'] });
    });

    it('retries a failing EC2 call MaximumRetryAttempts times, then records a dead letter', async () => {
      ec2.failNext(10);
      await client.send(
        new CreateScheduleCommand(
          deadline('d1', '2026-12-02T08:37:00', {
            Target: {
              Arn: TERMINATE,
              RoleArn: ROLE,
              Input: '{"InstanceIds":["i-0abc"]}',
              RetryPolicy: { MaximumRetryAttempts: 2 },
              DeadLetterConfig: { Arn: 'arn:aws:sqs:us-east-1:123456789012:dlq' },
            },
          }),
        ),
      );
      setClock('2026-12-02T08:37:59.000Z');
      const [fired] = await scheduler.fireDue();
      expect(ec2.bodies).toHaveLength(3);
      expect(fired).toMatchObject({ ok: false, attempts: 3 });
      expect(scheduler.deadLetters).toEqual([
        {
          name: 'd1',
          groupName: 'default',
          at: now,
          deadLetterArn: 'arn:aws:sqs:us-east-1:123456789012:dlq',
          attempts: 3,
          error: expect.stringContaining('InternalError'),
        },
      ]);
      // Deleted after its one invocation, failed or not.
      expect(scheduler.schedules()).toEqual([]);
    });

    it('succeeds on a retry when EC2 recovers', async () => {
      ec2.failNext(1, 503, 'Unavailable');
      await client.send(new CreateScheduleCommand(deadline('d1', '2026-12-02T08:37:00')));
      setClock('2026-12-02T08:37:59.000Z');
      expect(await scheduler.fireDue()).toEqual([expect.objectContaining({ ok: true, attempts: 2 })]);
      expect(scheduler.deadLetters).toEqual([]);
    });

    it('DELETE after completion removes the schedule; NONE keeps it ENABLED and never fires it again', async () => {
      await client.send(new CreateScheduleCommand(deadline('gone', '2026-12-02T08:37:00')));
      await client.send(new CreateScheduleCommand(deadline('kept', '2026-12-02T08:37:00', { ActionAfterCompletion: 'NONE' })));
      setClock('2026-12-02T08:38:00.000Z');
      expect((await scheduler.fireDue()).map((f) => f.name)).toEqual(['gone', 'kept']);
      expect(await expectError(client.send(new GetScheduleCommand({ Name: 'gone' })))).toBeInstanceOf(ResourceNotFoundException);
      expect((await client.send(new GetScheduleCommand({ Name: 'kept' }))).State).toBe('ENABLED');
      expect(scheduler.schedules()).toEqual([expect.objectContaining({ Name: 'kept', firedAt: now })]);
      setClock('2026-12-02T09:00:00.000Z');
      expect(await scheduler.fireDue()).toEqual([]);
      expect(ec2.bodies).toHaveLength(2);
    });

    it('an update moving a fired NONE schedule to a later minute arms it again', async () => {
      await client.send(new CreateScheduleCommand(deadline('d1', '2026-12-02T08:37:00', { ActionAfterCompletion: 'NONE' })));
      setClock('2026-12-02T08:37:59.000Z');
      await scheduler.fireDue();
      await client.send(new UpdateScheduleCommand(deadline('d1', '2026-12-02T09:37:00', { ActionAfterCompletion: 'NONE' })));
      setClock('2026-12-02T09:37:59.000Z');
      expect(await scheduler.fireDue()).toHaveLength(1);
    });

    it('never fires a DISABLED schedule, and records other targets without calling anything', async () => {
      await client.send(new CreateScheduleCommand(deadline('off', '2026-12-02T08:37:00', { State: 'DISABLED' })));
      await client.send(
        new CreateScheduleCommand(
          deadline('lambda', '2026-12-02T08:37:00', { Target: { Arn: 'arn:aws:lambda:us-east-1:123456789012:function:f', RoleArn: ROLE } }),
        ),
      );
      setClock('2026-12-02T08:40:00.000Z');
      expect(await scheduler.fireDue()).toEqual([expect.objectContaining({ name: 'lambda', ok: true, attempts: 0, instanceIds: [] })]);
      expect(ec2.bodies).toEqual([]);
      expect(scheduler.schedules().map((s) => s.Name)).toEqual(['off']);
    });

    it('dead-letters at once an Input without InstanceIds', async () => {
      await client.send(new CreateScheduleCommand(deadline('d1', '2026-12-02T08:37:00', { Target: { Arn: TERMINATE, RoleArn: ROLE, Input: '{}' } })));
      setClock('2026-12-02T08:40:00.000Z');
      await scheduler.fireDue();
      expect(ec2.bodies).toEqual([]);
      expect(scheduler.deadLetters).toEqual([expect.objectContaining({ name: 'd1', attempts: 0, error: expect.stringContaining('InstanceIds') })]);
    });
  });
});
