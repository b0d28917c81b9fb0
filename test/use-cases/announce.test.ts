import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Build } from '../../domain/build';
import { parseConfig } from '../../domain/config';
import { ChatError } from '../../domain/ports';
import { memoryLogger } from '../../stand-ins/memory-logger';
import { announce } from '../../use-cases/announce';
import { refreshCard } from '../../use-cases/card-refresh';
import { SlackChat } from '../../adapters/slack/chat';
import { buildCard } from '../../views/card';
import { createSlackWebClient } from '../../adapters/slack/web-client';
import { aBuild, aLaunchedBuild, at } from '../../stand-ins/build-fixture';
import type { LocalDynamo } from '../../stand-ins/dynalite';
import { startDynalite } from '../../stand-ins/dynalite';
import type { SlackApi } from '../../stand-ins/slack-api';
import { SANDBOX_CHANNEL, startSlackApi } from '../../stand-ins/slack-api';

// docs/design.md "At least once per status change", end to end over the real store (dynalite) and
// the real Chat adapter (the stand-in): post, then record NotifiedStatus; a failed post leaves
// NotifiedStatus behind so the redelivery posts.

const config = parseConfig({ SLACK_SIGNING_SECRET: 'test-signing-secret', SLACK_BOT_TOKEN: 'xoxb-test-token' });
const ctx = { config, now: new Date(at(95)) };

let api: SlackApi;
let dynamo: LocalDynamo;
let chat: SlackChat;
let log: ReturnType<typeof memoryLogger>;

beforeAll(async () => {
  [api, dynamo] = await Promise.all([startSlackApi(), startDynalite({ tableName: 'announce-test-builds' })]);
  chat = new SlackChat(createSlackWebClient({ token: api.token, apiUrl: api.url, profile: 'background' }));
});
afterAll(async () => {
  await Promise.all([api.close(), dynamo.close()]);
});
beforeEach(async () => {
  api.reset();
  await dynamo.reset();
  log = memoryLogger();
});

const deps = () => ({ store: dynamo.store, claims: dynamo.claims, chat, log });

/** A build whose card is in the channel and whose record is in the table. */
async function stored(build: Build): Promise<Build> {
  const { ts } = await chat.post({ channel: SANDBOX_CHANNEL, ...buildCard({ ...build, Status: 'awaiting_approval' }, ctx) });
  const withCard = { ...build, ThreadTs: ts };
  expect(await dynamo.store.create(withCard)).toBe(true);
  api.calls.length = 0;
  return withCard;
}

const completed = () =>
  aLaunchedBuild('uploading', {
    Status: 'completed',
    CompletionTime: at(92),
    ArtifactKey: 'builds/build-20261125-170052-a1b2/hedgehog-lab-prewarmed-0.0.0-abc1234.ova',
    ArtifactBytes: 40_000_000_000,
    ArtifactSha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    NotifiedStatus: 'uploading',
  });

/** Posts into the build's channel; the requester's direct messages go to their user ID. */
const threadPosts = () => api.callsTo('chat.postMessage').filter((c) => c.args.channel !== 'U0REQUESTER');
const directMessages = () => api.callsTo('chat.postMessage').filter((c) => c.args.channel === 'U0REQUESTER');

