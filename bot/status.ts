import type { Build } from '../domain/build';
import { formatUsd } from '../domain/cost';
import type { ViewContext } from '../views/status-text';
import { STATUS_EMOJI, statusLabel } from '../views/status-text';
import { costSoFar, instanceTypeOf } from '../domain/build-facts';
import { deadlineOf } from '../domain/lifetime';
import { code, escapeMrkdwn, formatDuration, formatUtcTime, mention, truncate } from '../views/mrkdwn';
import type { BotDeps } from './deps';
import * as replies from '../views/replies';

// `/metal-build status [id]` and `list`: answers for the person who asked (ack body), read from
// StatusIndex (adapters/aws/dynamo-store), never a Scan.

export const RECENT_LIMIT = 10;

function costText(build: Build, ctx: ViewContext): string {
  const cost = costSoFar(build, ctx);
  if (cost === undefined) return `est. ${formatUsd(build.CostEstimate)}`;
  return build.ActualCost !== undefined ? formatUsd(cost) : `${formatUsd(cost)} so far`;
}

/** One line: status, ID, branch, requester, age, cost. */
export function buildLine(build: Build, ctx: ViewContext): string {
  const age = formatDuration(ctx.now.getTime() - Date.parse(build.CreatedAt));
  return [
    `${STATUS_EMOJI[build.Status]} ${code(build.BuildID)}`,
    code(build.BuildBranch),
    statusLabel(build).toLowerCase(),
    mention(build.Requester),
    `${age} ago`,
    costText(build, ctx),
  ].join(' · ');
}

function details(build: Build, ctx: ViewContext): string {
  const lines = [buildLine(build, ctx)];
  lines.push(`Commit: ${build.ActualCommit ? code(build.ActualCommit) : build.BuildCommit ? code(build.BuildCommit) : 'branch head'}`);
  if (build.Approver) lines.push(`Approved by ${mention(build.Approver)}`);
  if (build.DeniedBy) lines.push(`${build.DeniedBy === build.Requester ? 'Withdrawn' : 'Denied'} by ${mention(build.DeniedBy)}`);
  if (build.CancelledBy) lines.push(`Cancelled by ${mention(build.CancelledBy)}`);
  if (build.InstanceID)
    lines.push(`Machine: ${code(build.InstanceID)} · ${instanceTypeOf(build, ctx.config)}${build.InstanceState ? ` (${build.InstanceState})` : ''}`);
  const end = deadlineOf(build, ctx.config);
  if (end && !build.TerminatedAt && !build.CompletionTime) lines.push(`Terminated automatically at ${formatUtcTime(end, ctx.now)}`);
  if (build.ErrorMessage) lines.push(`Error: ${escapeMrkdwn(truncate(build.ErrorMessage, 500))}`);
  lines.push(`Maximum cost ${formatUsd(build.CostMax)} · thread in <#${build.Channel}>`);
  return lines.join('\n');
}

export async function showStatus(deps: BotDeps, buildId?: string): Promise<string> {
  const ctx: ViewContext = { config: deps.config, now: deps.clock.now() };
  if (buildId !== undefined) {
    const build = await deps.store.get(buildId);
    return build ? details(build, ctx) : replies.noBuild(buildId);
  }
  const active = await deps.store.active();
  if (active.length === 0) return replies.noActiveBuilds();
  return [`*Active builds* (${active.length})`, ...active.map((b) => buildLine(b, ctx))].join('\n');
}

export async function listBuilds(deps: BotDeps): Promise<string> {
  const ctx: ViewContext = { config: deps.config, now: deps.clock.now() };
  const recent = await deps.store.recent(RECENT_LIMIT);
  if (recent.length === 0) return replies.noBuildsYet();
  return [`*Recent builds* (newest first)`, ...recent.map((b) => buildLine(b, ctx))].join('\n');
}
