import type { CreateScheduleCommandInput } from '@aws-sdk/client-scheduler';
import { CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { describe, expect, it } from 'vitest';
import { applyEvent } from '../../domain/apply';
import type { Build } from '../../domain/build';
import type { BuildStore } from '../../domain/ports';
import type { StateChangeEvent } from '../../stand-ins/ec2';
import type { Schedule } from '../../stand-ins/scheduler';
import { createHandler as cancelHandler } from '../../events/cancel';
import { createHandler as deadlineHandler } from '../../events/deadline';
import { createHandler as instanceStateHandler } from '../../events/instance-state';
import { createHandler as launchHandler } from '../../events/launch';
import { launchTags } from '../../events/launch/plan';
import { createHandler as watchdogHandler } from '../../events/watchdog';
import { aBuild, aLaunchedBuild, anApprovedBuild, at } from '../../stand-ins/build-fixture';
import { buildApproved, buildExtended, cancelRequested, ec2StateChange, scheduled } from '../support/event-fixtures';
import { SCHEDULER_ROLE_ARN, SCHEDULE_DLQ_ARN, SCHEDULE_GROUP, logLines, useWorld } from '../support/events-world';

// The deadline's Scheduler schedule (docs/design.md "Deadlines") through the real handlers, the
// real SchedulerDeadlines and the Scheduler stand-in, whose firings terminate through the EC2
// stand-in. Each case asserts the record, the stored schedules and the requests that reached
// Scheduler and EC2.

const world = useWorld({ minutesAfterT0: 2 });

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const TERMINATE_TARGET = 'arn:aws:scheduler:::aws-sdk:ec2:terminateInstances';

const launch = (event: unknown) => launchHandler(world().deps)(event);
const instanceState = (event: unknown) => instanceStateHandler(world().deps)(event);
const deadline = (event: unknown) => deadlineHandler(world().deps)(event);
const cancel = (event: unknown) => cancelHandler(world().deps)(event);
async function watchdogAt(iso: string, store?: BuildStore): Promise<void> {
  world().clock.set(iso);
  await watchdogHandler({ ...world().deps, ...(store ? { store } : {}) })(scheduled(iso));
}

const nameOf = (buildId: string) => `metal-build-${buildId}`;
/** The Scheduler operations in order, all or only those on one build's schedule. */
const ops = (buildId?: string) =>
  world()
    .scheduler.requests.filter((r) => buildId === undefined || r.path === `/schedules/${nameOf(buildId)}`)
    .map((r) => r.operation);
const scheduleOf = (buildId: string): Schedule | undefined =>
  world()
    .scheduler.schedules()
    .find((s) => s.Name === nameOf(buildId));
/** `at(...)` of a minute given as ISO. */
const atOf = (iso: string) => `at(${iso.slice(0, 19)})`;

/** The whole schedule as the design says it is set. */
function expectSchedule(schedule: Schedule | undefined, buildId: string, instanceId: string, minute: string): void {
  expect(schedule).toMatchObject({
    Name: nameOf(buildId),
    GroupName: SCHEDULE_GROUP,
    ScheduleExpression: atOf(minute),
    ScheduleExpressionTimezone: 'UTC',
    FlexibleTimeWindow: { Mode: 'OFF' },
    ActionAfterCompletion: 'DELETE',
    State: 'ENABLED',
    Target: {
      Arn: TERMINATE_TARGET,
      RoleArn: SCHEDULER_ROLE_ARN,
      Input: JSON.stringify({ InstanceIds: [instanceId] }),
      RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 },
      DeadLetterConfig: { Arn: SCHEDULE_DLQ_ARN },
    },
  });
  expect(schedule!.FlexibleTimeWindow.MaximumWindowInMinutes).toBeUndefined();
}

/** An approved build, launched by the launch handler with the clock at `launchAt`. */
async function launched(launchAt: string, overrides: Partial<Build> = {}): Promise<Build> {
  const build = await world().seed(anApprovedBuild(overrides));
  world().clock.set(launchAt);
  await launch(buildApproved(build.BuildID, at(1)));
  const stored = await world().get(build.BuildID);
  expect(stored?.InstanceID).toBeDefined();
  return stored!;
}

/** The EC2 stand-in's state-change envelopes from here on, in the order it announces them. */
function captureStateChanges(): StateChangeEvent[] {
  const events: StateChangeEvent[] = [];
  world().ec2.standIn.onStateChange((event) => {
    events.push(event);
  });
  return events;
}