describe('announce', () => {
  it('posts one reply in the thread, updates the card, records NotifiedStatus; a second call does nothing', async () => {
    const build = await stored(completed());
    const after = await announce(deps(), build, ctx);

    expect(after.NotifiedStatus).toBe('completed');
    expect((await dynamo.get(build.BuildID))?.NotifiedStatus).toBe('completed');
    const thread = api.replies(SANDBOX_CHANNEL, build.ThreadTs);
    expect(thread).toHaveLength(2);
    expect(thread[1]).toMatchObject({ subtype: 'thread_broadcast', text: expect.stringContaining('<@U0REQUESTER>') });
    // The card (the thread's parent) now shows the final status and no buttons.
    expect(thread[0]?.text).toContain('completed');
    expect(JSON.stringify(thread[0]?.blocks)).not.toContain('approve_build');

    await announce(deps(), after, ctx);
    expect(threadPosts()).toHaveLength(1);
    expect(api.callsTo('chat.update')).toHaveLength(1);
    // The requester hears of the end directly too: once, with a link to the thread, no buttons.
    expect(directMessages()).toHaveLength(1);
    expect(directMessages()[0]!.args.text).toMatch(
      /^✅ Your build `build-[^`]+` \(`main`\): completed\. <http[^|]+\/archives\/C0SANDBOX\/p\d+\|Open the thread>\.$/,
    );
    expect(directMessages()[0]!.args.blocks).toBeUndefined();
    expect((await dynamo.store.get(build.BuildID))?.DirectMessages).toEqual(['completed']);
  });

  it('sends no direct message with NOTIFY_REQUESTER_DM=false, nor for what the requester did themselves', async () => {
    const off = { ...ctx, config: { ...ctx.config, notifyRequesterDm: false } };
    const done = await stored(completed());
    expect((await announce(deps(), done, off)).NotifiedStatus).toBe('completed');
    const withdrawn = await stored(
      aBuild({ Status: 'rejected', DeniedBy: 'U0REQUESTER', NotifiedStatus: 'awaiting_approval', BuildID: 'build-20261125-170052-w1th' }),
    );
    expect((await announce(deps(), withdrawn, ctx)).NotifiedStatus).toBe('rejected');
    expect(directMessages()).toEqual([]);
  });

  it('a direct message that fails is given back, so the next telling may send it; the thread is not held up', async () => {
    const build = await stored(completed());
    api.failNext('chat.getPermalink', 'internal_error');
    const after = await announce(deps(), build, ctx);
    expect(after.NotifiedStatus).toBe('completed');
    expect(directMessages()).toEqual([]);
    expect((await dynamo.store.get(build.BuildID))?.DirectMessages ?? []).toEqual([]);
    expect(log.lines).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: 'direct message to the requester failed; given back for a later try', buildId: build.BuildID }),
    );
  });

  it('does nothing when the status was already told', async () => {
    const build = await stored(aLaunchedBuild('building', { NotifiedStatus: 'building' }));
    expect(await announce(deps(), build, ctx)).toEqual(build);
    expect(api.calls).toEqual([]);
  });

  it('a failing post throws and leaves NotifiedStatus behind; the redelivery posts exactly once', async () => {
    const build = await stored(completed());
    api.failNext('chat.postMessage', 'internal_error');

    const error = await announce(deps(), build, ctx).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ChatError);
    expect((error as ChatError).code).toBe('internal_error');
    expect((await dynamo.get(build.BuildID))?.NotifiedStatus).toBe('uploading');
    expect(api.replies(SANDBOX_CHANNEL, build.ThreadTs)).toHaveLength(1);

    // EventBridge redelivers: the handler reads the record again and announces.
    const again = (await dynamo.store.get(build.BuildID))!;
    await announce(deps(), again, ctx);
    expect(api.replies(SANDBOX_CHANNEL, build.ThreadTs)).toHaveLength(2);
    expect((await dynamo.get(build.BuildID))?.NotifiedStatus).toBe('completed');
    await announce(deps(), (await dynamo.store.get(build.BuildID))!, ctx);
    expect(api.replies(SANDBOX_CHANNEL, build.ThreadTs)).toHaveLength(2);
  });

  it("two handlers announcing the same status at once post one reply (the watchdog's end and EC2's shutting-down)", async () => {
    const build = await stored(completed());
    const [a, b] = await Promise.all([announce(deps(), build, ctx), announce(deps(), build, ctx)]);
    expect(api.replies(SANDBOX_CHANNEL, build.ThreadTs)).toHaveLength(2); // the card and one reply
    expect(threadPosts()).toHaveLength(1);
    expect((await dynamo.get(build.BuildID))?.NotifiedStatus).toBe('completed');
    expect([a.Status, b.Status]).toEqual(['completed', 'completed']);
  });

  it('a fresh lease of another handler holds the message back; once stale (a crash) the message is posted', async () => {
    const build = await stored(completed());
    // Another handler took the lease 10 s ago and has not posted (yet, or ever: it crashed).
    await dynamo.store.update(
      build.BuildID,
      { status: ['completed'] },
      {
        NotifyingStatus: 'completed',
        NotifyingSince: new Date(ctx.now.getTime() - 10_000).toISOString(),
      },
    );
    await announce(deps(), build, ctx);
    expect(threadPosts()).toHaveLength(0);
    expect((await dynamo.get(build.BuildID))?.NotifiedStatus).toBe('uploading');

    const later = { ...ctx, now: new Date(ctx.now.getTime() + 61_000) };
    await announce(deps(), build, later);
    expect(threadPosts()).toHaveLength(1);
    expect((await dynamo.get(build.BuildID))?.NotifiedStatus).toBe('completed');
  });

  it('a stale copy (older status) after a newer status was told posts nothing: the thread keeps its order', async () => {
    const stale = await stored(aLaunchedBuild('building', { NotifiedStatus: 'launching' }));
    await dynamo.store.update(stale.BuildID, { status: ['building'] }, { Status: 'completed', NotifiedStatus: 'completed' });
    const after = await announce(deps(), stale, ctx);
    expect(after).toMatchObject({ Status: 'completed', NotifiedStatus: 'completed' });
    expect(threadPosts()).toHaveLength(0);
  });

  it('a failing card update is logged with the BuildID and does not stop the record', async () => {
    const build = await stored(completed());
    api.failNext('chat.update', 'message_not_found');
    const after = await announce(deps(), build, ctx);
    expect(after.NotifiedStatus).toBe('completed');
    expect((await dynamo.get(build.BuildID))?.NotifiedStatus).toBe('completed');
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 'WARN', message: 'card update failed', buildId: build.BuildID }));
  });

  it('when the status moved on meanwhile, returns what is stored and leaves NotifiedStatus to the next announcement', async () => {
    const build = await stored(aLaunchedBuild('building', { NotifiedStatus: 'launching' }));
    await dynamo.store.update(build.BuildID, { status: ['building'] }, { Status: 'uploading', Phase: 'uploading' });
    const after = await announce(deps(), build, ctx);
    expect(after.Status).toBe('uploading');
    expect((await dynamo.get(build.BuildID))?.NotifiedStatus).toBe('launching');
    expect(threadPosts()).toHaveLength(1);
  });
});

describe('refreshCard', () => {
  it('updates only the card', async () => {
    const build = await stored(aLaunchedBuild('building'));
    await refreshCard(deps(), build, ctx);
    expect(api.calls.map((c) => c.method)).toEqual(['chat.update']);
    expect(api.messages(SANDBOX_CHANNEL)[0]?.text).toContain('building');
  });

  it('logs a failure instead of throwing', async () => {
    await refreshCard(deps(), aBuild({ ThreadTs: '1764090052.999999' }), ctx);
    expect(log.lines).toContainEqual(expect.objectContaining({ message: 'card update failed', buildId: aBuild().BuildID }));
  });
});
