import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { Build } from '../../domain/build';
import { scheduleMinute } from '../../domain/lifetime';
import { createHandler as launchHandler } from '../../events/launch';
import { clientToken, launchTags } from '../../events/launch/plan';
import { createHandler as watchdogHandler } from '../../events/watchdog';
import { INSTANCE_ID, aLaunchedBuild, anApprovedBuild, at } from '../../stand-ins/build-fixture';
import { buildApproved, scheduled } from '../support/event-fixtures';
import { SUBNETS, TOPIC_ARN, useWorld } from '../support/events-world';

// A build's own machine choice (issue 28: RequestedType, LimitHours; domain/build-choice.ts)
// through the real launch and watchdog handlers, the EC2, Scheduler, Slack and SNS stand-ins.
// Prices are the defaults plus 500 GB gp3 ($0.0548/h): c5n.metal $3.9428/h, m5zn.metal
// $4.0189/h, so a 1-hour maximum is $3.94 on c5n.metal and $4.02 on m5zn.metal (3 h: $11.83 and
// $12.06). Each case asserts the record, the requests EC2 and Scheduler received, the machine,
// the thread and the mail.

const world = useWorld({ minutesAfterT0: 2 });

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The 1-hour maximum of each type with the default prices (the card's CostMax for `hours=1`). */
const MAX_1H = { 'c5n.metal': 3.94, 'm5zn.metal': 4.02 } as const;

const launch = (event: unknown) => launchHandler(world().deps)(event);
const approvedEvent = (b: Build) => buildApproved(b.BuildID, at(1));
async function watchdogAt(minutes: number): Promise<void> {
  world().clock.minutesAfterT0(minutes);
  await watchdogHandler(world().deps)(scheduled(at(minutes)));
}

/** build.json as the machine reads it from the user data of a RunInstances request. */
function buildJsonOf(userData: string): Record<string, unknown> {
  const doc = parse(Buffer.from(userData, 'base64').toString('utf8'), { version: '1.1' }) as { write_files: Array<{ path: string; content: string }> };
  const file = doc.write_files.find((f) => f.path === '/etc/metal-build/build.json');
  return JSON.parse(Buffer.from(file!.content, 'base64').toString('utf8')) as Record<string, unknown>;
}

/** A RunInstances request's instance tags as a record. */
function instanceTagsOf(run: Record<string, string | undefined>): Record<string, string> {
  const tags: Record<string, string> = {};
  for (let t = 1; run[`TagSpecification.1.Tag.${t}.Key`] !== undefined; t++)
    tags[run[`TagSpecification.1.Tag.${t}.Key`]!] = run[`TagSpecification.1.Tag.${t}.Value`] ?? '';
  return tags;
}

const runTypes = () =>
  world()
    .ec2.runRequests()
    .map((r) => [r.InstanceType, r.SubnetId]);
const subjects = () =>
  world()
    .published()
    .map((p) => p.Subject);

describe('launch: the build’s own type and limit', () => {
  it('RequestedType m5zn.metal, LimitHours 1: m5zn.metal first, DeadlineAt launch + 1 h, its schedule, tag "1hours", build.json 180 minutes', async () => {
    const build = await world().seed(anApprovedBuild({ RequestedType: 'm5zn.metal', LimitHours: 1, CostEstimate: 6.03, CostMax: MAX_1H['m5zn.metal'] }));
    await launch(approvedEvent(build));

    // The first (and only) RunInstances asks for the build's type, not INSTANCE_TYPE.
    const [run, ...more] = world().ec2.runRequests();
    expect(more).toEqual([]);
    expect(run).toMatchObject({ InstanceType: 'm5zn.metal', SubnetId: SUBNETS[0], ClientToken: clientToken(build.BuildID, 'm5zn.metal', SUBNETS[0]) });
    expect(instanceTagsOf(run!)).toMatchObject({ MaxLifetime: '1hours', BuildID: build.BuildID });
    expect(instanceTagsOf(run!)).toEqual(launchTags(build, 1));
    // The machine's own cap: the 1 h limit and the 2 h of extensions it may get.
    expect(buildJsonOf(run!.UserData!)).toMatchObject({ buildId: build.BuildID, maxLifetimeMinutes: 180 });

    const instance = world().ec2.all()[0]!;
    expect(instance).toMatchObject({ instanceType: 'm5zn.metal', state: 'pending' });
    expect(instance.tags.MaxLifetime).toBe('1hours');

    const launchTime = at(2);
    const deadlineAt = new Date(Date.parse(launchTime) + HOUR).toISOString();
    expect(deadlineAt).toBe('2026-11-25T18:02:52.000Z');
    const minute = scheduleMinute(new Date(deadlineAt)).toISOString();
    expect(minute).toBe('2026-11-25T18:01:00.000Z');
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({
      Status: 'launching',
      InstanceID: instance.instanceId,
      InstanceType: 'm5zn.metal',
      RequestedType: 'm5zn.metal',
      LimitHours: 1,
      LaunchTime: launchTime,
      DeadlineAt: deadlineAt,
      ScheduleAt: minute,
    });

    // Scheduler ends the machine in the minute before the 1-hour deadline's minute.
    const schedules = world().scheduler.schedules();
    expect(schedules).toHaveLength(1);
    expect(schedules[0]).toMatchObject({
      Name: `metal-build-${build.BuildID}`,
      ScheduleExpression: 'at(2026-11-25T18:01:00)',
      Target: { Input: JSON.stringify({ InstanceIds: [instance.instanceId] }) },
    });

    // Told as always, with the 1-hour deadline in the mail; no fallback note.
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain('m5zn.metal');
    const [started, ...otherMail] = world().published();
    expect(otherMail).toEqual([]);
    expect(started).toMatchObject({ TopicArn: TOPIC_ARN, Subject: `[INFO] metal-build ${build.BuildID} started on m5zn.metal` });
    expect(started!.Message).toContain(`Terminated by the watchdog at ${deadlineAt} unless extended.`);
    expect(world().ec2.terminateRequests()).toEqual([]);
  });

  it('RequestedType m5zn.metal without capacity falls back to c5n.metal (cheaper, within the overrun rule), priced for its 1 h', async () => {
    // With the default fallbacks (m5zn.metal only) a m5zn.metal build has no other type: here c5n.metal is one.
    world().configure({ FALLBACK_INSTANCE_TYPES: 'm5zn.metal,c5n.metal' });
    world().ec2.refuse('m5zn.metal', undefined, 'InsufficientInstanceCapacity');
    const build = await world().seed(anApprovedBuild({ RequestedType: 'm5zn.metal', LimitHours: 1, CostEstimate: 6.03, CostMax: MAX_1H['m5zn.metal'] }));
    await launch(approvedEvent(build));

    expect(runTypes()).toEqual([
      ['m5zn.metal', SUBNETS[0]],
      ['m5zn.metal', SUBNETS[1]],
      ['c5n.metal', SUBNETS[0]],
    ]);
    // The fallback machine lives by the build's limit too.
    expect(instanceTagsOf(world().ec2.runRequests()[2]!).MaxLifetime).toBe('1hours');
    const instance = world().ec2.all()[0]!;
    expect(instance.instanceType).toBe('c5n.metal');
    expect(await world().get(build.BuildID)).toMatchObject({
      Status: 'launching',
      InstanceType: 'c5n.metal',
      RequestedType: 'm5zn.metal',
      DeadlineAt: '2026-11-25T18:02:52.000Z',
    });
    const replies = world()
      .replies(build)
      .map((m) => m.text);
    expect(replies).toHaveLength(2);
    // c5n.metal's maximum for the build's 1 h, not for MAX_LIFETIME_HOURS ($11.83).
    expect(replies[1]).toContain('Launched c5n.metal in us-east-1a');
    expect(replies[1]).toContain(`maximum $${MAX_1H['c5n.metal'].toFixed(2)}`);
    expect(replies[1]).toContain('m5zn.metal in subnet-0aaaaaaaaaaaaaaaa (InsufficientInstanceCapacity)');
    expect(subjects()).toEqual([`[INFO] metal-build ${build.BuildID} started on c5n.metal`]);
  });

  it('RequestedType m5zn.metal without capacity: a fallback above the overrun rule for its 1 h is not launched', async () => {
    // c5n.metal at $4.50/h: $4.55 for 1 h, 13 % above the approved $4.02.
    world().configure({ FALLBACK_INSTANCE_TYPES: 'm5zn.metal,c5n.metal', PRICE_OVERRIDES: '{"c5n.metal": 4.5}' });
    world().ec2.refuse('m5zn.metal', undefined, 'InsufficientInstanceCapacity');
    const build = await world().seed(anApprovedBuild({ RequestedType: 'm5zn.metal', LimitHours: 1, CostEstimate: 6.03, CostMax: MAX_1H['m5zn.metal'] }));
    await launch(approvedEvent(build));

    expect(runTypes()).toEqual([
      ['m5zn.metal', SUBNETS[0]],
      ['m5zn.metal', SUBNETS[1]],
    ]);
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ Status: 'failed' });
    expect(stored?.InstanceID).toBeUndefined();
    expect(stored?.ErrorMessage).toContain('skipped c5n.metal (up to $4.55, more than 10% above the approved maximum of $4.02)');
    expect(world().ec2.all()).toEqual([]);
    expect(await world().slots()).toEqual([]);
    expect(subjects()).toEqual([`[FAILED] metal-build ${build.BuildID} failed`]);
  });

  it('RequestedType c5n.metal, LimitHours 1, without capacity still falls back to m5zn.metal: $4.02 for 1 h is within 10 % of $3.94', async () => {
    world().ec2.refuse('c5n.metal', undefined, 'InsufficientInstanceCapacity');
    const build = await world().seed(anApprovedBuild({ RequestedType: 'c5n.metal', LimitHours: 1, CostEstimate: 5.91, CostMax: MAX_1H['c5n.metal'] }));
    await launch(approvedEvent(build));

    // Priced for 3 h, m5zn.metal ($12.06) would be far above the approved $3.94 and skipped.
    expect(runTypes()).toEqual([
      ['c5n.metal', SUBNETS[0]],
      ['c5n.metal', SUBNETS[1]],
      ['m5zn.metal', SUBNETS[0]],
    ]);
    const instance = world().ec2.all()[0]!;
    expect(instance).toMatchObject({ instanceType: 'm5zn.metal', state: 'pending' });
    expect(instance.tags.MaxLifetime).toBe('1hours');
    expect(await world().get(build.BuildID)).toMatchObject({
      Status: 'launching',
      InstanceType: 'm5zn.metal',
      LimitHours: 1,
      DeadlineAt: '2026-11-25T18:02:52.000Z',
      ScheduleAt: '2026-11-25T18:01:00.000Z',
    });
    const note = world().replies(build)[1]?.text;
    expect(note).toContain('Launched m5zn.metal in us-east-1a');
    expect(note).toContain(`maximum $${MAX_1H['m5zn.metal'].toFixed(2)}`);
    expect(subjects()).toEqual([`[INFO] metal-build ${build.BuildID} started on m5zn.metal`]);
  });

  it('RequestedType c5n.metal, LimitHours 1: with a 1 % overrun rule m5zn.metal is skipped, its 1-hour maximum named', async () => {
    world().configure({ FALLBACK_MAX_OVERRUN_PERCENT: '1' });
    world().ec2.refuse('c5n.metal', undefined, 'InsufficientInstanceCapacity');
    const build = await world().seed(anApprovedBuild({ RequestedType: 'c5n.metal', LimitHours: 1, CostEstimate: 5.91, CostMax: MAX_1H['c5n.metal'] }));
    await launch(approvedEvent(build));

    expect(runTypes()).toEqual([
      ['c5n.metal', SUBNETS[0]],
      ['c5n.metal', SUBNETS[1]],
    ]);
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ Status: 'failed' });
    expect(stored?.ErrorMessage).toContain('skipped m5zn.metal (up to $4.02, more than 1% above the approved maximum of $3.94)');
    expect(world().ec2.all()).toEqual([]);
  });
});