const subjects = () =>
  world()
    .published()
    .map((p) => p.Subject);

describe('deadlines: the launch sets the schedule', () => {
  it.each([
    // launch time → the deadline's minute before
    ['2026-11-25T17:02:00.000Z', '2026-11-25T20:02:00.000Z', '2026-11-25T20:01:00.000Z'],
    ['2026-11-25T17:02:30.500Z', '2026-11-25T20:02:30.500Z', '2026-11-25T20:01:00.000Z'],
    ['2026-11-25T17:02:59.999Z', '2026-11-25T20:02:59.999Z', '2026-11-25T20:01:00.000Z'],
    // Across midnight: the minute is the day before's.
    ['2026-11-25T21:00:00.000Z', '2026-11-26T00:00:00.000Z', '2026-11-25T23:59:00.000Z'],
  ])('launched at %s: DeadlineAt %s, schedule at %s', async (launchAt, deadlineAt, minute) => {
    const build = await launched(launchAt);
    expect(build).toMatchObject({ Status: 'launching', LaunchTime: launchAt, DeadlineAt: deadlineAt, ScheduleAt: minute });
    expect(Date.parse(build.DeadlineAt!) - Date.parse(build.LaunchTime!)).toBe(3 * HOUR);

    const schedules = world().scheduler.schedules();
    expect(schedules).toHaveLength(1);
    expectSchedule(schedules[0], build.BuildID, build.InstanceID!, minute);
    // Scheduler may fire at any second of the minute: never at or after the deadline, at most 2 min before it.
    const fromMs = Date.parse(minute);
    const lastMs = fromMs + MINUTE - 1;
    expect(lastMs).toBeLessThan(Date.parse(deadlineAt));
    expect(fromMs).toBeGreaterThanOrEqual(Date.parse(deadlineAt) - 2 * MINUTE);

    expect(ops()).toEqual(['CreateSchedule']);
    expect(world().scheduler.requests[0]!.body).toMatchObject({ ScheduleExpression: atOf(minute), ActionAfterCompletion: 'DELETE' });
    expect(logLines(world(), 'INFO')).toContainEqual(
      expect.objectContaining({
        message: 'deadline scheduled',
        handler: 'launch',
        buildId: build.BuildID,
        scheduleAt: minute,
        deadlineAt,
        instanceId: build.InstanceID,
      }),
    );
    // The launch is told as before, once.
    expect(world().replies(build)).toHaveLength(1);
    expect(subjects()).toEqual([`[INFO] metal-build ${build.BuildID} started on c5n.metal`]);
    expect(world().ec2.terminateRequests()).toEqual([]);
  });

  it('a redelivered Build Approved after the recorded launch leaves exactly one schedule, unchanged', async () => {
    const build = await launched('2026-11-25T17:02:52.000Z');
    const before = scheduleOf(build.BuildID);
    await launch(buildApproved(build.BuildID, at(1)));
    await launch(buildApproved(build.BuildID, at(1)));
    expect(world().scheduler.schedules()).toHaveLength(1);
    expect(scheduleOf(build.BuildID)).toEqual(before);
    // Created once; each redelivery finds it (Conflict) and writes the same schedule over it.
    expect(ops()).toEqual(['CreateSchedule', 'CreateSchedule', 'UpdateSchedule', 'CreateSchedule', 'UpdateSchedule']);
    expect(world().ec2.runRequests()).toHaveLength(1);
    expect(await world().get(build.BuildID)).toMatchObject({ ScheduleAt: '2026-11-25T20:01:00.000Z' });
    expect(world().replies(build)).toHaveLength(1);
    expect(logLines(world(), 'INFO').filter((l) => l.message === 'deadline scheduled')).toHaveLength(1);
  });

  it('a schedule that already exists for another time and machine is read back and corrected', async () => {
    const seeded = anApprovedBuild();
    await world().deps.deadlines.put({ buildId: seeded.BuildID, instanceId: 'i-0fedcba9876543210', at: '2026-11-25T19:00:00.000Z' });
    expect(scheduleOf(seeded.BuildID)?.ScheduleExpression).toBe('at(2026-11-25T19:00:00)');
    world().scheduler.requests.length = 0;

    const build = await launched('2026-11-25T17:02:52.000Z');
    expect(ops()).toEqual(['CreateSchedule', 'UpdateSchedule']);
    const update = world().scheduler.requests[1]!;
    expect(update.body).toMatchObject({
      ScheduleExpression: 'at(2026-11-25T20:01:00)',
      Target: { Input: JSON.stringify({ InstanceIds: [build.InstanceID] }) },
    });
    expect(world().scheduler.schedules()).toHaveLength(1);
    expectSchedule(scheduleOf(build.BuildID), build.BuildID, build.InstanceID!, '2026-11-25T20:01:00.000Z');
    expect(build.ScheduleAt).toBe('2026-11-25T20:01:00.000Z');
  });

  // A schedule left by an older deployment, or changed by hand, is replaced field by field.
  it.each([
    ['without a dead-letter queue (an older deployment)', (input: CreateScheduleCommandInput) => delete input.Target!.DeadLetterConfig],
    ['with ActionAfterCompletion NONE', (input: CreateScheduleCommandInput) => (input.ActionAfterCompletion = 'NONE')],
    ['with another target', (input: CreateScheduleCommandInput) => (input.Target!.Arn = 'arn:aws:scheduler:::aws-sdk:ec2:stopInstances')],
  ])('an existing schedule at the right minute but %s is corrected', async (_name, differ) => {
    const build = await world().seed(anApprovedBuild());
    world().clock.set('2026-11-25T17:02:52.000Z');
    // A machine an earlier delivery started (tagged with the BuildID): the launch adopts it, so the schedule's Input is right.
    const instanceId = 'i-0fedcba9876543210';
    world().ec2.add({ id: instanceId, launchTime: '2026-11-25T17:02:52.000Z', tags: launchTags(build, world().config.maxLifetimeHours) });
    const input: CreateScheduleCommandInput = {
      Name: nameOf(build.BuildID),
      GroupName: SCHEDULE_GROUP,
      ScheduleExpression: 'at(2026-11-25T20:01:00)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      State: 'ENABLED',
      Target: {
        Arn: TERMINATE_TARGET,
        RoleArn: SCHEDULER_ROLE_ARN,
        Input: JSON.stringify({ InstanceIds: [instanceId] }),
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 },
        DeadLetterConfig: { Arn: SCHEDULE_DLQ_ARN },
      },
    };
    differ(input);
    const client = new SchedulerClient({
      region: 'us-east-1',
      endpoint: world().scheduler.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    try {
      await client.send(new CreateScheduleCommand(input));
    } finally {
      client.destroy();
    }
    world().scheduler.requests.length = 0;
    await launch(buildApproved(build.BuildID, at(1)));
    expect(await world().get(build.BuildID)).toMatchObject({ InstanceID: instanceId, ScheduleAt: '2026-11-25T20:01:00.000Z' });
    expect(world().ec2.runRequests()).toEqual([]);
    expectSchedule(scheduleOf(build.BuildID), build.BuildID, instanceId, '2026-11-25T20:01:00.000Z');
  });

  it('a Scheduler failure during the launch throws (EventBridge retries); the machine stays recorded; the redelivery sets the schedule', async () => {
    const build = await world().seed(anApprovedBuild());
    world().scheduler.failNext('CreateSchedule', 'InternalServerException', 500);
    await expect(launch(buildApproved(build.BuildID, at(1)))).rejects.toThrow();

    const recorded = await world().get(build.BuildID);
    const machine = world().ec2.all()[0]!;
    expect(recorded).toMatchObject({ Status: 'launching', InstanceID: machine.instanceId, DeadlineAt: at(182) });
    expect(recorded?.ScheduleAt).toBeUndefined();
    expect(world().scheduler.schedules()).toEqual([]);
    // Nothing was told before the deadline was kept.
    expect(world().replies(build)).toEqual([]);
    expect(world().published()).toEqual([]);

    await launch(buildApproved(build.BuildID, at(1)));
    expect(world().ec2.runRequests()).toHaveLength(1);
    expect(world().ec2.all()).toHaveLength(1);
    expect(ops()).toEqual(['CreateSchedule', 'CreateSchedule']);
    expectSchedule(scheduleOf(build.BuildID), build.BuildID, machine.instanceId, '2026-11-25T20:01:00.000Z');
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching', ScheduleAt: '2026-11-25T20:01:00.000Z' });
    expect(world().replies(build)).toHaveLength(1);
    expect(subjects()).toEqual([`[INFO] metal-build ${build.BuildID} started on c5n.metal`]);
  });
});

describe('deadlines: Build Extended moves the schedule', () => {
  const extend = (build: Build, now: Date) =>
    applyEvent(
      world().deps.store,
      build,
      {
        type: 'extend',
        by: 'U0APPROVER',
        hours: 1,
        maxExtensionHours: world().config.maxExtensionHours,
        limitHours: world().config.maxLifetimeHours,
        seen: 0,
      },
      now,
    );

  it('moves the schedule to the new minute and records it; a second delivery changes nothing', async () => {
    const build = await launched(at(2));
    world().clock.set(at(2 + 120));
    const applied = await extend(build, world().clock.now());
    expect(applied.outcome).toBe('changed');
    expect(await world().get(build.BuildID)).toMatchObject({ ExtendedHours: 1, DeadlineAt: at(2 + 240), ScheduleAt: '2026-11-25T20:01:00.000Z' });
    world().scheduler.requests.length = 0;

    await deadline(buildExtended(build.BuildID, 'U0APPROVER', 1, at(122)));
    expect(ops()).toEqual(['CreateSchedule', 'UpdateSchedule']);
    expect(world().scheduler.schedules()).toHaveLength(1);
    expectSchedule(scheduleOf(build.BuildID), build.BuildID, build.InstanceID!, '2026-11-25T21:01:00.000Z');
    const moved = await world().get(build.BuildID);
    expect(moved).toMatchObject({ ExtendedHours: 1, DeadlineAt: at(242), ScheduleAt: '2026-11-25T21:01:00.000Z' });
    expect(logLines(world(), 'INFO')).toContainEqual(
      expect.objectContaining({ message: 'deadline scheduled', handler: 'deadline', buildId: build.BuildID, scheduleAt: '2026-11-25T21:01:00.000Z' }),
    );

    const repliesBefore = world().replies(build).length;
    await deadline(buildExtended(build.BuildID, 'U0APPROVER', 1, at(122)));
    expect(ops()).toEqual(['CreateSchedule', 'UpdateSchedule', 'CreateSchedule', 'UpdateSchedule']);
    expectSchedule(scheduleOf(build.BuildID), build.BuildID, build.InstanceID!, '2026-11-25T21:01:00.000Z');
    expect(await world().get(build.BuildID)).toEqual(moved);
    expect(logLines(world(), 'INFO').filter((l) => l.message === 'deadline scheduled' && l.handler === 'deadline')).toHaveLength(1);
    // The deadline handler says nothing in Slack or by mail.
    expect(world().replies(build)).toHaveLength(repliesBefore);
    expect(subjects()).toHaveLength(1);
  });

  it('for a build no longer running it sets nothing', async () => {
    const build = await launched(at(2));
    world().clock.set(at(60));
    const done = await world().deps.store.update(build.BuildID, { status: ['launching'] }, { Status: 'completed', Phase: 'completed', CompletionTime: at(60) });
    expect(done.ok).toBe(true);
    world().scheduler.requests.length = 0;
    await deadline(buildExtended(build.BuildID, 'U0APPROVER', 1, at(60)));
    expect(ops()).toEqual([]);
    // The launch's schedule stays until the machine's end removes it.
    expectSchedule(scheduleOf(build.BuildID), build.BuildID, build.InstanceID!, '2026-11-25T20:01:00.000Z');
  });

  it('an unknown build is dropped with a warning', async () => {
    await deadline(buildExtended(aBuild().BuildID, 'U0APPROVER', 1, at(60)));
    expect(ops()).toEqual([]);
    expect(logLines(world(), 'WARN')).toContainEqual(expect.objectContaining({ message: 'no such build; event dropped', handler: 'deadline' }));
  });

  it('an extension less than 3 minutes before the schedule’s minute is refused; the schedule stays', async () => {
    const build = await launched(at(2));
    // Schedule minute 20:01:00; 2 min 59 s before it.
    const now = new Date(Date.parse('2026-11-25T20:01:00.000Z') - 3 * MINUTE + 1000);
    const applied = await extend(build, now);
    expect(applied).toMatchObject({ outcome: 'unchanged', reason: 'too close to the deadline to extend' });
    // Exactly 3 minutes before it still may.
    expect((await extend(build, new Date(Date.parse('2026-11-25T20:01:00.000Z') - 3 * MINUTE))).outcome).toBe('changed');
  });
});

describe('deadlines: the machine’s end removes the schedule', () => {
  type Ending = (build: Build) => Promise<void>;
  const finishAs =
    (Status: 'completed' | 'failed'): Ending =>
    async (build) => {
      world().clock.set(at(60));
      const done = await world().deps.store.update(build.BuildID, { status: ['launching'] }, { Status, Phase: Status, CompletionTime: at(60) });
      expect(done.ok).toBe(true);
      // The machine powers itself off.
      world().ec2.standIn.powerOff(build.InstanceID!);
    };
  const endings: Array<[string, Ending, Partial<Build>]> = [
    ['completed', finishAs('completed'), { Status: 'completed' }],
    ['failed', finishAs('failed'), { Status: 'failed' }],
    [
      'cancelled',
      async (build) => {
        world().clock.set(at(60));
        await cancel(cancelRequested(build.BuildID, 'U0REQUESTER', at(60)));
      },
      { Status: 'cancelled', TerminationReason: 'cancelled' },
    ],
    [
      'forced (the watchdog at the limit)',
      async () => {
        await watchdogAt(at(2 + 180));
      },
      { Status: 'terminated', TerminationReason: 'forced', ForcedTermination: true },
    ],
    [
      'unexpected',
      async (build) => {
        world().clock.set(at(60));
        world().ec2.standIn.powerOff(build.InstanceID!);
      },
      { Status: 'terminated', TerminationReason: 'unexpected' },
    ],
  ];

  it.each(endings)('%s: shutting-down removes it, terminated finds none and is fine', async (_name, end, expected) => {
    const build = await launched(at(2));
    await world().ec2.standIn.runPending(); // boots: running
    expect(scheduleOf(build.BuildID)).toBeDefined();
    const events = captureStateChanges();
    await end(build);
    await world().ec2.standIn.runPending();
    expect(events.map((e) => e.detail.state)).toEqual(['shutting-down', 'terminated']);
    world().scheduler.requests.length = 0;

    for (const event of events) await instanceState(event);
    expect(world().ec2.standIn.listenerErrors).toEqual([]);
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ ...expected, InstanceState: 'terminated', TerminatedAt: events[0]!.time.replace('Z', '.000Z') });
    expect(world().scheduler.schedules()).toEqual([]);
    // One removal per ending delivery; the second one's ResourceNotFound is not an error.
    expect(ops()).toEqual(['DeleteSchedule', 'DeleteSchedule']);
    expect(logLines(world(), 'INFO').filter((l) => l.message === 'deadline schedule removed' && l.buildId === build.BuildID)).toHaveLength(2);
    expect(logLines(world(), 'ERROR')).toEqual([]);
  });

  it('a removal that is not there (already fired or never made) is fine', async () => {
    const build = await launched(at(2));
    await world().deps.deadlines.remove(build.BuildID);
    await expect(world().deps.deadlines.remove(build.BuildID)).resolves.toBeUndefined();
    world().clock.set(at(60));
    await expect(instanceState(ec2StateChange(build.InstanceID!, 'shutting-down', at(60)))).resolves.toBeUndefined();
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'terminated', TerminationReason: 'unexpected' });
    expect(ops().slice(-1)).toEqual(['DeleteSchedule']);
  });

  it.each([
    // DeadlineAt is 20:02:00; the margin starts at 20:00:00.
    ['2026-11-25T19:59:59.000Z', 'unexpected'],
    ['2026-11-25T20:00:00.000Z', 'forced'],
  ])('an end at %s while active is %s', async (endedAt, reason) => {
    const build = await launched('2026-11-25T17:02:00.000Z');
    expect(build.DeadlineAt).toBe('2026-11-25T20:02:00.000Z');
    world().clock.set(endedAt);
    await instanceState(ec2StateChange(build.InstanceID!, 'shutting-down', endedAt));
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ Status: 'terminated', TerminationReason: reason, TerminatedAt: endedAt, CompletionTime: endedAt });
    if (reason === 'unexpected') {
      expect(stored?.ForcedTermination).toBeUndefined();
      expect(subjects().slice(-1)).toEqual([`[FAILED] metal-build ${build.BuildID}: machine ended unexpectedly`]);
    } else {
      expect(stored?.ForcedTermination).toBe(true);
      expect(subjects().slice(-1)).toEqual([`[CRITICAL] metal-build ${build.BuildID} force-terminated at its time limit`]);
    }
    expect(world().scheduler.schedules()).toEqual([]);
  });
});

