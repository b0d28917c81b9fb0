import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SlackApi } from '../../stand-ins/slack-api';
import { BOT_USER, REQUESTER, SANDBOX_BOT_TOKEN, startSlackApi } from '../../stand-ins/slack-api';

// views.open and views.publish in the stand-in take what Slack takes and refuse what it refuses:
// 100 blocks, a title of 24 characters, private_metadata of 3000, callback_id of 255, a trigger used once.

let api: SlackApi;
beforeAll(async () => {
  api = await startSlackApi();
});
afterAll(async () => {
  await api.close();
});
beforeEach(() => api.reset());

type Answer = Record<string, unknown> & { ok: boolean; error?: string };

async function call(method: string, args: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${api.url}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${SANDBOX_BOT_TOKEN}` },
    body: new URLSearchParams(args).toString(),
  });
  return (await res.json()) as Answer;
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const input = { type: 'input', block_id: 'branch', label: { type: 'plain_text', text: 'Branch' }, element: { type: 'plain_text_input', action_id: 'branch' } };
const modal = (over: Record<string, unknown> = {}) => ({
  type: 'modal',
  callback_id: 'new_build',
  title: { type: 'plain_text', text: 'New build' },
  submit: { type: 'plain_text', text: 'Request' },
  blocks: [input],
  ...over,
});
const open = (view: unknown, trigger = 'trigger-1') => call('views.open', { trigger_id: trigger, view: JSON.stringify(view) });
const publish = (user: string, view: unknown) => call('views.publish', { user_id: user, view: JSON.stringify(view) });

describe('views.open', () => {
  it('opens a modal once per trigger_id and keeps it', async () => {
    expect(await open(modal())).toMatchObject({ ok: true, view: { callback_id: 'new_build' } });
    expect(await open(modal())).toMatchObject({ ok: false, error: 'exchanged_trigger_id' });
    expect(api.modals()).toHaveLength(1);
    expect(api.modals()[0]).toMatchObject({ triggerId: 'trigger-1', callback_id: 'new_build' });
  });

  it.each([
    ['no trigger_id', () => call('views.open', { view: JSON.stringify(modal()) })],
    ['a title of 25 characters', () => open(modal({ title: { type: 'plain_text', text: 'x'.repeat(25) } }))],
    ['a mrkdwn title', () => open(modal({ title: { type: 'mrkdwn', text: 'New build' } }))],
    ['no title', () => open(modal({ title: undefined }))],
    ['input blocks without submit', () => open(modal({ submit: undefined }))],
    ['101 blocks', () => open(modal({ blocks: Array.from({ length: 101 }, (_, i) => section(`s${i}`)) }))],
    ['private_metadata of 3001 characters', () => open(modal({ private_metadata: 'x'.repeat(3001) }))],
    ['a callback_id of 256 characters', () => open(modal({ callback_id: 'x'.repeat(256) }))],
    ['a home view', () => open({ ...modal(), type: 'home' })],
    [
      'an option of 76 characters',
      () =>
        open(
          modal({
            blocks: [
              {
                ...input,
                element: { type: 'static_select', action_id: 'type', options: [{ text: { type: 'plain_text', text: 'x'.repeat(76) }, value: 'a' }] },
              },
            ],
          }),
        ),
    ],
  ])('refuses %s', async (_what, run) => {
    const answer = await run();
    expect(answer.ok).toBe(false);
    expect(api.modals()).toEqual([]);
  });

  it('takes exactly 100 blocks, a 24-character title, 3000 characters of metadata and a 255-character callback_id', async () => {
    const answer = await open(
      modal({
        title: { type: 'plain_text', text: 'x'.repeat(24) },
        private_metadata: 'm'.repeat(3000),
        callback_id: 'c'.repeat(255),
        blocks: [input, ...Array.from({ length: 99 }, (_, i) => section(`s${i}`))],
      }),
    );
    expect(answer).toMatchObject({ ok: true });
  });
});

describe('views.publish', () => {
  const home = (n: number) => ({ type: 'home', blocks: Array.from({ length: n }, (_, i) => section(`s${i}`)) });

  it("publishes a person's Home tab, the newest replacing the last", async () => {
    expect(await publish(REQUESTER, home(1))).toMatchObject({ ok: true });
    expect(await publish(REQUESTER, home(100))).toMatchObject({ ok: true });
    expect(api.home(REQUESTER)?.blocks).toHaveLength(100);
  });

  it('refuses 101 blocks, a modal, a bot and nobody', async () => {
    expect(await publish(REQUESTER, home(101))).toMatchObject({ ok: false, error: 'invalid_arguments' });
    expect(await publish(REQUESTER, { ...home(1), type: 'modal' })).toMatchObject({ ok: false, error: 'invalid_arguments' });
    expect(await publish(BOT_USER, home(1))).toMatchObject({ ok: false, error: 'user_not_found' });
    expect(await call('views.publish', { view: JSON.stringify(home(1)) })).toMatchObject({ ok: false, error: 'invalid_arguments' });
    expect(api.home(REQUESTER)).toBeUndefined();
  });
});
