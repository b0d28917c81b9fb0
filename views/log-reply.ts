import type { Build } from '../domain/build';
import { isFinal } from '../domain/build';
import type { LogLine } from '../domain/ports';
import { consoleLink, logStreamUrl } from './console-links';
import { code, fence, formatUtcTime, inertCodeLine, truncate } from './mrkdwn';
import type { ViewContext } from './status-text';

// The newest lines of a build machine's log, for `/metal-build logs` and Show log (one person's
// ephemeral answer) and, shorter, inside the warning and a forced or unexpected end. Log lines
// are machine text, untrusted: they appear only inside a code block, inert (views/mrkdwn.ts).
// Whatever the log holds, the answer fits Slack: the oldest lines are left out first, and it says
// how many.

/** Slack cuts a message's text above 40,000 characters; the answer stays below with room to spare. */
export const LOG_REPLY_MAX = 39_000;
/** One line longer than this (a CloudWatch event may be 256 KB) is cut: one line must not take the whole answer. */
export const LOG_LINE_MAX = 1_000;

/** The lines that fit `maxChars` as a code block, newest kept; how many older ones were left out. */
export function logBlock(lines: readonly LogLine[], maxChars: number): { block: string; shown: number; left: number } {
  const inert = lines.map((l) => inertCodeLine(truncate(l.message.replace(/\r/g, ''), LOG_LINE_MAX)));
  let used = fence([]).length;
  let first = inert.length;
  while (first > 0) {
    const next = (inert[first - 1] as string).length + 1;
    if (used + next > maxChars) break;
    used += next;
    first--;
  }
  const kept = inert.slice(first);
  return { block: fence(kept), shown: kept.length, left: first };
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** What the log holds for `logs <build-id> [lines]` and Show log. `lines` is oldest first and not empty. */
export function logReply(build: Build, lines: readonly LogLine[], instanceId: string, ctx: ViewContext): string {
  const head = (shown: number, left: number) => {
    const last = lines.at(-1);
    const counted =
      left > 0
        ? `the newest ${plural(shown, 'line', 'lines')} (${plural(left, 'older line', 'older lines')} left out to fit Slack)`
        : `the newest ${plural(shown, 'line', 'lines')}`;
    return (
      `📜 Log of ${code(build.BuildID)} (${code(build.BuildBranch)}), machine ${code(instanceId)}: ${counted}` +
      `${last ? `, the last at ${formatUtcTime(new Date(last.at), ctx.now)}` : ''}. Full log: ${consoleLink(logStreamUrl(ctx.config.region, build.BuildID, instanceId))}`
    );
  };
  // The head is measured at its longest (every line left out), so the block's room is never too much.
  const room = LOG_REPLY_MAX - head(lines.length, lines.length).length - 1;
  const { block, shown, left } = logBlock(lines, room);
  return `${head(shown, left)}\n${block}`;
}

/** No line to show: no machine yet, or a machine that has not written its log yet. */
export function noLogYet(build: Build, ctx: ViewContext): string {
  if (!build.InstanceID)
    return isFinal(build.Status)
      ? `${code(build.BuildID)} never had a machine, so it has no log.`
      : `No log yet: ${code(build.BuildID)} has no machine yet (${build.Status.replace('_', ' ')}).`;
  return `No log yet: machine ${code(build.InstanceID)} of ${code(build.BuildID)} has not written a line of it. Its log: ${consoleLink(logStreamUrl(ctx.config.region, build.BuildID, build.InstanceID))}`;
}
