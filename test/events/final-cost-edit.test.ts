import { describe, expect, it } from 'vitest';
import { costBetween } from '../../domain/cost';
import { createHandler as buildPhaseHandler } from '../../events/build-phase';
import { createHandler as instanceStateHandler } from '../../events/instance-state';
import { createHandler as watchdogHandler } from '../../events/watchdog';
import { INSTANCE_ID, aLaunchedBuild, at } from '../../stand-ins/build-fixture';
import { SHA256, buildPhase, ec2StateChange, scheduled } from '../support/event-fixtures';
import { useWorld } from '../support/events-world';

// One figure everywhere (issue 31): a broadcast final message (completed, failed, terminated)
// that went out before EC2 reported the machine's end said "Cost about $X"; its ts is recorded
// (FinalMessageTs, the final-message-posted row) and, when the final cost arrives, the message
// itself (the thread and the channel's copy) is edited to it, beside the one "Final cost" reply.

const world = useWorld();
const ARTIFACT_KEY = 'builds/build-20261125-170052-a1b2/hedgehog-lab-prewarmed-0.0.0-abc1234.ova';

describe('the broadcast final message is edited to the final cost', () => {
  it('completed: "Cost about" when posted, "Cost $X, final." once EC2 reports the end; edited once, with the card and the reply', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    world().clock.minutesAfterT0(80);
    await buildPhaseHandler(world().deps)(
      buildPhase({
        buildId: build.BuildID,
        instanceId: INSTANCE_ID,
        phase: 'completed',
        at: at(80),
        artifact: { bucket: 'hedgehog-lab-artifacts', key: ARTIFACT_KEY, sha256: SHA256, bytes: 1 },
      }),
    );
    const [completed] = world().replies(build);
    expect(completed!.subtype).toBe('thread_broadcast');
    expect(completed!.text).toContain('Cost about $');
    expect(await world().get(build.BuildID)).toMatchObject({ FinalMessageTs: completed!.ts });

    world().clock.minutesAfterT0(82);
    await instanceStateHandler(world().deps)(ec2StateChange(INSTANCE_ID, 'terminated', at(81)));
    await instanceStateHandler(world().deps)(ec2StateChange(INSTANCE_ID, 'terminated', at(81)));

    const cost = costBetween('c5n.metal', 500, at(2), at(81), {}, 'c5n.metal');
    const edits = world()
      .slack.callsTo('chat.update')
      .filter((c) => c.args.ts === completed!.ts);
    expect(edits).toHaveLength(1);
    expect(edits[0]!.args.text).toContain(`Cost $${cost.toFixed(2)}, final.`);
    expect(JSON.stringify(edits[0]!.args.blocks)).toContain(`Cost $${cost.toFixed(2)}, final.`);
    expect(JSON.stringify(edits[0]!.args)).not.toContain('Cost about');
    // The message as Slack now holds it, the reply and the card: the same figure.
    const replies = world().replies(build);
    expect(replies[0]!.text).toContain(`Cost $${cost.toFixed(2)}, final.`);
    expect(replies.map((m) => m.text)).toContain(`💵 Final cost: $${cost.toFixed(2)} (1 h 19 min of c5n.metal).`);
    const card = world()
      .slack.callsTo('chat.update')
      .filter((c) => c.args.ts === build.ThreadTs)
      .at(-1);
    expect(JSON.stringify(card?.args.blocks)).toContain(`$${cost.toFixed(2)}`);
  });

  it('a forced end told by the watchdog: edited to the final cost, keeping the phase, the log lines and Show log', async () => {
    const build = await world().seed(aLaunchedBuild('uploading', { WarnedAt: at(122), PhaseAt: at(150) }));
    await world().writeLog(build.BuildID, INSTANCE_ID, ['part 1', 'part 2'], new Date(at(181)));
    world().clock.minutesAfterT0(182);
    await watchdogHandler(world().deps)(scheduled(at(182)));
    const [ended] = world().replies(build);
    expect(ended!.text).toContain('Cost about $');
    expect(await world().get(build.BuildID)).toMatchObject({ FinalMessageTs: ended!.ts });

    world().clock.minutesAfterT0(183);
    await instanceStateHandler(world().deps)(ec2StateChange(INSTANCE_ID, 'terminated', at(182.5)));

    const cost = costBetween('c5n.metal', 500, at(2), at(182.5), {}, 'c5n.metal');
    const edit = world()
      .slack.callsTo('chat.update')
      .find((c) => c.args.ts === ended!.ts);
    const blocks = JSON.stringify(edit?.args.blocks);
    expect(edit?.args.text).toContain(`Cost $${cost.toFixed(2)}, final.`);
    expect(blocks).toContain('It was in phase `uploading` for 32 min');
    expect(blocks).toContain('part 1\\npart 2');
    expect(blocks).toContain('"action_id":"show_log"');
  });

  it('a final message that already carried the final cost records nothing to edit', async () => {
    const build = await world().seed(aLaunchedBuild('building', { TerminatedAt: at(60), ActualCost: 4, InstanceState: 'terminated', Phase: 'building' }), {
      machine: false,
    });
    world().clock.minutesAfterT0(61);
    await buildPhaseHandler(world().deps)(buildPhase({ buildId: build.BuildID, instanceId: INSTANCE_ID, phase: 'failed', at: at(59), message: 'boom' }));
    const stored = await world().get(build.BuildID);
    expect(stored?.Status).toBe('failed');
    expect(world().replies(build)[0]!.text).toBeDefined();
    expect(stored?.FinalMessageTs).toBeUndefined();
  });
});
