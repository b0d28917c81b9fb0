import { describe, expect, it } from 'vitest';
import { DynamoBuildStore } from '../../adapters/aws/dynamo-store';
import { RETENTION_DAYS } from '../../domain/build';
import { LAUNCH_SETTLE_MS } from '../../domain/slot-holding';
import { createHandler } from '../../events/watchdog';
import { launchTags } from '../../events/launch/plan';
import { localDynamoClient } from '../../stand-ins/dynalite';
import { INSTANCE_ID, aBuild, aLaunchedBuild, anApprovedBuild, at } from '../../stand-ins/build-fixture';
import { scheduled } from '../support/event-fixtures';
import { logLines, useWorld } from '../support/events-world';

const world = useWorld();

const HOUR = 60;
/** One run at `minutes` after T0 (the fixture's machine launched at minute 2). */
async function watchdogAt(minutes: number) {
  world().clock.minutesAfterT0(minutes);
  await createHandler(world().deps)(scheduled(at(minutes)));
}

const OTHER_ID = 'build-20261125-170052-b2c3';
type Element = { type?: string; action_id?: string; value?: string };
const actionIds = (message: { blocks?: unknown[] }) =>
  (message.blocks ?? [])
    .flatMap((b) => (b as { elements?: Element[] }).elements ?? [])
    .filter((e) => e.type === 'button')
    .map((e) => [e.action_id, e.value]);
const cardUpdates = () => world().slack.callsTo('chat.update');

