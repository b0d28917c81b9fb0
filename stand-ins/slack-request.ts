import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { SlackView } from './slack-api';
import {
  SANDBOX_APP_ID,
  SANDBOX_CHANNELS,
  SANDBOX_CHANNEL,
  SANDBOX_TEAM_DOMAIN,
  SANDBOX_TEAM_ID,
  SANDBOX_USERS,
  REQUESTER,
  refusalOf,
  viewRefusalOf,
} from './slack-api';

// Requests exactly as Slack sends them and as a Lambda Function URL hands them to Bolt's
// AwsLambdaReceiver (payload format 2.0): form-encoded body, signed `v0:<ts>:<body>` with
// HMAC-SHA256. One factory for the tests and the sandbox's /slack/events adapter.

export const SANDBOX_SIGNING_SECRET = 'sandbox-signing-secret';
/** Slack's deprecated verification token; Bolt ignores it, Slack still sends it. */
export const SANDBOX_VERIFICATION_TOKEN = 'sandbox-test-verification-token';
export const SLASH_COMMAND = '/metal-build';
const SLACK_USER_AGENT = 'Slackbot 1.0 (+https://api.slack.com/robots)';
const FORM = 'application/x-www-form-urlencoded';

export interface SignOptions {
  secret?: string;
  /** Unix seconds; default: now (Bolt refuses requests older than 5 minutes). */
  timestamp?: number;
  /** X-Slack-Retry-Num / -Reason, as on Slack's redeliveries. */
  retryNum?: number;
  retryReason?: string;
  /** Sent instead of the computed signature (forgeries). */
  signature?: string;
  /** Function URLs hand form bodies over base64-encoded; false sends the body as text. */
  base64?: boolean;
}

export function signSlackRequest(body: string, secret: string, timestamp: number): Record<string, string> {
  const hex = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
  return {
    'content-type': FORM,
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': `v0=${hex}`,
  };
}

export interface HttpRequestParts {
  body: string;
  /** Any case; delivered lower-cased, as Function URLs do. */
  headers: Record<string, string>;
  method?: string;
  path?: string;
  rawQueryString?: string;
  sourceIp?: string;
  base64?: boolean;
}

/** An HTTP request as a Function URL event (payload format 2.0). */
export function functionUrlEvent(request: HttpRequestParts): LambdaFunctionURLEvent {
  const now = Date.now();
  const path = request.path ?? '/slack/events';
  const sourceIp = request.sourceIp ?? '127.0.0.1';
  const domainPrefix = 'metalbuildsandbox0000000000000000';
  const domainName = `${domainPrefix}.lambda-url.us-east-1.on.aws`;
  const headers: Record<string, string> = {
    host: domainName,
    'user-agent': SLACK_USER_AGENT,
    accept: '*/*',
    'accept-encoding': 'gzip,deflate',
    'content-length': String(Buffer.byteLength(request.body)),
    'x-amzn-trace-id': `Root=1-${Math.floor(now / 1000).toString(16)}-${randomBytes(12).toString('hex')}`,
    'x-forwarded-for': sourceIp,
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
  };
  for (const [key, value] of Object.entries(request.headers)) headers[key.toLowerCase()] = value;
  const base64 = request.base64 ?? true;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: request.rawQueryString ?? '',
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: domainPrefix,
      domainName,
      domainPrefix,
      http: { method: request.method ?? 'POST', path, protocol: 'HTTP/1.1', sourceIp, userAgent: headers['user-agent'] ?? SLACK_USER_AGENT },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    body: base64 ? Buffer.from(request.body, 'utf8').toString('base64') : request.body,
    isBase64Encoded: base64,
  };
}

/** A form body signed as Slack signs it, wrapped as a Function URL event. */
export function signedEvent(body: string, options: SignOptions = {}): LambdaFunctionURLEvent {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers = signSlackRequest(body, options.secret ?? SANDBOX_SIGNING_SECRET, timestamp);
  if (options.signature !== undefined) headers['x-slack-signature'] = options.signature;
  if (options.retryNum !== undefined) headers['x-slack-retry-num'] = String(options.retryNum);
  if (options.retryReason !== undefined) headers['x-slack-retry-reason'] = options.retryReason;
  return functionUrlEvent({ body, headers, ...(options.base64 !== undefined ? { base64: options.base64 } : {}) });
}

let sequence = 0;
const digits = () => `${Date.now()}${String(++sequence).padStart(4, '0')}`.slice(-13);

