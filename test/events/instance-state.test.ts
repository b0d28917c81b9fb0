import { describe, expect, it } from 'vitest';
import type { Build } from '../../domain/build';
import { costBetween } from '../../domain/cost';
import type { BuildStore } from '../../domain/ports';
import { createHandler as buildPhaseHandler } from '../../events/build-phase';
import { createHandler } from '../../events/instance-state';
import { INSTANCE_ID, aLaunchedBuild, at } from '../../stand-ins/build-fixture';
import { SHA256, buildPhase, ec2StateChange } from '../support/event-fixtures';
import { logLines, useWorld } from '../support/events-world';

const world = useWorld({ minutesAfterT0: 3 });

const instanceState = (event: unknown) => createHandler(world().deps)(event);

/** The store with every call recorded by method name. */
function recordingStore(store: BuildStore): { store: BuildStore; calls: string[] } {
  const calls: string[] = [];
  const recorded = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(name));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: recorded, calls };
}

describe('instance-state (EC2 Instance State-change Notification)', () => {
  it('pending / running: InstanceState only, moving forward; the card is redrawn, the thread not told', async () => {
    const build = await world().seed(aLaunchedBuild('launching'));
    await instanceState(ec2StateChange(INSTANCE_ID, 'pending', at(2)));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching', InstanceState: 'pending' });
    await instanceState(ec2StateChange(INSTANCE_ID, 'running', at(3)));
    // Late and redelivered: never backwards.
    await instanceState(ec2StateChange(INSTANCE_ID, 'pending', at(2)));
    await instanceState(ec2StateChange(INSTANCE_ID, 'running', at(3)));
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ Status: 'launching', InstanceState: 'running', NotifiedStatus: 'launching' });
    expect(stored?.TerminatedAt).toBeUndefined();
    expect(world().replies(build)).toEqual([]);
    expect(world().slack.callsTo('chat.update')).toHaveLength(2);
    expect(world().published()).toEqual([]);
    expect(world().ec2.requests).toEqual([]);
    expect(await world().slots()).toEqual([build.BuildID]);
  });

  it('shutting-down of an active build: terminated (unexpected), TerminatedAt, ActualCost, slot freed, told once', async () => {
    const build = await world().seed(aLaunchedBuild('building'), { instanceState: 'running' });
    world().clock.minutesAfterT0(93);
    await instanceState(ec2StateChange(INSTANCE_ID, 'shutting-down', at(92)));

    const cost = costBetween('c5n.metal', 500, at(2), at(92), {}, 'c5n.metal');
    expect(cost).toBe(5.91);
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({
      Status: 'terminated',
      TerminationReason: 'unexpected',
      InstanceState: 'shutting-down',
      TerminatedAt: at(92),
      CompletionTime: at(92),
      ActualCost: cost,
      NotifiedStatus: 'terminated',
    });
    expect(stored?.ExpirationTime).toBeGreaterThan(Date.parse(at(92)) / 1000 + 364 * 86400);
    expect(await world().slots()).toEqual([]);
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ subtype: 'thread_broadcast' });
    expect(replies[0]!.text).toContain('<@U0REQUESTER>');
    expect(replies[0]!.text).toContain('terminated');
    expect(replies[0]!.text).toContain('$5.91');
    expect(
      world()
        .published()
        .map((p) => [p.Subject, p.MessageAttributes?.Status?.StringValue]),
    ).toEqual([[`[FAILED] metal-build ${build.BuildID}: machine ended unexpectedly`, 'terminated']]);

    // terminated follows, and both are redelivered: the state moves on, nothing else happens.
    await instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(93)));
    await instanceState(ec2StateChange(INSTANCE_ID, 'shutting-down', at(92)));
    await instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(93)));
    expect(await world().get(build.BuildID)).toMatchObject({ InstanceState: 'terminated', TerminatedAt: at(92), ActualCost: cost });
    expect(world().replies(build)).toHaveLength(1);
    expect(world().published()).toHaveLength(1);
    // EC2 already ends the machine; nothing to terminate.
    expect(world().ec2.requests).toEqual([]);
  });

  it('terminated of a completed build: TerminatedAt, the final cost and the slot, without a status change; the final cost told once', async () => {
    const build = await world().seed(
      aLaunchedBuild('building', { Status: 'completed', Phase: 'completed', CompletionTime: at(80), ArtifactKey: 'builds/x/a.ova' }),
      { machine: true, slot: true },
    );
    world().clock.minutesAfterT0(82);
    await instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(81)));
    expect(await world().get(build.BuildID)).toMatchObject({
      Status: 'completed',
      InstanceState: 'terminated',
      TerminatedAt: at(81),
      ActualCost: costBetween('c5n.metal', 500, at(2), at(81), {}, 'c5n.metal'),
      CompletionTime: at(80),
    });
    expect((await world().get(build.BuildID))?.TerminationReason).toBeUndefined();
    expect(await world().slots()).toEqual([]);
    // The completed message said "cost so far": one short reply gives the final figure.
    expect(
      world()
        .replies(build)
        .map((m) => m.text),
    ).toEqual(['💵 Final cost: $5.19 (1 h 19 min of c5n.metal).']);
    expect(await world().get(build.BuildID)).toMatchObject({ CostToldAt: at(82), NotifiedStatus: 'completed' });
    expect(world().published()).toEqual([]);
    // The card shows the same figure.
    const update = world().slack.callsTo('chat.update').at(-1);
    expect(JSON.stringify(update?.args.blocks)).toContain('*cost* $5.19');

    // Redelivered, and shutting-down late: no second reply.
    await instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(81)));
    await instanceState(ec2StateChange(INSTANCE_ID, 'shutting-down', at(80.5)));
    expect(world().replies(build)).toHaveLength(1);
  });

  it('the final cost: two deliveries racing post one reply', async () => {
    const build = await world().seed(aLaunchedBuild('building', { Status: 'failed', Phase: 'failed', CompletionTime: at(60), ErrorMessage: 'boom' }), {
      machine: true,
      slot: true,
    });
    world().clock.minutesAfterT0(62);
    await Promise.all([
      instanceState(ec2StateChange(INSTANCE_ID, 'shutting-down', at(61))),
      instanceState(ec2StateChange(INSTANCE_ID, 'shutting-down', at(61))),
      instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(61.5))),
    ]);
    const cost = costBetween('c5n.metal', 500, at(2), at(61), {}, 'c5n.metal');
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'failed', ActualCost: cost, TerminatedAt: at(61), CostToldAt: at(62) });
    expect(
      world()
        .replies(build)
        .map((m) => m.text),
    ).toEqual([`💵 Final cost: $${cost.toFixed(2)} (59 min of c5n.metal).`]);
    expect(
      world()
        .slack.callsTo('chat.postMessage')
        .filter((c) => String(c.args.text).includes('Final cost')),
    ).toHaveLength(1);
    expect(world().published()).toEqual([]);
  });

  it('a final message that carried the cost gets no "Final cost" reply; a Slack failure of the reply is logged, never repeated', async () => {
    // Ended by EC2 while active: the terminated message itself has the final figure.
    const active = await world().seed(aLaunchedBuild('building'), { instanceState: 'running' });
    world().clock.minutesAfterT0(93);
    await instanceState(ec2StateChange(INSTANCE_ID, 'shutting-down', at(92)));
    await instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(93)));
    expect(await world().get(active.BuildID)).toMatchObject({ Status: 'terminated', CostToldAt: at(93) });
    const replies = world()
      .replies(active)
      .map((m) => m.text);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toContain('Cost $5.91, final.');
    expect(replies.filter((t) => t.includes('Final cost'))).toEqual([]);

    await world().reset();
    world().clock.minutesAfterT0(82);
    const completed = await world().seed(aLaunchedBuild('building', { Status: 'completed', Phase: 'completed', CompletionTime: at(80) }), {
      machine: true,
      slot: true,
    });
    world().slack.failNext('chat.postMessage', 'internal_error');
    await instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(81)));
    await instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(81)));
    expect(world().replies(completed)).toEqual([]);
    expect(await world().get(completed.BuildID)).toMatchObject({ CostToldAt: at(82), ActualCost: 5.19 });
    expect(logLines(world(), 'ERROR')).toContainEqual(
      expect.objectContaining({ message: 'the final cost could not be told; the card shows it', buildId: completed.BuildID }),
    );
    expect(JSON.stringify(world().slack.callsTo('chat.update').at(-1)?.args.blocks)).toContain('*cost* $5.19');
  });

  it('the end closes the warning: every button gone, one line saying how it ended, once', async () => {
    const seeded = await world().seed(aLaunchedBuild('building', { WarnedAt: at(122), WarningPostedAt: at(122) }), { instanceState: 'running' });
    const warning = await world().deps.chat.post({ channel: seeded.Channel, threadTs: seeded.ThreadTs, text: 'the warning', broadcast: true });
    await world().deps.store.update(seeded.BuildID, { status: ['building'] }, { WarningTs: warning.ts });
    world().clock.minutesAfterT0(151);
    await instanceState(ec2StateChange(INSTANCE_ID, 'shutting-down', at(150)));
    await instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(151)));

    const closes = world()
      .slack.callsTo('chat.update')
      .filter((c) => c.args.ts === warning.ts);
    expect(closes).toHaveLength(1);
    const blocks = JSON.stringify(closes[0]!.args.blocks);
    expect(blocks).not.toContain('"actions"');
    expect(blocks).not.toContain('button');
    expect(closes[0]!.args.text).toContain('Ended: terminated at 19:30 UTC; the machine ended before the build finished.');
    const replies = world().replies(seeded);
    expect(replies.find((m) => m.ts === warning.ts)?.text).toBe(closes[0]!.args.text);
    // The warning (edited) and the terminated message; nothing else posted.
    expect(replies.map((m) => m.text.slice(0, 2))).toEqual(['⚠️'.slice(0, 2), '🛑']);
  });

  it('out of order: terminated before completed → terminated (unexpected), then the late completed wins', async () => {
    const build = await world().seed(aLaunchedBuild('uploading'));
    world().clock.minutesAfterT0(90);
    await instanceState(ec2StateChange(INSTANCE_ID, 'shutting-down', at(90)));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'terminated', TerminationReason: 'unexpected' });

    const completed = buildPhase({
      buildId: build.BuildID,
      instanceId: INSTANCE_ID,
      phase: 'completed',
      at: at(89.5),
      artifact: {
        bucket: 'hedgehog-lab-artifacts',
        key: `builds/${build.BuildID}/hedgehog-lab-prewarmed-0.0.0-abc1234.ova`,
        sha256: SHA256,
        bytes: 21_474_836_480,
      },
      durationSeconds: 5000,
    });
    await buildPhaseHandler(world().deps)(completed);
    await buildPhaseHandler(world().deps)(completed);
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({
      Status: 'completed',
      CompletionTime: at(89.5),
      TerminatedAt: at(90),
      ArtifactSha256: SHA256,
      BuildDurationSeconds: 5000,
      NotifiedStatus: 'completed',
    });
    const replies = world()
      .replies(build)
      .map((m) => m.text);
    expect(replies).toHaveLength(2);
    expect(replies[0]).toContain('terminated');
    expect(replies[1]).toContain('completed');
    expect(
      world()
        .published()
        .map((p) => p.Subject?.split(' ')[0]),
    ).toEqual(['[FAILED]', '[OK]']);
    expect(await world().slots()).toEqual([]);
  });

  it('an instance that is not ours: one InstanceIndex lookup, then nothing', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    const { store, calls } = recordingStore(world().deps.store);
    await createHandler({ ...world().deps, store })(ec2StateChange('i-0fedcba9876543210', 'terminated', at(3)));
    expect(calls).toEqual(['findByInstance']);
    expect(await world().get(build.BuildID)).toEqual(build);
    expect(world().slack.calls.filter((c) => c.method !== 'chat.postMessage' || c.args.text !== `card of ${build.BuildID}`)).toEqual([]);
    expect(world().published()).toEqual([]);
  });

  it('drops a malformed notification with nothing changed', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    const event = ec2StateChange(INSTANCE_ID, 'terminated', at(3));
    await instanceState({ ...event, detail: { 'instance-id': INSTANCE_ID, state: 'exploded' } });
    await instanceState({ ...event, 'detail-type': 'EC2 Spot Instance Interruption Warning' });
    await instanceState({ ...event, time: 'yesterday' });
    expect(await world().get(build.BuildID)).toEqual(build);
    expect(world().replies(build)).toEqual([]);
    expect(logLines(world(), 'WARN').filter((l) => l.message === 'dropped a malformed event')).toHaveLength(3);
  });

  it('a Slack failure after the transition throws; the redelivery tells the thread once', async () => {
    const build: Build = await world().seed(aLaunchedBuild('building'));
    world().slack.failNext('chat.postMessage', 'fatal_error');
    await expect(instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(60)))).rejects.toThrow('fatal_error');
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'terminated', NotifiedStatus: 'building' });
    expect(await world().slots()).toEqual([]);
    await instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(60)));
    await instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(60)));
    expect(world().replies(build)).toHaveLength(1);
    expect(await world().get(build.BuildID)).toMatchObject({ NotifiedStatus: 'terminated' });
  });
});
