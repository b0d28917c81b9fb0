import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

// The Slack Web API stand-in (docs/design.md "Sandbox contract"): one implementation for the tests
// and the sandbox. It answers as Slack does for the methods metal-build uses, keeps the
// channel's messages, threads and ephemerals, and records every call for assertions.
//
// Lists returned by the helpers are oldest first (`messages`, `ephemerals`) or parent first
// (`replies`); `conversations.history` over HTTP answers newest first, as Slack does.

export const SANDBOX_BOT_TOKEN = 'xoxb-test-sandbox-token';
export const SANDBOX_TEAM_ID = 'T0SANDBOX';
export const SANDBOX_TEAM_DOMAIN = 'sandbox';
export const SANDBOX_APP_ID = 'A0METALBUILD';
export const SANDBOX_CHANNEL = 'C0SANDBOX';
export const NOT_MEMBER_CHANNEL = 'C0NOTMEMBER';
export const REQUESTER = 'U0REQUESTER';
export const APPROVER = 'U0APPROVER';
export const BOT_USER = 'U0BOT';
/** Neither requester nor approver: someone who only looks. */
export const ONLOOKER = 'U0ONLOOKER';
/** A second approver, so a build over SECOND_APPROVAL_ABOVE_USD can get its two approvals. */
export const SECOND_APPROVER = 'U0APPROVER2';
export const BOT_ID = 'B0BOT';

export interface SlackUser {
  id: string;
  name: string;
  real_name: string;
  is_bot: boolean;
}

export const SANDBOX_USERS: Readonly<Record<string, SlackUser>> = {
  [REQUESTER]: { id: REQUESTER, name: 'riley', real_name: 'Riley', is_bot: false },
  [APPROVER]: { id: APPROVER, name: 'avery', real_name: 'Avery', is_bot: false },
  [ONLOOKER]: { id: ONLOOKER, name: 'sam', real_name: 'Sam', is_bot: false },
  [SECOND_APPROVER]: { id: SECOND_APPROVER, name: 'jordan', real_name: 'Jordan', is_bot: false },
  [BOT_USER]: { id: BOT_USER, name: 'metal-build', real_name: 'metal-build', is_bot: true },
};

export const SANDBOX_CHANNELS: Readonly<Record<string, { name: string; botIsMember: boolean }>> = {
  [SANDBOX_CHANNEL]: { name: 'builds', botIsMember: true },
  [NOT_MEMBER_CHANNEL]: { name: 'random', botIsMember: false },
};

export interface SlackMessage {
  type: 'message';
  ts: string;
  user: string;
  bot_id: string;
  app_id: string;
  team: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  thread_ts?: string;
  subtype?: 'thread_broadcast';
  /** Slack message metadata, returned by conversations.replies/history only with include_all_metadata. */
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  edited?: { user: string; ts: string };
  /** On a thread's parent, as Slack adds them. */
  reply_count?: number;
  reply_users?: string[];
  latest_reply?: string;
}

export interface SlackEphemeral {
  channel: string;
  user: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
}

