import type { Block as SlackBlock, KnownBlock, WebClient } from '@slack/web-api';
import { ErrorCode } from '@slack/web-api';
import type { Block, Chat, ChatEphemeral, ChatPost, ChatUpdate, MessageTag, View, Views } from '../../domain/ports';
import { ChatError } from '../../domain/ports';

// The Chat port over Slack's Web API. Every failure becomes a ChatError whose `code` is Slack's
// own `error` string (not_in_channel, channel_not_found, message_not_found, invalid_auth, …),
// so callers decide on one field; transport failures get codes of their own (see slackErrorCode).

type Blocks = Array<KnownBlock | SlackBlock>;

/** Block Kit is built in views/; the port carries it untyped. */
const asBlocks = (blocks: Block[] | undefined): { blocks?: Blocks } => (blocks === undefined ? {} : { blocks: blocks as unknown as Blocks });

/** Slack's `error` for answers with ok:false; for failures before any answer, a code of ours. */
export function slackErrorCode(error: unknown): string {
  const e = error as { code?: string; data?: { error?: unknown }; statusCode?: number };
  switch (e?.code) {
    case ErrorCode.PlatformError:
      return typeof e.data?.error === 'string' ? e.data.error : 'unknown_error';
    case ErrorCode.RateLimitedError:
      return 'ratelimited';
    case ErrorCode.HTTPError:
      return `http_${e.statusCode ?? 'error'}`;
    case ErrorCode.RequestError:
      return 'request_failed';
    default:
      return 'unknown_error';
  }
}

function inThread(message: ChatPost): Record<string, never> | { thread_ts: string } | { thread_ts: string; reply_broadcast: true } {
  // A broadcast only means something inside a thread.
  if (message.threadTs === undefined) return {};
  return message.broadcast === true ? { thread_ts: message.threadTs, reply_broadcast: true } : { thread_ts: message.threadTs };
}

async function call<T>(method: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new ChatError(slackErrorCode(error), method, { cause: error });
  }
}

/** Slack message metadata of a build's status reply (the app's own event type). */
export const STATUS_EVENT_TYPE = 'metal_build_status';

const tagPayload = (tag: MessageTag) => ({ build_id: tag.buildId, status: tag.status });

export class SlackChat implements Chat {
  constructor(private readonly client: WebClient) {}

  async post(message: ChatPost): Promise<{ ts: string }> {
    const result = await call('chat.postMessage', () =>
      this.client.chat.postMessage({
        channel: message.channel,
        text: message.text,
        ...asBlocks(message.blocks),
        ...inThread(message),
        ...(message.tag ? { metadata: { event_type: STATUS_EVENT_TYPE, event_payload: tagPayload(message.tag) } } : {}),
        // Links to S3, GitHub or CloudWatch would otherwise grow previews that bury the status.
        unfurl_links: false,
        unfurl_media: false,
      }),
    );
    if (typeof result.ts !== 'string') throw new ChatError('missing_ts', 'chat.postMessage');
    return { ts: result.ts };
  }

  async hasTagged(channel: string, threadTs: string, tag: MessageTag): Promise<boolean> {
    const wanted = tagPayload(tag);
    let cursor: string | undefined;
    do {
      const page = await call('conversations.replies', () =>
        this.client.conversations.replies({ channel, ts: threadTs, include_all_metadata: true, limit: 200, ...(cursor ? { cursor } : {}) }),
      );
      for (const m of page.messages ?? []) {
        const meta = (m as { metadata?: { event_type?: string; event_payload?: Record<string, unknown> } }).metadata;
        if (meta?.event_type === STATUS_EVENT_TYPE && meta.event_payload?.build_id === wanted.build_id && meta.event_payload?.status === wanted.status)
          return true;
      }
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return false;
  }

  async update(message: ChatUpdate): Promise<void> {
    await call('chat.update', () =>
      this.client.chat.update({
        channel: message.channel,
        ts: message.ts,
        text: message.text,
        // An empty list removes the old blocks; leaving the field out would keep them.
        ...asBlocks(message.blocks ?? []),
      }),
    );
  }

  async permalink(channel: string, ts: string): Promise<string> {
    const result = await call('chat.getPermalink', () => this.client.chat.getPermalink({ channel, message_ts: ts }));
    if (typeof result.permalink !== 'string') throw new ChatError('missing_permalink', 'chat.getPermalink');
    return result.permalink;
  }

  async userGroupMembers(groupId: string): Promise<string[]> {
    const result = await call('usergroups.users.list', () => this.client.usergroups.users.list({ usergroup: groupId }));
    // An answer without the list must not read as "a group with nobody in it".
    if (!Array.isArray(result.users)) throw new ChatError('missing_users', 'usergroups.users.list');
    return result.users.filter((u): u is string => typeof u === 'string');
  }

  async postEphemeral(message: ChatEphemeral): Promise<void> {
    await call('chat.postEphemeral', () =>
      this.client.chat.postEphemeral({
        channel: message.channel,
        user: message.user,
        text: message.text,
        ...asBlocks(message.blocks),
        thread_ts: message.threadTs,
      }),
    );
  }
}

/** The Views port over Slack's Web API (views.open, views.publish); failures are ChatErrors. */
export class SlackViews implements Views {
  constructor(private readonly client: WebClient) {}

  async open(triggerId: string, view: View): Promise<void> {
    await call('views.open', () =>
      this.client.views.open({ trigger_id: triggerId, view: view as unknown as Parameters<WebClient['views']['open']>[0]['view'] }),
    );
  }

  async publish(user: string, view: View): Promise<void> {
    await call('views.publish', () =>
      this.client.views.publish({ user_id: user, view: view as unknown as Parameters<WebClient['views']['publish']>[0]['view'] }),
    );
  }
}
