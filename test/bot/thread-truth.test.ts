import { describe, expect, it } from 'vitest';
import type { Build } from '../../domain/build';
import { formatUtcTime } from '../../views/mrkdwn';
import { APPROVER, REQUESTER, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import type { Bot, Env } from '../support/bot-world';
import { useWorld } from '../support/bot-world';

// "A thread that never lies", the bot's side: the warning is edited in place after an extension,
// a button left live on an ended build says when it ended, the confirm dialogs state the money,
// and a requester's own Deny reads "withdrawn".

const world = useWorld();

type Button = { type?: string; action_id?: string; value?: string; confirm?: { title?: { text?: string }; text?: { text?: string } } };
const buttonsOf = (blocks: unknown): Button[] =>
  ((blocks as Array<{ type?: string; elements?: Button[] }> | undefined) ?? [])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? [])
    .filter((e) => e.type === 'button');

/** Approved by Avery, launched, and warned: the watchdog's warning posted and its ts recorded. */
async function warnedBuild(env: Env = {}): Promise<{ bot: Bot; id: string; warningTs: string; build: Build }> {
  const bot = world().bot(env);
  const id = await bot.request();
  await bot.click('approve_build', id, APPROVER);
  const launched = await world().launch(id);
  const { ts } = await bot.deps.chat.post({ channel: launched.Channel, threadTs: launched.ThreadTs, text: 'the warning', broadcast: true });
  const at = new Date().toISOString();
  const warned = await bot.deps.store.update(id, { status: ['launching'] }, { WarnedAt: at, WarningPostedAt: at, WarningTs: ts });
  if (!warned.ok) throw new Error('could not record the warning');
  return { bot, id, warningTs: ts, build: warned.build };
}

const updatesOf = (ts: string) =>
  world()
    .slack.callsTo('chat.update')
    .filter((c) => c.args.ts === ts);
const posts = () => world().slack.callsTo('chat.postMessage');

describe('the warning after an extension', () => {
  it('is edited in place: the new deadline, extensions left, Extend while some are left, then Cancel only', async () => {
    const { bot, id, warningTs } = await warnedBuild();
    const postsBefore = posts().length;

    await bot.click('extend_build', id, APPROVER);
    const once = await world().build(id);
    expect(once).toMatchObject({ ExtendedHours: 1, WarningTs: warningTs });
    const first = updatesOf(warningTs);
    expect(first).toHaveLength(1);
    const deadline1 = formatUtcTime(new Date(String(once?.DeadlineAt)), new Date());
    expect(first[0]!.args.text).toContain(`terminated at ${deadline1}`);
    expect(first[0]!.args.text).toContain('Extended by 1 h so far.');
    expect(JSON.stringify(first[0]!.args.blocks)).toContain('Extensions left: 1 h');
    expect(buttonsOf(first[0]!.args.blocks).map((b) => [b.action_id, b.value])).toEqual([
      ['extend_build', id],
      ['cancel_build', id],
      ['show_log', id],
    ]);

    await bot.click('extend_build', id, APPROVER);
    const twice = await world().build(id);
    expect(twice).toMatchObject({ ExtendedHours: 2 });
    const second = updatesOf(warningTs);
    expect(second).toHaveLength(2);
    expect(second[1]!.args.text).toContain(`terminated at ${formatUtcTime(new Date(String(twice?.DeadlineAt)), new Date())}`);
    expect(JSON.stringify(second[1]!.args.blocks)).toContain('No extensions left.');
    expect(buttonsOf(second[1]!.args.blocks).map((b) => b.action_id)).toEqual(['cancel_build', 'show_log']);

    // The message in the thread is the edited one; only the two "Extended by" replies were posted.
    const warning = world()
      .slack.replies(SANDBOX_CHANNEL, twice!.ThreadTs)
      .find((m) => m.ts === warningTs);
    expect(warning?.text).toBe(second[1]!.args.text);
    expect(
      posts()
        .slice(postsBefore)
        .map((c) => String(c.args.text).slice(0, 16)),
    ).toEqual(['⏱️ Extended by 1', '⏱️ Extended by 1']);
    expect(world().ephemerals(APPROVER)).toEqual([]);
  });

  it('a build warned before WarningTs existed: the extension works, no chat.update of any warning', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('approve_build', id, APPROVER);
    const launched = await world().launch(id);
    const updates = world().slack.callsTo('chat.update').length;
    await bot.click('extend_build', id, APPROVER);
    expect(await world().build(id)).toMatchObject({ ExtendedHours: 1 });
    // Only the card is redrawn.
    expect(
      world()
        .slack.callsTo('chat.update')
        .slice(updates)
        .map((c) => c.args.ts),
    ).toEqual([launched.ThreadTs]);
  });

  it('a failed warning update is logged; the extension, its reply and the card stand', async () => {
    const { bot, id } = await warnedBuild();
    // The warning was deleted in Slack: its update is refused.
    await bot.deps.store.update(id, { status: ['launching'] }, { WarningTs: '1000000000.000001' });
    await bot.click('extend_build', id, APPROVER);
    const extended = await world().build(id);
    expect(extended).toMatchObject({ ExtendedHours: 1 });
    expect((await world().thread(id)).filter((t) => t.includes('Extended by'))).toHaveLength(1);
    expect(world().ephemerals(APPROVER)).toEqual([]);
    expect(updatesOf('1000000000.000001').map((c) => c.error)).toEqual(['message_not_found']);
    expect(updatesOf(extended!.ThreadTs).at(-1)?.error).toBeUndefined();
    expect(world().log.lines).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: 'extended, but the warning could not be updated', buildId: id }),
    );
  });
});