describe('launch: a record written before RequestedType and LimitHours existed', () => {
  it.each([
    // settings → the type launched, its limit (hours), build.json's minutes (limit + 2 h extensions)
    ['the defaults', {}, 'c5n.metal', 3, 300],
    [
      'INSTANCE_TYPE m5zn.metal, MAX_LIFETIME_HOURS 2',
      { INSTANCE_TYPE: 'm5zn.metal', FALLBACK_INSTANCE_TYPES: 'c5n.metal', MAX_LIFETIME_HOURS: '2', WARN_AFTER_HOURS: '1' },
      'm5zn.metal',
      2,
      240,
    ],
  ])('with %s: launches INSTANCE_TYPE with DeadlineAt = LaunchTime + MAX_LIFETIME_HOURS', async (_name, env, type, hours, minutes) => {
    world().configure(env);
    const build = await world().seed(anApprovedBuild());
    expect(build.RequestedType).toBeUndefined();
    expect(build.LimitHours).toBeUndefined();
    await launch(approvedEvent(build));

    const [run, ...more] = world().ec2.runRequests();
    expect(more).toEqual([]);
    expect(run!.InstanceType).toBe(type);
    expect(instanceTagsOf(run!).MaxLifetime).toBe(`${hours}hours`);
    expect(buildJsonOf(run!.UserData!).maxLifetimeMinutes).toBe(minutes);
    const deadlineAt = new Date(Date.parse(at(2)) + hours * HOUR).toISOString();
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({
      Status: 'launching',
      InstanceType: type,
      LaunchTime: at(2),
      DeadlineAt: deadlineAt,
      ScheduleAt: scheduleMinute(new Date(deadlineAt)).toISOString(),
    });
    // Nothing is written into the old record's choice: it keeps reading as the defaults.
    expect(stored?.RequestedType).toBeUndefined();
    expect(stored?.LimitHours).toBeUndefined();
    expect(
      world()
        .scheduler.schedules()
        .map((s) => s.ScheduleExpression),
    ).toEqual([`at(${scheduleMinute(new Date(deadlineAt)).toISOString().slice(0, 19)})`]);
    expect(subjects()).toEqual([`[INFO] metal-build ${build.BuildID} started on ${type}`]);
  });
});

