import { describe, expect, it } from 'vitest';
import { USAGE } from '../../domain/command';
import { APPROVER, REQUESTER, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import type { Env } from '../support/bot-world';
import { useWorld } from '../support/bot-world';

// ALLOWED_CHANNEL_IDS scopes reading and acting, not only requesting (bot/permissions.ts
// mayUseChannel): from anywhere else only `help` answers, except that an approver named in
// APPROVER_IDS may read and act (never request) from anywhere. Every refusal leaves the table,
// Slack and the bus as they were.

const world = useWorld();

const DM = 'D0STRANGER';
const OTHER = 'C0OTHER';
const STRANGER = 'U0STRANGER';
const SCOPED: Env = { ALLOWED_CHANNEL_IDS: `${SANDBOX_CHANNEL},${OTHER}` };
const LINKS = `<#${SANDBOX_CHANNEL}> or <#${OTHER}>`;

/** What is there now; `expectUnchanged` compares against it. */
async function snapshot() {
  return { items: await world().dynamo.items(), calls: world().slack.calls.length, events: world().bus().length };
}

async function expectUnchanged(before: Awaited<ReturnType<typeof snapshot>>) {
  expect(await world().dynamo.items()).toEqual(before.items);
  expect(world().slack.calls).toHaveLength(before.calls);
  expect(world().bus()).toHaveLength(before.events);
}

/** A build waiting for approval, its card in #builds (an allowed channel). */
const requested = () => world().bot(SCOPED).request();

describe('with ALLOWED_CHANNEL_IDS set, a slash command from a DM', () => {
  const refused: Array<[string, (id: string) => string, string]> = [
    ['a build request', () => 'main abc1234', `:no_entry: Builds cannot be requested in this channel. Use ${LINKS}.`],
    ['status', () => 'status', `:no_entry: \`/metal-build status\` works only in ${LINKS}; here only \`/metal-build help\` does.`],
    ['status <id>', (id) => `status ${id}`, `:no_entry: \`/metal-build status\` works only in ${LINKS}; here only \`/metal-build help\` does.`],
    ['logs <id>', (id) => `logs ${id}`, `:no_entry: \`/metal-build logs\` works only in ${LINKS}; here only \`/metal-build help\` does.`],
    ['list', () => 'list', `:no_entry: \`/metal-build list\` works only in ${LINKS}; here only \`/metal-build help\` does.`],
    ['cancel <id>', (id) => `cancel ${id}`, `:no_entry: \`/metal-build cancel\` works only in ${LINKS}; here only \`/metal-build help\` does.`],
  ];
  const approverLists: Array<[string, Env]> = [
    ['APPROVER_IDS lists someone else', {}],
    ['APPROVER_IDS is empty (anyone approves, but nobody is exempt here)', { APPROVER_IDS: '' }],
  ];
  const matrix = approverLists.flatMap(([setting, env]) => refused.map(([name, text, reply]) => [name, setting, env, text, reply] as const));

  it.each(matrix)('%s, %s: one line naming the allowed channels; nothing read, written, posted or put', async (_name, _setting, env, text, reply) => {
    const id = await requested();
    const bot = world().bot({ ...SCOPED, ...env });
    const before = await snapshot();

    // The requester of the build, who could cancel it from its channel.
    const answer = await bot.command(text(id), { user: REQUESTER, channel: DM });

    expect(answer).toEqual({ statusCode: 200, responseType: 'ephemeral', text: reply });
    await expectUnchanged(before);
    expect(await world().build(id)).toMatchObject({ Status: 'awaiting_approval' });
  });

  it('the refusal is logged with the BuildID the command named', async () => {
    const id = await requested();
    await world().bot(SCOPED).command(`cancel ${id}`, { channel: DM });
    expect(world().log.lines).toContainEqual(
      expect.objectContaining({ level: 'INFO', message: 'command refused outside the allowed channels', buildId: id, command: 'cancel', channel: DM }),
    );
  });

  it.each([['help'], [''], ['  ']])('%j answers the usage, and nothing else happens', async (text) => {
    await requested();
    const before = await snapshot();
    const answer = await world().bot(SCOPED).command(text, { user: STRANGER, channel: DM });
    expect(answer.text).toContain(USAGE);
    await expectUnchanged(before);
  });
});

describe('with ALLOWED_CHANNEL_IDS set, an approver named in APPROVER_IDS in a DM', () => {
  it('status lists the active builds', async () => {
    const id = await requested();
    const answer = await world().bot(SCOPED).command('status', { user: APPROVER, channel: DM });
    expect(answer.text).toContain('*Active builds* (1)');
    expect(answer.text).toContain(id);
  });

  it('status <id> shows the build', async () => {
    const id = await requested();
    const answer = await world().bot(SCOPED).command(`status ${id}`, { user: APPROVER, channel: DM });
    expect(answer.text).toContain(`thread in <#${SANDBOX_CHANNEL}>`);
  });

  it('list shows the recent builds', async () => {
    const id = await requested();
    const answer = await world().bot(SCOPED).command('list', { user: APPROVER, channel: DM });
    expect(answer.text).toContain('*Recent builds* (newest first)');
    expect(answer.text).toContain(id);
  });

  it('cancel <id> cancels, and the card thread is told', async () => {
    const id = await requested();
    const answer = await world().bot(SCOPED).command(`cancel ${id}`, { user: APPROVER, channel: DM });
    expect(answer.text).toBe(`Cancelled ${id}.`);
    expect(await world().build(id)).toMatchObject({ Status: 'cancelled', CancelledBy: APPROVER });
    expect(await world().thread(id)).toEqual([expect.stringContaining(`Cancelled by <@${APPROVER}>`)]);
  });

  it('a build request is still refused: a card goes only to an allowed channel', async () => {
    const before = await snapshot();
    const answer = await world().bot(SCOPED).command('main abc1234', { user: APPROVER, channel: DM });
    expect(answer.text).toBe(`:no_entry: Builds cannot be requested in this channel. Use ${LINKS}.`);
    await expectUnchanged(before);
  });
});

describe('with ALLOWED_CHANNEL_IDS set, a button clicked outside those channels', () => {
  // The card went out while #builds was allowed; the list has changed since. Without the channel
  // rule, the requester could press every one of these buttons here.
  const MOVED: Env = { ALLOWED_CHANNEL_IDS: OTHER, APPROVER_IDS: '', ALLOW_SELF_APPROVAL: 'true' };
  const BUTTON_REFUSAL = `:no_entry: These buttons work only in <#${OTHER}>; nothing was changed.`;

  it.each([['approve_build'], ['deny_build'], ['cancel_build'], ['extend_build'], ['show_log']])(
    '%s by someone not named in APPROVER_IDS: refused before the action, only the refusal is posted',
    async (actionId) => {
      const id = await world().bot().request();
      const before = await snapshot();

      const answer = await world().bot(MOVED).click(actionId, id, REQUESTER, { channel: SANDBOX_CHANNEL });

      expect(answer.statusCode).toBe(200);
      expect(world().ephemerals(REQUESTER)).toEqual([BUTTON_REFUSAL]);
      expect(await world().dynamo.items()).toEqual(before.items);
      expect(
        world()
          .slack.calls.slice(before.calls)
          .map((c) => c.method),
      ).toEqual(['chat.postEphemeral']);
      expect(world().bus()).toHaveLength(before.events);
      expect(world().log.lines).toContainEqual(
        expect.objectContaining({ message: 'click refused outside the allowed channels', buildId: id, actionId, channel: SANDBOX_CHANNEL }),
      );
    },
  );

  it('a click from a DM changes nothing either (the refusal cannot even be shown there)', async () => {
    const id = await world().bot().request();
    const before = await snapshot();
    await world().bot(MOVED).click('approve_build', id, STRANGER, { channel: DM });
    expect(await world().dynamo.items()).toEqual(before.items);
    expect(world().bus()).toHaveLength(before.events);
    expect(await world().build(id)).toMatchObject({ Status: 'awaiting_approval' });
  });

  it('an approver named in APPROVER_IDS may still approve (the same exception as for commands)', async () => {
    const id = await world().bot().request();
    await world().bot({ ALLOWED_CHANNEL_IDS: OTHER }).click('approve_build', id, APPROVER, { channel: SANDBOX_CHANNEL });
    expect(await world().build(id)).toMatchObject({ Status: 'approved', Approver: APPROVER });
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
  });
});

describe('in an allowed channel', () => {
  it('anyone may read and act as before: status, list, and the requester cancels', async () => {
    const id = await requested();
    const bot = world().bot({ ...SCOPED, APPROVER_IDS: '' });
    expect((await bot.command('status', { user: STRANGER })).text).toContain(id);
    expect((await bot.command('list', { user: STRANGER, channel: OTHER })).text).toContain(id);
    expect((await bot.command(`cancel ${id}`, { user: REQUESTER })).text).toBe(`Cancelled ${id}.`);
  });
});

describe('with ALLOWED_CHANNEL_IDS empty, everything works from anywhere, as before', () => {
  it('status, list and the requester cancelling, from a DM', async () => {
    const bot = world().bot();
    const id = await bot.request();
    expect((await bot.command('status', { user: STRANGER, channel: DM })).text).toContain(id);
    expect((await bot.command(`status ${id}`, { user: STRANGER, channel: DM })).text).toContain(id);
    expect((await bot.command('list', { user: STRANGER, channel: DM })).text).toContain(id);
    expect((await bot.command('help', { user: STRANGER, channel: DM })).text).toContain(USAGE);
    expect((await bot.command(`cancel ${id}`, { user: REQUESTER, channel: DM })).text).toBe(`Cancelled ${id}.`);
  });

  it('with APPROVER_IDS empty too, anyone cancels from a DM', async () => {
    const bot = world().bot({ APPROVER_IDS: '' });
    const id = await bot.request();
    expect((await bot.command(`cancel ${id}`, { user: STRANGER, channel: DM })).text).toBe(`Cancelled ${id}.`);
  });

  it('a request from a DM goes to Slack, which the bot cannot post in: the invitation, as before', async () => {
    const answer = await world().bot().command('main abc1234', { channel: DM });
    expect(answer.text).toContain('/invite @metal-build');
    expect(await world().builds()).toEqual([]);
  });

  it('a button works wherever it is clicked', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('approve_build', id, APPROVER, { channel: OTHER });
    expect(await world().build(id)).toMatchObject({ Status: 'approved' });
  });
});
