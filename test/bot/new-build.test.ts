import { describe, expect, it } from 'vitest';
import { formatUsd, hourlyPrice } from '../../domain/cost';
import type { Completion } from '../../domain/expected-duration';
import { APPROVER, NOT_MEMBER_CHANNEL, REQUESTER, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import type { SlackView } from '../../stand-ins/slack-api';
import { useWorld } from '../support/bot-world';

// The New build dialog (issue 32, docs/design.md "The New build dialog"): `/metal-build new`
// opens it with views.open and the command's trigger_id; a submission is checked by the command's
// rules, refused on its field, or becomes the same card in the command's channel.

const world = useWorld();

const ENV = { INSTANCE_TYPES: 'c5n.metal,m5zn.metal' };

type Input = {
  type: string;
  block_id?: string;
  optional?: boolean;
  element?: { type: string; action_id?: string; options?: Array<{ text: { text: string }; value: string }>; initial_option?: { value: string } };
};

const inputs = (view: SlackView) => (view.blocks as Input[]).filter((b) => b.type === 'input');

/** Nothing happened: no build record, no Slack message, no event. */
async function expectNothingDone() {
  expect(await world().builds()).toEqual([]);
  expect(world().slack.callsTo('chat.postMessage')).toEqual([]);
  expect(world().events.entries).toEqual([]);
}

async function openDialog(env: Record<string, string> = ENV, options: { user?: string; channel?: string } = {}): Promise<SlackView> {
  const answer = await world()
    .bot(env)
    .command('new', { triggerId: 'trigger-new', ...options });
  expect(answer.statusCode).toBe(200);
  // The dialog is the answer: no ephemeral text.
  expect(answer.text).toBeUndefined();
  const modals = world().slack.modals();
  expect(modals).toHaveLength(1);
  return modals[0]!;
}

const good = { branch: 'main', commit: 'ABC1234', type: 'm5zn.metal', hours: '2' };

describe('/metal-build new opens the dialog', () => {
  it('with the trigger_id, callback_id new_build, the four fields and the channel in private_metadata', async () => {
    const view = await openDialog();
    expect(view.triggerId).toBe('trigger-new');
    expect(view.callback_id).toBe('new_build');
    expect(JSON.parse(view.private_metadata!)).toEqual({ channel: SANDBOX_CHANNEL });
    const fields = inputs(view);
    expect(fields.map((b) => [b.block_id, b.element?.action_id, b.optional === true])).toEqual([
      ['branch', 'branch', false],
      ['commit', 'commit', true],
      ['type', 'type', false],
      ['hours', 'hours', false],
    ]);
    const [, , type, hours] = fields;
    expect(type!.element!.options!.map((o) => o.value)).toEqual(['c5n.metal', 'm5zn.metal']);
    expect(type!.element!.options![0]!.text.text).toBe(`c5n.metal — ${formatUsd(hourlyPrice('c5n.metal', {})!)}/h`);
    expect(type!.element!.initial_option?.value).toBe('c5n.metal');
    expect(hours!.element!.options!.map((o) => o.value)).toEqual(['1', '2', '3']);
    expect(hours!.element!.initial_option?.value).toBe('3');
    expect(JSON.stringify(view.blocks)).toContain(`<#${SANDBOX_CHANNEL}>`);
    await expectNothingDone();
  });

  it("names a type's median build time once it has 3 builds", async () => {
    const completions: Completion[] = [50, 60, 90].map((minutes, i) => ({
      buildId: `build-2026112${i}-170052-abc${i}`,
      seconds: minutes * 60,
      completedAt: `2026-11-2${i}T19:00:00.000Z`,
    }));
    const durations = world().bot(ENV).deps.durations;
    for (const c of completions) await durations.record('m5zn.metal', c);
    const view = await openDialog();
    const options = inputs(view)[2]!.element!.options!;
    expect(options[1]!.text.text).toBe(`m5zn.metal — ${formatUsd(hourlyPrice('m5zn.metal', {})!)}/h · builds in ~1 h`);
    expect(options[0]!.text.text).not.toContain('builds in');
  });

  it('refuses outside ALLOWED_CHANNEL_IDS without opening anything', async () => {
    const answer = await world()
      .bot({ ...ENV, ALLOWED_CHANNEL_IDS: SANDBOX_CHANNEL })
      .command('new', { channel: 'C0OTHER0001' });
    expect(answer.text).toContain('cannot be requested in this channel');
    expect(world().slack.callsTo('views.open')).toEqual([]);
  });

  it('a failed views.open is answered, nothing requested', async () => {
    world().slack.failNext('views.open', 'expired_trigger_id');
    const answer = await world().bot(ENV).command('new');
    expect(answer.text).toMatch(/went wrong|failed/i);
    await expectNothingDone();
  });
});

describe('a submitted dialog', () => {
  it('becomes the same card in the channel the command came from', async () => {
    const view = await openDialog();
    const answer = await world().bot(ENV).submit(view, good);
    expect(answer.statusCode).toBe(200);
    const [build] = await world().builds();
    expect(build).toMatchObject({
      Status: 'awaiting_approval',
      BuildBranch: 'main',
      BuildCommit: 'abc1234',
      RequestedType: 'm5zn.metal',
      LimitHours: 2,
      Requester: REQUESTER,
      Channel: SANDBOX_CHANNEL,
    });
    const posts = world().slack.callsTo('chat.postMessage');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.args.channel).toBe(SANDBOX_CHANNEL);
    expect(JSON.stringify(posts[0]!.args.blocks)).toContain('approve');
    expect(answer.json).toMatchObject({ response_action: 'update' });
    expect(JSON.stringify(answer.json)).toContain(build!.BuildID);
  });

  it('is the same card the command posts', async () => {
    const view = await openDialog();
    await world().bot(ENV).submit(view, good);
    const viaDialog = world().slack.callsTo('chat.postMessage')[0]!.args.text;
    world().slack.reset();
    await world().bot(ENV).command('main abc1234 type=m5zn.metal hours=2');
    const viaCommand = world().slack.callsTo('chat.postMessage')[0]!.args.text as string;
    const withoutIds = (t: unknown) => String(t).replace(/build-\d{8}-\d{6}-[a-z0-9]{4}/g, 'ID');
    expect(withoutIds(viaDialog)).toBe(withoutIds(viaCommand));
  });

  it('without a commit builds the branch; the default limit and type are taken as chosen', async () => {
    const view = await openDialog();
    await world().bot(ENV).submit(view, { branch: 'release/1.2', type: 'c5n.metal', hours: '3' });
    const [build] = await world().builds();
    expect(build).toMatchObject({ BuildBranch: 'release/1.2', RequestedType: 'c5n.metal', LimitHours: 3 });
    expect(build!.BuildCommit).toBeUndefined();
  });

  it('submitted twice (one dialog) is one request', async () => {
    const view = await openDialog();
    await world().bot(ENV).submit(view, good);
    const again = await world().bot(ENV).submit(view, good);
    expect(await world().builds()).toHaveLength(1);
    expect(JSON.stringify(again.json)).toContain('already handled');
  });

  const refusals: Array<[string, Record<string, string | undefined>, string, string]> = [
    ['a branch with a space', { ...good, branch: 'fix typo' }, 'branch', 'contains white space'],
    ['a branch with $(…)', { ...good, branch: '$(id)' }, 'branch', 'contains the character "$"'],
    ['a path traversal', { ...good, branch: '../x' }, 'branch', 'contains ".."'],
    ['a reflog expression', { ...good, branch: 'main@{1}' }, 'branch', 'contains "@{"'],
    ['a commit that is not hex', { ...good, commit: 'xyz1234' }, 'commit', 'which is not hexadecimal'],
    ['a commit too short', { ...good, commit: 'abc12' }, 'commit', '7 to 40 hexadecimal characters'],
  ];

  it.each(refusals)('refuses %s on its field; nothing recorded, posted or put', async (_name, values, field, problem) => {
    const view = await openDialog();
    const answer = await world().bot(ENV).submit(view, values);
    expect(answer.json?.response_action).toBe('errors');
    const errors = answer.json?.errors as Record<string, string>;
    expect(Object.keys(errors)).toEqual([field]);
    expect(errors[field]).toContain(problem);
    await expectNothingDone();
  });

  const forged: Array<[string, Record<string, string | undefined>, string, string]> = [
    ['a type not in INSTANCE_TYPES', { ...good, type: 'c6i.metal' }, 'type', 'is not one this bot launches'],
    ['hours above the limit', { ...good, hours: '4' }, 'hours', 'outside the allowed limits'],
    ['hours of 0', { ...good, hours: '0' }, 'hours', 'outside the allowed limits'],
    ['hours that are no number', { ...good, hours: 'two' }, 'hours', 'Choose a limit'],
  ];

  it.each(forged)('refuses a forged %s on its field; nothing recorded, posted or put', async (_name, values, field, problem) => {
    const view = await openDialog();
    const answer = await world().bot(ENV).submit(view, values, { forge: true });
    expect(answer.json?.response_action).toBe('errors');
    const errors = answer.json?.errors as Record<string, string>;
    expect(Object.keys(errors)).toEqual([field]);
    expect(errors[field]).toContain(problem);
    await expectNothingDone();
  });

  it('names every bad field at once', async () => {
    const view = await openDialog();
    const answer = await world().bot(ENV).submit(view, { branch: 'a b', commit: 'zz', type: 'x.metal', hours: '9' }, { forge: true });
    expect(Object.keys(answer.json?.errors as object).sort()).toEqual(['branch', 'commit', 'hours', 'type']);
    await expectNothingDone();
  });

  it('a channel the bot is not in: the answer replaces the dialog, nothing recorded', async () => {
    const view = await openDialog(ENV, { channel: NOT_MEMBER_CHANNEL });
    const answer = await world().bot(ENV).submit(view, good);
    expect(answer.json).toMatchObject({ response_action: 'update' });
    expect(JSON.stringify(answer.json)).toContain('not a member of this channel');
    expect(await world().builds()).toEqual([]);
  });

  it('a submission from another person is their request', async () => {
    const view = await openDialog();
    await world().bot(ENV).submit(view, good, { user: APPROVER });
    const [build] = await world().builds();
    expect(build!.Requester).toBe(APPROVER);
  });

  it('a submission without the channel in its private_metadata is dropped', async () => {
    const view = await openDialog();
    const answer = await world()
      .bot(ENV)
      .submit({ ...view, private_metadata: '{}' }, good);
    expect(answer.statusCode).toBe(200);
    await expectNothingDone();
    expect(world().log.lines.some((l) => JSON.stringify(l).includes('dropped a New build submission'))).toBe(true);
  });
});