/** Like Slack's: `<digits>.<digits>.<hex>`, unique per interaction. */
export function newTriggerId(): string {
  return `${digits()}.${digits().slice(-9)}.${randomBytes(16).toString('hex')}`;
}

const responseUrl = (kind: 'commands' | 'actions') => `https://hooks.slack.com/${kind}/${SANDBOX_TEAM_ID}/${digits()}/${randomBytes(12).toString('hex')}`;

const userName = (id: string) => SANDBOX_USERS[id]?.name ?? id.toLowerCase();
const channelName = (id: string) => SANDBOX_CHANNELS[id]?.name ?? 'unknown';

/** Slack escapes these three in command text before sending it. */
const slackEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export interface SlashCommandFields {
  /** What the user typed after the command; escaped here as Slack escapes it. */
  text: string;
  user?: string;
  channel?: string;
  triggerId?: string;
  responseUrl?: string;
}

export function slashCommandBody(fields: SlashCommandFields): string {
  const user = fields.user ?? REQUESTER;
  const channel = fields.channel ?? SANDBOX_CHANNEL;
  return new URLSearchParams({
    token: SANDBOX_VERIFICATION_TOKEN,
    team_id: SANDBOX_TEAM_ID,
    team_domain: SANDBOX_TEAM_DOMAIN,
    channel_id: channel,
    channel_name: channelName(channel),
    user_id: user,
    user_name: userName(user),
    command: SLASH_COMMAND,
    text: slackEscape(fields.text),
    api_app_id: SANDBOX_APP_ID,
    is_enterprise_install: 'false',
    response_url: fields.responseUrl ?? responseUrl('commands'),
    trigger_id: fields.triggerId ?? newTriggerId(),
  }).toString();
}

export function slashCommandEvent(fields: SlashCommandFields, options: SignOptions = {}): LambdaFunctionURLEvent {
  return signedEvent(slashCommandBody(fields), options);
}

export interface BlockActionFields {
  actionId: string;
  value: string;
  user?: string;
  channel?: string;
  /** The clicked message's ts (the card's, or a thread reply's). */
  messageTs?: string;
  /** Set when the clicked message is a thread reply (the warning). */
  threadTs?: string;
  triggerId?: string;
  blockId?: string;
  /** Button label and style as shown; defaults derive from the action. */
  buttonText?: string;
  style?: 'primary' | 'danger';
  /** The clicked message as Slack shows it (text, blocks); defaults to a bare bot message. */
  message?: { text?: string; blocks?: unknown[] };
}

const nowTs = () => {
  const ms = Date.now();
  return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1000 + (++sequence % 1000)).padStart(6, '0')}`;
};

export function blockActionPayload(fields: BlockActionFields): Record<string, unknown> {
  const user = fields.user ?? REQUESTER;
  const channel = fields.channel ?? SANDBOX_CHANNEL;
  const messageTs = fields.messageTs ?? nowTs();
  const blockId = fields.blockId ?? 'build_actions';
  return {
    type: 'block_actions',
    user: { id: user, username: userName(user), name: userName(user), team_id: SANDBOX_TEAM_ID },
    api_app_id: SANDBOX_APP_ID,
    token: SANDBOX_VERIFICATION_TOKEN,
    container: {
      type: 'message',
      message_ts: messageTs,
      channel_id: channel,
      is_ephemeral: false,
      ...(fields.threadTs ? { thread_ts: fields.threadTs } : {}),
    },
    trigger_id: fields.triggerId ?? newTriggerId(),
    team: { id: SANDBOX_TEAM_ID, domain: SANDBOX_TEAM_DOMAIN },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel, name: channelName(channel) },
    message: {
      type: 'message',
      user: 'U0BOT',
      bot_id: 'B0BOT',
      app_id: SANDBOX_APP_ID,
      team: SANDBOX_TEAM_ID,
      ts: messageTs,
      text: fields.message?.text ?? '',
      ...(fields.message?.blocks ? { blocks: fields.message.blocks } : {}),
      ...(fields.threadTs ? { thread_ts: fields.threadTs } : {}),
    },
    state: { values: {} },
    response_url: responseUrl('actions'),
    actions: [
      {
        action_id: fields.actionId,
        block_id: blockId,
        text: { type: 'plain_text', text: fields.buttonText ?? fields.actionId, emoji: true },
        value: fields.value,
        ...(fields.style ? { style: fields.style } : {}),
        type: 'button',
        action_ts: nowTs(),
      },
    ],
  };
}

export function blockActionBody(fields: BlockActionFields): string {
  return new URLSearchParams({ payload: JSON.stringify(blockActionPayload(fields)) }).toString();
}

export function blockActionEvent(fields: BlockActionFields, options: SignOptions = {}): LambdaFunctionURLEvent {
  return signedEvent(blockActionBody(fields), options);
}

/**
 * app_home_opened as Slack's Events API sends it: a JSON `event_callback`, signed like the rest.
 * `tab` is `home` or `messages`.
 */
export function appHomeOpenedBody(user: string, tab: 'home' | 'messages' = 'home'): string {
  return JSON.stringify({
    token: SANDBOX_VERIFICATION_TOKEN,
    team_id: SANDBOX_TEAM_ID,
    api_app_id: SANDBOX_APP_ID,
    event: { type: 'app_home_opened', user, channel: `D${user.slice(1)}`, tab, event_ts: nowTs() },
    type: 'event_callback',
    event_id: `Ev${digits()}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: SANDBOX_TEAM_ID, user_id: 'U0BOT', is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
    event_context: `4-${randomBytes(8).toString('hex')}`,
  });
}

