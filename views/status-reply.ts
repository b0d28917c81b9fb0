import type { Build } from '../domain/build';
import { isActive } from '../domain/build';
import { buildDeadline, costSoFar, instanceTypeOf, lifetimeHoursOf, scheduleName } from '../domain/build-facts';
import { consoleLink, scheduleUrl } from './console-links';
import { formatUsd } from '../domain/cost';
import { code, codeBlock, formatDuration, formatHours, formatUtcTime, mention, truncate } from './mrkdwn';
import type { ViewContext } from './status-text';
import { STATUS_EMOJI, queuePlace, statusLabel } from './status-text';
import { requesterText } from './requester';

// The answers to `/metal-build status [id]` and `list` (the slash command's ack body). The build
// machine's words (ErrorMessage) appear only inside a code block: inert, like everywhere else.

/** An error shown in `status <id>`: the start of it, in a block. */
const ERROR_MAX = 600;

/**
 * Lines a list shows at most: with 200-character branches a line is about 300 characters, so a
 * list stays near 6,000 however many builds wait (Slack refuses, or cuts, far longer answers).
 */
export const LIST_MAX = 20;

function costText(build: Build, ctx: ViewContext): string {
  const cost = costSoFar(build, ctx);
  if (cost === undefined) return `est. ${formatUsd(build.CostEstimate)}`;
  return build.ActualCost !== undefined ? formatUsd(cost) : `${formatUsd(cost)} so far`;
}

/** One line: status, ID, branch, requester, age, cost. */
/** The queue (`#slots`'s `Queue`) as read for this answer: a queued build's line says its place. */
export type StatusContext = ViewContext & { queue?: readonly string[] };

export function buildLine(build: Build, ctx: StatusContext): string {
  const age = formatDuration(ctx.now.getTime() - Date.parse(build.CreatedAt));
  const at = ctx.queue?.indexOf(build.BuildID) ?? -1;
  return [
    `${STATUS_EMOJI[build.Status]} ${code(build.BuildID)}`,
    code(build.BuildBranch),
    build.Status === 'queued' ? queuePlace(at < 0 ? undefined : at) : statusLabel(build).toLowerCase(),
    requesterText(build),
    `${age} ago`,
    costText(build, ctx),
  ].join(' · ');
}

/** `status <id>`: the build's line, then who did what, its machine, deadline, error and thread. */
export function statusDetails(build: Build, ctx: StatusContext): string {
  const lines = [buildLine(build, ctx)];
  lines.push(`Commit: ${build.ActualCommit ? code(build.ActualCommit) : build.BuildCommit ? code(build.BuildCommit) : 'branch head'}`);
  if (build.Approver) lines.push(`Approved by ${mention(build.Approver)}`);
  if (build.DeniedBy) lines.push(`${build.DeniedBy === build.Requester ? 'Withdrawn' : 'Denied'} by ${mention(build.DeniedBy)}`);
  if (build.CancelledBy) lines.push(`Cancelled by ${mention(build.CancelledBy)}`);
  if (build.InstanceID)
    lines.push(`Machine: ${code(build.InstanceID)} · ${instanceTypeOf(build, ctx.config)}${build.InstanceState ? ` (${build.InstanceState})` : ''}`);
  else if (isActive(build.Status)) lines.push(`Type: ${instanceTypeOf(build, ctx.config)}`);
  if (isActive(build.Status))
    lines.push(`Limit: ${formatHours(lifetimeHoursOf(build, ctx.config))}${build.ExtendedHours ? ` (extended by ${formatHours(build.ExtendedHours)})` : ''}`);
  const end = buildDeadline(build, ctx.config);
  if (end && !build.TerminatedAt && !build.CompletionTime) {
    const name = scheduleName(build.BuildID);
    // The schedule that ends it even if every function is broken: named, and linked for a phone.
    lines.push(
      `Terminated automatically at ${formatUtcTime(end, ctx.now)} by the Scheduler schedule ${code(name)} · ${consoleLink(scheduleUrl(ctx.config.region, ctx.config.scheduleGroup, name))}`,
    );
  }
  if (build.ErrorMessage) lines.push(`Error:\n${codeBlock(truncate(build.ErrorMessage, ERROR_MAX - 100), ERROR_MAX)}`);
  lines.push(`Maximum cost ${formatUsd(build.CostMax)} · thread in <#${build.Channel}>`);
  return lines.join('\n');
}

/** `status` without an ID, and `list`: a heading, then one line per build, at most LIST_MAX of them. */
export function buildList(heading: string, builds: readonly Build[], ctx: StatusContext): string {
  const shown = builds.slice(0, LIST_MAX).map((b) => buildLine(b, ctx));
  const more = builds.length - shown.length;
  return [heading, ...shown, ...(more > 0 ? [`…and ${more} more. \`/metal-build status <build-id>\` shows one.`] : [])].join('\n');
}