describe('watchdog: running machines', () => {
  it('warns once at WARN_AFTER_HOURS: broadcast with extend and cancel, mention, SNS [WARNING]', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    await watchdogAt(2 + 2 * HOUR - 1);
    expect(world().replies(build)).toEqual([]);

    await watchdogAt(2 + 2 * HOUR);
    await watchdogAt(2 + 2 * HOUR + 1);
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ Status: 'building', WarnedAt: at(2 + 2 * HOUR) });
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    // Its ts is kept, with WarningPostedAt, so the warning can be edited in place.
    expect(stored).toMatchObject({ WarningPostedAt: at(2 + 2 * HOUR), WarningTs: replies[0]!.ts });
    expect(replies[0]!.subtype).toBe('thread_broadcast');
    expect(replies[0]!.text).toContain('<@U0REQUESTER>');
    expect(replies[0]!.text).toContain('20:02 UTC');
    expect(actionIds(replies[0]!)).toEqual([
      ['extend_build', build.BuildID],
      ['cancel_build', build.BuildID],
      ['show_log', build.BuildID],
    ]);
    expect(
      world()
        .published()
        .map((p) => [p.Subject, p.MessageAttributes?.Status?.StringValue]),
    ).toEqual([[`[WARNING] metal-build ${build.BuildID} is still running`, 'building']]);
    expect(world().ec2.terminateRequests()).toEqual([]);
  });

  it('a warning whose Slack post failed is posted by a later run, once; its mail is not repeated', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    world().slack.failNext('chat.postMessage', 'internal_error');
    await expect(watchdogAt(2 + 2 * HOUR)).rejects.toThrow();
    expect(world().replies(build)).toEqual([]);
    expect(await world().get(build.BuildID)).toMatchObject({ WarnedAt: at(2 + 2 * HOUR) });
    expect((await world().get(build.BuildID))?.WarningPostedAt).toBeUndefined();

    await watchdogAt(2 + 2 * HOUR + 1);
    await watchdogAt(2 + 2 * HOUR + 2);
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(actionIds(replies[0]!)).toEqual([
      ['extend_build', build.BuildID],
      ['cancel_build', build.BuildID],
      ['show_log', build.BuildID],
    ]);
    expect(await world().get(build.BuildID)).toMatchObject({ WarningPostedAt: at(2 + 2 * HOUR + 1) });
    expect(world().published()).toHaveLength(1);
  });

  it('force at the limit: terminated, ForcedTermination, one TerminateInstances, one message, SNS [CRITICAL]; twice in a row', async () => {
    const build = await world().seed(aLaunchedBuild('uploading', { WarnedAt: at(2 + 2 * HOUR) }));
    await watchdogAt(2 + 3 * HOUR);
    await watchdogAt(2 + 3 * HOUR + 1);
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({
      Status: 'terminated',
      ForcedTermination: true,
      TerminationReason: 'forced',
      CompletionTime: at(2 + 3 * HOUR),
      NotifiedStatus: 'terminated',
    });
    expect(world().ec2.terminateRequests()).toEqual([[INSTANCE_ID]]);
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.subtype).toBe('thread_broadcast');
    expect(replies[0]!.text).toContain('limit of 3 h');
    expect(
      world()
        .published()
        .map((p) => p.Subject),
    ).toEqual([`[CRITICAL] metal-build ${build.BuildID} force-terminated at its time limit`]);
    // The slot follows the machine: EC2 reports shutting-down; it is no longer live, so it is given back.
    expect(await world().slots()).toEqual([]);
  });

  it('the forced end closes the warning it posted: no buttons, "Ended: terminated at its deadline at …", once', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    await watchdogAt(2 + 2 * HOUR);
    const warningTs = (await world().get(build.BuildID))?.WarningTs;
    expect(warningTs).toBeDefined();
    const extendConfirm = JSON.stringify(world().replies(build)[0]!.blocks);
    expect(extendConfirm).toContain('Add 1 h (up to $3.94 more)?');

    await watchdogAt(2 + 3 * HOUR);
    await watchdogAt(2 + 3 * HOUR + 1);
    const closes = cardUpdates().filter((c) => c.args.ts === warningTs);
    expect(closes).toHaveLength(1);
    expect(closes[0]!.args.text).toContain('Ended: terminated at its deadline at 20:02 UTC.');
    expect(actionIds({ blocks: closes[0]!.args.blocks as unknown[] })).toEqual([]);
    const replies = world().replies(build);
    expect(replies).toHaveLength(2);
    expect(replies[0]!.ts).toBe(warningTs);
    expect(actionIds(replies[0]!)).toEqual([]);
    expect(replies[1]!.text).toContain('limit of 3 h');
  });

  it('two overlapping runs terminate once and tell once', async () => {
    const build = await world().seed(aLaunchedBuild('building', { WarnedAt: at(2 + 2 * HOUR) }));
    world().clock.minutesAfterT0(2 + 3 * HOUR + 5);
    const run = createHandler(world().deps);
    await Promise.all([run(scheduled(at(185))), run(scheduled(at(185)))]);
    expect(world().ec2.terminateRequests()).toEqual([[INSTANCE_ID]]);
    expect(world().replies(build)).toHaveLength(1);
    expect(world().published()).toHaveLength(1);
    expect((await world().get(build.BuildID))?.Status).toBe('terminated');
  });

  it('counts extensions: extended by 1 h it runs to 4 h, then is forced', async () => {
    const build = await world().seed(aLaunchedBuild('building', { WarnedAt: at(2 + 2 * HOUR), WarningPostedAt: at(2 + 2 * HOUR), ExtendedHours: 1 }));
    await watchdogAt(2 + 3 * HOUR + 30);
    expect((await world().get(build.BuildID))?.Status).toBe('building');
    await watchdogAt(2 + 4 * HOUR);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'terminated', TerminationReason: 'forced' });
    expect(world().replies(build)[0]!.text).toContain('limit of 4 h');
  });

  it('redraws the card of a running build every 5 minutes (elapsed, cost so far)', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    await watchdogAt(2 + 64);
    expect(cardUpdates()).toHaveLength(0);
    await watchdogAt(2 + 65);
    expect(cardUpdates()).toHaveLength(1);
    expect(JSON.stringify(cardUpdates()[0]!.args.blocks)).toContain('*Elapsed* 1 h 5 min · *cost so far* $4.27');
    expect(world().replies(build)).toEqual([]);
  });

  it('running with no live machine for 10 minutes → failed, saying so; the next run records the end, counts it and frees the slot', async () => {
    const build = await world().seed(aLaunchedBuild('launching'), { machine: false });
    await watchdogAt(2 + 9);
    expect((await world().get(build.BuildID))?.Status).toBe('launching');
    await watchdogAt(2 + 10);
    const stored = await world().get(build.BuildID);
    expect(stored?.Status).toBe('failed');
    expect(stored?.ErrorMessage).toContain(`no live machine for this build (${INSTANCE_ID})`);
    // The slot waits for the reconciliation, which records the machine's end (its cost) first.
    expect(await world().slots()).toEqual([build.BuildID]);
    await watchdogAt(2 + 11);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'failed', TerminatedAt: at(2 + 11), ActualCost: expect.any(Number) });
    expect(await world().slots()).toEqual([]);
    // EC2 has forgotten the machine: the termination is a no-op, not an error.
    expect(world().ec2.terminateRequests()).toEqual([[INSTANCE_ID]]);
    expect(world().replies(build)).toHaveLength(1);
    expect(
      world()
        .published()
        .map((p) => p.Subject),
    ).toEqual([`[FAILED] metal-build ${build.BuildID} failed`]);
  });
});

