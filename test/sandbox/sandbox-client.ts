import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { localDynamoClient } from '../../stand-ins/dynalite';
import type { SlackMessage } from '../../stand-ins/slack-api';
import { SANDBOX_BOT_TOKEN, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { SANDBOX_SIGNING_SECRET, blockActionBody, signSlackRequest, slashCommandBody } from '../../stand-ins/slack-request';

// The sandbox as any client sees it: HTTP only. Slack requests are signed with the sandbox secret
// and posted to /slack/events, Slack's state is read through /api/<method>, the table through
// the DynamoDB endpoint with a real DynamoDBClient.

export interface Answer<T = Record<string, unknown>> {
  status: number;
  json: T;
}

type Button = { type: string; action_id: string; value?: string; text?: { text: string } };

export class SandboxClient {
  private readonly dynamo;

  constructor(
    readonly url: string,
    dynamodbEndpoint: string,
  ) {
    this.dynamo = localDynamoClient(dynamodbEndpoint);
  }

  close(): void {
    this.dynamo.destroy();
  }

  async post<T = Record<string, unknown>>(path: string, body: unknown): Promise<Answer<T>> {
    const response = await fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as T };
  }

  async get<T = Record<string, unknown>>(path: string): Promise<Answer<T>> {
    const response = await fetch(`${this.url}${path}`);
    return { status: response.status, json: (await response.json()) as T };
  }

  async slack<T = Record<string, unknown>>(method: string, args: Record<string, unknown>, token = SANDBOX_BOT_TOKEN): Promise<T> {
    const response = await fetch(`${this.url}/api/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${token}` },
      body: JSON.stringify(args),
    });
    return (await response.json()) as T;
  }

  /** A signed Slack request to the bot's Function URL; `signature` forges one. */
  async signed(body: string, options: { signature?: string } = {}): Promise<{ status: number; text: string }> {
    const headers = signSlackRequest(body, SANDBOX_SIGNING_SECRET, Math.floor(Date.now() / 1000));
    if (options.signature) headers['x-slack-signature'] = options.signature;
    const response = await fetch(`${this.url}/slack/events`, { method: 'POST', headers, body });
    return { status: response.status, text: await response.text() };
  }

  /** `/metal-build <text>` typed by `user`; answers the ack body's text. */
  async command(user: string, text: string): Promise<{ status: number; text: string }> {
    const answer = await this.signed(slashCommandBody({ text, user }));
    const parsed = answer.text ? (JSON.parse(answer.text) as { text?: string }) : {};
    return { status: answer.status, text: parsed.text ?? '' };
  }

  async click(user: string, message: SlackMessage, actionId: string): Promise<number> {
    const button = buttons(message).find((b) => b.action_id === actionId);
    if (!button?.value) throw new Error(`no ${actionId} button on message ${message.ts}`);
    const threadTs = message.thread_ts && message.thread_ts !== message.ts ? message.thread_ts : undefined;
    const answer = await this.signed(
      blockActionBody({
        actionId,
        value: button.value,
        user,
        messageTs: message.ts,
        ...(threadTs ? { threadTs } : {}),
        buttonText: button.text?.text ?? actionId,
        message: { text: message.text, ...(message.blocks ? { blocks: message.blocks } : {}) },
      }),
    );
    return answer.status;
  }

  /** Newest first, as Slack answers. */
  async history(): Promise<SlackMessage[]> {
    const out = await this.slack<{ messages: SlackMessage[] }>('conversations.history', { channel: SANDBOX_CHANNEL });
    return out.messages;
  }

  /** Parent first. */
  async replies(ts: string): Promise<SlackMessage[]> {
    const out = await this.slack<{ ok: boolean; messages: SlackMessage[] }>('conversations.replies', { channel: SANDBOX_CHANNEL, ts });
    return out.messages;
  }

  async advance(minutes: number): Promise<string> {
    const answer = await this.post<{ now: string }>('/sandbox/clock', { advanceMinutes: minutes });
    if (answer.status !== 200) throw new Error(`/sandbox/clock answered ${answer.status}`);
    return answer.json.now;
  }

  async outcome(outcome: string): Promise<Answer> {
    return this.post('/sandbox/outcome', { outcome });
  }

  async record(buildId: string): Promise<Record<string, unknown> | undefined> {
    const out = await this.dynamo.send(new GetItemCommand({ TableName: 'labapp-metal-builds', Key: { BuildID: { S: buildId } }, ConsistentRead: true }));
    return out.Item && unmarshall(out.Item);
  }

  /** The card: the top-level bot message with a button for this build (or the newest card). */
  async card(buildId?: string): Promise<SlackMessage> {
    const card = (await this.history()).find((m) => m.subtype === undefined && buttons(m).some((b) => buildId === undefined || b.value === buildId));
    if (!card) throw new Error(`no card${buildId ? ` for ${buildId}` : ''} in the channel`);
    return card;
  }

  /** Request a build as `requester` and approve it as `approver`; answers the BuildID and the card's ts. */
  async requestAndApprove(requester: string, approver: string, text = 'main abc1234'): Promise<{ buildId: string; ts: string }> {
    const ack = await this.command(requester, text);
    if (ack.status !== 200) throw new Error(`the command answered ${ack.status}`);
    const card = await this.card();
    const buildId = buttons(card).find((b) => b.action_id === 'approve_build')?.value;
    if (!buildId) throw new Error('the card has no approve button');
    const status = await this.click(approver, card, 'approve_build');
    if (status !== 200) throw new Error(`the approval answered ${status}`);
    return { buildId, ts: card.ts };
  }
}

export function buttons(message: SlackMessage): Button[] {
  return ((message.blocks ?? []) as Array<{ type: string; elements?: Button[] }>)
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? [])
    .filter((e) => e.type === 'button');
}

/** Every text of a message, blocks included, for assertions on what a reader sees. */
export function textOf(message: SlackMessage): string {
  return [message.text, JSON.stringify(message.blocks ?? [])].join('\n');
}
