import { defuseBroadcasts } from '../domain/inert-text';

// Slack mrkdwn and the few text formats every message shares. Text that comes from outside
// (the build machine's messages and log lines, which untrusted code writes) is escaped, so
// `<!channel>`, `<@U…>` or `<http://…|label>` in a log is shown, not acted on. The broadcast
// rule is shared with the plain-text mail, so it lives in domain/inert-text.ts.

/** Slack's own escaping: only &, < and > are control characters in mrkdwn. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Outside text for mrkdwn: escaped, and no written-out broadcast. */
export function inertMrkdwn(text: string): string {
  return defuseBroadcasts(escapeMrkdwn(text));
}

export function mention(userId: string): string {
  return `<@${userId}>`;
}

/** Inline code; a backtick inside would end it early, so it is replaced by a look-alike. */
export function code(text: string): string {
  return `\`${inertMrkdwn(text).replace(/`/g, 'ˋ')}\``;
}

/**
 * A list of names (mentions) a message can always hold: the first `shown`, then how many more
 * ("<@A>, <@B> and 208 more"), so 210 approvers fit a card's section as well as 2 do.
 */
export function nameList(names: readonly string[], shown = 10): string {
  if (names.length <= shown) return names.join(', ');
  return `${names.slice(0, shown).join(', ')} and ${names.length - shown} more`;
}

export function truncate(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(0, maxChars - 1))}…`;
}

const FENCE = '```';
const CUT_MARK = '… (earlier lines cut)\n';

/**
 * A fenced code block of at most `maxChars` characters. When the text does not fit, its START
 * is cut (a log's end is what explains a failure), at a line boundary when one is in reach.
 */
export function codeBlock(text: string, maxChars: number): string {
  // Made inert before it is cut, so a cut cannot undo it: no broadcast word, and a zero-width
  // space between any two backticks, so no run of them (``` or longer) closes the block early.
  const raw = Array.from(defuseBroadcasts(text.replace(/\s+$/, '')).replace(/`(?=`)/g, '`\u200b'));
  const frame = (body: string) => `${FENCE}\n${body}\n${FENCE}`;
  const whole = escapeMrkdwn(raw.join(''));
  if (frame(whole).length <= maxChars) return frame(whole);

  const budget = maxChars - frame('').length - CUT_MARK.length;
  // Escaping grows some characters, so the cut is measured on the escaped form, character by
  // character from the end, never splitting an `&amp;`.
  let kept = '';
  let used = 0;
  for (let i = raw.length - 1; i >= 0; i--) {
    const piece = escapeMrkdwn(raw[i] as string);
    if (used + piece.length > budget) break;
    kept = piece + kept;
    used += piece.length;
  }
  const newline = kept.indexOf('\n');
  if (newline >= 0 && newline < kept.length - 1) kept = kept.slice(newline + 1);
  return frame(CUT_MARK + kept);
}

/**
 * Lines of outside text (a log's) as they stand inside a code block: each made inert as
 * codeBlock makes text (escaped, no broadcast word, no run of backticks), so lines can be
 * counted and dropped whole before they are fenced with `fence`.
 */
export function inertCodeLine(line: string): string {
  return escapeMrkdwn(defuseBroadcasts(line).replace(/`(?=`)/g, '`\u200b'));
}

/** A code block around lines made inert with inertCodeLine. */
export function fence(inertLines: readonly string[]): string {
  return `${FENCE}\n${inertLines.join('\n')}\n${FENCE}`;
}

const MINUTE = 60_000;

/** "45 s", "12 min", "1 h 5 min". */
export function formatDuration(ms: number): string {
  const clamped = Math.max(0, ms);
  if (clamped < MINUTE) return `${Math.round(clamped / 1000)} s`;
  const minutes = Math.floor(clamped / MINUTE);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** "1.5 h", "3 h"; a time that is no half hour in minutes ("40 min", "1 h 20 min"). */
export function formatHours(hours: number): string {
  if (!Number.isInteger(hours * 2)) return formatDuration(Math.round(hours * 60) * MINUTE);
  return `${hours} h`;
}

/** "14:05 UTC"; the date too when it is not `now`'s day. */
export function formatUtcTime(at: Date, now: Date): string {
  const iso = at.toISOString();
  const time = `${iso.slice(11, 16)} UTC`;
  return iso.slice(0, 10) === now.toISOString().slice(0, 10) ? time : `${iso.slice(0, 10)} ${time}`;
}

export function formatGb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(1)} GB`;
}