describe('watchdog: age counts from the first launch', () => {
  it('a machine stopped and started 5 minutes ago, first launched 3 h 1 min ago, is force-terminated', async () => {
    const build = await world().seed(aLaunchedBuild('building', { WarnedAt: at(2 + 2 * HOUR), WarningPostedAt: at(2 + 2 * HOUR) }));
    world().ec2.stopAndStart(INSTANCE_ID, at(2 + 3 * HOUR - 4));
    await watchdogAt(2 + 3 * HOUR + 1);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'terminated', TerminationReason: 'forced', ForcedTermination: true });
    expect(world().ec2.terminateRequests()).toEqual([[INSTANCE_ID]]);
    expect(world().replies(build)[0]!.text).toContain('limit of 3 h');
    expect(
      world()
        .published()
        .map((p) => p.Subject),
    ).toEqual([`[CRITICAL] metal-build ${build.BuildID} force-terminated at its time limit`]);
  });

  it('warns 2 h after the first launch, naming the deadline from it, though EC2 says the machine started an hour ago', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    world().ec2.stopAndStart(INSTANCE_ID, at(2 + HOUR));
    await watchdogAt(2 + 2 * HOUR);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'building', WarnedAt: at(2 + 2 * HOUR) });
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain('20:02 UTC');
  });

  it('a stopped machine of a building build is not failed as stuck, and is force-terminated at its deadline', async () => {
    const build = await world().seed(aLaunchedBuild('building'), { instanceState: 'stopped' });
    for (const minutes of [2 + 10, 2 + 11, 2 + 60, 2 + 3 * HOUR - 1]) await watchdogAt(minutes);
    expect((await world().get(build.BuildID))?.Status).toBe('building');
    expect(world().ec2.terminateRequests()).toEqual([]);
    expect(await world().slots()).toEqual([build.BuildID]);

    await watchdogAt(2 + 3 * HOUR);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'terminated', TerminationReason: 'forced' });
    expect(world().ec2.terminateRequests()).toEqual([[INSTANCE_ID]]);
  });

  it("a second machine of a recorded build, stopped and started, is an orphan 15 minutes after the build's first launch", async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    world().ec2.add({ id: 'i-0000000000000beef', launchTime: at(16), tags: launchTags(build, world().config.maxLifetimeHours) });
    await watchdogAt(16);
    expect(world().ec2.terminateRequests()).toEqual([]);
    await watchdogAt(17);
    expect(world().ec2.terminateRequests()).toEqual([['i-0000000000000beef']]);
    expect((await world().get(build.BuildID))?.Status).toBe('building');
  });

  it("a machine without a record still counts from EC2's LaunchTime (there is nothing else)", async () => {
    world().ec2.add({ id: 'i-0000000000000dead', launchTime: at(10), tags: launchTags(aBuild({ BuildID: OTHER_ID }), world().config.maxLifetimeHours) });
    await watchdogAt(24);
    expect(world().ec2.terminateRequests()).toEqual([]);
    await watchdogAt(25);
    expect(world().ec2.terminateRequests()).toEqual([['i-0000000000000dead']]);
  });
});

