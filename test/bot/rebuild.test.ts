import { describe, expect, it } from 'vitest';
import { applyEvent } from '../../domain/apply';
import type { Build } from '../../domain/build';
import { DynamoBuildStore } from '../../adapters/aws/dynamo-store';
import { APPROVER, REQUESTER, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import type { World } from '../support/bot-world';
import { useWorld } from '../support/bot-world';

// Rebuild (the button on a failed, terminated or cancelled card, and `/metal-build rebuild <id>`):
// a new request for the same branch at the commit that was asked for, through the same approval,
// once per earlier build. Each case checks the records, the Slack calls and the events after.

const world = useWorld();

const store = (w: World) => new DynamoBuildStore(w.dynamo.client, w.dynamo.tableName);

async function apply(w: World, buildId: string, event: Parameters<typeof applyEvent>[2]): Promise<Build> {
  const applied = await applyEvent(store(w), buildId, event, new Date());
  if (applied.outcome !== 'changed') throw new Error(`${event.type} on ${buildId}: ${applied.outcome}`);
  return applied.build;
}

/** A build that ended as `ending`, by the same events production sees. */
async function endedBuild(w: World, ending: 'failed' | 'terminated' | 'cancelled', text = 'main abc1234'): Promise<string> {
  const bot = w.bot();
  const id = await bot.request(text);
  await bot.click('approve_build', id, APPROVER);
  if (ending === 'failed') await apply(w, id, { type: 'launch-failed', message: 'InsufficientInstanceCapacity' });
  else if (ending === 'cancelled') await bot.click('cancel_build', id, REQUESTER);
  else {
    await w.launch(id);
    await apply(w, id, { type: 'instance-state', state: 'terminated', at: new Date().toISOString(), actualCost: 1.23 });
  }
  expect((await w.build(id))?.Status).toBe(ending);
  // The events side's effect of those endings (release-slot), which applyEvent alone does not run.
  await store(w).releaseSlot(id);
  // The calls so far go; the messages stay, as the earlier card's link needs them.
  w.slack.calls.length = 0;
  w.events.clear();
  return id;
}

const newOnes = async (w: World, before: readonly string[]) => (await w.builds()).filter((b) => !before.includes(b.BuildID));
/** Ephemeral answers since the calls were last cleared, to `user`. */
const told = (w: World, user: string) =>
  w.slack
    .callsTo('chat.postEphemeral')
    .filter((c) => c.args.user === user)
    .map((c) => c.args.text);
const rebuildButtons = (blocks: unknown) => JSON.stringify(blocks ?? []).split('"rebuild_build"').length - 1;

describe('rebuild', () => {
  it.each(['failed', 'terminated', 'cancelled'] as const)(
    'a %s build: the button opens a new request at the same commit, through the same approval',
    async (ending) => {
      const w = world();
      const earlierId = await endedBuild(w, ending);
      const earlier = (await w.build(earlierId))!;
      const bot = w.bot();

      await bot.click('rebuild_build', earlierId, REQUESTER);

      const [later] = await newOnes(w, [earlierId]);
      expect(later).toMatchObject({
        Status: 'awaiting_approval',
        BuildBranch: 'main',
        BuildCommit: 'abc1234',
        Requester: REQUESTER,
        Channel: SANDBOX_CHANNEL,
        RebuildOf: earlierId,
      });
      expect(later!.RebuildOfLink).toContain(`/archives/${SANDBOX_CHANNEL}/p${earlier.ThreadTs.replace('.', '')}`);
      expect(told(w, REQUESTER)).toEqual([`Requested ${later!.BuildID} — waiting for approval.`]);

      // The new card names the earlier build, linked; the earlier card says where it went and has no Rebuild left.
      const posted = w.slack.callsTo('chat.postMessage');
      expect(posted).toHaveLength(1);
      expect(JSON.stringify(posted[0]!.args.blocks)).toContain(`<${later!.RebuildOfLink}|${earlierId}>`);
      expect((await w.build(earlierId))?.RebuiltAs).toBe(later!.BuildID);
      const redrawn = w.slack.callsTo('chat.update').filter((c) => c.args.ts === earlier.ThreadTs);
      expect(redrawn).toHaveLength(1);
      expect(rebuildButtons(redrawn[0]!.args.blocks)).toBe(0);
      expect(JSON.stringify(redrawn[0]!.args.blocks)).toContain(`rebuilt as \`${later!.BuildID}\``);
      expect(w.bus()).toEqual([]);

      // The same approval path: the approver's click approves it and puts one Build Approved; the
      // launcher reads branch and commit from the record.
      await bot.click('approve_build', later!.BuildID, APPROVER);
      expect(await w.build(later!.BuildID)).toMatchObject({ Status: 'approved', Approver: APPROVER, BuildCommit: 'abc1234' });
      expect(w.bus()).toEqual([['Build Approved', { buildId: later!.BuildID }]]);
    },
  );

  it('`/metal-build rebuild <id>` does the same; the commit the machine reported is shown as its word, never pinned', async () => {
    const w = world();
    const earlierId = await endedBuild(w, 'terminated', 'release/1.2');
    // The machine's report of what it built, as the build-phase handler stores it.
    await store(w).update(earlierId, { status: ['terminated'] }, { ActualCommit: 'f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed' });

    const answer = await w.bot().command(`rebuild ${earlierId}`, { user: APPROVER });

    const [later] = await newOnes(w, [earlierId]);
    expect(answer.text).toBe(`Requested ${later!.BuildID} — waiting for approval.`);
    expect(later).toMatchObject({
      BuildBranch: 'release/1.2',
      Requester: APPROVER,
      RebuildOf: earlierId,
      RebuildOfReportedCommit: 'f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed',
    });
    expect(later!.BuildCommit).toBeUndefined();
    const card = JSON.stringify(w.slack.callsTo('chat.postMessage')[0]!.args.blocks);
    expect(card).toContain('as reported by the build machine; this one builds the branch head');
  });

  it('a second click, and two at once, open one request; the second is told where the first went', async () => {
    const w = world();
    const earlierId = await endedBuild(w, 'failed');
    const bot = w.bot();

    await Promise.all([bot.click('rebuild_build', earlierId, REQUESTER), bot.click('rebuild_build', earlierId, APPROVER)]);
    const afterTwo = await newOnes(w, [earlierId]);
    expect(afterTwo).toHaveLength(1);
    const laterId = afterTwo[0]!.BuildID;
    const answers = [...told(w, REQUESTER), ...told(w, APPROVER)] as string[];
    expect(answers).toHaveLength(2);
    expect(answers).toContain(`Requested ${laterId} — waiting for approval.`);
    // The loser may read the claim before the winner's record exists: then without its status.
    expect(answers.find((a) => !a.startsWith('Requested'))).toMatch(
      new RegExp(`^${earlierId} was already rebuilt as ${laterId}( \\(awaiting approval\\))?\\.$`),
    );

    const before = await w.dynamo.items();
    const posts = w.slack.callsTo('chat.postMessage').length;
    const answer = await bot.command(`rebuild ${earlierId}`);
    expect(answer.text).toBe(`${earlierId} was already rebuilt as ${laterId} (awaiting approval).`);
    expect(await w.dynamo.items()).toEqual(before);
    expect(w.slack.callsTo('chat.postMessage')).toHaveLength(posts);
    expect(w.bus()).toEqual([]);
  });

  it('a rebuild that ended too says how to ask once more', async () => {
    const w = world();
    const earlierId = await endedBuild(w, 'failed');
    const bot = w.bot();
    await bot.click('rebuild_build', earlierId, REQUESTER);
    const [later] = await newOnes(w, [earlierId]);
    await bot.click('deny_build', later!.BuildID, APPROVER);

    const answer = await bot.command(`rebuild ${earlierId}`);
    expect(answer.text).toBe(`${earlierId} was already rebuilt as ${later!.BuildID} (rejected). To build it again: \`/metal-build main abc1234\`.`);
    expect(await newOnes(w, [earlierId, later!.BuildID])).toEqual([]);
  });

  it.each([
    ['an unknown build', async () => 'build-20261203-090000-zzzz', (id: string) => `There is no build ${id}.`],
    [
      'a completed build',
      async (w: World) => {
        const id = await w.bot().request();
        await w.bot().click('approve_build', id, APPROVER);
        await w.launch(id);
        await store(w).update(id, { status: ['launching'] }, { Status: 'completed', CompletionTime: new Date().toISOString() });
        return id;
      },
      (id: string) => `Only a failed, terminated or cancelled build can be rebuilt; ${id} is completed.`,
    ],
    [
      'a request still awaiting approval',
      async (w: World) => w.bot().request(),
      (id: string) => `Only a failed, terminated or cancelled build can be rebuilt; ${id} is awaiting approval.`,
    ],
  ])('%s is refused and nothing changes', async (_, make, reply) => {
    const w = world();
    const id = await make(w);
    w.slack.reset();
    w.events.clear();
    const before = await w.dynamo.items();

    const answer = await w.bot().command(`rebuild ${id}`);
    await w.bot().click('rebuild_build', id, REQUESTER);

    expect(answer.text).toBe(reply(id));
    expect(told(w, REQUESTER)).toEqual([reply(id)]);
    expect(await w.dynamo.items()).toEqual(before);
    expect(w.slack.calls.filter((c) => c.method !== 'chat.postEphemeral')).toEqual([]);
    expect(w.bus()).toEqual([]);
  });

  it('outside ALLOWED_CHANNEL_IDS the rebuild is refused like a request, and nothing changes', async () => {
    const w = world();
    const earlierId = await endedBuild(w, 'cancelled');
    const before = await w.dynamo.items();

    const answer = await w.bot({ ALLOWED_CHANNEL_IDS: 'C0ELSEWHERE' }).command(`rebuild ${earlierId}`, { user: APPROVER });

    expect(answer.text).toContain('Builds cannot be requested in this channel');
    expect(await w.dynamo.items()).toEqual(before);
    expect(w.slack.calls).toEqual([]);
    expect(w.bus()).toEqual([]);
  });
});
