import { describe, expect, it } from 'vitest';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import { useWorld } from '../support/bot-world';

// APPROVER_GROUP_IDS through the real handler: the members of Slack user groups approve too
// (bot/approvers.ts), read with usergroups.users.list from the Slack stand-in. Riley (REQUESTER)
// plays the group member, Avery (APPROVER) the person named in APPROVER_IDS; the builds are
// requested by a stranger, so nobody here approves their own.

const world = useWorld();

const STRANGER = 'U0STRANGER';
const LEADS = 'S0LEADS';
const OPS = 'S0OPS';
const LOOKUP = 'usergroups.users.list';

/** What a refused click must leave as it was. */
async function unchanged(id: string, updatesBefore: number): Promise<void> {
  expect(await world().build(id)).toMatchObject({ Status: 'awaiting_approval' });
  expect((await world().build(id))?.Approver).toBeUndefined();
  expect(await world().slots()).toEqual([]);
  expect(world().bus()).toEqual([]);
  expect(world().slack.callsTo('chat.update')).toHaveLength(updatesBefore);
}

describe('approvers from Slack user groups (APPROVER_GROUP_IDS)', () => {
  it('a group member who is not in APPROVER_IDS approves: approved, one Build Approved', async () => {
    world().slack.setUserGroup(LEADS, [REQUESTER]);
    const bot = world().bot({ APPROVER_GROUP_IDS: LEADS });
    const id = await bot.request('main abc1234', STRANGER);
    await bot.click('approve_build', id, REQUESTER);

    expect(await world().build(id)).toMatchObject({ Status: 'approved', Approver: REQUESTER });
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    expect(
      world()
        .slack.callsTo(LOOKUP)
        .map((c) => c.args.usergroup),
    ).toEqual([LEADS]);
    expect(world().ephemerals(REQUESTER)).toEqual([]);
  });

  it('the card names the group as a Slack mention, next to APPROVER_IDS', async () => {
    world().slack.setUserGroup(LEADS, [REQUESTER]);
    const bot = world().bot({ APPROVER_GROUP_IDS: LEADS });
    await bot.request('main abc1234', STRANGER);

    const card = JSON.stringify(world().slack.callsTo('chat.postMessage')[0]?.args.blocks);
    expect(card).toContain(`approvers: <@${APPROVER}>, members of <!subteam^${LEADS}>`);
    // Drawing the card reads no group: the events side draws it too.
    expect(world().slack.callsTo(LOOKUP)).toEqual([]);
  });

  it('a member of the group denies: the build is rejected', async () => {
    world().slack.setUserGroup(LEADS, [REQUESTER]);
    const bot = world().bot({ APPROVER_GROUP_IDS: LEADS, APPROVER_IDS: '' });
    const id = await bot.request('main abc1234', STRANGER);
    await bot.click('deny_build', id, REQUESTER);

    expect(await world().build(id)).toMatchObject({ Status: 'rejected', DeniedBy: REQUESTER });
  });

  it('someone in neither is refused with a text naming the group; nothing changes', async () => {
    world().slack.setUserGroup(LEADS, [STRANGER]);
    const bot = world().bot({ APPROVER_GROUP_IDS: LEADS });
    const id = await bot.request('main abc1234', STRANGER);
    const updates = world().slack.callsTo('chat.update').length;
    await bot.click('approve_build', id, REQUESTER);

    expect(world().ephemerals(REQUESTER)).toEqual([`:no_entry: Only approvers can approve builds: <@${APPROVER}>, members of <!subteam^${LEADS}>.`]);
    await unchanged(id, updates);
  });

  it('plan_upgrade_required: logged, and only APPROVER_IDS approve (the group member is refused)', async () => {
    world().slack.setUserGroup(LEADS, [REQUESTER]);
    const bot = world().bot({ APPROVER_GROUP_IDS: LEADS });
    const id = await bot.request('main abc1234', STRANGER);
    const updates = world().slack.callsTo('chat.update').length;

    world().slack.failNext(LOOKUP, 'plan_upgrade_required');
    await bot.click('approve_build', id, REQUESTER);
    expect(world().ephemerals(REQUESTER)).toEqual([
      expect.stringContaining(
        `The members of <!subteam^${LEADS}> could not be read from Slack just now, so only <@${APPROVER}> can approve. Try again in a minute.`,
      ),
    ]);
    await unchanged(id, updates);
    expect(world().log.lines).toContainEqual(
      expect.objectContaining({ level: 'ERROR', code: 'plan_upgrade_required', groupId: LEADS, buildId: id, user: REQUESTER }),
    );

    world().slack.failNext(LOOKUP, 'plan_upgrade_required');
    await bot.click('approve_build', id, APPROVER);
    expect(await world().build(id)).toMatchObject({ Status: 'approved', Approver: APPROVER });
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
  });

  it('a failed lookup with APPROVER_IDS empty: nobody may approve (fail closed), and nothing changes', async () => {
    world().slack.setUserGroup(LEADS, [REQUESTER]);
    const bot = world().bot({ APPROVER_GROUP_IDS: LEADS, APPROVER_IDS: '' });
    const id = await bot.request('main abc1234', STRANGER);
    const updates = world().slack.callsTo('chat.update').length;

    world().slack.failNext(LOOKUP, 'missing_scope');
    await bot.click('approve_build', id, REQUESTER);

    expect(world().ephemerals(REQUESTER)).toEqual([
      ':no_entry: The approver list could not be read from Slack just now, so nobody can approve builds. Try again in a minute; nothing was changed.',
    ]);
    await unchanged(id, updates);
  });

  it('an unknown group (no_such_subteam) with APPROVER_IDS empty fails closed too, never "anyone"', async () => {
    const bot = world().bot({ APPROVER_GROUP_IDS: 'S0TYPO', APPROVER_IDS: '' });
    const id = await bot.request('main abc1234', STRANGER);
    const updates = world().slack.callsTo('chat.update').length;
    await bot.click('approve_build', id, APPROVER);

    expect(world().ephemerals(APPROVER)).toEqual([expect.stringContaining('could not be read')]);
    expect(world().log.lines).toContainEqual(expect.objectContaining({ code: 'no_such_subteam', groupId: 'S0TYPO' }));
    await unchanged(id, updates);
  });

  it('a failure is not cached: the next decision reads the groups again', async () => {
    world().slack.setUserGroup(LEADS, [REQUESTER]);
    const bot = world().bot({ APPROVER_GROUP_IDS: LEADS, APPROVER_IDS: '' });
    const id = await bot.request('main abc1234', STRANGER);

    world().slack.failNext(LOOKUP, 'internal_error');
    await bot.click('approve_build', id, REQUESTER);
    expect(await world().build(id)).toMatchObject({ Status: 'awaiting_approval' });
    expect(world().log.lines).toContainEqual(expect.objectContaining({ level: 'WARN', code: 'internal_error', groupId: LEADS }));

    await bot.click('approve_build', id, REQUESTER);
    expect(await world().build(id)).toMatchObject({ Status: 'approved', Approver: REQUESTER });
    expect(world().slack.callsTo(LOOKUP)).toHaveLength(2);
  });

  it('within 5 minutes one lookup per group serves every decision; after that a removed member is refused', async () => {
    world().slack.setUserGroup(LEADS, [REQUESTER]);
    world().slack.setUserGroup(OPS, []);
    const bot = world().bot({ APPROVER_GROUP_IDS: `${LEADS},${OPS}`, MAX_CONCURRENT_BUILDS: '3' });
    const first = await bot.request('main abc1234', STRANGER);
    await bot.click('approve_build', first, REQUESTER);
    expect(await world().build(first)).toMatchObject({ Status: 'approved', Approver: REQUESTER });

    // Riley leaves the group; this container still has the list it read.
    world().slack.setUserGroup(LEADS, []);
    world().clockOffsetMinutes = 4;
    const second = await bot.request('feature/x', STRANGER);
    await bot.click('approve_build', second, REQUESTER);
    expect(await world().build(second)).toMatchObject({ Status: 'approved', Approver: REQUESTER });
    expect(
      world()
        .slack.callsTo(LOOKUP)
        .map((c) => c.args.usergroup)
        .sort(),
    ).toEqual([LEADS, OPS]);

    world().clockOffsetMinutes = 6;
    const third = await bot.request('feature/y', STRANGER);
    const updates = world().slack.callsTo('chat.update').length;
    await bot.click('approve_build', third, REQUESTER);
    expect(await world().build(third)).toMatchObject({ Status: 'awaiting_approval' });
    expect(world().ephemerals(REQUESTER)).toEqual([
      `:no_entry: Only approvers can approve builds: <@${APPROVER}>, members of <!subteam^${LEADS}>, members of <!subteam^${OPS}>.`,
    ]);
    expect(world().slack.callsTo('chat.update')).toHaveLength(updates);
    expect(
      world()
        .bus()
        .filter(([, detail]) => (detail as { buildId: string }).buildId === third),
    ).toEqual([]);
    expect(world().slack.callsTo(LOOKUP)).toHaveLength(4);
  });
});
