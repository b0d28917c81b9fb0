import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChatError } from '../../../domain/ports';
import { SlackChat } from '../../../adapters/slack/chat';
import { createSlackWebClient } from '../../../adapters/slack/web-client';
import type { SlackApi } from '../../../stand-ins/slack-api';
import { NOT_MEMBER_CHANNEL, REQUESTER, SANDBOX_BOT_TOKEN, SANDBOX_CHANNEL, startSlackApi } from '../../../stand-ins/slack-api';

// The Chat port over the real WebClient, against the stand-in: what lands in the channel, and
// how Slack's refusals come back.

let api: SlackApi;
let chat: SlackChat;
beforeAll(async () => {
  api = await startSlackApi();
  chat = new SlackChat(createSlackWebClient({ token: SANDBOX_BOT_TOKEN, apiUrl: api.url, profile: 'request' }));
});
afterAll(async () => {
  await api.close();
});
beforeEach(() => api.reset());

const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*status*' } }];

async function refusal(promise: Promise<unknown>): Promise<ChatError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ChatError);
  return error as ChatError;
}

describe('SlackChat', () => {
  it('posts a channel message with blocks, unfurling off, and returns its ts', async () => {
    const { ts } = await chat.post({ channel: SANDBOX_CHANNEL, text: 'card', blocks });
    expect(api.messages(SANDBOX_CHANNEL)).toEqual([expect.objectContaining({ ts, text: 'card', blocks, user: 'U0BOT' })]);
    expect(api.callsTo('chat.postMessage')[0]?.args).toMatchObject({ unfurl_links: 'false', unfurl_media: 'false' });
    expect(api.callsTo('chat.postMessage')[0]?.args).not.toHaveProperty('thread_ts');
  });

  it('replies in a thread, broadcasting only when asked', async () => {
    const { ts: card } = await chat.post({ channel: SANDBOX_CHANNEL, text: 'card' });
    await chat.post({ channel: SANDBOX_CHANNEL, threadTs: card, text: 'launching', broadcast: false });
    await chat.post({ channel: SANDBOX_CHANNEL, threadTs: card, text: 'completed', broadcast: true });
    expect(api.replies(SANDBOX_CHANNEL, card).map((m) => m.text)).toEqual(['card', 'launching', 'completed']);
    expect(api.messages(SANDBOX_CHANNEL).map((m) => [m.text, m.subtype])).toEqual([
      ['card', undefined],
      ['completed', 'thread_broadcast'],
    ]);
    expect(api.callsTo('chat.postMessage').map((c) => c.args.reply_broadcast)).toEqual([undefined, undefined, 'true']);
  });

  it('updates a message in place; an update without blocks removes the old ones', async () => {
    const { ts } = await chat.post({ channel: SANDBOX_CHANNEL, text: 'v1', blocks });
    await chat.update({ channel: SANDBOX_CHANNEL, ts, text: 'v2', blocks: [{ type: 'divider' }] });
    expect(api.messages(SANDBOX_CHANNEL)).toEqual([expect.objectContaining({ ts, text: 'v2', blocks: [{ type: 'divider' }] })]);
    await chat.update({ channel: SANDBOX_CHANNEL, ts, text: 'v3' });
    expect(api.messages(SANDBOX_CHANNEL)[0]).toMatchObject({ ts, text: 'v3' });
    expect(api.messages(SANDBOX_CHANNEL)[0]?.blocks).toBeUndefined();
  });

  it('posts ephemeral messages to one user, never into the channel', async () => {
    await chat.postEphemeral({ channel: SANDBOX_CHANNEL, user: REQUESTER, text: 'only you' });
    expect(api.ephemerals(REQUESTER)).toEqual([expect.objectContaining({ channel: SANDBOX_CHANNEL, text: 'only you' })]);
    expect(api.messages(SANDBOX_CHANNEL)).toEqual([]);
  });

  it("maps Slack's refusals to ChatError with Slack's code, the method and the cause", async () => {
    const notIn = await refusal(chat.post({ channel: NOT_MEMBER_CHANNEL, text: 'x' }));
    expect([notIn.code, notIn.method]).toEqual(['not_in_channel', 'chat.postMessage']);
    expect(notIn.cause).toBeDefined();

    const unknown = await refusal(chat.postEphemeral({ channel: 'C0UNKNOWN', user: REQUESTER, text: 'x' }));
    expect([unknown.code, unknown.method]).toEqual(['channel_not_found', 'chat.postEphemeral']);

    const missing = await refusal(chat.update({ channel: SANDBOX_CHANNEL, ts: '1764090052.999999', text: 'x' }));
    expect([missing.code, missing.method]).toEqual(['message_not_found', 'chat.update']);

    const wrongToken = new SlackChat(createSlackWebClient({ token: 'xoxb-test-wrong', apiUrl: api.url, profile: 'request' }));
    const auth = await refusal(wrongToken.post({ channel: SANDBOX_CHANNEL, text: 'x' }));
    expect(auth.code).toBe('invalid_auth');
    expect(api.messages(SANDBOX_CHANNEL)).toEqual([]);
  });

  it("reads a user group's members; an unknown group or a workspace without groups is a ChatError with Slack's code", async () => {
    api.setUserGroup('S0LEADS', [REQUESTER]);
    expect(await chat.userGroupMembers('S0LEADS')).toEqual([REQUESTER]);
    expect(api.callsTo('usergroups.users.list')[0]?.args).toMatchObject({ usergroup: 'S0LEADS' });

    const unknown = await refusal(chat.userGroupMembers('S0NONE'));
    expect([unknown.code, unknown.method]).toEqual(['no_such_subteam', 'usergroups.users.list']);

    api.failNext('usergroups.users.list', 'plan_upgrade_required');
    expect((await refusal(chat.userGroupMembers('S0LEADS'))).code).toBe('plan_upgrade_required');
  });

  it('on the request path, an HTTP failure is one attempt and a ChatError', async () => {
    let requests = 0;
    const broken = createServer((_req, res) => {
      requests++;
      res.writeHead(500).end('boom');
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    const { port } = broken.address() as AddressInfo;
    try {
      const client = createSlackWebClient({ token: SANDBOX_BOT_TOKEN, apiUrl: `http://127.0.0.1:${port}/api`, profile: 'request' });
      const error = await refusal(new SlackChat(client).post({ channel: SANDBOX_CHANNEL, text: 'x' }));
      expect(error.code).toBe('http_500');
      expect(requests).toBe(1);
    } finally {
      broken.closeAllConnections();
      await new Promise((resolve) => broken.close(resolve));
    }
  });

  it('reports an unreachable Slack as request_failed', async () => {
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const { port } = gone.address() as AddressInfo;
    await new Promise((resolve) => gone.close(resolve));
    const client = createSlackWebClient({ token: SANDBOX_BOT_TOKEN, apiUrl: `http://127.0.0.1:${port}/api/`, profile: 'request' });
    expect((await refusal(new SlackChat(client).post({ channel: SANDBOX_CHANNEL, text: 'x' }))).code).toBe('request_failed');
  });
});