/** A view (a modal or a Home tab) as views.open / views.publish took it, with the `id` Slack gives it. */
export interface SlackView {
  id: string;
  type: 'modal' | 'home';
  /** The trigger_id it was opened with (modals only). */
  triggerId?: string;
  user?: string;
  callback_id?: string;
  private_metadata?: string;
  title?: { type: string; text: string };
  blocks: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

export interface SlackCall {
  method: string;
  /** The arguments as parsed (blocks decoded), without the token. */
  args: Record<string, unknown>;
  at: number;
  /** Set when the answer was ok:false. */
  error?: string;
  /** Set when the answer was ok:true with warnings (`message_truncated`). */
  warnings?: string[];
}

export type SlackChange =
  | { type: 'message'; channel: string; message: SlackMessage }
  | { type: 'message_changed'; channel: string; message: SlackMessage }
  | { type: 'ephemeral'; ephemeral: SlackEphemeral }
  | { type: 'view_opened'; view: SlackView }
  | { type: 'home_published'; user: string; view: SlackView }
  | { type: 'reset' };

export interface SlackApiState {
  token: string;
  calls: SlackCall[];
  callsTo(method: string): SlackCall[];
  /** The channel as its history shows it: top-level messages and broadcast replies, oldest first. */
  messages(channel: string): SlackMessage[];
  /** A thread, parent first, then replies oldest first. */
  replies(channel: string, ts: string): SlackMessage[];
  /** Ephemeral messages, oldest first; only `user`'s when given. */
  ephemerals(user?: string): SlackEphemeral[];
  /** Keep an ephemeral that did not come through chat.postEphemeral (a slash command's ack body). */
  recordEphemeral(ephemeral: Omit<SlackEphemeral, 'ts'>): SlackEphemeral;
  /** The modals opened with views.open, oldest first (each as Slack holds it, with its `id`). */
  modals(): SlackView[];
  /** The Home tab last published for `user` with views.publish; undefined when none. */
  home(user: string): SlackView | undefined;
  /** The next call to `method` answers `{ ok: false, error }`. */
  failNext(method: string, error: string): void;
  /** A user group (`S…`) and its members, for usergroups.users.list; until `reset`, no group exists. */
  setUserGroup(id: string, users: readonly string[]): void;
  /** The next call to `method` takes effect, but its answer is lost: the caller gets HTTP 503. */
  loseAnswerOfNext(method: string): void;
  /**
   * While set, every call is refused as Slack refuses a caller over its rate limit: HTTP 429 with
   * `Retry-After: <seconds>` and `{ ok: false, error: 'ratelimited' }`, taking no effect (and not
   * in `calls`). `undefined` ends it; so does `reset`.
   */
  throttle(retryAfterSeconds: number | undefined): void;
  /** While true, every connection is dropped before any answer, as when Slack is unreachable; `reset` ends it. */
  unreachable(down: boolean): void;
  /** How many calls `throttle` refused or `unreachable` dropped since the last `reset`. */
  refused(): number;
  onChange(listener: (change: SlackChange) => void): () => void;
  reset(): void;
}

export interface SlackApiHandler extends SlackApiState {
  /** Answers `POST|GET /api/<method>`; false when the path is not under /api/. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

export interface SlackApi extends SlackApiState {
  /** Base URL ending in '/api/': WebClient's slackApiUrl. */
  url: string;
  origin: string;
  close(): Promise<void>;
}

type Args = Record<string, unknown>;
type Answer = { ok: true } & Record<string, unknown>;
class SlackFailure {
  constructor(
    readonly error: string,
    readonly detail?: string,
  ) {}
}
const fail = (error: string, detail?: string): never => {
  throw new SlackFailure(error, detail);
};

// ---- arguments ------------------------------------------------------------------------------

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);

const truthy = (v: unknown): boolean => v === true || v === 'true' || v === '1' || v === 1;

/** `blocks`/`attachments` arrive as JSON strings in form bodies and as arrays in JSON bodies. */
function jsonList(v: unknown, error: string): unknown[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  let value = v;
  if (typeof v === 'string') {
    try {
      value = JSON.parse(v);
    } catch {
      return fail(error, 'not valid JSON');
    }
  }
  if (!Array.isArray(value)) return fail(error, 'expected an array');
  return value;
}

// ---- Block Kit limits (the ones a message of ours could break) -------------------------------

const textOf = (o: unknown): string | undefined => (o && typeof o === 'object' ? str((o as Args).text) : undefined);

/** `metadata` as chat.postMessage takes it: an object or a JSON string with event_type and event_payload. */
function messageMetadata(raw: unknown): { metadata?: SlackMessage['metadata'] } {
  if (raw === undefined || raw === '') return {};
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      fail('invalid_metadata_format');
    }
  }
  const m = value as { event_type?: unknown; event_payload?: unknown };
  if (typeof m?.event_type !== 'string' || typeof m.event_payload !== 'object' || m.event_payload === null) fail('invalid_metadata_schema');
  return { metadata: { event_type: m.event_type as string, event_payload: m.event_payload as Record<string, unknown> } };
}

function checkLength(what: string, value: string | undefined, max: number): void {
  if (value !== undefined && value.length > max) fail('invalid_blocks', `${what} must be at most ${max} characters`);
}