describe('deadlines: the schedule fires', () => {
  const LAUNCH = '2026-11-25T17:02:30.500Z';
  const DEADLINE = '2026-11-25T20:02:30.500Z';
  const FIRES = '2026-11-25T20:01:59.000Z';

  /** Launched, booted, and the schedule fired by AWS: TerminateInstances from Scheduler. */
  async function fired(): Promise<{ build: Build; events: StateChangeEvent[] }> {
    const build = await launched(LAUNCH);
    expect(build).toMatchObject({ DeadlineAt: DEADLINE, ScheduleAt: '2026-11-25T20:01:00.000Z' });
    await world().ec2.standIn.runPending(); // boots: running
    const events = captureStateChanges();

    world().clock.set('2026-11-25T20:01:58.999Z');
    expect(await world().scheduler.fireDue()).toEqual([]);
    expect(world().ec2.get(build.InstanceID!)?.state).toBe('running');

    world().clock.set(FIRES);
    const now = await world().scheduler.fireDue();
    expect(now).toEqual([
      {
        name: nameOf(build.BuildID),
        groupName: SCHEDULE_GROUP,
        at: new Date(FIRES),
        due: new Date(FIRES),
        targetArn: TERMINATE_TARGET,
        instanceIds: [build.InstanceID],
        ok: true,
        attempts: 1,
      },
    ]);
    expect(world().scheduler.deadLetters).toEqual([]);
    // AWS ended it, not a handler: the only TerminateInstances is the firing's.
    expect(world().ec2.terminateRequests()).toEqual([[build.InstanceID]]);
    expect(world().ec2.get(build.InstanceID!)?.state).toBe('shutting-down');
    // ActionAfterCompletion DELETE: gone with the firing.
    expect(world().scheduler.schedules()).toEqual([]);
    expect(await world().scheduler.fireDue()).toEqual([]);
    await world().ec2.standIn.runPending();
    expect(events.map((e) => [e.detail['instance-id'], e.detail.state, e.time])).toEqual([
      [build.InstanceID, 'shutting-down', '2026-11-25T20:01:59Z'],
      [build.InstanceID, 'terminated', '2026-11-25T20:01:59Z'],
    ]);
    return { build, events };
  }

  function expectForcedEnd(stored: Build | undefined, completion: string): void {
    expect(stored).toMatchObject({
      Status: 'terminated',
      TerminationReason: 'forced',
      ForcedTermination: true,
      CompletionTime: completion,
      NotifiedStatus: 'terminated',
    });
    const completed = Date.parse(stored!.CompletionTime!);
    expect(completed).toBeLessThan(Date.parse(DEADLINE));
    expect(completed).toBeGreaterThanOrEqual(Date.parse(DEADLINE) - 2 * MINUTE);
  }

  function expectForcedTold(build: Build): void {
    const replies = world().replies(build);
    expect(replies).toHaveLength(2); // the launch, then the end
    expect(replies[1]).toMatchObject({ subtype: 'thread_broadcast' });
    expect(replies[1]!.text).toContain('<@U0REQUESTER>');
    expect(replies[1]!.text).toContain('*terminated*: it reached its limit of 3 h');
    expect(
      world()
        .published()
        .map((p) => [p.Subject, p.MessageAttributes?.Status?.StringValue]),
    ).toEqual([
      [`[INFO] metal-build ${build.BuildID} started on c5n.metal`, 'launching'],
      [`[CRITICAL] metal-build ${build.BuildID} force-terminated at its time limit`, 'terminated'],
    ]);
  }

  it('AWS terminates the machine at the schedule; the state change ends the build forced, within the card’s maximum', async () => {
    const { build, events } = await fired();
    world().scheduler.requests.length = 0;
    world().clock.set('2026-11-25T20:02:05.000Z');
    for (const event of events) await instanceState(event);

    const stored = await world().get(build.BuildID);
    expectForcedEnd(stored, FIRES);
    expect(stored).toMatchObject({ TerminatedAt: FIRES, InstanceState: 'terminated' });
    expect(stored!.ActualCost).toBeGreaterThan(0);
    expect(stored!.ActualCost!).toBeLessThanOrEqual(build.CostMax);
    expectForcedTold(build);
    expect(await world().slots()).toEqual([]);
    // The handlers terminated nothing more; the removal finds the schedule already gone.
    expect(world().ec2.terminateRequests()).toEqual([[build.InstanceID]]);
    expect(ops()).toEqual(['DeleteSchedule', 'DeleteSchedule']);
    expect(world().scheduler.schedules()).toEqual([]);
  });

  it('the state change lost: the watchdog after the firing ends the build forced (not failed or stuck) and says so', async () => {
    const { build, events } = await fired();
    world().scheduler.requests.length = 0;
    await watchdogAt('2026-11-25T20:02:00.000Z');

    const stored = await world().get(build.BuildID);
    expectForcedEnd(stored, '2026-11-25T20:02:00.000Z');
    expect(stored?.ErrorMessage).toBeUndefined();
    expectForcedTold(build);
    expect(logLines(world(), 'WARN')).toContainEqual(
      expect.objectContaining({ message: 'watchdog changed a build', rule: 'force', buildId: build.BuildID, to: 'terminated' }),
    );
    // Its minute has passed: nothing is scheduled again.
    expect(ops().filter((o) => o !== 'ListSchedules')).toEqual([]);
    expect(world().scheduler.schedules()).toEqual([]);

    // The state change arrives late after all: the machine's end and its cost are recorded; the
    // thread gets the final cost as a plain reply, nothing is broadcast or mailed again.
    for (const event of events) await instanceState(event);
    const ended = await world().get(build.BuildID);
    expect(ended).toMatchObject({ Status: 'terminated', TerminationReason: 'forced', CompletionTime: '2026-11-25T20:02:00.000Z', TerminatedAt: FIRES });
    expect(ended!.ActualCost!).toBeLessThanOrEqual(build.CostMax);
    const replies = world().replies(build);
    expect(replies).toHaveLength(3);
    expect(replies[2]!.subtype).toBeUndefined();
    expect(replies[2]!.text).toContain(`Final cost: $${ended!.ActualCost!.toFixed(2)}`);
    expect(subjects()).toHaveLength(2);
    expect(world().scheduler.schedules()).toEqual([]);
  });
});

