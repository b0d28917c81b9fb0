import { describe, expect, it } from 'vitest';
import { createHandler } from '../../events/cancel';
import { INSTANCE_ID, aLaunchedBuild, anApprovedBuild, at } from '../../stand-ins/build-fixture';
import { cancelRequested } from '../support/event-fixtures';
import { logLines, useWorld } from '../support/events-world';

const world = useWorld({ minutesAfterT0: 30 });

const cancel = (event: unknown) => createHandler(world().deps)(event);

describe('cancel (Build Cancel Requested)', () => {
  it.each(['launching', 'building', 'uploading'] as const)('%s → cancelled: who, why, TerminateInstances, told once', async (status) => {
    const build = await world().seed(aLaunchedBuild(status));
    const event = cancelRequested(build.BuildID, 'U0APPROVER', at(30));
    await cancel(event);
    await cancel(event);

    expect(await world().get(build.BuildID)).toMatchObject({
      Status: 'cancelled',
      CancelledBy: 'U0APPROVER',
      TerminationReason: 'cancelled',
      CompletionTime: at(30),
      NotifiedStatus: 'cancelled',
    });
    expect(world().ec2.terminateRequests()).toEqual([[INSTANCE_ID]]);
    expect(world().ec2.get(INSTANCE_ID)?.state).toBe('shutting-down');
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain('<@U0APPROVER>');
    expect(replies[0]!.text).toContain(INSTANCE_ID);
    // The slot follows the machine: EC2's shutting-down event frees it.
    expect(await world().slots()).toEqual([build.BuildID]);
    expect(world().published()).toEqual([]);
  });

  it('a cancel that arrives after the build ended changes nothing and terminates nothing', async () => {
    const build = await world().seed(aLaunchedBuild('building', { Status: 'completed', CompletionTime: at(25) }), { machine: true, slot: true });
    await cancel(cancelRequested(build.BuildID, 'U0REQUESTER', at(30)));
    expect(await world().get(build.BuildID)).toEqual(build);
    expect(world().ec2.terminateRequests()).toEqual([]);
    expect(world().replies(build)).toEqual([]);
  });

  it("a cancel for a build that is only approved is the bot's business: nothing here", async () => {
    const build = await world().seed(anApprovedBuild());
    await cancel(cancelRequested(build.BuildID, 'U0REQUESTER', at(30)));
    expect(await world().get(build.BuildID)).toEqual(build);
    expect(world().ec2.terminateRequests()).toEqual([]);
  });

  it("a failing TerminateInstances throws after the transition (retry, then DLQ; the watchdog's next run ends the machine)", async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    world().ec2.failNext('TerminateInstances', 'InternalError', 500, 'An internal error has occurred');
    await expect(cancel(cancelRequested(build.BuildID, 'U0REQUESTER', at(30)))).rejects.toThrow('internal error');
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'cancelled', NotifiedStatus: 'building' });
    // The redelivery tells the thread; the transition is done, so it terminates nothing again.
    await cancel(cancelRequested(build.BuildID, 'U0REQUESTER', at(30)));
    expect(world().replies(build)).toHaveLength(1);
    expect(world().ec2.terminateRequests()).toEqual([[INSTANCE_ID]]);
    expect(world().ec2.get(INSTANCE_ID)?.state).toBe('running');
  });

  it('drops malformed requests and unknown builds with nothing changed', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    const good = cancelRequested(build.BuildID, 'U0REQUESTER', at(30));
    await cancel({ ...good, detail: { buildId: build.BuildID } });
    await cancel({ ...good, 'detail-type': 'Build Approved' });
    await cancel(cancelRequested('build-20261125-170052-zzzz', 'U0REQUESTER', at(30)));
    expect(await world().get(build.BuildID)).toEqual(build);
    expect(world().ec2.terminateRequests()).toEqual([]);
    expect(world().replies(build)).toEqual([]);
    expect(logLines(world(), 'WARN').map((l) => [l.message, l.buildId])).toEqual([
      ['dropped a malformed event', build.BuildID],
      ['dropped a malformed event', build.BuildID],
      ['cancel for an unknown build; dropped', 'build-20261125-170052-zzzz'],
    ]);
  });
});