function checkElement(el: Args, where: string): void {
  if (el.type === 'static_select') {
    checkLength(`${where} action_id`, str(el.action_id), 255);
    const options = (el.options as Args[] | undefined) ?? [];
    if (options.length < 1 || options.length > 100) fail('invalid_blocks', `${where} needs 1 to 100 options`);
    options.forEach((o, j) => {
      if ((o.text as Args | undefined)?.type !== 'plain_text') fail('invalid_blocks', `${where}.options[${j}] text must be plain_text`);
      checkLength(`${where}.options[${j}] text`, textOf(o.text), 75);
      checkLength(`${where}.options[${j}] value`, str(o.value), 150);
    });
    const initial = el.initial_option as Args | undefined;
    if (initial && !options.some((o) => o.value === initial.value && textOf(o.text) === textOf(initial.text)))
      fail('invalid_blocks', `${where} initial_option must be one of the options`);
    return;
  }
  if (el.type === 'plain_text_input') {
    checkLength(`${where} action_id`, str(el.action_id), 255);
    checkLength(`${where} initial_value`, str(el.initial_value), 3000);
    return;
  }
  if (el.type !== 'button') return;
  checkLength(`${where} button text`, textOf(el.text), 75);
  checkLength(`${where} action_id`, str(el.action_id), 255);
  checkLength(`${where} value`, str(el.value), 2000);
  checkLength(`${where} url`, str(el.url), 3000);
  if (el.style !== undefined && el.style !== 'primary' && el.style !== 'danger') fail('invalid_blocks', `${where} style`);
  const confirm = el.confirm as Args | undefined;
  if (confirm) {
    checkLength(`${where} confirm title`, textOf(confirm.title), 100);
    checkLength(`${where} confirm text`, textOf(confirm.text), 300);
    checkLength(`${where} confirm button`, textOf(confirm.confirm), 30);
    checkLength(`${where} deny button`, textOf(confirm.deny), 30);
  }
}

/**
 * Slack's undocumented limit on a message's block text in all (reported in bolt-js issues as
 * `msg_blocks_too_long` near 12,000 characters; 12,000 is used here).
 */
const BLOCKS_TEXT_MAX = 12_000;

/** Every text a block shows: its text, fields, and context elements. */
function blockTexts(block: Args): string[] {
  const texts = [textOf(block.text), ...((block.fields as unknown[] | undefined) ?? []).map(textOf)];
  if (block.type === 'context') texts.push(...((block.elements as unknown[] | undefined) ?? []).map(textOf));
  return texts.filter((t): t is string => t !== undefined);
}

/**
 * Where blocks are shown: a message holds 50 and about 12,000 characters of block text; a view
 * (a modal, the Home tab: views.open, views.publish) holds 100, and `msg_blocks_too_long` is a
 * message's error.
 */
export type Surface = 'message' | 'view';

const MAX_BLOCKS: Readonly<Record<Surface, number>> = { message: 50, view: 100 };

function checkBlocks(blocks: unknown[], surface: Surface = 'message'): void {
  if (blocks.length > MAX_BLOCKS[surface]) fail('invalid_blocks', `no more than ${MAX_BLOCKS[surface]} blocks`);
  const total = blocks.reduce<number>((n, b) => n + (b && typeof b === 'object' ? blockTexts(b as Args).reduce((m, t) => m + t.length, 0) : 0), 0);
  if (surface === 'message' && total > BLOCKS_TEXT_MAX) fail('msg_blocks_too_long', `${total} characters of block text`);
  const ids = new Set<string>();
  blocks.forEach((raw, i) => {
    const where = `blocks[${i}]`;
    if (!raw || typeof raw !== 'object' || typeof (raw as Args).type !== 'string') return fail('invalid_blocks', `${where} needs a type`);
    const block = raw as Args;
    const id = str(block.block_id);
    if (id !== undefined) {
      checkLength(`${where} block_id`, id, 255);
      if (ids.has(id)) fail('invalid_blocks', `${where} repeats block_id ${id}`);
      ids.add(id);
    }
    switch (block.type) {
      case 'header':
        if ((block.text as Args | undefined)?.type !== 'plain_text') fail('invalid_blocks', `${where} header text must be plain_text`);
        checkLength(`${where} header text`, textOf(block.text), 150);
        break;
      case 'section': {
        const fields = block.fields as unknown[] | undefined;
        if (block.text === undefined && fields === undefined) fail('invalid_blocks', `${where} needs text or fields`);
        checkLength(`${where} text`, textOf(block.text), 3000);
        if (fields && fields.length > 10) fail('invalid_blocks', `${where} no more than 10 fields`);
        fields?.forEach((f, j) => checkLength(`${where} fields[${j}]`, textOf(f), 2000));
        break;
      }
      case 'actions': {
        const elements = (block.elements as Args[] | undefined) ?? [];
        if (elements.length < 1 || elements.length > 25) fail('invalid_blocks', `${where} needs 1 to 25 elements`);
        elements.forEach((el, j) => checkElement(el, `${where}.elements[${j}]`));
        break;
      }
      case 'input': {
        if (surface !== 'view') fail('invalid_blocks', `${where} input blocks are only for views`);
        if ((block.label as Args | undefined)?.type !== 'plain_text') fail('invalid_blocks', `${where} label must be plain_text`);
        checkLength(`${where} label`, textOf(block.label), 2000);
        checkLength(`${where} hint`, textOf(block.hint), 2000);
        const element = block.element as Args | undefined;
        if (!element || typeof element.type !== 'string') fail('invalid_blocks', `${where} needs an element`);
        checkElement(element as Args, `${where}.element`);
        break;
      }
      case 'context': {
        const elements = (block.elements as unknown[] | undefined) ?? [];
        if (elements.length < 1 || elements.length > 10) fail('invalid_blocks', `${where} needs 1 to 10 elements`);
        elements.forEach((el, j) => checkLength(`${where}.elements[${j}] text`, textOf(el), 3000));
        break;
      }
    }
  });
}