describe('watchdog: builds without a machine', () => {
  it('expires a request not approved within APPROVAL_TTL_MINUTES; the card loses its buttons', async () => {
    const build = await world().seed(aBuild());
    await watchdogAt(29);
    expect((await world().get(build.BuildID))?.Status).toBe('awaiting_approval');
    await watchdogAt(30);
    await watchdogAt(31);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'expired', NotifiedStatus: 'expired' });
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.subtype).toBe('thread_broadcast');
    expect(replies[0]!.text).toContain('<@U0REQUESTER>');
    expect(replies[0]!.text).toContain('expired');
    expect(cardUpdates()).toHaveLength(1);
    expect(actionIds(cardUpdates()[0]!.args as { blocks?: unknown[] })).toEqual([]);
    expect(world().published()).toEqual([]);
  });

  it('approved with no InstanceID for 10 minutes → failed (stuck), [FAILED]; the slot freed once a launch in flight has settled', async () => {
    const build = await world().seed(anApprovedBuild());
    await watchdogAt(10);
    expect((await world().get(build.BuildID))?.Status).toBe('approved');
    await watchdogAt(11);
    await watchdogAt(12);
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ Status: 'failed', CompletionTime: at(11), NotifiedStatus: 'failed' });
    expect(stored?.ErrorMessage).toContain('no machine was launched within 10 minutes');
    // A launch may have started a machine the record never learnt of (domain/slot-holding).
    expect(await world().slots()).toEqual([build.BuildID]);
    expect(world().ec2.terminateRequests()).toEqual([]);
    expect(world().replies(build)).toHaveLength(1);
    expect(world().published()).toHaveLength(1);
    await watchdogAt(11 + LAUNCH_SETTLE_MS / 60_000);
    expect(await world().slots()).toEqual([]);
  });
});

describe('watchdog: machines nobody accounts for', () => {
  it('terminates a tagged machine without a record after 15 minutes: SNS [CRITICAL], no thread', async () => {
    world().ec2.add({ id: 'i-0000000000000dead', launchTime: at(0), tags: launchTags(aBuild({ BuildID: OTHER_ID }), world().config.maxLifetimeHours) });
    await watchdogAt(14);
    expect(world().ec2.terminateRequests()).toEqual([]);
    await watchdogAt(15);
    await watchdogAt(16);
    expect(world().ec2.terminateRequests()).toEqual([['i-0000000000000dead']]);
    expect(
      world()
        .published()
        .map((p) => [p.Subject, p.MessageAttributes?.BuildID?.StringValue, p.MessageAttributes?.Status?.StringValue]),
    ).toEqual([['[CRITICAL] metal-build: terminated orphan machine i-0000000000000dead', OTHER_ID, 'missing']]);
    expect(await world().builds()).toEqual([]);
  });

  it("an untagged-BuildID machine is looked up by InstanceIndex; a cancelled build's machine still up (its termination failed) is ended at the next run, with a thread note", async () => {
    const build = await world().seed(
      aLaunchedBuild('building', { Status: 'cancelled', CancelledBy: 'U0REQUESTER', TerminationReason: 'cancelled', CompletionTime: at(30) }),
      { machine: true, slot: false },
    );
    const tags = world().ec2.get(INSTANCE_ID)!.tags;
    delete tags.BuildID;
    world().ec2.standIn.set(INSTANCE_ID, { tags });
    await watchdogAt(31);
    await watchdogAt(32);
    expect(world().ec2.terminateRequests()).toEqual([[INSTANCE_ID]]);
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain(`watchdog terminated machine \`${INSTANCE_ID}\``);
    expect(replies[0]!.text).toContain('the earlier termination did not take');
    expect(
      world()
        .published()
        .map((p) => p.Subject),
    ).toEqual([`[CRITICAL] metal-build: terminated orphan machine ${INSTANCE_ID}`]);
    expect(await world().get(build.BuildID)).toEqual(build);
  });

  it('a second machine of a running build (a retried launch) is an orphan after 15 minutes', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    world().ec2.add({ id: 'i-0000000000000beef', launchTime: at(2), tags: launchTags(build, world().config.maxLifetimeHours) });
    await watchdogAt(17);
    expect(world().ec2.terminateRequests()).toEqual([['i-0000000000000beef']]);
    expect((await world().get(build.BuildID))?.Status).toBe('building');
    expect(world().replies(build)[0]!.text).toContain('second machine');
    expect(world().ec2.get(INSTANCE_ID)?.state).toBe('running');
  });

  it("did-not-shut-down: a completed build's machine still up 15 min later is terminated once, the reason recorded, status kept", async () => {
    const build = await world().seed(aLaunchedBuild('building', { Status: 'completed', Phase: 'completed', CompletionTime: at(80) }), {
      machine: true,
      slot: true,
    });
    await watchdogAt(94);
    expect(world().ec2.terminateRequests()).toEqual([]);
    await watchdogAt(95);
    await watchdogAt(96);
    expect(world().ec2.terminateRequests()).toEqual([[INSTANCE_ID]]);
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ Status: 'completed', TerminationReason: 'did-not-shut-down', NotifiedStatus: 'completed' });
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain('should have powered itself off');
    expect(
      world()
        .published()
        .map((p) => p.Subject),
    ).toEqual([`[CRITICAL] metal-build: terminated leftover machine ${INSTANCE_ID}`]);
    // Machine gone from the live list: the slot is given back.
    expect(await world().slots()).toEqual([]);
  });
});

