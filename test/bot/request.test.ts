import { describe, expect, it } from 'vitest';
import { newBuildId } from '../../domain/build-id';
import { USAGE } from '../../domain/command';
import { aBuild } from '../../stand-ins/build-fixture';
import { NOT_MEMBER_CHANNEL, REQUESTER, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { createHandler } from '../../bot/handler';
import { slashCommandEvent } from '../../stand-ins/slack-request';
import { invoke, useWorld } from '../support/bot-world';

const world = useWorld();

/** Nothing happened: no build record, no Slack message, no event. */
async function expectNothingDone() {
  expect(await world().builds()).toEqual([]);
  expect(world().slack.callsTo('chat.postMessage')).toEqual([]);
  expect(world().slack.callsTo('chat.update')).toEqual([]);
  expect(world().events.entries).toEqual([]);
}

type Block = { type: string; elements?: Array<{ action_id?: string; value?: string; confirm?: { text?: { text?: string } } }> };

function buttonsOf(blocks: unknown): Array<{ action_id?: string; value?: string; confirm?: { text?: { text?: string } } }> {
  return ((blocks as Block[] | undefined) ?? []).filter((b) => b.type === 'actions').flatMap((b) => b.elements ?? []);
}

describe('/metal-build with bad arguments', () => {
  // The request factory escapes `&`, `<`, `>` as Slack does; the bot unescapes before validating,
  // so the problem names `&`, not `&amp;`.
  const cases: Array<[string, string, string]> = [
    ['double quotes', '"main"', 'contains the character "\\""'],
    ['single quotes', "'main'", `contains the character "'"`],
    ['command substitution', '$(id)', 'contains the character "$"'],
    ['backticks', '`id`', 'contains the character "`"'],
    ['a semicolon', 'main;reboot', 'contains the character ";"'],
    ['an ampersand (escaped by Slack)', 'main&&reboot', 'contains the character "&"'],
    ['angle brackets (escaped by Slack)', 'main<x>', 'contains the character "<"'],
    ['a newline', 'main\nreboot', 'contains a newline'],
    ['a path traversal', '../x', 'contains ".."'],
    ['a double dot', 'a..b', 'contains ".."'],
    ['a .lock ending', 'x.lock', 'ends with ".lock"'],
    ['a reflog expression', 'main@{1}', 'contains "@{"'],
    ['201 characters', 'a'.repeat(201), 'is 201 characters long; the limit is 200'],
    ['a commit that is not hex', 'main xyz1234', '`xyz1234` is not a commit (7–40 hex characters) nor `type=`/`hours=`; branch names cannot contain spaces'],
    ['a branch typed with a space', 'fix typo', '`typo` is not a commit (7–40 hex characters) nor `type=`/`hours=`; branch names cannot contain spaces'],
    ['a word with <, > and & (escaped by Slack), echoed escaped once', 'fix <b>&', '`&lt;b&gt;&amp;` is not a commit'],
    ['a commit too short', 'main abc12', '7 to 40 hexadecimal characters'],
    ['a commit too long', `main ${'a'.repeat(41)}`, '7 to 40 hexadecimal characters'],
    ['a commit with a quote', "main abc1234'", "`abc1234'` is not a commit (7–40 hex characters)"],
    ['too many arguments', 'main abc1234 extra', 'too many arguments'],
    ['a cancel without ID', 'cancel', '`cancel` needs a build ID'],
    ['a status with a bad ID', 'status build-x', 'is not a build ID'],
  ];

  it.each(cases)('refuses %s in one line naming the problem, points to help, writes nothing', async (_name, text, problem) => {
    const bot = world().bot();
    const answer = await bot.command(text);
    expect(answer.statusCode).toBe(200);
    expect(answer.responseType).toBe('ephemeral');
    // The first letter of the problem is capitalised in the answer.
    expect(answer.text?.toLowerCase()).toContain(problem.toLowerCase());
    expect(answer.text).toMatch(/See `\/metal-build help`\.$/);
    // One line (a newline in the refused text is shown escaped), without the usage.
    expect(answer.text).not.toContain('\n');
    expect(answer.text).not.toContain('/metal-build <branch> [commit]');
    await expectNothingDone();
    expect(await world().dynamo.items()).toEqual([]);
  });

  it('a branch with a non-ASCII look-alike: the character named by its code point', async () => {
    const answer = await world().bot().command('m\u0430in');
    expect(answer.text).toBe(
      ':warning: Branch "m\u0430in": "\u0430" (U+0430) is not ASCII; allowed are letters, digits, ".", "_", "/" and "-" (ASCII only). See `/metal-build help`.',
    );
    await expectNothingDone();
    expect(await world().dynamo.items()).toEqual([]);
  });

  it.each([
    ['an unknown subcommand', '--help', 'Unknown subcommand "--help"'],
    ['a leading dash', '-x', 'Unknown subcommand "-x"'],
    ['help with arguments', 'help me', '`help` takes no arguments'],
  ])('refuses %s with the full usage, writes nothing', async (_name, text, problem) => {
    const answer = await world().bot().command(text);
    expect(answer.text).toBe(`:warning: ${problem}.\n*Usage*\n${USAGE}`);
    await expectNothingDone();
    expect(await world().dynamo.items()).toEqual([]);
  });
});

describe('/metal-build <branch> [commit]', () => {
  it('posts the card with Approve and Deny, then records the build with the card as its thread', async () => {
    const bot = world().bot();
    const answer = await bot.command('main abc1234', { triggerId: 'trigger-good' });

    const builds = await world().builds();
    expect(builds).toHaveLength(1);
    const build = builds[0]!;
    expect(answer).toEqual({ statusCode: 200, responseType: 'ephemeral', text: `Requested ${build.BuildID} — waiting for approval.` });

    const cards = world().slack.messages(SANDBOX_CHANNEL);
    expect(cards).toHaveLength(1);
    const card = cards[0]!;
    expect(build).toMatchObject({
      Status: 'awaiting_approval',
      BuildBranch: 'main',
      BuildCommit: 'abc1234',
      Requester: REQUESTER,
      Channel: SANDBOX_CHANNEL,
      ThreadTs: card.ts,
      CostEstimate: 5.91,
      CostMax: 11.83,
      NotifiedStatus: 'awaiting_approval',
    });
    expect(typeof build.ThreadTs).toBe('string');
    expect(build.BuildID).toMatch(/^build-\d{8}-\d{6}-[a-z0-9]{4}$/);
    expect(Date.parse(build.CreatedAt)).not.toBeNaN();

    const buttons = buttonsOf(card.blocks);
    expect(buttons.map((b) => [b.action_id, b.value])).toEqual([
      ['approve_build', build.BuildID],
      ['deny_build', build.BuildID],
    ]);
    // The confirm dialog states the maximum and the maximum with extensions.
    expect(buttons[0]?.confirm?.text?.text).toContain('$11.83');
    expect(buttons[0]?.confirm?.text?.text).toContain('$19.71');
    expect(JSON.stringify(card.blocks)).toContain('$5.91');

    // The trigger_id claim is the only other item.
    const others = (await world().dynamo.items()).filter((i) => i.BuildID !== build.BuildID);
    expect(others).toEqual([expect.objectContaining({ BuildID: '#request#trigger-good', For: build.BuildID })]);
    expect(world().events.entries).toEqual([]);
    expect(world().log.lines.find((l) => l.message === 'build requested')).toMatchObject({ buildId: build.BuildID });
    // The custom authorize hands out the token: Bolt never calls auth.test.
    expect(world().slack.callsTo('auth.test')).toEqual([]);
  });

  it('records a build without a commit as the branch head', async () => {
    const bot = world().bot();
    await bot.command('release/v1.2.3');
    const [build] = await world().builds();
    expect(build).toMatchObject({ BuildBranch: 'release/v1.2.3', Status: 'awaiting_approval' });
    expect(build?.BuildCommit).toBeUndefined();
  });

  it('with 210 approvers the card names ten and how many more, and Slack takes it', async () => {
    const approvers = Array.from({ length: 210 }, (_, i) => `U0APPR${String(i).padStart(4, '0')}`);
    const bot = world().bot({ APPROVER_IDS: approvers.join(',') });
    const answer = await bot.command(`feature/${'x'.repeat(192)} abc1234`);

    expect(answer.statusCode).toBe(200);
    const [build] = await world().builds();
    expect(build).toMatchObject({ Status: 'awaiting_approval' });
    const card = JSON.stringify(world().slack.callsTo('chat.postMessage')[0]?.args.blocks);
    expect(card).toContain(`approvers: <@${approvers[0]}>`);
    expect(card).toContain(`<@${approvers[9]}> and 200 more`);
    expect(card).not.toContain(approvers[10]!);
  });

  it('lists the builds already running (holding a slot) on the card', async () => {
    const bot = world().bot();
    const first = await bot.request();
    // As an approval does: the slot, then the status.
    await world().dynamo.store.takeSlot(first, 1);
    await world().dynamo.store.update(first, { status: ['awaiting_approval'] }, { Status: 'approved', Approver: 'U0APPROVER' });
    await bot.command('feature/x');
    const second = world().slack.messages(SANDBOX_CHANNEL)[1];
    expect(JSON.stringify(second?.blocks)).toContain(first);
  });

  it('a Slack retry of the same trigger_id creates no second build and no second card', async () => {
    const bot = world().bot();
    const first = await bot.command('main abc1234', { triggerId: 'trigger-retry' });
    const retry = await bot.command('main abc1234', { triggerId: 'trigger-retry', retryNum: 1 });

    const builds = await world().builds();
    expect(builds).toHaveLength(1);
    expect(first.text).toBe(`Requested ${builds[0]!.BuildID} — waiting for approval.`);
    expect(retry.responseType).toBe('ephemeral');
    expect(retry.text).toContain(`already handled as ${builds[0]!.BuildID}`);
    expect(world().slack.callsTo('chat.postMessage')).toHaveLength(1);
    expect(world().slack.messages(SANDBOX_CHANNEL)).toHaveLength(1);
  });

  it('in a channel the bot is not in: tells how to invite it and leaves no record', async () => {
    const bot = world().bot();
    const answer = await bot.command('main abc1234', { channel: NOT_MEMBER_CHANNEL });
    expect(answer.responseType).toBe('ephemeral');
    expect(answer.text).toContain('/invite @metal-build');
    expect(await world().builds()).toEqual([]);
    expect(
      world()
        .slack.callsTo('chat.postMessage')
        .map((c) => c.error),
    ).toEqual(['not_in_channel']);
    expect(world().events.entries).toEqual([]);
  });

  it('in a channel Slack does not know: the same invitation, no record', async () => {
    const bot = world().bot();
    const answer = await bot.command('main abc1234', { channel: 'C0UNKNOWN' });
    expect(answer.text).toContain('/invite @metal-build');
    expect(await world().builds()).toEqual([]);
    expect(
      world()
        .slack.callsTo('chat.postMessage')
        .map((c) => c.error),
    ).toEqual(['channel_not_found']);
  });

  it('outside ALLOWED_CHANNEL_IDS: refuses before anything is written or posted', async () => {
    const bot = world().bot({ ALLOWED_CHANNEL_IDS: 'C0BUILDS,C0OTHER' });
    const answer = await bot.command('main abc1234');
    expect(answer.responseType).toBe('ephemeral');
    expect(answer.text).toContain('<#C0BUILDS>');
    await expectNothingDone();
    expect(await world().dynamo.items()).toEqual([]);
  });

  it('inside ALLOWED_CHANNEL_IDS: requests as usual', async () => {
    const bot = world().bot({ ALLOWED_CHANNEL_IDS: SANDBOX_CHANNEL });
    await bot.request();
    expect(await world().builds()).toHaveLength(1);
  });

  it('a BuildID collision retries with a new suffix and points the card at the new ID', async () => {
    const frozenAt = new Date();
    world().frozenAt = frozenAt;
    const taken = newBuildId(frozenAt, () => 0);
    await world().dynamo.store.create(aBuild({ BuildID: taken, CreatedAt: frozenAt.toISOString() }));
    // The first four draws repeat the taken suffix, the next four give another.
    const draws = [0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5];
    const bot = world().bot({}, { random: () => draws.shift() ?? 0.9 });

    const answer = await bot.command('main abc1234');
    const fresh = (await world().builds()).find((b) => b.BuildID !== taken);
    expect(fresh).toBeDefined();
    expect(answer.text).toBe(`Requested ${fresh!.BuildID} — waiting for approval.`);
    const card = world().slack.messages(SANDBOX_CHANNEL)[0]!;
    expect(fresh!.ThreadTs).toBe(card.ts);
    expect(buttonsOf(card.blocks).map((b) => b.value)).toEqual([fresh!.BuildID, fresh!.BuildID]);
    // The record that was there first is untouched.
    expect(await world().dynamo.get(taken)).toMatchObject({ Requester: REQUESTER, ThreadTs: aBuild().ThreadTs });
  });

  it('when the table is unreachable: answers that it did not go through and posts nothing', async () => {
    const bot = world().bot({ BUILDS_TABLE: 'no-such-table' });
    const answer = await bot.command('main abc1234');
    expect(answer.responseType).toBe('ephemeral');
    expect(answer.text).toContain('did not go through');
    await expectNothingDone();
    expect(world().log.lines.some((l) => l.level === 'ERROR' && l.message === '/metal-build build failed')).toBe(true);
  });

  it('when the record cannot be written after the card went out: the card loses its buttons', async () => {
    const { deps } = world().bot();
    const failingStore = Object.create(deps.store) as typeof deps.store;
    failingStore.create = () => Promise.reject(new Error('ProvisionedThroughputExceededException'));
    const handler = createHandler({ ...deps, store: failingStore });
    const answer = await invoke(handler, slashCommandEvent({ text: 'main abc1234', user: REQUESTER, channel: SANDBOX_CHANNEL, triggerId: 'trigger-fail' }));
    expect(answer.text).toContain('did not go through');
    expect(await world().builds()).toEqual([]);
    const [card] = world().slack.messages(SANDBOX_CHANNEL);
    expect(card?.text).toContain('could not be recorded');
    expect(buttonsOf(card?.blocks)).toEqual([]);
  });
});