describe('a button left live on an ended build', () => {
  it('Extend and Cancel answer when it ended; nothing written, posted or edited', async () => {
    const { bot, id } = await warnedBuild();
    const completion = new Date(Date.now() - 5 * 60_000);
    const ended = await bot.deps.store.update(id, { status: ['launching'] }, { Status: 'completed', CompletionTime: completion.toISOString() });
    if (!ended.ok) throw new Error('could not end the build');
    const calls = world().slack.calls.length;
    const bus = world().bus().length;

    await bot.click('extend_build', id, APPROVER);
    await bot.click('cancel_build', id, REQUESTER);
    const when = formatUtcTime(completion, new Date());
    expect(world().ephemerals(APPROVER)).toEqual([`${id} ended at ${when}; nothing to extend.`]);
    expect(world().ephemerals(REQUESTER)).toEqual([`${id} ended at ${when}; nothing to cancel.`]);
    expect(await world().build(id)).toEqual(ended.build);
    expect(
      world()
        .slack.calls.slice(calls)
        .map((c) => c.method),
    ).toEqual(['chat.postEphemeral', 'chat.postEphemeral']);
    expect(world().bus()).toHaveLength(bus);
  });

  it('a terminated build is answered with TerminatedAt when it has no CompletionTime', async () => {
    const { bot, id } = await warnedBuild();
    const end = new Date(Date.now() - 60_000);
    await bot.deps.store.update(id, { status: ['launching'] }, { Status: 'terminated', TerminatedAt: end.toISOString() });
    await bot.click('extend_build', id, APPROVER);
    expect(world().ephemerals(APPROVER)).toEqual([`${id} ended at ${formatUtcTime(end, new Date())}; nothing to extend.`]);
  });
});

