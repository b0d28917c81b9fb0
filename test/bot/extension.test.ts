import { describe, expect, it } from 'vitest';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import { SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { blockActionEvent } from '../../stand-ins/slack-request';
import type { Bot, Env } from '../support/bot-world';
import { invoke, useWorld } from '../support/bot-world';

const world = useWorld();

/** A build approved by Avery and launched: what the watchdog's warning is about. */
async function runningBuild(env: Env = {}): Promise<{ bot: Bot; id: string }> {
  const bot = world().bot(env);
  const id = await bot.request();
  await bot.click('approve_build', id, APPROVER);
  await world().launch(id);
  return { bot, id };
}

describe('extend_build', () => {
  it('an approver adds 1 h: ExtendedHours, a thread reply with the new limit and maximum, the card refreshed', async () => {
    const { bot, id } = await runningBuild();
    const updates = world().slack.callsTo('chat.update').length;
    await bot.click('extend_build', id, APPROVER);

    const extended = await world().build(id);
    expect(extended).toMatchObject({ Status: 'launching', ExtendedHours: 1 });
    expect(Date.parse(String(extended?.DeadlineAt))).toBe(Date.parse(String(extended?.LaunchTime)) + 4 * 3600_000);
    const reply = (await world().thread(id)).at(-1);
    // 4 h of c5n.metal and 500 GB gp3: 4 × (3.888 + 0.0548) = $15.77.
    expect(reply).toContain(`Extended by 1 h by <@${APPROVER}>; new limit 4 h`);
    expect(reply).toContain('max cost $15.77');
    expect(reply).toContain('1 h of extensions left');
    expect(world().slack.callsTo('chat.update').length).toBe(updates + 1);
    expect(JSON.stringify(world().slack.callsTo('chat.update').at(-1)?.args.blocks)).toContain('4 h limit');
    expect(world().ephemerals(APPROVER)).toEqual([]);
    // The events side moves the deadline's schedule; the bot never calls Scheduler.
    expect(world().bus()).toEqual([
      ['Build Approved', { buildId: id }],
      ['Build Extended', { buildId: id, by: APPROVER, hours: 1 }],
    ]);
  });

  it('a replay of the same signed Extend within Slack’s 5 minutes is answered like a second click and adds nothing', async () => {
    const { bot, id } = await runningBuild();
    const click = blockActionEvent({ actionId: 'extend_build', value: id, user: APPROVER, channel: SANDBOX_CHANNEL });
    expect((await invoke(bot.handler, click)).statusCode).toBe(200);
    const once = { build: await world().build(id), thread: await world().thread(id), bus: world().bus(), updates: world().slack.callsTo('chat.update').length };
    expect(once.build).toMatchObject({ ExtendedHours: 1 });

    // The identical request: same body, same signature, same timestamp.
    expect((await invoke(bot.handler, click)).statusCode).toBe(200);
    expect(await world().build(id)).toEqual(once.build);
    expect(await world().thread(id)).toEqual(once.thread);
    expect(world().bus()).toEqual(once.bus);
    expect(world().slack.callsTo('chat.update')).toHaveLength(once.updates);
    expect(world().ephemerals(APPROVER)).toEqual([`That click was already handled; ${id} is launching (approved by <@${APPROVER}>). Nothing was changed.`]);
    const claims = (await world().dynamo.items()).filter((i) => String(i.BuildID).startsWith('#click#'));
    expect(claims.map((c) => String(c.BuildID))).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^#click#\\d+\\.\\d{6}#${APPROVER}#extend_build$`))]),
    );
  });

  it('within 3 minutes of the deadline’s schedule: refused as too close, nothing changes, no event', async () => {
    const { bot, id } = await runningBuild();
    // The bot's clock 2 h 58 min on: the schedule fires in the minute before the 3 h deadline's minute.
    world().clockOffsetMinutes = 178.5;
    const before = await world().build(id);
    await bot.click('extend_build', id, APPROVER);
    expect(world().ephemerals(APPROVER)).toEqual([`:no_entry: ${id} was not extended: too close to the deadline to extend.`]);
    expect(await world().build(id)).toEqual(before);
    expect(
      world()
        .bus()
        .map(([type]) => type),
    ).toEqual(['Build Approved']);
    expect((await world().thread(id)).filter((t) => t.includes('Extended by'))).toEqual([]);
  });

  it('the event is refused by EventBridge: still extended (the watchdog moves the schedule), the failure logged with the BuildID', async () => {
    const { bot, id } = await runningBuild();
    world().events.failNext(1, 'ThrottlingException');
    await bot.click('extend_build', id, APPROVER);
    expect(await world().build(id)).toMatchObject({ ExtendedHours: 1 });
    expect(
      world()
        .bus()
        .map(([type]) => type),
    ).toEqual(['Build Approved']);
    expect((await world().thread(id)).filter((t) => t.includes('Extended by'))).toHaveLength(1);
    expect(world().ephemerals(APPROVER)).toEqual([]);
    expect(world().log.lines.filter((l) => l.level === 'ERROR')).toContainEqual(
      expect.objectContaining({ message: 'extended, but Build Extended could not be put; the watchdog moves the schedule', buildId: id }),
    );
  });

  it('beyond MAX_EXTENSION_HOURS: refused with the reason, nothing changes', async () => {
    const { bot, id } = await runningBuild({ MAX_EXTENSION_HOURS: '1' });
    await bot.click('extend_build', id, APPROVER);
    await bot.click('extend_build', id, APPROVER);

    expect(await world().build(id)).toMatchObject({ ExtendedHours: 1 });
    expect(world().ephemerals(APPROVER)).toEqual([`:no_entry: ${id} was not extended: extension limit of 1 h reached.`]);
    expect((await world().thread(id)).filter((t) => t.includes('Extended by'))).toHaveLength(1);
  });

  it('two clicks at once: one hour is added, and the later click is told another approver extended it', async () => {
    const { bot, id } = await runningBuild();
    await Promise.all([bot.click('extend_build', id, APPROVER), bot.click('extend_build', id, APPROVER)]);
    expect(await world().build(id)).toMatchObject({ ExtendedHours: 1 });
    const replies = (await world().thread(id)).filter((t) => t.includes('Extended by'));
    expect(replies.map((t) => /new limit (\d) h/.exec(t)?.[1])).toEqual(['4']);
    expect(world().ephemerals(APPROVER)).toEqual([`:no_entry: ${id} was not extended: another approver extended it just now.`]);
  });

  it('a refusal to a click on the warning (a thread reply) is answered in that thread, where the click was', async () => {
    const { bot, id } = await runningBuild({ MAX_EXTENSION_HOURS: '0' });
    const threadTs = (await world().build(id))!.ThreadTs;
    await bot.click('extend_build', id, APPROVER, { threadTs });
    const [ephemeral] = world().slack.callsTo('chat.postEphemeral');
    expect(ephemeral?.args).toMatchObject({ user: APPROVER, thread_ts: threadTs });
    expect(String(ephemeral?.args.text)).toContain('was not extended');
  });

  it('by someone not in APPROVER_IDS: refused, nothing changes', async () => {
    const { bot, id } = await runningBuild();
    await bot.click('extend_build', id, REQUESTER);
    expect(world().ephemerals(REQUESTER)).toEqual([`:no_entry: Only approvers can extend builds: <@${APPROVER}>.`]);
    expect((await world().build(id))?.ExtendedHours).toBeUndefined();
  });

  it('by the requester: follows ALLOW_SELF_APPROVAL', async () => {
    const refused = await runningBuild({ APPROVER_IDS: `${APPROVER},${REQUESTER}` });
    await refused.bot.click('extend_build', refused.id, REQUESTER);
    expect(world().ephemerals(REQUESTER)).toEqual([
      `:no_entry: You requested ${refused.id}, and here requesters may not approve their own builds, so someone else has to extend it.`,
    ]);
    expect((await world().build(refused.id))?.ExtendedHours).toBeUndefined();

    await world().reset();
    const allowed = await runningBuild({ APPROVER_IDS: `${APPROVER},${REQUESTER}`, ALLOW_SELF_APPROVAL: 'true' });
    await allowed.bot.click('extend_build', allowed.id, REQUESTER);
    expect(await world().build(allowed.id)).toMatchObject({ ExtendedHours: 1 });
  });

  it('of a build that is not running: refused with its status', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('extend_build', id, APPROVER);
    expect(world().ephemerals(APPROVER)).toEqual([`:no_entry: ${id} was not extended: cannot extend a build that is awaiting_approval.`]);
    expect((await world().build(id))?.ExtendedHours).toBeUndefined();
  });
});
