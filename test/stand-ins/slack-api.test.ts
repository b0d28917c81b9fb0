import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SlackApi, SlackChange } from '../../stand-ins/slack-api';
import {
  APPROVER,
  NOT_MEMBER_CHANNEL,
  REQUESTER,
  SANDBOX_BOT_TOKEN,
  SANDBOX_CHANNEL,
  refusalOf,
  startSlackApi,
  takeSlackWarnings,
} from '../../stand-ins/slack-api';

// The Slack Web API stand-in answers as docs/design.md "Sandbox contract" says, over plain HTTP,
// whatever client sends the request.

let api: SlackApi;
beforeAll(async () => {
  api = await startSlackApi();
});
afterAll(async () => {
  await api.close();
});
beforeEach(() => api.reset());

type Answer = Record<string, unknown> & { ok: boolean; error?: string };

async function form(method: string, args: Record<string, string>, token: string | null = SANDBOX_BOT_TOKEN): Promise<Answer> {
  const res = await fetch(`${api.url}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: new URLSearchParams(args).toString(),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer;
}

async function json(method: string, args: Record<string, unknown>, token = SANDBOX_BOT_TOKEN): Promise<Answer> {
  const res = await fetch(`${api.url}${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${token}` },
    body: JSON.stringify(args),
  });
  return (await res.json()) as Answer;
}

const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*card*' } }];

async function post(args: Record<string, string> = {}): Promise<string> {
  const answer = await form('chat.postMessage', { channel: SANDBOX_CHANNEL, text: 'hello', ...args });
  expect(answer).toMatchObject({ ok: true });
  return answer.ts as string;
}

describe('Slack Web API stand-in', () => {
  it('takes form bodies with blocks as a JSON string and JSON bodies with blocks as an array, alike', async () => {
    const viaForm = await form('chat.postMessage', { channel: SANDBOX_CHANNEL, text: 'a', blocks: JSON.stringify(blocks) });
    const viaJson = await json('chat.postMessage', { channel: SANDBOX_CHANNEL, text: 'b', blocks });
    expect(viaForm).toMatchObject({ ok: true, channel: SANDBOX_CHANNEL });
    expect(viaJson).toMatchObject({ ok: true, channel: SANDBOX_CHANNEL });
    expect(api.messages(SANDBOX_CHANNEL).map((m) => [m.text, m.blocks])).toEqual([
      ['a', blocks],
      ['b', blocks],
    ]);
    // Recorded calls show blocks decoded and never the token.
    expect(api.callsTo('chat.postMessage').map((c) => c.args.blocks)).toEqual([blocks, blocks]);
    expect(JSON.stringify(api.calls)).not.toContain(SANDBOX_BOT_TOKEN);
  });

  it('accepts the token as a bearer header or a form field and refuses a wrong or missing one', async () => {
    expect(await form('auth.test', { token: SANDBOX_BOT_TOKEN }, null)).toMatchObject({ ok: true, user_id: 'U0BOT' });
    expect(await form('chat.postMessage', { channel: SANDBOX_CHANNEL, text: 'x' }, 'xoxb-test-wrong')).toEqual({ ok: false, error: 'invalid_auth' });
    expect(await form('chat.postMessage', { channel: SANDBOX_CHANNEL, text: 'x' }, null)).toEqual({ ok: false, error: 'not_authed' });
    expect(api.messages(SANDBOX_CHANNEL)).toEqual([]);
  });

  it('gives every message a unique, increasing string ts', async () => {
    const tsList: string[] = [];
    for (let i = 0; i < 30; i++) tsList.push(await post());
    expect(new Set(tsList).size).toBe(30);
    for (const ts of tsList) expect(ts).toMatch(/^\d{10}\.\d{6}$/);
    expect([...tsList].sort((a, b) => Number(a) - Number(b))).toEqual(tsList);
  });

  it('keeps threads: replies parent first, broadcasts also in history with subtype thread_broadcast', async () => {
    const parent = await post({ text: 'card' });
    await post({ text: 'quiet reply', thread_ts: parent });
    await post({ text: 'loud reply', thread_ts: parent, reply_broadcast: 'true' });
    await post({ text: 'later' });

    const replies = api.replies(SANDBOX_CHANNEL, parent);
    expect(replies.map((m) => m.text)).toEqual(['card', 'quiet reply', 'loud reply']);
    expect(replies[0]).toMatchObject({ ts: parent, thread_ts: parent, reply_count: 2 });

    expect(api.messages(SANDBOX_CHANNEL).map((m) => [m.text, m.subtype])).toEqual([
      ['card', undefined],
      ['loud reply', 'thread_broadcast'],
      ['later', undefined],
    ]);

    const overHttp = await form('conversations.replies', { channel: SANDBOX_CHANNEL, ts: parent });
    expect((overHttp.messages as Array<{ text: string }>).map((m) => m.text)).toEqual(['card', 'quiet reply', 'loud reply']);
    const history = await form('conversations.history', { channel: SANDBOX_CHANNEL });
    // Slack's history is newest first.
    expect((history.messages as Array<{ text: string }>).map((m) => m.text)).toEqual(['later', 'loud reply', 'card']);
  });

  it('never shows ephemeral messages in history', async () => {
    const answer = await form('chat.postEphemeral', { channel: SANDBOX_CHANNEL, user: REQUESTER, text: 'only you' });
    expect(answer).toMatchObject({ ok: true, message_ts: expect.any(String) });
    expect(api.messages(SANDBOX_CHANNEL)).toEqual([]);
    expect(((await form('conversations.history', { channel: SANDBOX_CHANNEL })).messages as unknown[]).length).toBe(0);
    expect(api.ephemerals(REQUESTER).map((e) => e.text)).toEqual(['only you']);
    expect(api.ephemerals(APPROVER)).toEqual([]);
    expect(await form('chat.postEphemeral', { channel: SANDBOX_CHANNEL, user: 'U0STRANGER', text: 'x' })).toEqual({
      ok: false,
      error: 'user_not_in_channel',
    });
  });

  it('answers channel_not_found, not_in_channel, message_not_found and thread_not_found as Slack does', async () => {
    expect(await form('chat.postMessage', { channel: 'C0UNKNOWN', text: 'x' })).toEqual({ ok: false, error: 'channel_not_found' });
    expect(await form('chat.postMessage', { channel: NOT_MEMBER_CHANNEL, text: 'x' })).toEqual({ ok: false, error: 'not_in_channel' });
    expect(await form('chat.update', { channel: SANDBOX_CHANNEL, ts: '1.000001', text: 'x' })).toEqual({ ok: false, error: 'message_not_found' });
    expect(await form('conversations.replies', { channel: SANDBOX_CHANNEL, ts: '1.000001' })).toEqual({ ok: false, error: 'thread_not_found' });
    expect(await form('users.info', { user: 'U0NOBODY' })).toEqual({ ok: false, error: 'user_not_found' });
    expect(await form('chat.unknownThing', {})).toEqual({ ok: false, error: 'unknown_method' });
    expect(api.callsTo('chat.postMessage').map((c) => c.error)).toEqual(['channel_not_found', 'not_in_channel']);
  });

  it('updates in place: text changes, omitted blocks stay, an empty list removes them', async () => {
    const ts = await post({ text: 'v1', blocks: JSON.stringify(blocks) });
    expect(await form('chat.update', { channel: SANDBOX_CHANNEL, ts, text: 'v2' })).toMatchObject({ ok: true, ts });
    expect(api.messages(SANDBOX_CHANNEL)[0]).toMatchObject({ ts, text: 'v2', blocks, edited: { user: 'U0BOT' } });
    await form('chat.update', { channel: SANDBOX_CHANNEL, ts, text: 'v3', blocks: '[]' });
    expect(api.messages(SANDBOX_CHANNEL)[0]?.blocks).toBeUndefined();
    expect(api.messages(SANDBOX_CHANNEL)).toHaveLength(1);
  });

  it('refuses blocks that break Block Kit limits with invalid_blocks', async () => {
    const tooLong = [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }];
    expect(await json('chat.postMessage', { channel: SANDBOX_CHANNEL, text: 'x', blocks: tooLong })).toMatchObject({
      ok: false,
      error: 'invalid_blocks',
    });
    expect(await form('chat.postMessage', { channel: SANDBOX_CHANNEL, text: 'x', blocks: '[not json' })).toMatchObject({
      ok: false,
      error: 'invalid_blocks',
    });
    expect(await form('chat.postMessage', { channel: SANDBOX_CHANNEL })).toEqual({ ok: false, error: 'no_text' });
    expect(api.messages(SANDBOX_CHANNEL)).toEqual([]);
  });

  it('answers users.info, chat.getPermalink and auth.test', async () => {
    expect(await form('users.info', { user: REQUESTER })).toMatchObject({ ok: true, user: { id: REQUESTER, real_name: 'Riley' } });
    expect(await form('users.info', { user: APPROVER })).toMatchObject({ ok: true, user: { id: APPROVER, real_name: 'Avery' } });
    const ts = await post();
    const link = await form('chat.getPermalink', { channel: SANDBOX_CHANNEL, message_ts: ts });
    expect(link).toMatchObject({ ok: true, permalink: `${api.origin}/archives/${SANDBOX_CHANNEL}/p${ts.replace('.', '')}` });
  });

  it('answers usergroups.users.list with the members set, no_such_subteam for any other group, and forgets them on reset', async () => {
    api.setUserGroup('S0LEADS', [REQUESTER, APPROVER]);
    expect(await form('usergroups.users.list', { usergroup: 'S0LEADS' })).toEqual({ ok: true, users: [REQUESTER, APPROVER] });
    expect(await form('usergroups.users.list', { usergroup: 'S0OTHER' })).toEqual({ ok: false, error: 'no_such_subteam' });
    expect(await form('usergroups.users.list', {})).toMatchObject({ ok: false, error: 'invalid_arguments' });
    api.reset();
    expect(await form('usergroups.users.list', { usergroup: 'S0LEADS' })).toEqual({ ok: false, error: 'no_such_subteam' });
  });

  it('fails the next call to a method once when told to', async () => {
    api.failNext('chat.postMessage', 'ratelimited');
    expect(await form('chat.postMessage', { channel: SANDBOX_CHANNEL, text: 'x' })).toEqual({ ok: false, error: 'ratelimited' });
    expect(await form('chat.postMessage', { channel: SANDBOX_CHANNEL, text: 'y' })).toMatchObject({ ok: true });
    expect(api.messages(SANDBOX_CHANNEL).map((m) => m.text)).toEqual(['y']);
  });

  it('refuses a message whose block text passes about 12,000 characters in all with msg_blocks_too_long', async () => {
    const section = (n: number) => ({ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(n) } });
    const answer = await json('chat.postMessage', {
      channel: SANDBOX_CHANNEL,
      text: 'long',
      blocks: [section(3000), section(3000), section(3000), section(3001)],
    });
    expect(answer).toMatchObject({ ok: false, error: 'msg_blocks_too_long' });
    expect(
      await json('chat.postMessage', { channel: SANDBOX_CHANNEL, text: 'fits', blocks: [section(3000), section(3000), section(3000), section(3000)] }),
    ).toMatchObject({ ok: true });
    expect(api.messages(SANDBOX_CHANNEL).map((m) => m.text)).toEqual(['fits']);
  });

  it('cuts a top-level text over 40,000 characters to 40,000 and answers ok:true with the warning message_truncated, as Slack does', async () => {
    const long = `${'a'.repeat(39_999)}bc`;
    const posted = await json('chat.postMessage', { channel: SANDBOX_CHANNEL, text: long });
    expect(posted).toMatchObject({ ok: true, warning: 'message_truncated', response_metadata: { warnings: ['message_truncated'] } });
    const ts = posted.ts as string;
    expect(api.messages(SANDBOX_CHANNEL)[0]?.text).toBe(`${'a'.repeat(39_999)}b`);

    const updated = await json('chat.update', { channel: SANDBOX_CHANNEL, ts, text: `${'u'.repeat(40_000)}!` });
    expect(updated).toMatchObject({ ok: true, warning: 'message_truncated' });
    expect(api.messages(SANDBOX_CHANNEL)[0]?.text).toBe('u'.repeat(40_000));
    expect(api.calls.map((c) => c.warnings)).toEqual([['message_truncated'], ['message_truncated']]);
    // The tests' setup fails any test that leaves a warning (test/support/setup.ts); this one takes them.
    expect(takeSlackWarnings()).toEqual(['chat.postMessage: message_truncated', 'chat.update: message_truncated']);

    const fits = await json('chat.postMessage', { channel: SANDBOX_CHANNEL, text: 'x'.repeat(40_000) });
    expect(fits).toMatchObject({ ok: true });
    expect(fits).not.toHaveProperty('warning');
    expect(takeSlackWarnings()).toEqual([]);
  });

  describe('refuses, with invalid_blocks, what passes a Block Kit limit, and takes it at the limit', () => {
    const plain = (text: string) => ({ type: 'plain_text', text });
    const buttonWith = (extra: Record<string, unknown>) => ({ type: 'button', action_id: 'a', text: plain('Go'), value: 'v', ...extra });
    const actionsWith = (extra: Record<string, unknown>) => [{ type: 'actions', elements: [buttonWith(extra)] }];
    const confirmWith = (extra: Record<string, string>) => {
      const texts = { title: 'T', text: 'x', confirm: 'Yes', deny: 'No', ...extra };
      return actionsWith({ confirm: Object.fromEntries(Object.entries(texts).map(([k, v]) => [k, plain(v)])) });
    };
    const section = (text = 's') => ({ type: 'section', text: { type: 'mrkdwn', text } });
    const contextOf = (n: number) => [{ type: 'context', elements: Array.from({ length: n }, (_, i) => ({ type: 'mrkdwn', text: `e${i}` })) }];
    const cases: Array<[string, number, (n: number) => unknown[]]> = [
      ['blocks in a message', 50, (n) => Array.from({ length: n }, () => section())],
      ['context elements', 10, contextOf],
      ['header text', 150, (n) => [{ type: 'header', text: plain('h'.repeat(n)) }]],
      ['button text', 75, (n) => actionsWith({ text: plain('b'.repeat(n)) })],
      ['button value', 2000, (n) => actionsWith({ value: 'v'.repeat(n) })],
      ['button url', 3000, (n) => actionsWith({ url: `https://example.com/${'u'.repeat(n - 20)}` })],
      ['action_id', 255, (n) => actionsWith({ action_id: 'a'.repeat(n) })],
      ['block_id', 255, (n) => [{ ...section(), block_id: 'b'.repeat(n) }]],
      ['confirm title', 100, (n) => confirmWith({ title: 't'.repeat(n) })],
      ['confirm text', 300, (n) => confirmWith({ text: 't'.repeat(n) })],
      ['confirm button', 30, (n) => confirmWith({ confirm: 'c'.repeat(n) })],
      ['deny button', 30, (n) => confirmWith({ deny: 'd'.repeat(n) })],
      ['section fields', 10, (n) => [{ type: 'section', fields: Array.from({ length: n }, () => ({ type: 'mrkdwn', text: 'f' })) }]],
      ['field text', 2000, (n) => [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'f'.repeat(n) }] }]],
      ['actions elements', 25, (n) => [{ type: 'actions', elements: Array.from({ length: n }, (_, i) => buttonWith({ action_id: `a${i}` })) }]],
    ];
    it.each(cases)('%s: at most %i', async (_what, max, make) => {
      expect(await json('chat.postMessage', { channel: SANDBOX_CHANNEL, text: 'over', blocks: make(max + 1) })).toMatchObject({
        ok: false,
        error: 'invalid_blocks',
      });
      expect(await json('chat.postMessage', { channel: SANDBOX_CHANNEL, text: 'at', blocks: make(max) })).toMatchObject({ ok: true });
      expect(api.messages(SANDBOX_CHANNEL).map((m) => m.text)).toEqual(['at']);
    });

    it('100 blocks in a view (a modal, the Home tab), where a message holds 50', () => {
      const blocks = (n: number) => Array.from({ length: n }, () => section());
      expect(refusalOf({ blocks: blocks(100) }, 'view')).toBeUndefined();
      expect(refusalOf({ blocks: blocks(101) }, 'view')).toBe('invalid_blocks (no more than 100 blocks)');
      expect(refusalOf({ blocks: blocks(51) })).toBe('invalid_blocks (no more than 50 blocks)');
    });
  });

  it('while throttled answers every call 429 with Retry-After and ratelimited, taking no effect', async () => {
    api.throttle(20);
    const res = await fetch(`${api.url}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${SANDBOX_BOT_TOKEN}` },
      body: new URLSearchParams({ channel: SANDBOX_CHANNEL, text: 'x' }).toString(),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('20');
    expect(await res.json()).toEqual({ ok: false, error: 'ratelimited' });
    expect(api.messages(SANDBOX_CHANNEL)).toEqual([]);
    expect(api.calls).toEqual([]);
    expect(api.refused()).toBe(1);
    api.throttle(undefined);
    await post({ text: 'y' });
    expect(api.messages(SANDBOX_CHANNEL).map((m) => m.text)).toEqual(['y']);
  });

  it('while unreachable drops every connection before answering; reset ends it', async () => {
    api.unreachable(true);
    await expect(form('chat.postMessage', { channel: SANDBOX_CHANNEL, text: 'x' })).rejects.toThrow();
    expect(api.refused()).toBe(1);
    expect(api.messages(SANDBOX_CHANNEL)).toEqual([]);
    api.reset();
    expect(api.refused()).toBe(0);
    await post({ text: 'y' });
    expect(api.messages(SANDBOX_CHANNEL).map((m) => m.text)).toEqual(['y']);
  });

  it('tells listeners about every change and forgets everything on reset', async () => {
    const changes: SlackChange['type'][] = [];
    const stop = api.onChange((c) => changes.push(c.type));
    const ts = await post();
    await form('chat.update', { channel: SANDBOX_CHANNEL, ts, text: 'v2' });
    await form('chat.postEphemeral', { channel: SANDBOX_CHANNEL, user: REQUESTER, text: 'e' });
    api.reset();
    stop();
    await post();
    expect(changes).toEqual(['message', 'message_changed', 'ephemeral', 'reset']);
    expect(api.messages(SANDBOX_CHANNEL)).toHaveLength(1);
    expect(api.ephemerals()).toEqual([]);
    expect(api.calls.map((c) => c.method)).toEqual(['chat.postMessage']);
  });
});
