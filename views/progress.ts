import type { Build } from '../domain/build';
import type { ExpectedDuration } from '../domain/expected-duration';
import { elapsedMs, instanceTypeOf } from '../domain/build-facts';
import type { LogLine } from '../domain/ports';
import { logBlock } from './log-reply';
import { code, formatDuration, formatUtcTime } from './mrkdwn';
import type { ViewContext } from './status-text';

// How far a build got, for the warning and a forced or unexpected end: the phase the machine last
// reported and for how long, what this type's history expects, and the log's newest lines (machine
// text: inert, views/log-reply.ts).

/** "phase `building` for 50 min (since 15:10 UTC)", measured up to `until` (now, or the end). */
export function phaseText(build: Build, ctx: ViewContext, until: Date = ctx.now): string {
  if (!build.Phase) {
    const started = build.LaunchTime ? ` (the machine started ${formatDuration(until.getTime() - Date.parse(build.LaunchTime))} before)` : '';
    return `no phase reported yet${started}`;
  }
  const since = build.PhaseAt ?? (build.Phase === 'building' ? build.BuildStartTime : undefined);
  if (!since) return `phase ${code(build.Phase)}`;
  return `phase ${code(build.Phase)} for ${formatDuration(until.getTime() - Date.parse(since))} (since ${formatUtcTime(new Date(since), ctx.now)})`;
}

/**
 * What this type's history says is left: "Builds on c5n.metal take 2 h 32 min (median of the last
 * 10): about 32 min more." Undefined when the history is too short to say (the fallback).
 */
export function expectedText(build: Build, expected: ExpectedDuration | undefined, ctx: ViewContext): string | undefined {
  if (!expected || expected.fromBuilds === 0) return undefined;
  const elapsed = elapsedMs(build, ctx);
  const typical = expected.hours * 3600_000;
  const head = `Builds on ${instanceTypeOf(build, ctx.config)} take ${formatDuration(typical)} (median of the last ${expected.fromBuilds})`;
  if (elapsed === undefined) return `${head}.`;
  const left = typical - elapsed;
  return left > 0 ? `${head}: about ${formatDuration(left)} more.` : `${head}; this one has run ${formatDuration(-left)} longer.`;
}

/**
 * The log's newest lines under a title, made to fit `maxChars` (a section): undefined lines (the log
 * could not be read) and no lines say so.
 */
export function logSection(lines: readonly LogLine[] | undefined, ctx: ViewContext, maxChars: number): string {
  if (lines === undefined) return '*Newest log lines*: the log could not be read just now; *Show log* reads it again.';
  if (lines.length === 0) return '*Newest log lines*: none yet.';
  const last = lines.at(-1) as LogLine;
  const title = `*Newest log lines* (the last at ${formatUtcTime(new Date(last.at), ctx.now)})\n`;
  return title + logBlock(lines, maxChars - title.length).block;
}