describe('confirm dialogs state the money', () => {
  it('Approve: the build’s maximum in the title and text', async () => {
    const bot = world().bot();
    await bot.request();
    const card = posts()[0]!;
    const approve = buttonsOf(card.args.blocks).find((b) => b.action_id === 'approve_build');
    // 3 h of c5n.metal and 500 GB gp3: 3 × (3.888 + 0.0548) = $11.83.
    expect(approve?.confirm?.title?.text).toBe('Approve up to $11.83?');
    expect(approve?.confirm?.text?.text).toContain('Maximum cost $11.83 (3 h limit)');
  });

  it('Cancel on a running card: the cost so far and what stopping now saves; Extend on the warning: the hour and its price', async () => {
    const { bot, id, warningTs } = await warnedBuild();
    await bot.click('extend_build', id, APPROVER);
    const cardCancel = buttonsOf(
      world()
        .slack.callsTo('chat.update')
        .filter((c) => c.args.ts !== warningTs)
        .at(-1)?.args.blocks,
    ).find((b) => b.action_id === 'cancel_build');
    // Just launched: $0.07 (the one-minute minimum); 4 h to the deadline would cost $15.77.
    expect(cardCancel?.confirm?.text?.text).toMatch(/It has cost \$0\.0\d so far; stopping now saves up to \$15\.7\d \(\$15\.77 if it runs to /);
    const extend = buttonsOf(updatesOf(warningTs).at(-1)?.args.blocks).find((b) => b.action_id === 'extend_build');
    expect(extend?.confirm?.title?.text).toBe('Extend by 1 h?');
    // 3.888 + 0.0548 = $3.94 an hour; the deadline moves to 5 h.
    expect(extend?.confirm?.text?.text).toMatch(/^Add 1 h \(up to \$3\.94 more\)\? The machine is then terminated at .+ \(5 h limit\)\.$/);
  });

  it('Cancel before launch: nothing has been spent', async () => {
    const bot = world().bot();
    await bot.request();
    await bot.click('approve_build', (await world().builds())[0]!.BuildID, APPROVER);
    const cancel = buttonsOf(world().slack.callsTo('chat.update').at(-1)?.args.blocks).find((b) => b.action_id === 'cancel_build');
    expect(cancel?.confirm?.text?.text).toBe('No machine has been launched yet, so nothing has been spent; the build will not start.');
  });
});

describe('wording', () => {
  it('the requester’s own Deny is a withdrawal: thread, card and a later click say "withdrawn"', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('deny_build', id, REQUESTER);
    expect(await world().build(id)).toMatchObject({ Status: 'rejected', DeniedBy: REQUESTER, NotifiedStatus: 'rejected' });
    expect(await world().thread(id)).toEqual([`👎 Withdrawn by <@${REQUESTER}>. No machine was launched.`]);
    const card = world().slack.callsTo('chat.update').at(-1)!;
    expect(JSON.stringify(card.args.blocks)).toContain(`*Withdrawn* by <@${REQUESTER}>`);
    expect(JSON.stringify(card.args.blocks)).not.toContain('Denied');
    expect(card.args.text).toContain('withdrawn');
    await bot.click('approve_build', id, APPROVER);
    expect(world().ephemerals(APPROVER)).toEqual([`${id} was already withdrawn by <@${REQUESTER}>.`]);
    expect(world().ephemerals(REQUESTER)).toEqual([]);
    const status = await bot.command(`status ${id}`);
    expect(status.text).toContain(' · withdrawn · ');
    expect(status.text).toContain(`Withdrawn by <@${REQUESTER}>`);
    expect(status.text).not.toContain('Denied');
    expect(await world().build(id)).toMatchObject({ Status: 'rejected', DeniedBy: REQUESTER });
  });

  it('an approver’s Deny still reads "denied"', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('deny_build', id, APPROVER);
    expect(await world().thread(id)).toEqual([`👎 Denied by <@${APPROVER}>. No machine was launched.`]);
  });

  it('the card counts the builds already running in the singular for one', async () => {
    const bot = world().bot({ MAX_CONCURRENT_BUILDS: '2' });
    const first = await bot.request();
    await bot.click('approve_build', first, APPROVER);
    await bot.request('release/v1');
    const card = posts()
      .filter((c) => c.args.thread_ts === undefined)
      .at(-1)!;
    // The line says when it was true: the card is drawn once, and the list moves on.
    expect(JSON.stringify(card.args.blocks)).toMatch(/\*1 build already running\* \(limit 2 at a time; as of \d\d:\d\d UTC\)/);
  });
});
