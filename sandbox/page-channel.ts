import type { SlackEphemeral, SlackMessage } from '../stand-ins/slack-api';
import { BOT_USER, SANDBOX_CHANNEL } from '../stand-ins/slack-api';

// The page's view of the channel: messages, ephemerals and threads, as one person sees them.

interface PageMessage {
  ts: string;
  channel: string;
  user: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
  replyCount: number;
  broadcast: boolean;
  ephemeral: boolean;
  edited: boolean;
  simTime: string;
}

const tsTime = (ts: string) => new Date(Math.floor(Number(ts) * 1000)).toISOString();

function fromMessage(m: SlackMessage, channel = SANDBOX_CHANNEL): PageMessage {
  return {
    ts: m.ts,
    channel,
    user: m.user,
    text: m.text,
    ...(m.blocks ? { blocks: m.blocks } : {}),
    ...(m.thread_ts && m.thread_ts !== m.ts ? { threadTs: m.thread_ts } : {}),
    replyCount: m.reply_count ?? 0,
    broadcast: m.subtype === 'thread_broadcast',
    ephemeral: false,
    edited: m.edited !== undefined,
    simTime: tsTime(m.ts),
  };
}

function fromEphemeral(e: SlackEphemeral): PageMessage {
  return {
    ts: e.ts,
    channel: e.channel,
    // Ephemerals come from the app, whoever they are for.
    user: BOT_USER,
    text: e.text,
    ...(e.blocks ? { blocks: e.blocks } : {}),
    ...(e.thread_ts ? { threadTs: e.thread_ts } : {}),
    replyCount: 0,
    broadcast: false,
    ephemeral: true,
    edited: false,
    simTime: tsTime(e.ts),
  };
}

const byTs = (a: PageMessage, b: PageMessage) => Number(a.ts) - Number(b.ts);

/** The channel as one person sees it: history plus their ephemerals; threads likewise. */
export function conversation(
  history: SlackMessage[],
  replies: (ts: string) => SlackMessage[],
  ephemerals: SlackEphemeral[],
): { timeline: PageMessage[]; threads: Record<string, PageMessage[]> } {
  const timeline = [...history.map((m) => fromMessage(m)), ...ephemerals.filter((e) => e.channel === SANDBOX_CHANNEL && !e.thread_ts).map(fromEphemeral)].sort(
    byTs,
  );
  const threads: Record<string, PageMessage[]> = {};
  for (const parent of history) {
    if (parent.subtype === 'thread_broadcast') continue;
    const own = ephemerals.filter((e) => e.thread_ts === parent.ts).map(fromEphemeral);
    if (!parent.reply_count && own.length === 0) continue;
    threads[parent.ts] = [
      ...replies(parent.ts)
        .slice(1)
        .map((m) => fromMessage(m)),
      ...own,
    ].sort(byTs);
  }
  return { timeline, threads };
}

/** The app's direct-message conversation with one person (Apps → metal-build → Messages), oldest first. */
export function directMessages(channel: string, history: SlackMessage[]): PageMessage[] {
  return history.map((m) => fromMessage(m, channel)).sort(byTs);
}
