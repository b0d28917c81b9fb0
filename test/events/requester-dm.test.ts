import { describe, expect, it } from 'vitest';
import { createHandler } from '../../events/watchdog';
import { aLaunchedBuild, at } from '../../stand-ins/build-fixture';
import { REQUESTER } from '../../stand-ins/slack-api';
import { scheduled } from '../support/event-fixtures';
import { useWorld } from '../support/events-world';

// The requester's direct messages (the app's Messages tab): the warning and the end, each once,
// linking to the thread, without buttons; NOTIFY_REQUESTER_DM=false turns them off.

const world = useWorld();
const HOUR = 60;

async function watchdogAt(minutes: number) {
  world().clock.minutesAfterT0(minutes);
  await createHandler(world().deps)(scheduled(at(minutes)));
}

const directMessages = () =>
  world()
    .slack.callsTo('chat.postMessage')
    .filter((c) => c.args.channel === REQUESTER);

describe('direct messages to the requester', () => {
  it('the warning: once, however many runs see it, with the deadline and a link to the thread', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    await watchdogAt(2 + 2 * HOUR);
    await watchdogAt(2 + 2 * HOUR + 1);
    expect(directMessages()).toHaveLength(1);
    const dm = directMessages()[0]!.args;
    expect(dm.text).toContain(`Your build \`${build.BuildID}\``);
    expect(dm.text).toContain('will be terminated at 20:02 UTC unless an approver extends it');
    expect(dm.text).toMatch(new RegExp(`<[^|]+/archives/${build.Channel}/p${build.ThreadTs.replace('.', '')}\\|Open the thread>`));
    expect(dm.blocks).toBeUndefined();
    // The thread's warning is still the one with the buttons.
    expect(world().replies(build)).toHaveLength(1);
    expect((await world().get(build.BuildID))?.DirectMessages).toEqual(['warning']);
  });

  it('none with NOTIFY_REQUESTER_DM=false', async () => {
    world().configure({ NOTIFY_REQUESTER_DM: 'false' });
    const build = await world().seed(aLaunchedBuild('building'));
    await watchdogAt(2 + 2 * HOUR);
    expect(world().replies(build)).toHaveLength(1);
    expect(directMessages()).toEqual([]);
  });
});
