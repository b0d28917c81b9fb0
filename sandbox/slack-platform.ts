import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../domain/ports';
import type { SlackApiHandler, SlackMessage, SlackView } from '../stand-ins/slack-api';
import {
  SLASH_COMMAND,
  appHomeOpenedBody,
  blockActionPayload,
  homeActionBody,
  signSlackRequest,
  slashCommandBody,
  viewSubmissionPayload,
} from '../stand-ins/slack-request';
import type { ModalDesk } from './modal-desk';

// Slack's side of the app's HTTP contract: what Slack sends to /slack/events when someone types a
// slash command or clicks a button. The page asks for it; this builds the form bodies Slack
// sends, signs them with the signing secret and wall-clock time, and posts them to the bot's URL
// like Slack does. What the bot answers in the HTTP body (a slash command's ephemeral reply) or
// through response_url becomes an ephemeral message for that person, as Slack shows it. The app's
// Home tab likewise: opening it sends app_home_opened (JSON, as the Events API does), its buttons
// send block_actions from the view, a modal's Submit sends view_submission and its answer
// (field errors, an update, or nothing: closed) is applied to the modal the person sees.

/** Slack gives an app 3 s to answer; over that it shows the user "operation_timeout". */
const SLACK_TIMEOUT_MS = 3_000;

export interface SlackPlatformOptions {
  /** The bot's request URL (…/slack/events). */
  botUrl: () => string;
  /** Where response_url points (…/sandbox/response/). */
  responseUrlBase: () => string;
  signingSecret: string;
  api: SlackApiHandler;
  /** Whose trigger_ids, and which modal each person has open. */
  modals: ModalDesk;
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

/** A button in the Home tab (no channel, no message: the view is the container). */
export interface HomeClick {
  user: string;
  actionId: string;
  value?: string;
  text: string;
}

/** A Submit: delivered (with the field errors when the bot answered some), or refused by Slack's client. */
export type Submitted = (Delivered & { errors?: Record<string, string> }) | { refused: string };

const submissionAnswer = z.object({
  response_action: z.enum(['errors', 'update', 'push', 'clear']).optional(),
  errors: z.record(z.string(), z.string()).optional(),
  view: z.record(z.string(), z.unknown()).optional(),
});

export class SlackPlatform {
  private readonly responseUrls = new Map<string, { user: string; channel: string; threadTs?: string }>();

  constructor(private readonly options: SlackPlatformOptions) {}

  async slashCommand(user: string, text: string, channel: string): Promise<Delivered> {
    const body = slashCommandBody({ text, user, channel, responseUrl: this.responseUrl(user, channel), triggerId: this.options.modals.trigger(user) });
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
      triggerId: this.options.modals.trigger(click.user),
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

  /** The person opens the app's Home (or Messages) tab: Slack sends app_home_opened. */
  async openHome(user: string, tab: 'home' | 'messages'): Promise<Delivered> {
    const answer = await this.send(appHomeOpenedBody(user, tab), 'application/json');
    return { status: answer.status, tookMs: answer.tookMs };
  }

  async homeClick(click: HomeClick): Promise<Delivered> {
    const body = homeActionBody({
      actionId: click.actionId,
      value: click.value ?? '',
      user: click.user,
      triggerId: this.options.modals.trigger(click.user),
      buttonText: click.text,
    });
    const answer = await this.send(body);
    return { status: answer.status, tookMs: answer.tookMs };
  }

  /** Submit on `user`'s open modal with each input block's answer by block_id. */
  async submitView(user: string, viewId: string, values: Record<string, string>): Promise<Submitted> {
    const desk = this.options.modals;
    const view = desk.open(user);
    if (!view || view.id !== viewId) return { refused: `${viewId} is not the dialog open for ${user}` };
    let payload: Record<string, unknown>;
    try {
      payload = viewSubmissionPayload({ view, values, user });
    } catch (error) {
      // What Slack's own client does not send (a required field left empty): it says so on the field.
      return { refused: error instanceof Error ? error.message : String(error) };
    }
    const answer = await this.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
    const delivered = { status: answer.status, tookMs: answer.tookMs };
    // Slack keeps the dialog open when the app failed to answer (it shows its own error there).
    if (answer.status !== 200) return delivered;
    let parsed: unknown = {};
    try {
      parsed = answer.body.trim() === '' ? {} : JSON.parse(answer.body);
    } catch {
      parsed = {};
    }
    const r = submissionAnswer.safeParse(parsed);
    const reply = r.success ? r.data : {};
    if (reply.response_action === 'errors') return { ...delivered, errors: reply.errors ?? {} };
    if ((reply.response_action === 'update' || reply.response_action === 'push') && reply.view)
      desk.update(viewId, { ...(reply.view as Omit<SlackView, 'id'>), id: viewId, ...(view.triggerId ? { triggerId: view.triggerId } : {}) } as SlackView);
    else desk.close(user);
    return delivered;
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

  private async send(body: string, contentType?: string): Promise<{ status: number; body: string; tookMs: number }> {
    const timestamp = Math.floor(Date.now() / 1000);
    const started = Date.now();
    const response = await fetch(this.options.botUrl(), {
      method: 'POST',
      headers: {
        'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
        ...signSlackRequest(body, this.options.signingSecret, timestamp),
        ...(contentType ? { 'content-type': contentType } : {}),
      },
      body,
    });
    const text = await response.text();
    const tookMs = Date.now() - started;
    if (tookMs > SLACK_TIMEOUT_MS) this.options.log.warn(`the bot answered after ${tookMs} ms; Slack would have given up at ${SLACK_TIMEOUT_MS} ms`);
    return { status: response.status, body: text, tookMs };
  }
}