/** A view's limits (views.open, views.publish): Slack answers `invalid_arguments` with the reason. */
function checkView(raw: unknown, type: 'modal' | 'home'): Args {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return fail('invalid_arguments', 'view is not valid JSON');
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return fail('invalid_arguments', 'missing required field: view');
  const view = value as Args;
  if (view.type !== type) fail('invalid_arguments', `view type must be ${type}`);
  if (!Array.isArray(view.blocks)) fail('invalid_arguments', 'view needs blocks');
  const invalid = (detail: string) => fail('invalid_arguments', detail);
  const blocks = view.blocks as unknown[];
  if (blocks.length > 100) invalid('must provide an array of no more than 100 blocks');
  try {
    checkBlocks(blocks, 'view');
  } catch (error) {
    if (error instanceof SlackFailure) invalid(`${error.error}${error.detail ? `: ${error.detail}` : ''}`);
    throw error;
  }
  const meta = view.private_metadata;
  if (meta !== undefined && (typeof meta !== 'string' || meta.length > 3000)) invalid('private_metadata must be a string of no more than 3000 characters');
  const callbackId = view.callback_id;
  if (callbackId !== undefined && (typeof callbackId !== 'string' || callbackId.length > 255)) invalid('callback_id must be no more than 255 characters');
  if (type === 'modal') {
    for (const key of ['title', 'submit', 'close'] as const) {
      const t = view[key] as Args | undefined;
      if (t === undefined) {
        if (key === 'title') invalid('missing required field: title');
        if (key === 'submit' && blocks.some((b) => (b as Args)?.type === 'input')) invalid('submit is required when input blocks are present');
        continue;
      }
      if (t.type !== 'plain_text') invalid(`${key} must be plain_text`);
      const text = textOf(t) ?? '';
      if (text.length < 1 || text.length > 24) invalid(`${key} must be 1 to 24 characters`);
    }
  }
  return view;
}

/**
 * Slack's longest top-level `text` of a message. chat.postMessage and chat.update do not refuse a
 * longer one: they keep its first 40,000 characters and answer ok:true with the warning
 * `message_truncated`, which only a reader of the answer sees.
 */
export const TEXT_MAX = 40_000;

/**
 * The limits of a message body, for what does not come through the Web API: a slash command's
 * answer travels in the acknowledgement (stand-ins/slack-request.ts checks it with this). The
 * Slack error, or undefined when Slack would take it. `surface: 'view'` checks a modal's or the
 * Home tab's blocks (100 of them, no total).
 */
export function refusalOf(message: { text?: unknown; blocks?: unknown }, surface: Surface = 'message'): string | undefined {
  try {
    if (Array.isArray(message.blocks)) checkBlocks(message.blocks, surface);
    if (typeof message.text === 'string' && message.text.length > TEXT_MAX) fail('msg_too_long');
    return undefined;
  } catch (error) {
    if (error instanceof SlackFailure) return `${error.error}${error.detail ? ` (${error.detail})` : ''}`;
    throw error;
  }
}

/**
 * A view's refusal as Slack words it (`invalid_arguments (why)`), for views that do not come
 * through the Web API: a view_submission's `response_action: update` travels in the ack.
 */
export function viewRefusalOf(view: unknown, type: 'modal' | 'home'): string | undefined {
  try {
    checkView(view, type);
    return undefined;
  } catch (error) {
    if (error instanceof SlackFailure) return `${error.error}${error.detail ? ` (${error.detail})` : ''}`;
    throw error;
  }
}