export function appHomeOpenedEvent(user: string, tab: 'home' | 'messages' = 'home', options: SignOptions = {}): LambdaFunctionURLEvent {
  const body = appHomeOpenedBody(user, tab);
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers = { ...signSlackRequest(body, options.secret ?? SANDBOX_SIGNING_SECRET, timestamp), 'content-type': 'application/json' };
  return functionUrlEvent({ body, headers });
}

/**
 * A button in the Home tab as Slack sends its block_actions: the container is the view, and no
 * channel or message comes with it; the trigger_id opens a modal.
 */
export interface HomeActionFields {
  actionId: string;
  value: string;
  user?: string;
  triggerId?: string;
  /** The button's label as shown; the action ID by default. */
  buttonText?: string;
}

export function homeActionEvent(fields: HomeActionFields, options: SignOptions = {}): LambdaFunctionURLEvent {
  return signedEvent(homeActionBody(fields), options);
}

export function homeActionBody(fields: HomeActionFields): string {
  const user = fields.user ?? REQUESTER;
  const payload = {
    type: 'block_actions',
    user: { id: user, username: userName(user), name: userName(user), team_id: SANDBOX_TEAM_ID },
    api_app_id: SANDBOX_APP_ID,
    token: SANDBOX_VERIFICATION_TOKEN,
    container: { type: 'view', view_id: 'V0HOME' },
    trigger_id: fields.triggerId ?? newTriggerId(),
    team: { id: SANDBOX_TEAM_ID, domain: SANDBOX_TEAM_DOMAIN },
    enterprise: null,
    is_enterprise_install: false,
    view: { id: 'V0HOME', type: 'home', team_id: SANDBOX_TEAM_ID, app_id: SANDBOX_APP_ID, bot_id: 'B0BOT', blocks: [], state: { values: {} } },
    actions: [
      {
        action_id: fields.actionId,
        block_id: 'home',
        text: { type: 'plain_text', text: fields.buttonText ?? fields.actionId, emoji: true },
        value: fields.value,
        type: 'button',
        action_ts: nowTs(),
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface ViewSubmissionFields {
  /** The modal as views.open took it (SlackApi.modals()). */
  view: SlackView;
  /** Each input block's answer by block_id: typed text, or a select's option value; absent, left empty. */
  values: Record<string, string | undefined>;
  user?: string;
  /**
   * A select's value that is none of its options: Slack's own client cannot send it, a forger
   * can (the payload is still signed here). Without it such a value throws.
   */
  forge?: boolean;
}

type ViewBlock = {
  type?: string;
  block_id?: string;
  optional?: boolean;
  element?: { type?: string; action_id?: string; options?: Array<{ text: unknown; value: string }> };
};

/**
 * A view_submission payload as Slack sends it when the person presses Submit: the view with its
 * `state.values` (block_id → action_id → the element's state). Slack refuses to submit while a
 * required input is empty, so that throws here too.
 */
export function viewSubmissionPayload(fields: ViewSubmissionFields): Record<string, unknown> {
  const user = fields.user ?? REQUESTER;
  const values: Record<string, Record<string, unknown>> = {};
  for (const block of fields.view.blocks as ViewBlock[]) {
    if (block.type !== 'input' || !block.block_id || !block.element?.action_id) continue;
    const given = fields.values[block.block_id];
    const empty = given === undefined || given === '';
    if (empty && block.optional !== true) throw new Error(`Slack does not submit a dialog whose required field ${block.block_id} is empty`);
    const element = block.element;
    let state: Record<string, unknown>;
    if (element.type === 'static_select') {
      const option = empty ? undefined : element.options?.find((o) => o.value === given);
      if (!empty && !option && fields.forge !== true) throw new Error(`${JSON.stringify(given)} is none of ${block.block_id}'s options`);
      state = { type: 'static_select', selected_option: empty ? null : (option ?? { text: { type: 'plain_text', text: given, emoji: true }, value: given }) };
    } else state = { type: element.type ?? 'plain_text_input', value: empty ? null : given };
    values[block.block_id] = { [element.action_id as string]: state };
  }
  const { id, triggerId: _t, user: _u, ...view } = fields.view;
  return {
    type: 'view_submission',
    team: { id: SANDBOX_TEAM_ID, domain: SANDBOX_TEAM_DOMAIN },
    user: { id: user, username: userName(user), name: userName(user), team_id: SANDBOX_TEAM_ID },
    api_app_id: SANDBOX_APP_ID,
    token: SANDBOX_VERIFICATION_TOKEN,
    trigger_id: newTriggerId(),
    view: {
      id,
      team_id: SANDBOX_TEAM_ID,
      ...view,
      private_metadata: view.private_metadata ?? '',
      callback_id: view.callback_id ?? '',
      state: { values },
      hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
      clear_on_close: false,
      notify_on_close: false,
      previous_view_id: null,
      root_view_id: id,
      app_id: SANDBOX_APP_ID,
      external_id: '',
      app_installed_team_id: SANDBOX_TEAM_ID,
      bot_id: 'B0BOT',
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

export function viewSubmissionEvent(fields: ViewSubmissionFields, options: SignOptions = {}): LambdaFunctionURLEvent {
  return signedEvent(new URLSearchParams({ payload: JSON.stringify(viewSubmissionPayload(fields)) }).toString(), options);
}

/**
 * Enough of a Lambda context for Bolt's receiver and our handlers; its remaining time counts down
 * from `timeoutMs` (the function's timeout) in real time, as Lambda's does.
 */
export function lambdaContext(functionName = 'metal-build-bot', timeoutMs = 10_000): Context {
  const endsAt = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `sandbox/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, endsAt - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface ParsedLambdaResult<T> {
  statusCode: number;
  headers: Record<string, string>;
  /** Parsed JSON when the body is JSON, the text otherwise. */
  body: T | string;
  /** The body when it is JSON (Bolt's ack with an object); undefined otherwise. */
  json: T | undefined;
  text: string;
}

/** A slash command's or action's acknowledgement as Slack would read it. */
export interface SlackAck {
  response_type?: 'ephemeral' | 'in_channel';
  text?: string;
  blocks?: unknown[];
  [key: string]: unknown;
}

export function parseLambdaResult<T = SlackAck>(result: LambdaFunctionURLResult | undefined | void): ParsedLambdaResult<T> {
  // A bare string or object result means 200 with that body, as Function URLs read it.
  if (result === undefined || result === null) return { statusCode: 200, headers: {}, body: '', json: undefined, text: '' };
  if (typeof result === 'string') return parseBody(200, {}, result);
  const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
  const raw = result.body ?? '';
  const text = result.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  return parseBody(result.statusCode ?? 200, headers, text);
}

function parseBody<T>(statusCode: number, headers: Record<string, string>, text: string): ParsedLambdaResult<T> {
  const looksJson = (headers['content-type'] ?? '').includes('json') || /^\s*[[{]/.test(text);
  if (looksJson) {
    let json: T;
    try {
      json = JSON.parse(text) as T;
    } catch {
      // Not JSON after all: the text is the body.
      return { statusCode, headers, body: text, json: undefined, text };
    }
    // A slash command's answer is a message Slack shows: it meets a message's limits, or Slack refuses it.
    const refusal = json && typeof json === 'object' ? refusalOf(json as { text?: unknown; blocks?: unknown }) : undefined;
    if (refusal !== undefined) throw new Error(`Slack would refuse this answer: ${refusal}`);
    // A dialog's answer may replace the dialog: that view meets a modal's limits.
    const update = json as { response_action?: unknown; view?: unknown };
    const viewRefusal = update?.response_action === 'update' ? viewRefusalOf(update.view, 'modal') : undefined;
    if (viewRefusal !== undefined) throw new Error(`Slack would refuse this view: ${viewRefusal}`);
    return { statusCode, headers, body: json, json, text };
  }
  return { statusCode, headers, body: text, json: undefined, text };
}