describe('watchdog: no machine outlives its deadline', () => {
  it("a completed build's machine still up at its deadline is terminated then, without the shutdown grace", async () => {
    // Launched at minute 2 with a 3 h limit; finished a minute before it, and did not power off.
    const build = await world().seed(aLaunchedBuild('building', { Status: 'completed', Phase: 'completed', CompletionTime: at(2 + 3 * HOUR - 1) }), {
      machine: true,
      slot: true,
    });
    await watchdogAt(2 + 3 * HOUR - 1);
    expect(world().ec2.terminateRequests()).toEqual([]);
    await watchdogAt(2 + 3 * HOUR);
    expect(world().ec2.terminateRequests()).toEqual([[INSTANCE_ID]]);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', TerminationReason: 'did-not-shut-down' });
    expect(
      world()
        .published()
        .map((p) => p.Subject),
    ).toEqual([`[CRITICAL] metal-build: terminated leftover machine ${INSTANCE_ID}`]);
  });
});

describe('watchdog: slots, catch-up, failures, cost', () => {
  it('gives back slots whose build is not active, keeps those of active builds and of live machines', async () => {
    const running = await world().seed(aLaunchedBuild('building'));
    const ended = await world().seed(aBuild({ BuildID: OTHER_ID, Status: 'failed', ErrorMessage: 'x', CompletionTime: at(5) }), { slot: true });
    const finishing = await world().seed(
      aLaunchedBuild('building', { BuildID: 'build-20261125-170052-c3d4', InstanceID: 'i-0000000000000c3d4', Status: 'completed', CompletionTime: at(9) }),
      { machine: true, slot: true },
    );
    await world().deps.store.takeSlot('build-20261125-170052-gone', 10);
    expect(await world().slots()).toHaveLength(4);
    await watchdogAt(10);
    expect(await world().slots()).toEqual([running.BuildID, finishing.BuildID].sort());
    expect(
      logLines(world(), 'WARN')
        .filter((l) => l.message === 'released a slot whose build is not active')
        .map((l) => [l.buildId, l.status]),
    ).toEqual([
      [ended.BuildID, 'failed'],
      ['build-20261125-170052-gone', 'missing'],
    ]);
  });

  it('tells the thread a final status it missed (after 2 minutes), once', async () => {
    world().clock.minutesAfterT0(20);
    const finalAt = (minutes: number) => Math.floor(Date.parse(at(minutes)) / 1000) + RETENTION_DAYS * 24 * 3600;
    const missed = await world().seed(aBuild({ Status: 'rejected', DeniedBy: 'U0APPROVER', ExpirationTime: finalAt(17) }));
    const fresh = await world().seed(aBuild({ BuildID: OTHER_ID, Status: 'rejected', DeniedBy: 'U0APPROVER', ExpirationTime: finalAt(19) }));
    await world().deps.store.update(missed.BuildID, { status: ['rejected'] }, { NotifiedStatus: 'awaiting_approval' });
    await world().deps.store.update(fresh.BuildID, { status: ['rejected'] }, { NotifiedStatus: 'awaiting_approval' });
    await watchdogAt(20);
    await watchdogAt(20);
    expect(world().replies(missed)).toHaveLength(1);
    expect(world().replies(missed)[0]!.text).toContain('Denied by <@U0APPROVER>');
    expect((await world().get(missed.BuildID))?.NotifiedStatus).toBe('rejected');
    expect(world().replies(fresh)).toEqual([]);
    expect(world().published()).toEqual([]);
  });

  it('a failing step does not stop the others; the run throws at the end', async () => {
    const stale = await world().seed(aBuild());
    const running = await world().seed(aLaunchedBuild('building', { BuildID: OTHER_ID }), { machine: false });
    world().ec2.failNext('DescribeInstances', 'RequestLimitExceeded', 503, 'Request limit exceeded.');
    world().clock.minutesAfterT0(40);
    await expect(createHandler(world().deps)(scheduled(at(40)))).rejects.toThrow('watchdog: 1 step(s) failed: list machines');
    // Expiry needs no EC2 and happened; without the machine list nothing is judged stuck.
    expect((await world().get(stale.BuildID))?.Status).toBe('expired');
    expect((await world().get(running.BuildID))?.Status).toBe('building');
    expect(logLines(world(), 'ERROR')).toEqual([expect.objectContaining({ message: 'watchdog step failed', step: 'list machines' })]);
  });

  it("a Slack failure for one build does not stop another build's rule", async () => {
    const first = await world().seed(aBuild({ CreatedAt: at(1) }));
    const second = await world().seed(aBuild({ BuildID: OTHER_ID }));
    world().slack.failNext('chat.postMessage', 'internal_error');
    world().clock.minutesAfterT0(40);
    await expect(createHandler(world().deps)(scheduled(at(40)))).rejects.toThrow('watchdog: 1 step(s) failed');
    expect((await world().get(first.BuildID))?.Status).toBe('expired');
    expect((await world().get(second.BuildID))?.Status).toBe('expired');
    const told = [world().replies(first).length, world().replies(second).length].sort();
    expect(told).toEqual([0, 1]);
    // The missed message goes out on a later run (catch-up, after 2 minutes), once.
    await watchdogAt(42);
    await watchdogAt(43);
    expect(world().replies(first)).toHaveLength(1);
    expect(world().replies(second)).toHaveLength(1);
  });

  it('its cost does not grow with history: queries and reads only, the same count and items read with 30 old builds', async () => {
    const client = localDynamoClient(world().dynamo.endpoint);
    const commands: string[] = [];
    let itemsRead = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(String(context.commandName));
        const result = await next(args);
        itemsRead += context.commandName === 'GetItemCommand' ? 1 : ((result.output as { ScannedCount?: number }).ScannedCount ?? 0);
        return result;
      },
      { step: 'initialize', name: 'recordCommands' },
    );
    const store = new DynamoBuildStore(client, world().dynamo.tableName);
    await world().seed(aLaunchedBuild('building'));
    world().clock.minutesAfterT0(33);
    // The first run also sets the build's missing deadline schedule (and records ScheduleAt).
    await createHandler({ ...world().deps, store })(scheduled(at(33)));
    commands.length = 0;
    itemsRead = 0;
    await createHandler({ ...world().deps, store })(scheduled(at(33)));
    const before = commands.splice(0);
    const readBefore = itemsRead;
    itemsRead = 0;
    for (let i = 0; i < 30; i++)
      await world().seed(
        aBuild({
          BuildID: `build-20261101-000000-${i.toString(36).padStart(4, '0')}`,
          CreatedAt: `2026-11-01T00:${String(i).padStart(2, '0')}:00.000Z`,
          Status: 'completed',
          NotifiedStatus: 'completed',
        }),
      );
    await createHandler({ ...world().deps, store })(scheduled(at(33)));
    expect(commands).toEqual(before);
    // The old builds are outside every key condition (the catch-up reads the last two days only).
    expect(itemsRead).toBe(readBefore);
    expect(new Set(commands)).toEqual(new Set(['GetItemCommand', 'QueryCommand']));
    client.destroy();
  });
});

