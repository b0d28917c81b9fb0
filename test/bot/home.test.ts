import { describe, expect, it } from 'vitest';
import type { Build } from '../../domain/build';
import { aBuild, at } from '../../stand-ins/build-fixture';
import { APPROVER, ONLOOKER, REQUESTER, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { HOME_ACTIONS } from '../../views/home';
import { useWorld } from '../support/bot-world';

// The Home tab (issue 32, docs/design.md "The Home tab"): published with views.publish on
// app_home_opened and on Refresh, for the person looking; buttons where that person may use them;
// bounded lists; a click in Home judged in the build's channel and answered in a modal.

const world = useWorld();

type Element = { action_id?: string; value?: string };
type HomeBlock = { type: string; block_id?: string; text?: { text: string }; elements?: Element[] };

const blocksOf = (user: string) => (world().slack.home(user)?.blocks ?? []) as HomeBlock[];
const textOf = (user: string) => JSON.stringify(world().slack.home(user)?.blocks ?? []);
/** The buttons on a build's row: action IDs. */
const buttonsOn = (user: string, buildId: string) =>
  blocksOf(user)
    .find((b) => b.block_id === `buttons_${buildId}`)
    ?.elements?.map((e) => e.action_id) ?? [];
const homeButtons = (user: string) =>
  blocksOf(user)
    .find((b) => b.block_id === 'home_actions')
    ?.elements?.map((e) => e.action_id) ?? [];

const id = (n: number, suffix = 'a') => `build-20261125-17${String(n).padStart(4, '0')}-${suffix}${String(n % 1000).padStart(3, '0')}`;

const running = (n: number, overrides: Partial<Build> = {}) =>
  aBuild({
    BuildID: id(n),
    Status: 'building',
    Phase: 'cloning',
    InstanceID: 'i-0123456789abcdef0',
    InstanceType: 'c5n.metal',
    LaunchTime: new Date(Date.now() - 30 * 60_000).toISOString(),
    ApprovedAt: at(1),
    Approver: APPROVER,
    CreatedAt: new Date(Date.now() - 40 * 60_000 + n).toISOString(),
    ...overrides,
  });

async function put(...builds: Build[]) {
  const store = world().bot().deps.store;
  for (const b of builds) expect(await store.create(b)).toBe(true);
}

describe('the Home tab', () => {
  it('is published on app_home_opened for the person looking, not for the Messages tab', async () => {
    await put(running(1));
    const bot = world().bot();
    expect((await bot.openHome(REQUESTER, 'messages')).statusCode).toBe(200);
    expect(world().slack.callsTo('views.publish')).toEqual([]);
    expect((await bot.openHome(REQUESTER)).statusCode).toBe(200);
    expect(world().slack.callsTo('views.publish')).toHaveLength(1);
    const text = textOf(REQUESTER);
    expect(text).toContain(id(1));
    expect(text).toContain('cloning');
    expect(text).toContain('elapsed');
    expect(text).toContain('so far');
    expect(text).toContain('ends by');
    expect(text).toContain('This month');
    expect(world().slack.home(APPROVER)).toBeUndefined();
  });

  it('offers the requester Show log and Cancel, the approver Extend too, an onlooker Show log only', async () => {
    await put(running(1));
    const bot = world().bot();
    for (const user of [REQUESTER, APPROVER, ONLOOKER]) await bot.openHome(user);
    expect(buttonsOn(REQUESTER, id(1))).toEqual(['show_log', 'cancel_build']);
    expect(buttonsOn(APPROVER, id(1))).toEqual(['show_log', 'extend_build', 'cancel_build']);
    expect(buttonsOn(ONLOOKER, id(1))).toEqual(['show_log']);
  });

  it('shows queued builds and the requester’s own recent ones', async () => {
    await put(aBuild({ BuildID: id(2), Status: 'queued', QueuedAt: at(1), CreatedAt: at(0) }), aBuild({ BuildID: id(3), Status: 'failed', CreatedAt: at(0) }));
    const bot = world().bot();
    await bot.openHome(REQUESTER);
    await bot.openHome(APPROVER);
    expect(textOf(REQUESTER)).toContain(id(2));
    expect(blocksOf(REQUESTER).some((b) => b.block_id === `mine_${id(3)}`)).toBe(true);
    expect(blocksOf(APPROVER).some((b) => b.block_id === `mine_${id(3)}`)).toBe(false);
  });

  it('with ALLOWED_CHANNEL_IDS: APPROVER_IDS see every build, others only their own', async () => {
    await put(running(1), running(2, { Requester: ONLOOKER }));
    const bot = world().bot({ ALLOWED_CHANNEL_IDS: SANDBOX_CHANNEL });
    for (const user of [REQUESTER, APPROVER, ONLOOKER]) await bot.openHome(user);
    expect(textOf(APPROVER)).toContain(id(1));
    expect(textOf(APPROVER)).toContain(id(2));
    expect(textOf(REQUESTER)).toContain(id(1));
    expect(textOf(REQUESTER)).not.toContain(id(2));
    expect(textOf(ONLOOKER)).toContain(id(2));
    expect(textOf(ONLOOKER)).not.toContain(id(1));
  });

  it('without ALLOWED_CHANNEL_IDS an onlooker sees every build', async () => {
    await put(running(1), running(2, { Requester: APPROVER }));
    await world().bot().openHome(ONLOOKER);
    expect(textOf(ONLOOKER)).toContain(id(1));
    expect(textOf(ONLOOKER)).toContain(id(2));
  });

  it('is bounded at 50 builds: within 100 blocks, with "and N more"', async () => {
    await put(...Array.from({ length: 50 }, (_, i) => running(i + 1)));
    await world().bot().openHome(APPROVER);
    const blocks = blocksOf(APPROVER);
    expect(blocks.length).toBeLessThanOrEqual(100);
    expect(textOf(APPROVER)).toContain('and 30 more active builds');
    await world().bot().openHome(REQUESTER);
    expect(textOf(REQUESTER)).toContain('and 40 more of yours');
  });

  it('New build only with ALLOWED_CHANNEL_IDS or HOME_CHANNEL_ID; Refresh always', async () => {
    await world().bot().openHome(REQUESTER);
    expect(homeButtons(REQUESTER)).toEqual([HOME_ACTIONS.refresh]);
    await world().bot({ HOME_CHANNEL_ID: SANDBOX_CHANNEL }).openHome(REQUESTER);
    expect(homeButtons(REQUESTER)).toEqual([HOME_ACTIONS.newBuild, HOME_ACTIONS.refresh]);
    await world().bot({ ALLOWED_CHANNEL_IDS: SANDBOX_CHANNEL }).openHome(REQUESTER);
    expect(homeButtons(REQUESTER)).toEqual([HOME_ACTIONS.newBuild, HOME_ACTIONS.refresh]);
  });

  it('Refresh publishes again with what changed', async () => {
    const bot = world().bot();
    await bot.openHome(REQUESTER);
    expect(textOf(REQUESTER)).not.toContain(id(1));
    await put(running(1));
    await bot.homeClick(HOME_ACTIONS.refresh, 'refresh', REQUESTER);
    expect(textOf(REQUESTER)).toContain(id(1));
    expect(world().slack.callsTo('views.publish')).toHaveLength(2);
  });

  it('New build opens the dialog for the Home channel, and its submission posts the card there', async () => {
    const bot = world().bot({ HOME_CHANNEL_ID: SANDBOX_CHANNEL });
    await bot.homeClick(HOME_ACTIONS.newBuild, SANDBOX_CHANNEL, REQUESTER, 'trigger-home');
    const [view] = world().slack.modals();
    expect(view).toMatchObject({ triggerId: 'trigger-home', callback_id: 'new_build' });
    expect(JSON.parse(view!.private_metadata!)).toEqual({ channel: SANDBOX_CHANNEL });
    await bot.submit(view!, { branch: 'main', type: 'c5n.metal', hours: '3' });
    const [build] = await world().builds();
    expect(build).toMatchObject({ Channel: SANDBOX_CHANNEL, Requester: REQUESTER, BuildBranch: 'main' });
  });

  it('a click in Home is judged in the build’s channel and answered in a modal', async () => {
    await put(running(1, { Requester: APPROVER }));
    const bot = world().bot();
    await bot.homeClick('cancel_build', id(1), ONLOOKER, 'trigger-refused');
    const [refusal] = world().slack.modals();
    expect(refusal?.triggerId).toBe('trigger-refused');
    expect(JSON.stringify(refusal?.blocks)).toMatch(/only|requester|approver/i);
    expect((await world().build(id(1)))?.Status).toBe('building');
    expect(world().bus()).toEqual([]);
    expect(world().slack.callsTo('chat.postEphemeral')).toEqual([]);
  });

  it('with ALLOWED_CHANNEL_IDS a click in Home on a build of an allowed channel is not refused as outside it', async () => {
    await put(running(1));
    const bot = world().bot({ ALLOWED_CHANNEL_IDS: SANDBOX_CHANNEL });
    await bot.homeClick('cancel_build', id(1), REQUESTER, 'trigger-cancel');
    const text = JSON.stringify(world().slack.modals()[0]?.blocks ?? []);
    expect(text).not.toContain('work only in');
    expect(text).toContain('Terminating');
    expect(world().bus()).toEqual([['Build Cancel Requested', { buildId: id(1), by: REQUESTER }]]);
  });
});