describe('deadlines: the watchdog repairs schedules', () => {
  const ids = {
    ok: 'build-20261125-170052-a001',
    missing: 'build-20261125-170052-a002',
    stale: 'build-20261125-170052-a003',
    finalEnded: 'build-20261125-170052-a004',
    finalRunning: 'build-20261125-170052-a005',
    noRecord: 'build-20261125-170052-a006',
    late: 'build-20261125-170052-a007',
  } as const;
  const instance = (n: number) => `i-0123456789abcdef${n}`;
  const WANTED = '2026-11-25T20:01:00.000Z'; // DeadlineAt at(182) = 20:02:52
  const running = (id: string, n: number, overrides: Partial<Build> = {}) =>
    aLaunchedBuild('building', { BuildID: id, InstanceID: instance(n), DeadlineAt: at(182), ScheduleAt: WANTED, ...overrides });
  const put = (buildId: string, instanceId: string, minute: string) => world().deps.deadlines.put({ buildId, instanceId, at: minute });

  it('sets a missing one, moves a stale one, removes left-overs, keeps what is still needed', async () => {
    await world().seed(running(ids.ok, 1));
    await put(ids.ok, instance(1), WANTED);
    await world().seed(running(ids.missing, 2));
    await world().seed(running(ids.stale, 3, { ScheduleAt: '2026-11-25T19:01:00.000Z' }));
    await put(ids.stale, instance(3), '2026-11-25T19:01:00.000Z');
    await world().seed(
      aLaunchedBuild('building', {
        BuildID: ids.finalEnded,
        InstanceID: instance(4),
        Status: 'completed',
        CompletionTime: at(20),
        TerminatedAt: at(21),
        InstanceState: 'terminated',
      }),
      { machine: false },
    );
    await put(ids.finalEnded, instance(4), WANTED);
    // Completed, its machine still powering off: the schedule stays until EC2 says it is gone.
    await world().seed(aLaunchedBuild('building', { BuildID: ids.finalRunning, InstanceID: instance(5), Status: 'completed', CompletionTime: at(25) }), {
      machine: true,
    });
    await put(ids.finalRunning, instance(5), WANTED);
    await put(ids.noRecord, instance(6), WANTED);
    world().scheduler.requests.length = 0;

    await watchdogAt(at(30));

    expect(ops(ids.ok)).toEqual([]);
    expect(ops(ids.missing)).toEqual(['CreateSchedule']);
    expect(ops(ids.stale)).toEqual(['CreateSchedule', 'UpdateSchedule']);
    expect(ops(ids.finalEnded)).toEqual(['DeleteSchedule']);
    expect(ops(ids.finalRunning)).toEqual([]);
    expect(ops(ids.noRecord)).toEqual(['DeleteSchedule']);
    expect(
      world()
        .scheduler.schedules()
        .map((s) => s.Name),
    ).toEqual([ids.ok, ids.missing, ids.stale, ids.finalRunning].map(nameOf));
    expectSchedule(scheduleOf(ids.ok), ids.ok, instance(1), WANTED);
    expectSchedule(scheduleOf(ids.missing), ids.missing, instance(2), WANTED);
    expectSchedule(scheduleOf(ids.stale), ids.stale, instance(3), WANTED);
    expect(await world().get(ids.stale)).toMatchObject({ Status: 'building', ScheduleAt: WANTED });
    expect(await world().get(ids.missing)).toMatchObject({ Status: 'building', ScheduleAt: WANTED });

    const warned = logLines(world(), 'WARN').map((l) => [l.message, l.buildId]);
    expect(warned).toEqual(
      expect.arrayContaining([
        ['deadline schedule is missing; setting it', ids.missing],
        ['deadline schedule is stale; moving it', ids.stale],
        ['deadline schedule without a live machine; removing it', ids.finalEnded],
        ['deadline schedule without a live machine; removing it', ids.noRecord],
      ]),
    );
    expect(logLines(world(), 'ERROR')).toEqual([]);
    expect(world().ec2.terminateRequests()).toEqual([]);

    // The next run finds nothing to do.
    world().scheduler.requests.length = 0;
    await watchdogAt(at(31));
    expect(ops().filter((o) => o !== 'ListSchedules')).toEqual([]);
  });

  // FINDING (events/watchdog/deadlines.ts, the left-over loop; events/watchdog/builds.ts `stuck`):
  // a running build whose machine vanished without a state change is failed as stuck; nothing
  // removes its schedule (final, but no TerminatedAt, so the watchdog keeps it "while the machine
  // powers off", though EC2 lists no live machine for it). At the deadline it fires at an
  // instance EC2 has forgotten: InvalidInstanceID.NotFound, every retry, then the alarmed
  // dead-letter queue. It should be removed once the build is final and its machine is not live.
  it('a build failed as stuck, its machine gone without a state change, leaves no schedule to dead-letter', async () => {
    const build = await launched(at(2));
    world().clock.set(at(5));
    world().ec2.setState(build.InstanceID!, 'terminated'); // gone; the state change is lost
    await watchdogAt(at(13));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'failed' });
    expect((await world().get(build.BuildID))?.TerminatedAt).toBeUndefined();
    await watchdogAt(at(14));

    world().clock.set('2026-11-25T20:01:59.000Z');
    await world().scheduler.fireDue();
    expect(world().scheduler.deadLetters).toEqual([]);
    expect(world().scheduler.schedules()).toEqual([]);
  });

  it('never deletes the schedule of an active running build, listed or launched after the active builds were read', async () => {
    await world().seed(running(ids.ok, 1));
    await put(ids.ok, instance(1), WANTED);
    // A build approved and launched between the watchdog's read of the active builds and its list of schedules.
    let lateBuild: Build | undefined;
    const store = world().deps.store;
    const racing = new Proxy(store, {
      get(target, name) {
        if (name === 'active')
          return async () => {
            const active = await target.active();
            const seeded = await world().seed(anApprovedBuild({ BuildID: ids.late }));
            await launch(buildApproved(seeded.BuildID, at(1)));
            lateBuild = await target.get(ids.late);
            return active;
          };
        const value = Reflect.get(target, name, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    world().scheduler.requests.length = 0;
    await watchdogAt(at(30), racing);

    expect(lateBuild).toMatchObject({ Status: 'launching', ScheduleAt: '2026-11-25T20:29:00.000Z' });
    expect(ops()).not.toContain('DeleteSchedule');
    expect(
      world()
        .scheduler.schedules()
        .map((s) => s.Name),
    ).toEqual([nameOf(ids.ok), nameOf(ids.late)]);
    expectSchedule(scheduleOf(ids.late), ids.late, lateBuild!.InstanceID!, '2026-11-25T20:29:00.000Z');
    expectSchedule(scheduleOf(ids.ok), ids.ok, instance(1), WANTED);
    expect(logLines(world(), 'WARN').filter((l) => String(l.message).startsWith('deadline schedule'))).toEqual([]);
  });
});