describe('watchdog: safety never waits on Slack', () => {
  const NOW = 2 + 3 * HOUR + 20;
  const ORPHAN = 'i-00000000000orphan';

  /** 30 running builds whose cards are due a redraw, one 20 minutes past its limit (no schedule left), and a 20-minute-old orphan. */
  async function busyWorld() {
    const overdue = await world().seed(aLaunchedBuild('building', { WarnedAt: at(2 + 2 * HOUR), WarningPostedAt: at(2 + 2 * HOUR) }));
    for (let i = 0; i < 30; i++)
      await world().seed(
        aLaunchedBuild('building', {
          BuildID: `build-20261125-200000-${String(i).padStart(4, '0')}`,
          InstanceID: `i-0${String(i).padStart(16, '0')}`,
          LaunchTime: at(NOW - HOUR),
        }),
      );
    world().ec2.add({ id: ORPHAN, launchTime: at(NOW - 20), tags: launchTags(aBuild({ BuildID: OTHER_ID }), world().config.maxLifetimeHours) });
    return overdue;
  }

  it.each([
    ['answers every call 429 with Retry-After: 20', () => world().slack.throttle(20)],
    ['cannot be reached', () => world().slack.unreachable(true)],
  ])('while Slack %s: both machines are terminated in the run, Slack is tried once, the thread is told when Slack is back', async (_what, slackFails) => {
    const overdue = await busyWorld();
    const callsBefore = world().slack.calls.length;
    slackFails();

    world().clock.minutesAfterT0(NOW);
    // The run fails (an alarm) but ends: rate-limited calls are rejected at once, never slept out.
    await expect(createHandler(world().deps)(scheduled(at(NOW)))).rejects.toThrow('watchdog: 1 step(s) failed');

    expect(world().ec2.terminateRequests().flat().sort()).toEqual([INSTANCE_ID, ORPHAN].sort());
    expect(await world().get(overdue.BuildID)).toMatchObject({ Status: 'terminated', TerminationReason: 'forced', NotifiedStatus: 'building' });
    // The first message's calls (its reply and card redraw go out together) opened the run's
    // circuit; none of the 30 redraws was sent, and nothing reached Slack.
    expect(world().slack.refused()).toBeGreaterThan(0);
    expect(world().slack.refused()).toBeLessThanOrEqual(3);
    expect(world().slack.calls.length).toBe(callsBefore);
    // The operators' mail does not depend on Slack.
    expect(
      world()
        .published()
        .map((p) => p.Subject)
        .sort(),
    ).toEqual([`[CRITICAL] metal-build ${overdue.BuildID} force-terminated at its time limit`, `[CRITICAL] metal-build: terminated orphan machine ${ORPHAN}`]);
    expect(logLines(world(), 'WARN').find((l) => l.message === 'Slack calls left to the next run')).toMatchObject({ deferred: expect.any(Number) });

    world().slack.throttle(undefined);
    world().slack.unreachable(false);
    await watchdogAt(NOW + 3);
    expect(await world().get(overdue.BuildID)).toMatchObject({ NotifiedStatus: 'terminated' });
    expect(
      world()
        .replies(overdue)
        .filter((m) => m.text.includes('limit of 3 h')),
    ).toHaveLength(1);
    expect(world().published()).toHaveLength(2);
  });

  it('with too little of its Lambda time left to wait on Slack, a run still ends both machines and leaves every Slack call to the next run', async () => {
    const overdue = await busyWorld();
    const callsBefore = world().slack.calls.length;
    world().clock.minutesAfterT0(NOW);
    await createHandler(world().deps)(scheduled(at(NOW)), { getRemainingTimeInMillis: () => 5_000 });

    expect(world().ec2.terminateRequests().flat().sort()).toEqual([INSTANCE_ID, ORPHAN].sort());
    expect(await world().get(overdue.BuildID)).toMatchObject({ Status: 'terminated', NotifiedStatus: 'building' });
    expect(world().slack.calls.length).toBe(callsBefore);
    expect(world().published()).toHaveLength(2);
    expect(logLines(world(), 'WARN').find((l) => l.message === 'Slack calls left to the next run')).toMatchObject({ cause: 'the run’s time is up' });
  });
});