describe('watchdog: the build’s own limit', () => {
  const OTHER_BUILD = 'build-20261125-170052-b2c3';
  const OTHER_INSTANCE = 'i-0fedcba9876543210';

  /**
   * A 1-hour build and a default one, both building on machines launched at minute 2 (T), as the
   * launch leaves them (DeadlineAt, the machine's tags).
   */
  async function twoRunningBuilds(): Promise<{ short: Build; long: Build }> {
    world().configure({ MAX_CONCURRENT_BUILDS: '2' });
    const short = await world().seed(
      aLaunchedBuild('building', { RequestedType: 'c5n.metal', LimitHours: 1, CostEstimate: 5.91, CostMax: MAX_1H['c5n.metal'], DeadlineAt: at(2 + 60) }),
      { machine: false },
    );
    world().ec2.add({ id: INSTANCE_ID, launchTime: at(2), tags: launchTags(short, 1) });
    const long = await world().seed(aLaunchedBuild('building', { BuildID: OTHER_BUILD, InstanceID: OTHER_INSTANCE, DeadlineAt: at(2 + 180) }), {
      machine: false,
    });
    world().ec2.add({ id: OTHER_INSTANCE, launchTime: at(2), tags: launchTags(long, 3) });
    return { short, long };
  }

  it('LimitHours 1: no warning at T+39 min; warned at T+40 (thread, mail "40 min"); forced at T+60; a default build beside it is neither', async () => {
    const { short, long } = await twoRunningBuilds();

    await watchdogAt(2 + 39);
    expect((await world().get(short.BuildID))?.WarnedAt).toBeUndefined();
    expect(world().replies(short)).toEqual([]);
    expect(world().published()).toEqual([]);

    await watchdogAt(2 + 40);
    await watchdogAt(2 + 41);
    expect(await world().get(short.BuildID)).toMatchObject({ Status: 'building', WarnedAt: at(2 + 40), WarningPostedAt: at(2 + 40) });
    const warnings = world().replies(short);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.subtype).toBe('thread_broadcast');
    expect(warnings[0]!.text).toContain('<@U0REQUESTER>');
    expect(warnings[0]!.text).toContain('it will be terminated at 18:02 UTC (in 20 min) unless extended.');
    const mails = world().published();
    expect(mails.map((p) => p.Subject)).toEqual([`[WARNING] metal-build ${short.BuildID} is still running`]);
    expect(mails[0]!.Message).toContain('The machine has run for 40 min or more.');
    expect(mails[0]!.Message).toContain('The watchdog terminates it at 2026-11-25T18:02:52.000Z unless an approver extends it in Slack.');
    // The default build at 40 minutes: nothing.
    expect((await world().get(long.BuildID))?.WarnedAt).toBeUndefined();
    expect(world().replies(long)).toEqual([]);

    await watchdogAt(2 + 59);
    expect((await world().get(short.BuildID))?.Status).toBe('building');
    expect(world().ec2.terminateRequests()).toEqual([]);

    await watchdogAt(2 + 60);
    expect(await world().get(short.BuildID)).toMatchObject({
      Status: 'terminated',
      TerminationReason: 'forced',
      ForcedTermination: true,
      CompletionTime: at(2 + 60),
    });
    expect(world().ec2.terminateRequests()).toEqual([[INSTANCE_ID]]);
    expect(world().ec2.get(INSTANCE_ID)?.state).toBe('shutting-down');
    const ended = world().replies(short);
    expect(ended).toHaveLength(2);
    expect(ended[1]!.text).toContain('limit of 1 h');
    expect(subjects()).toEqual([
      `[WARNING] metal-build ${short.BuildID} is still running`,
      `[CRITICAL] metal-build ${short.BuildID} force-terminated at its time limit`,
    ]);

    // The default build at T+60 min: neither warned nor forced, its machine untouched.
    const other = await world().get(long.BuildID);
    expect(other).toMatchObject({ Status: 'building' });
    expect(other?.WarnedAt).toBeUndefined();
    expect(other?.TerminationReason).toBeUndefined();
    expect(world().ec2.get(OTHER_INSTANCE)?.state).toBe('running');
    expect(world().replies(long)).toEqual([]);
  });

  it('a default build (no LimitHours) alone at T+60 min is neither warned nor forced; it is warned at T+2 h', async () => {
    const build = await world().seed(aLaunchedBuild('building', { DeadlineAt: at(2 + 180) }));
    await watchdogAt(2 + 40);
    await watchdogAt(2 + 60);
    await watchdogAt(2 + 61);
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ Status: 'building' });
    expect(stored?.WarnedAt).toBeUndefined();
    expect(world().ec2.terminateRequests()).toEqual([]);
    expect(world().ec2.get(INSTANCE_ID)?.state).toBe('running');
    expect(world().replies(build)).toEqual([]);
    expect(world().published()).toEqual([]);

    await watchdogAt(2 + 120);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'building', WarnedAt: at(2 + 120) });
    expect(world().published()[0]!.Message).toContain('The machine has run for 2 h or more.');
  });
});
