import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/sandbox';
import { startSandbox } from '../../sandbox/sandbox';
import type { SlackView } from '../../stand-ins/slack-api';
import { APPROVER, ONLOOKER, REQUESTER, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { SandboxClient, buttons } from './sandbox-client';

// Apps → metal-build on the page: the requester's direct messages, Show log and `logs` reading
// the simulated runner's CloudWatch log, the Home tab opened with a signed app_home_opened and
// its buttons, and the modals the bot opens (New build submitted into a card). Over HTTP, as the
// page uses them.

interface PageMessage {
  ts: string;
  channel: string;
  user: string;
  text: string;
  ephemeral: boolean;
  blocks?: unknown[];
}

interface PageState {
  timeline: PageMessage[];
  threads: Record<string, PageMessage[]>;
  directMessages: PageMessage[];
  home: SlackView | null;
  modal: SlackView | null;
  rows: Array<{ BuildID: string; Status?: string }>;
}

type Element = { type: string; action_id?: string; value?: string };

/** Every button of a view (actions blocks and section accessories). */
const viewButtons = (view: SlackView): Element[] =>
  (view.blocks as Array<{ type: string; elements?: Element[]; accessory?: Element }>).flatMap((b) =>
    [...(b.elements ?? []), ...(b.accessory ? [b.accessory] : [])].filter((e) => e.type === 'button'),
  );

const viewText = (view: SlackView | null) => JSON.stringify(view?.blocks ?? []);

describe('Apps → metal-build on the sandbox page (speed 0)', { timeout: 60_000 }, () => {
  let sandbox: Sandbox;
  let c: SandboxClient;
  let buildId: string;

  const state = async (user: string) => (await c.get<PageState>(`/sandbox/state?user=${user}`)).json;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, dynamodbPort: 0, speed: 0, outcome: 'success', logSink: () => {} });
    c = new SandboxClient(sandbox.url, sandbox.dynamodbEndpoint);
    ({ buildId } = await c.requestAndApprove(REQUESTER, APPROVER));
    // Running and building: the runner has written its first log lines.
    await c.advance(10);
  });
  afterAll(async () => {
    c.close();
    await sandbox.close();
  });

  it("answers `logs` with the simulated runner's lines, read from the CloudWatch Logs stand-in", async () => {
    const answer = await c.command(REQUESTER, `logs ${buildId}`);
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('packer build (pre-warmed OVA)');
    expect(answer.text).not.toContain('did not go through');
    const group = sandbox.standIns.logs.groups().find((g) => g.name.endsWith(buildId));
    expect(group?.streams[0]?.events.length).toBeGreaterThan(0);
  });

  it("answers Show log in the build's thread with those lines, to the clicker alone", async () => {
    const card = await c.card(buildId);
    const withLog = (await c.replies(card.ts)).find((m) => buttons(m).some((b) => b.action_id === 'show_log'));
    if (!withLog) throw new Error('no Show log button in the thread');
    const clicked = await c.post('/sandbox/action', { user: ONLOOKER, messageTs: withLog.ts, actionId: 'show_log', value: buildId, text: 'Show log' });
    expect(clicked).toMatchObject({ status: 200, json: { status: 200 } });
    const seen = (s: PageState) => [...s.timeline, ...Object.values(s.threads).flat()].filter((m) => m.ephemeral && m.text.includes('Cloning main'));
    expect(seen(await state(ONLOOKER))).toHaveLength(1);
    expect(seen(await state(REQUESTER))).toHaveLength(0);
  });

  it("shows the requester the bot's direct message when the build ends, and no one else", async () => {
    expect((await state(REQUESTER)).directMessages).toEqual([]);
    await c.advance(90);
    const riley = await state(REQUESTER);
    expect(riley.directMessages).toHaveLength(1);
    expect(riley.directMessages[0]).toMatchObject({ user: 'U0BOT', channel: 'D0REQUESTER' });
    expect(riley.directMessages[0]?.text).toContain(buildId);
    expect((await state(APPROVER)).directMessages).toEqual([]);
  });

  it('opens the Home tab with a signed app_home_opened and shows the view the bot published', async () => {
    expect((await state(APPROVER)).home).toBeNull();
    const opened = await c.post('/sandbox/home', { user: APPROVER });
    expect(opened).toMatchObject({ status: 200, json: { status: 200 } });
    const home = (await state(APPROVER)).home;
    expect(home?.type).toBe('home');
    expect(viewButtons(home as SlackView).map((b) => b.action_id)).toEqual(expect.arrayContaining(['home_new_build', 'home_refresh']));
    // Each person's own: Riley's Home is not Avery's.
    expect((await state(REQUESTER)).home).toBeNull();
  });

  it("answers a Home button in a modal for the clicker (Show log on a build in Home's recent list)", async () => {
    await c.command(REQUESTER, 'main abc1234');
    const { buildId: running } = await c.requestAndApprove(REQUESTER, APPROVER);
    await c.advance(10);
    await c.post('/sandbox/home', { user: REQUESTER });
    const home = (await state(REQUESTER)).home as SlackView;
    const showLog = viewButtons(home).find((b) => b.action_id === 'show_log' && b.value === running);
    expect(showLog).toBeDefined();
    const clicked = await c.post('/sandbox/home-action', { user: REQUESTER, actionId: 'show_log', value: running, text: 'Show log' });
    expect(clicked).toMatchObject({ status: 200, json: { status: 200 } });
    const riley = await state(REQUESTER);
    expect(riley.modal?.type).toBe('modal');
    expect(viewText(riley.modal)).toContain('packer build');
    // Only Riley's: Avery sees no modal.
    expect((await state(APPROVER)).modal).toBeNull();
    expect(await c.post('/sandbox/view-close', { user: REQUESTER })).toMatchObject({ status: 200 });
    expect((await state(REQUESTER)).modal).toBeNull();
  });

  it('refreshes Home with its Refresh button', async () => {
    const before = (await state(APPROVER)).home as SlackView;
    await c.post('/sandbox/home-action', { user: APPROVER, actionId: 'home_refresh', value: 'refresh', text: 'Refresh' });
    const after = (await state(APPROVER)).home as SlackView;
    expect(after.id).toBe(before.id);
    expect(viewText(after)).not.toBe(viewText(before));
  });

  it('opens New build from Home, keeps it open with the error on the field, and posts the card on a good submit', async () => {
    const posted = (await state(REQUESTER)).timeline.length;
    await c.post('/sandbox/home-action', { user: REQUESTER, actionId: 'home_new_build', value: 'new', text: 'New build' });
    const dialog = (await state(REQUESTER)).modal;
    expect(dialog?.callback_id).toBe('new_build');
    const id = (dialog as SlackView).id;
    const type = sandbox.config.instanceType;
    const hours = String(sandbox.config.maxLifetimeHours);

    const bad = await c.post<{ status: number; errors?: Record<string, string> }>('/sandbox/view', {
      user: REQUESTER,
      viewId: id,
      values: { branch: 'main', commit: 'not-a-commit', type, hours },
    });
    expect(bad.status).toBe(200);
    expect(Object.keys(bad.json.errors ?? {})).toEqual(['commit']);
    expect((await state(REQUESTER)).modal?.id).toBe(id);
    expect((await state(REQUESTER)).timeline).toHaveLength(posted);

    // An empty required field is refused as Slack's client refuses it: nothing reaches the bot.
    const empty = await c.post('/sandbox/view', { user: REQUESTER, viewId: id, values: { type, hours } });
    expect(empty.status).toBe(400);

    const good = await c.post('/sandbox/view', { user: REQUESTER, viewId: id, values: { branch: 'release/1.2', type, hours } });
    expect(good).toMatchObject({ status: 200, json: { status: 200 } });
    const riley = await state(REQUESTER);
    // The bot answers with `update`: the same dialog now says what was requested, until closed.
    expect(riley.modal).toMatchObject({ id, title: { text: 'Build requested' } });
    expect(riley.timeline.length).toBeGreaterThan(posted);
    expect(riley.timeline.at(-1)?.text).toContain('release/1.2');
    await c.post('/sandbox/view-close', { user: REQUESTER });
    expect((await state(REQUESTER)).modal).toBeNull();
  });

  it('opens New build for /metal-build new typed in #builds, for the one who typed it', async () => {
    expect(await c.post('/sandbox/slash', { user: APPROVER, text: 'new' })).toMatchObject({ status: 200 });
    expect((await state(APPROVER)).modal?.callback_id).toBe('new_build');
    expect((await state(REQUESTER)).modal).toBeNull();
  });

  it('refuses a bad body, a person the page does not know, and a view that is not open, changing nothing', async () => {
    const before = await state(REQUESTER);
    expect((await c.post('/sandbox/home', { user: 'U0NOBODY' })).status).toBe(400);
    expect((await c.post('/sandbox/home-action', { user: REQUESTER })).status).toBe(400);
    expect((await c.post('/sandbox/view', { user: REQUESTER, viewId: 'V0NOTOPEN', values: {} })).status).toBe(400);
    const after = await state(REQUESTER);
    expect(after.timeline).toEqual(before.timeline);
    expect(after.modal).toEqual(before.modal);
    expect(after.home).toEqual(before.home);
    expect(SANDBOX_CHANNEL).toBe('C0SANDBOX');
  });
});
