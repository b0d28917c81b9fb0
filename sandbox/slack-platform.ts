import { randomBytes } from 'node:crypto';
import type { Logger } from '../domain/ports';
import type { SlackApiHandler, SlackMessage } from '../stand-ins/slack-api';
import { SLASH_COMMAND, blockActionPayload, signSlackRequest, slashCommandBody } from '../stand-ins/slack-request';

// Slack's side of the app's HTTP contract: what Slack sends to /slack/events when someone types a
// slash command or clicks a button. The page asks for it; this builds the form bodies Slack
// sends, signs them with the signing secret and wall-clock time, and posts them to the bot's URL
// like Slack does. What the bot answers in the HTTP body (a slash command's ephemeral reply) or
// through response_url becomes an ephemeral message for that person, as Slack shows it.

/** Slack gives an app 3 s to answer; over that it shows the user "operation_timeout". */
const SLACK_TIMEOUT_MS = 3_000;

export interface SlackPlatformOptions {
  /** The bot's request URL (…/slack/events). */
  botUrl: () => string;
  /** Where response_url points (…/sandbox/response/). */
  responseUrlBase: () => string;
  signingSecret: string;
  api: SlackApiHandler;
  log: Logger;
}

export interface Click {
  user: string;
  channel: string;
  messageTs: string;
  ephemeral: boolean;
  actionId: string;
  blockId?: string;
  value?: string;
  text: string;
}

export type Delivered = { status: number; tookMs: number };

export class SlackPlatform {
  private readonly responseUrls = new Map<string, { user: string; channel: string; threadTs?: string }>();

  constructor(private readonly options: SlackPlatformOptions) {}

  async slashCommand(user: string, text: string, channel: string): Promise<Delivered> {
    const body = slashCommandBody({ text, user, channel, responseUrl: this.responseUrl(user, channel) });
    const answer = await this.send(body);
    if (answer.status !== 200) {
      this.options.api.recordEphemeral({ channel, user, text: `${SLASH_COMMAND} failed with the error "dispatch_failed"` });
    } else if (answer.body.trim() !== '') {
      this.showReply(answer.body, user, channel);
    }
    return { status: answer.status, tookMs: answer.tookMs };
  }

  async click(click: Click): Promise<Delivered> {
    const message = click.ephemeral ? undefined : this.findMessage(click.channel, click.messageTs);
    const threadTs = message?.thread_ts && message.thread_ts !== message.ts ? message.thread_ts : undefined;
    const payload = blockActionPayload({
      actionId: click.actionId,
      value: click.value ?? '',
      user: click.user,
      channel: click.channel,
      messageTs: click.messageTs,
      ...(threadTs ? { threadTs } : {}),
      ...(click.blockId ? { blockId: click.blockId } : {}),
      buttonText: click.text,
      ...(message ? { message: { text: message.text, ...(message.blocks ? { blocks: message.blocks } : {}) } } : {}),
    });
    payload.response_url = this.responseUrl(click.user, click.channel, threadTs);
    // Slack sends no `message` for a click on an ephemeral message, only the container.
    if (click.ephemeral) {
      delete payload.message;
      (payload.container as Record<string, unknown>).is_ephemeral = true;
    }
    const answer = await this.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
    return { status: answer.status, tookMs: answer.tookMs };
  }

  /** POST to a response_url: Slack shows the message to the person who acted. */
  respond(id: string, body: unknown): boolean {
    const target = this.responseUrls.get(id);
    if (!target) return false;
    this.showReply(JSON.stringify(body ?? {}), target.user, target.channel, target.threadTs);
    return true;
  }

  private responseUrl(user: string, channel: string, threadTs?: string): string {
    const id = randomBytes(12).toString('hex');
    this.responseUrls.set(id, { user, channel, ...(threadTs ? { threadTs } : {}) });
    return `${this.options.responseUrlBase()}${id}`;
  }

  private findMessage(channel: string, ts: string): SlackMessage | undefined {
    const api = this.options.api;
    const top = api.messages(channel).find((m) => m.ts === ts);
    if (top && top.subtype !== 'thread_broadcast') return top;
    const parentTs = top?.thread_ts ?? api.messages(channel).find((m) => api.replies(channel, m.ts).some((r) => r.ts === ts))?.ts;
    return parentTs ? api.replies(channel, parentTs).find((m) => m.ts === ts) : undefined;
  }

  private showReply(body: string, user: string, channel: string, threadTs?: string): void {
    let reply: { text?: unknown; blocks?: unknown; delete_original?: unknown };
    try {
      reply = JSON.parse(body) as typeof reply;
    } catch {
      reply = { text: body };
    }
    if (reply.delete_original === true) return;
    const blocks = Array.isArray(reply.blocks) ? reply.blocks : undefined;
    const text = typeof reply.text === 'string' ? reply.text : '';
    if (!text && !blocks) return;
    this.options.api.recordEphemeral({ channel, user, text, ...(blocks ? { blocks } : {}), ...(threadTs ? { thread_ts: threadTs } : {}) });
  }

  private async send(body: string): Promise<{ status: number; body: string; tookMs: number }> {
    const timestamp = Math.floor(Date.now() / 1000);
    const started = Date.now();
    const response = await fetch(this.options.botUrl(), {
      method: 'POST',
      headers: {
        'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
        ...signSlackRequest(body, this.options.signingSecret, timestamp),
      },
      body,
    });
    const text = await response.text();
    const tookMs = Date.now() - started;
    if (tookMs > SLACK_TIMEOUT_MS) this.options.log.warn(`the bot answered after ${tookMs} ms; Slack would have given up at ${SLACK_TIMEOUT_MS} ms`);
    return { status: response.status, body: text, tookMs };
  }
}