// ---- warnings -------------------------------------------------------------------------------

/**
 * Warnings every stand-in of this process answered with since the last `takeSlackWarnings`, kept
 * only once `watchSlackWarnings` was called (the tests' setup does, and fails a test that leaves
 * any: a truncated message is a message Slack showed cut). The sandbox does not watch, so nothing
 * piles up there; its calls still carry their warnings.
 */
let watched: string[] | undefined;

export function watchSlackWarnings(): void {
  watched ??= [];
}

/** The warnings seen since the last call, as `method: warning`; they are forgotten. */
export function takeSlackWarnings(): string[] {
  return watched ? watched.splice(0) : [];
}

// ---- the API --------------------------------------------------------------------------------

/** The direct-message channel between the app and a person: `D` + the user ID's rest. */
export const directChannelOf = (user: string): string => `D${user.slice(1)}`;

export function createSlackApi(options: { now?: () => Date } = {}): SlackApiHandler {
  const now = options.now ?? (() => new Date());
  const token = SANDBOX_BOT_TOKEN;
  const calls: SlackCall[] = [];
  const store = new Map<string, SlackMessage[]>();
  let ephemeralList: SlackEphemeral[] = [];
  const failures = new Map<string, string[]>();
  const userGroups = new Map<string, string[]>();
  const lostAnswers = new Set<string>();
  let retryAfter: number | undefined;
  let down = false;
  let refused = 0;
  const listeners = new Set<(change: SlackChange) => void>();

  let lastSeconds = 0;
  let sequence = 0;
  /** Slack's ts: seconds and a 6-digit part, unique and increasing within the workspace. */
  const nextTs = (): string => {
    const seconds = Math.floor(now().getTime() / 1000);
    if (seconds > lastSeconds) {
      lastSeconds = seconds;
      sequence = 1;
    } else if (++sequence > 999_999) {
      lastSeconds += 1;
      sequence = 1;
    }
    return `${lastSeconds}.${String(sequence).padStart(6, '0')}`;
  };

  const emit = (change: SlackChange) => {
    for (const listener of listeners) listener(change);
  };

  const channelMessages = (channel: string): SlackMessage[] => {
    let list = store.get(channel);
    if (!list) store.set(channel, (list = []));
    return list;
  };

  /** A copy, with the thread summary Slack puts on a parent. */
  const view = (channel: string, m: SlackMessage): SlackMessage => {
    const copy: SlackMessage = structuredClone(m);
    if (m.thread_ts === undefined) {
      const replies = channelMessages(channel).filter((r) => r.thread_ts === m.ts);
      if (replies.length > 0) {
        copy.thread_ts = m.ts;
        copy.reply_count = replies.length;
        copy.reply_users = [...new Set(replies.map((r) => r.user))];
        copy.latest_reply = replies[replies.length - 1]?.ts;
      }
    }
    return copy;
  };

  const inHistory = (m: SlackMessage) => m.thread_ts === undefined || m.subtype === 'thread_broadcast';

  const history = (channel: string) =>
    channelMessages(channel)
      .filter(inHistory)
      .map((m) => view(channel, m));

  const thread = (channel: string, ts: string): SlackMessage[] | undefined => {
    const list = channelMessages(channel);
    const found = list.find((m) => m.ts === ts);
    if (!found) return undefined;
    const parentTs = found.thread_ts ?? found.ts;
    const parent = list.find((m) => m.ts === parentTs);
    if (!parent) return undefined;
    return [view(channel, parent), ...list.filter((m) => m.thread_ts === parentTs).map((m) => view(channel, m))];
  };

  /** Channel IDs, or names as chat.postMessage also takes them. */
  const resolveChannel = (v: unknown, options: { mustBeMember: boolean }): string => {
    const given = str(v);
    if (!given) return fail('channel_not_found');
    const byName = Object.entries(SANDBOX_CHANNELS).find(([, c]) => `#${c.name}` === given || c.name === given);
    const id = SANDBOX_CHANNELS[given] ? given : byName?.[0];
    if (!id) return fail('channel_not_found');
    if (options.mustBeMember && !SANDBOX_CHANNELS[id]?.botIsMember) return fail('not_in_channel');
    return id;
  };

  /** The answer's warnings of the call being answered (reset by `dispatch`). */
  let warnings: string[] = [];

  const messageContent = (args: Args) => {
    const blocks = jsonList(args.blocks, 'invalid_blocks');
    const attachments = jsonList(args.attachments, 'invalid_attachments');
    if (blocks) checkBlocks(blocks);
    let text = str(args.text);
    if (text !== undefined && text.length > TEXT_MAX) {
      text = text.slice(0, TEXT_MAX);
      warnings.push('message_truncated');
    }
    return { text, blocks, attachments };
  };

  const views: SlackView[] = [];
  const homes = new Map<string, SlackView>();
  const usedTriggers = new Set<string>();
  let viewCount = 0;
  const viewId = () => `V${String(++viewCount).padStart(10, '0')}`;

  const methods: Record<string, (args: Args, origin: string) => Answer> = {
    'views.open': (args) => {
      const trigger = str(args.trigger_id);
      if (!trigger) return fail('invalid_arguments', 'missing required field: trigger_id');
      if (usedTriggers.has(trigger)) fail('exchanged_trigger_id');
      const view = checkView(args.view, 'modal');
      usedTriggers.add(trigger);
      const opened = { ...structuredClone(view), id: viewId(), triggerId: trigger } as SlackView;
      views.push(opened);
      emit({ type: 'view_opened', view: structuredClone(opened) });
      return { ok: true, view: opened };
    },

    'views.publish': (args) => {
      const user = str(args.user_id);
      if (!user) return fail('invalid_arguments', 'missing required field: user_id');
      if (!SANDBOX_USERS[user] || SANDBOX_USERS[user]?.is_bot) fail('user_not_found');
      const view = checkView(args.view, 'home');
      const published = { ...structuredClone(view), id: homes.get(user)?.id ?? viewId(), user } as SlackView;
      homes.set(user, published);
      emit({ type: 'home_published', user, view: structuredClone(published) });
      return { ok: true, view: published };
    },

    'auth.test': (_args, origin) => ({
      ok: true,
      url: `${origin}/`,
      team: 'Sandbox',
      user: 'metal-build',
      team_id: SANDBOX_TEAM_ID,
      user_id: BOT_USER,
      bot_id: BOT_ID,
      is_enterprise_install: false,
    }),

    'chat.postMessage': (args) => {
      // A user ID as the channel posts to the app's direct-message channel with that person (the
      // app's Messages tab), as Slack does for a bot token with chat:write.
      const dmUser = str(args.channel);
      const channel =
        dmUser && SANDBOX_USERS[dmUser] && !SANDBOX_USERS[dmUser]?.is_bot ? directChannelOf(dmUser) : resolveChannel(args.channel, { mustBeMember: true });
      const { text, blocks, attachments } = messageContent(args);
      if (!text && !blocks?.length && !attachments?.length) fail('no_text');
      const threadTs = str(args.thread_ts) || undefined;
      if (threadTs !== undefined) {
        const parent = channelMessages(channel).find((m) => m.ts === threadTs);
        if (!parent) fail('thread_not_found');
      }
      const message: SlackMessage = {
        type: 'message',
        ts: nextTs(),
        user: BOT_USER,
        bot_id: BOT_ID,
        app_id: SANDBOX_APP_ID,
        team: SANDBOX_TEAM_ID,
        text: text ?? '',
        ...(blocks ? { blocks } : {}),
        ...(attachments ? { attachments } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...(threadTs && truthy(args.reply_broadcast) ? { subtype: 'thread_broadcast' as const } : {}),
        ...messageMetadata(args.metadata),
      };
      channelMessages(channel).push(message);
      emit({ type: 'message', channel, message: view(channel, message) });
      return { ok: true, channel, ts: message.ts, message: view(channel, message) };
    },

    'chat.update': (args) => {
      const channel = resolveChannel(args.channel, { mustBeMember: true });
      const ts = str(args.ts);
      const message = channelMessages(channel).find((m) => m.ts === ts);
      if (!ts || !message) return fail('message_not_found');
      if (message.user !== BOT_USER) fail('cant_update_message');
      const { text, blocks, attachments } = messageContent(args);
      if (text === undefined && blocks === undefined && attachments === undefined) fail('no_text');
      if (text !== undefined) message.text = text;
      // As on Slack: left out, the old blocks stay; an empty list removes them.
      if (blocks !== undefined) {
        if (blocks.length > 0) message.blocks = blocks;
        else delete message.blocks;
      }
      if (attachments !== undefined) message.attachments = attachments;
      message.edited = { user: BOT_USER, ts: nextTs() };
      emit({ type: 'message_changed', channel, message: view(channel, message) });
      return { ok: true, channel, ts: message.ts, text: message.text, message: view(channel, message) };
    },

    'chat.postEphemeral': (args) => {
      const channel = resolveChannel(args.channel, { mustBeMember: true });
      const user = str(args.user);
      if (!user || !SANDBOX_USERS[user] || SANDBOX_USERS[user]?.is_bot) fail('user_not_in_channel');
      const { text, blocks, attachments } = messageContent(args);
      if (!text && !blocks?.length && !attachments?.length) fail('no_text');
      const ephemeral = record({
        channel,
        user: user as string,
        text: text ?? '',
        ...(blocks ? { blocks } : {}),
        ...(str(args.thread_ts) ? { thread_ts: str(args.thread_ts) } : {}),
      });
      return { ok: true, message_ts: ephemeral.ts };
    },

    'chat.getPermalink': (args, origin) => {
      const channel = resolveChannel(args.channel, { mustBeMember: false });
      const ts = str(args.message_ts);
      const message = channelMessages(channel).find((m) => m.ts === ts);
      if (!ts || !message) return fail('message_not_found');
      const base = `${origin}/archives/${channel}/p${ts.replace('.', '')}`;
      const permalink = message.thread_ts ? `${base}?thread_ts=${message.thread_ts}&cid=${channel}` : base;
      return { ok: true, channel, permalink };
    },

    'conversations.history': (args) => {
      const channel = resolveChannel(args.channel, { mustBeMember: true });
      const limit = Math.min(Math.max(Number(str(args.limit) ?? 100) || 100, 1), 999);
      const inclusive = truthy(args.inclusive);
      const oldest = Number(str(args.oldest) ?? 0);
      const latest = Number(str(args.latest) ?? Infinity);
      const within = (m: SlackMessage) => {
        const t = Number(m.ts);
        return inclusive ? t >= oldest && t <= latest : t > oldest && t < latest;
      };
      const newestFirst = history(channel)
        .filter((m) => (args.oldest === undefined && args.latest === undefined) || within(m))
        .reverse();
      return {
        ok: true,
        messages: newestFirst.slice(0, limit),
        has_more: newestFirst.length > limit,
        pin_count: 0,
        response_metadata: { next_cursor: '' },
      };
    },

    'conversations.replies': (args) => {
      const channel = resolveChannel(args.channel, { mustBeMember: true });
      const ts = str(args.ts);
      const messages = ts ? thread(channel, ts) : undefined;
      if (!messages) return fail('thread_not_found');
      // Slack leaves metadata out unless asked for it.
      const shown = truthy(args.include_all_metadata) ? messages : messages.map(({ metadata: _m, ...rest }) => rest);
      return { ok: true, messages: shown, has_more: false, response_metadata: { next_cursor: '' } };
    },

    'usergroups.users.list': (args) => {
      const id = str(args.usergroup);
      if (!id) return fail('invalid_arguments', 'missing required field: usergroup');
      const users = userGroups.get(id);
      if (!users) return fail('no_such_subteam');
      return { ok: true, users: [...users] };
    },

    'users.info': (args) => {
      const user = SANDBOX_USERS[str(args.user) ?? ''];
      if (!user) return fail('user_not_found');
      return {
        ok: true,
        user: {
          ...user,
          team_id: SANDBOX_TEAM_ID,
          deleted: false,
          tz: 'Etc/UTC',
          profile: { real_name: user.real_name, display_name: user.name },
        },
      };
    },
  };

  function record(e: Omit<SlackEphemeral, 'ts'>): SlackEphemeral {
    const ephemeral: SlackEphemeral = { ...e, ts: nextTs() };
    ephemeralList.push(ephemeral);
    emit({ type: 'ephemeral', ephemeral: structuredClone(ephemeral) });
    return ephemeral;
  }

  function dispatch(method: string, args: Args, authorization: string | undefined, origin: string): Record<string, unknown> {
    const given = authorization?.match(/^Bearer\s+(.+)$/i)?.[1] ?? str(args.token);
    const { token: _token, ...recorded } = args;
    // Decoded for the record, so calls show blocks as objects whatever the body's encoding.
    for (const key of ['blocks', 'attachments'] as const) {
      if (typeof recorded[key] === 'string') {
        try {
          recorded[key] = JSON.parse(recorded[key]);
        } catch {
          // Left as sent; the method answers invalid_blocks.
        }
      }
    }
    const call: SlackCall = { method, args: recorded, at: now().getTime() };
    calls.push(call);
    try {
      if (!given) fail('not_authed');
      if (given !== token) fail('invalid_auth');
      const injected = failures.get(method)?.shift();
      if (injected) fail(injected);
      const run = methods[method];
      if (!run) return fail('unknown_method');
      warnings = [];
      const answer = run(args, origin);
      if (warnings.length === 0) return answer;
      call.warnings = warnings;
      watched?.push(...warnings.map((w) => `${method}: ${w}`));
      // As Slack words it: `warning` comma-separated, and the list in response_metadata.
      return { ...answer, warning: warnings.join(','), response_metadata: { ...(answer.response_metadata as object | undefined), warnings } };
    } catch (error) {
      if (!(error instanceof SlackFailure)) throw error;
      call.error = error.error;
      return {
        ok: false,
        error: error.error,
        ...(error.detail ? { response_metadata: { messages: [`[ERROR] ${error.detail}`] } } : {}),
      };
    }
  }

  function parseBody(raw: string, contentType: string): Args {
    if (raw.trim() === '') return {};
    if (contentType.startsWith('application/json')) {
      const parsed: unknown = JSON.parse(raw);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SlackFailure('invalid_json');
      return parsed as Args;
    }
    return Object.fromEntries(new URLSearchParams(raw));
  }

  function handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = url.pathname.match(/^\/api\/([A-Za-z0-9_.]+)$/);
    if (!url.pathname.startsWith('/api/')) return false;
    if (down) {
      refused++;
      req.socket.destroy();
      return true;
    }
    if (retryAfter !== undefined) {
      refused++;
      req.resume();
      res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(retryAfter) });
      res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
      return true;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let answer: Record<string, unknown>;
      try {
        const body = parseBody(Buffer.concat(chunks).toString('utf8'), req.headers['content-type'] ?? '');
        const args: Args = { ...Object.fromEntries(url.searchParams), ...body };
        const origin = `http://${req.headers.host ?? 'localhost'}`;
        answer = match?.[1] ? dispatch(match[1], args, req.headers.authorization, origin) : { ok: false, error: 'unknown_method' };
      } catch (error) {
        answer = { ok: false, error: error instanceof SlackFailure ? error.error : 'invalid_form_data' };
      }
      const lost = match?.[1] !== undefined && lostAnswers.delete(match[1]);
      if (lost) {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('upstream connect error');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(answer));
    });
    return true;
  }

  return {
    token,
    calls,
    callsTo: (method) => calls.filter((c) => c.method === method),
    messages: (channel) => history(channel),
    replies: (channel, ts) => thread(channel, ts) ?? [],
    ephemerals: (user) => ephemeralList.filter((e) => user === undefined || e.user === user).map((e) => structuredClone(e)),
    recordEphemeral: (e) => structuredClone(record(e)),
    modals: () => structuredClone(views),
    home: (user) => structuredClone(homes.get(user)),
    failNext: (method, error) => {
      const queue = failures.get(method) ?? [];
      queue.push(error);
      failures.set(method, queue);
    },
    setUserGroup: (id, users) => {
      userGroups.set(id, [...users]);
    },
    loseAnswerOfNext: (method) => {
      lostAnswers.add(method);
    },
    throttle: (seconds) => {
      retryAfter = seconds;
    },
    unreachable: (isDown) => {
      down = isDown;
    },
    refused: () => refused,
    onChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reset: () => {
      calls.length = 0;
      store.clear();
      ephemeralList = [];
      views.length = 0;
      homes.clear();
      usedTriggers.clear();
      failures.clear();
      userGroups.clear();
      lostAnswers.clear();
      retryAfter = undefined;
      down = false;
      refused = 0;
      emit({ type: 'reset' });
    },
    handle,
  };
}

/** The stand-in on its own loopback server (port 0: any free port). */
export async function startSlackApi(options: { port?: number; host?: string; now?: () => Date } = {}): Promise<SlackApi> {
  const host = options.host ?? '127.0.0.1';
  const api = createSlackApi(options.now ? { now: options.now } : {});
  const server = createServer((req, res) => {
    if (!api.handle(req, res)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const origin = `http://${shownHost}:${port}`;
  const { handle: _handle, ...state } = api;
  return Object.assign(state, {
    url: `${origin}/api/`,
    origin,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  });
}
