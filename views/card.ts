import type { Build } from '../domain/build';
import { isRebuildable, isRunning } from '../domain/build';
import type { Config } from '../domain/config';
import type { CostEstimate, CostLine } from '../domain/cost';
import { formatUsd } from '../domain/cost';
import { MIN_HISTORY } from '../domain/expected-duration';
import type { Block } from '../domain/ports';
import { isSelftest } from '../domain/build-kind';
import { selftestLine } from './selftest';
import type { ViewContext } from './status-text';
import { STATUS_EMOJI, STATUS_LABEL, queuePlace, statusLabel } from './status-text';
import { limitHoursOf, limitsOf, requestedTypeOf } from '../domain/build-choice';
import type { OtherType } from '../domain/type-comparison';
import {
  costSoFar,
  costToDeadline,
  extraHoursCost,
  elapsedMs,
  instanceTypeOf,
  isCostFinal,
  lifetimeHoursOf,
  buildDeadline,
  buildQuote,
} from '../domain/build-facts';
import type { BudgetFigures } from '../domain/spend';
import { ACTION_IDS, actions, button } from './buttons';
import { budgetLine } from './spend-messages';
import { code, formatDuration, formatHours, formatUtcTime, mention, nameList, truncate } from './mrkdwn';
import { requestedByText, requesterText } from './requester';

// The card: one channel message per build, updated in place for every status. Its `ts` is the
// build's thread. What a person needs to decide (cost, limits, what else runs) is on it while
// it waits for approval; afterwards it shows where the build is and what it has cost.

export interface CardContext extends ViewContext {
  /** Builds already running, shown while this one awaits approval. */
  running?: Build[];
  /** The month's budget as the card was drawn (MONTHLY_BUDGET_USD set); a redraw without it leaves the line out. */
  budget?: BudgetFigures;
  /** Other allowed types with a history (domain/type-comparison.ts), as the card was drawn. */
  others?: OtherType[];
  /** A queued build: how many wait before it, as the card was drawn. */
  ahead?: number;
}

const HEADER_MAX = 150;

const section = (text: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text } });
const context = (text: string): Block => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });
const field = (label: string, value: string) => ({ type: 'mrkdwn', text: `*${label}*\n${value}` });

/**
 * The expected duration the estimate used, and where it came from: a median of real builds reads
 * differently from a setting. Records from before the history carry neither field.
 */
function expectedDurationText(build: Build, config: Config): string {
  const hours = build.ExpectedHours ?? config.expectedBuildHours;
  const text = formatDuration(Math.round(hours * 60) * 60_000);
  const builds = build.ExpectedFromBuilds ?? 0;
  // People read this on a phone: what the figure is, never the setting behind it.
  if (build.ExpectedHours === undefined || builds === 0) return `${text} — the default until ${MIN_HISTORY} builds of this type have finished`;
  return `${text}, median of the last ${builds} builds`;
}

/** The earlier build, linked when its thread's link was known; its machine's commit as its word. */
function rebuildOfText(build: Build): string {
  const id = build.RebuildOf ?? '';
  const earlier = build.RebuildOfLink ? `<${build.RebuildOfLink}|${id}>` : code(id);
  const reported = build.RebuildOfReportedCommit
    ? ` (it built ${code(build.RebuildOfReportedCommit.slice(0, 12))}, as reported by the build machine; this one builds the branch head)`
    : '';
  return `${earlier}${reported}`;
}

function commitText(build: Build): string {
  if (build.BuildCommit) return code(build.BuildCommit);
  return build.ActualCommit ? `branch head (${code(build.ActualCommit.slice(0, 12))})` : 'branch head';
}

/** Who may approve; `besides` (the first of two approvers) is left out, as is the requester where self-approval is off. */
function approvalRule(build: Build, ctx: ViewContext, besides?: string): string {
  const { approverIds, approverGroupIds, allowSelfApproval } = ctx.config;
  const excluded = new Set([...(besides ? [besides] : []), ...(allowSelfApproval ? [] : [build.Requester])]);
  // The groups as Slack mentions, not their members: the events side draws this card too and
  // never reads the groups, and a group mention stays true when its members change.
  const named = [...approverIds.filter((id) => !excluded.has(id)).map(mention), ...approverGroupIds.map((g) => `members of <!subteam^${g}>`)];
  if (named.length > 0) return `${besides ? 'may still approve' : 'approvers'}: ${nameList(named)}`;
  if (approverIds.length > 0) return 'nobody else on the approver list may approve';
  const others = besides ? `anyone in the channel but ${mention(besides)}` : 'anyone in the channel';
  return allowSelfApproval ? `${others} may approve` : `${others}${besides ? ' and the requester' : ' but the requester'} may approve`;
}

function statusLine(build: Build, ctx: CardContext): string {
  const head = `${STATUS_EMOJI[build.Status]} *${statusLabel(build)}*`;
  switch (build.Status) {
    case 'awaiting_approval':
      // The first of two approvals (SECOND_APPROVAL_ABOVE_USD) is on the card, so nobody clicks twice.
      if (build.FirstApprover)
        return `${head} — 1 of 2 approvals, by ${mention(build.FirstApprover)}; a second approver is needed (${approvalRule(build, ctx, build.FirstApprover)})`;
      if (ctx.config.secondApprovalAboveUsd !== undefined && build.CostMax > ctx.config.secondApprovalAboveUsd)
        return `${head} — needs two approvals (maximum above ${formatUsd(ctx.config.secondApprovalAboveUsd)}); ${approvalRule(build, ctx)}`;
      return `${head} — ${approvalRule(build, ctx)}`;
    case 'queued':
      return `${head} — approved by ${mention(build.Approver ?? 'unknown')}; ${queuePlace(ctx.ahead)}`;
    case 'approved':
      return `${head} by ${mention(build.Approver ?? 'unknown')} — launching the machine`;
    case 'launching':
      return `${head} — the machine is starting`;
    case 'building':
      return build.Phase === 'cloning' ? `${head} — cloning the repository` : head;
    case 'uploading':
      return `${head} — the OVA is on its way to S3`;
    case 'completed':
      return `${head} — the artifact is in the thread`;
    case 'failed':
      // Often the build machine's words: inline code, inert (views/mrkdwn.ts).
      return `${head} — ${code(truncate((build.ErrorMessage ?? 'no message').replace(/\s+/g, ' '), 500))}`;
    case 'terminated':
      return build.TerminationReason === 'forced'
        ? `${head} — reached its limit of ${formatHours(lifetimeHoursOf(build, ctx.config))}`
        : `${head} — the machine ended before the build finished`;
    case 'cancelled':
      return `${head} by ${mention(build.CancelledBy ?? 'unknown')}`;
    case 'rejected':
      return `${head} by ${mention(build.DeniedBy ?? 'unknown')}`;
    case 'expired':
      return build.QueuedAt
        ? `${head} — waited in the queue more than ${formatHours(ctx.config.queueTtlHours)} without a free slot`
        : `${head} — no approval within ${ctx.config.approvalTtlMinutes} minutes`;
  }
}

function costLine(line: CostLine, transferGb: number): string {
  const parts = [`instance ${formatUsd(line.instance)}`, `disk ${formatUsd(line.disk)}`];
  if (transferGb > 0) parts.push(`transfer ${formatUsd(line.transfer)} (${transferGb} GB)`);
  return `• ${line.label[0]?.toUpperCase()}${line.label.slice(1)} (${formatHours(line.hours)}): *${formatUsd(line.total)}* — ${parts.join(' + ')}`;
}

function costSection(estimate: CostEstimate, ctx: ViewContext): Block {
  const { config } = ctx;
  return section(
    [
      `*Cost estimate* — ${estimate.instanceType} at $${Number(estimate.hourlyInstance.toFixed(4))}/h, ` +
        `${config.volumeSizeGb} GB gp3 at $${estimate.hourlyDisk.toFixed(3)}/h`,
      costLine(estimate.expected, config.transferGb),
      costLine(estimate.max, config.transferGb),
      costLine(estimate.maxWithExtensions, config.transferGb),
    ].join('\n'),
  );
}

/** One line per other type the team has built on: its median, this build's expected cost there, the command to try it. */
function otherTypesText(others: readonly OtherType[]): string {
  const lines = others.map(
    (o) =>
      `• ${o.instanceType}: ${formatDuration(Math.round(o.hours * 60) * 60_000)}, median of ${o.fromBuilds} builds; expected *${formatUsd(o.expected)}* · try ${code(o.command)}`,
  );
  return ['*Other types, from this team’s builds*', ...lines].join('\n');
}

function safetySection(build: Build, ctx: ViewContext): Block {
  const { config } = ctx;
  const limits = limitsOf(build, config);
  const expiresAt = new Date(Date.parse(build.CreatedAt) + config.approvalTtlMinutes * 60_000);
  return section(
    [
      '*Safety limits*',
      `• Warning after ${formatHours(limits.warnAfterHours)}; forced termination at ${formatHours(limits.limitHours)}`,
      config.maxExtensionHours > 0 ? `• Approvers can extend by up to ${formatHours(config.maxExtensionHours)} more, 1 h at a time` : '• No extensions',
      `• The machine terminates itself when the build ends`,
      `• This request expires at ${formatUtcTime(expiresAt, ctx.now)} (${config.approvalTtlMinutes} min without approval)`,
    ].join('\n'),
  );
}

/**
 * Says when it was true: the list is read when the card is drawn, and a later redraw without it
 * (ctx.running absent) leaves the line out rather than claim "none".
 */
function runningSection(build: Build, ctx: CardContext): Block | undefined {
  if (ctx.running === undefined) return undefined;
  const others = ctx.running.filter((b) => b.BuildID !== build.BuildID);
  const limit = ctx.config.maxConcurrentBuilds;
  const asOf = `as of ${formatUtcTime(ctx.now, ctx.now)}`;
  if (others.length === 0) return section(`*Builds already running*: none (limit ${limit} at a time; ${asOf})`);
  const count = `${others.length} build${others.length === 1 ? '' : 's'} already running`;
  const lines = others.slice(0, 10).map((b) => `• ${code(b.BuildID)} · ${code(b.BuildBranch)} · ${STATUS_LABEL[b.Status].toLowerCase()} · ${requesterText(b)}`);
  const full = others.length >= limit ? ' — all slots are taken' : '';
  return section([`*${count}* (limit ${limit} at a time${full}; ${asOf})`, ...lines].join('\n'));
}

function progressSection(build: Build, ctx: ViewContext): Block | undefined {
  const lines: string[] = [];
  if (build.Approver && build.ApprovedAt) lines.push(`*Approved by* ${mention(build.Approver)} at ${formatUtcTime(new Date(build.ApprovedAt), ctx.now)}`);
  if (build.InstanceID) {
    const where = [code(build.InstanceID), instanceTypeOf(build, ctx.config), build.AvailabilityZone].filter(Boolean);
    lines.push(`*Machine* ${where.join(' · ')}${build.InstanceState ? ` (${build.InstanceState})` : ''}`);
  }
  const elapsed = elapsedMs(build, ctx);
  const cost = costSoFar(build, ctx);
  if (elapsed !== undefined && cost !== undefined) {
    const costLabel = isCostFinal(build) ? 'cost' : 'cost so far';
    lines.push(`*Elapsed* ${formatDuration(elapsed)} · *${costLabel}* ${formatUsd(cost)}`);
  }
  const end = buildDeadline(build, ctx.config);
  if (end && isRunning(build.Status))
    lines.push(`*Terminated automatically at* ${formatUtcTime(end, ctx.now)} (${formatHours(lifetimeHoursOf(build, ctx.config))} limit)`);
  return lines.length > 0 ? section(lines.join('\n')) : undefined;
}

function approveConfirmText(build: Build, estimate: CostEstimate | undefined, ctx: ViewContext): string {
  const { config } = ctx;
  const max = estimate ? formatUsd(estimate.max.total) : formatUsd(build.CostMax);
  const withExtensions = estimate ? formatUsd(estimate.maxWithExtensions.total) : max;
  const limit = limitHoursOf(build, config);
  return (
    `Launches a ${requestedTypeOf(build, config)} in ${config.region}. Maximum cost ${max} ` +
    `(${formatHours(limit)} limit); maximum with extensions ${withExtensions} ` +
    `(${formatHours(limit + config.maxExtensionHours)}).`
  );
}

/**
 * Cancel's confirm states the money: before launch that nothing was spent; afterwards the cost
 * so far and what stopping now saves against running to the current deadline.
 */
export function cancelButton(build: Build, ctx: ViewContext): Block {
  const cost = costSoFar(build, ctx);
  const atDeadline = costToDeadline(build, ctx.config);
  const end = buildDeadline(build, ctx.config);
  let text: string;
  if (!build.InstanceID) text = 'No machine has been launched yet, so nothing has been spent; the build will not start.';
  else if (cost === undefined) text = `Terminates ${build.InstanceID} and stops the build.`;
  else if (atDeadline !== undefined && end && atDeadline > cost)
    text =
      `Terminates ${build.InstanceID} and stops the build. It has cost ${formatUsd(cost)} so far; stopping now saves up to ` +
      `${formatUsd(atDeadline - cost)} (${formatUsd(atDeadline)} if it runs to ${formatUtcTime(end, ctx.now)}).`;
  else text = `Terminates ${build.InstanceID} and stops the build. It has cost ${formatUsd(cost)} so far.`;
  return button(ACTION_IDS.cancel, 'Cancel build', build.BuildID, {
    style: 'danger',
    confirm: { title: 'Cancel this build?', text, confirm: 'Cancel build', deny: 'Keep it' },
  });
}

/** Extend's confirm states the hour and its price, and the deadline it moves to. */
export function extendButton(build: Build, ctx: ViewContext, hours: number): Block {
  const end = buildDeadline(build, ctx.config);
  const newEnd = end ? new Date(end.getTime() + hours * 3600_000) : undefined;
  const text = [
    `Add ${formatHours(hours)} (up to ${formatUsd(extraHoursCost(build, ctx.config, hours))} more)?`,
    newEnd
      ? `The machine is then terminated at ${formatUtcTime(newEnd, ctx.now)} (${formatHours(lifetimeHoursOf(build, ctx.config) + hours)} limit).`
      : undefined,
  ]
    .filter(Boolean)
    .join(' ');
  return button(ACTION_IDS.extend, `Extend ${formatHours(hours)}`, build.BuildID, {
    style: 'primary',
    confirm: { title: `Extend by ${formatHours(hours)}?`, text, confirm: `Add ${formatHours(hours)}`, deny: 'Back' },
  });
}

function cardActions(build: Build, estimate: CostEstimate | undefined, ctx: ViewContext): Block | undefined {
  if (build.Status === 'awaiting_approval')
    return actions('build_actions', [
      button(ACTION_IDS.approve, 'Approve', build.BuildID, {
        style: 'primary',
        confirm: {
          title: `Approve up to ${estimate ? formatUsd(estimate.max.total) : formatUsd(build.CostMax)}?`,
          text: approveConfirmText(build, estimate, ctx),
          confirm: 'Approve and launch',
          deny: 'Back',
        },
      }),
      button(ACTION_IDS.deny, 'Deny', build.BuildID, { style: 'danger' }),
    ]);
  if (build.Status === 'queued' || build.Status === 'approved' || isRunning(build.Status)) return actions('build_actions', [cancelButton(build, ctx)]);
  // Once rebuilt, the card links the new request instead: one rebuild per build.
  if (isRebuildable(build.Status) && !build.RebuiltAs) return actions('build_actions', [button(ACTION_IDS.rebuild, 'Rebuild', build.BuildID)]);
  return undefined;
}

function fallbackText(build: Build, estimate: CostEstimate | undefined, ctx: ViewContext): string {
  const what = `metal-build ${build.BuildBranch}${build.BuildCommit ? ` @ ${build.BuildCommit}` : ''} (${build.BuildID})`;
  const status = `${STATUS_EMOJI[build.Status]} ${statusLabel(build).toLowerCase()}`;
  if (build.Status === 'awaiting_approval') {
    const expected = formatUsd(estimate?.expected.total ?? build.CostEstimate);
    const max = formatUsd(estimate?.max.total ?? build.CostMax);
    return `${what}: ${status}, expected ${expected}, maximum ${max}`;
  }
  const cost = costSoFar(build, ctx);
  const costText = cost === undefined ? '' : `, ${isCostFinal(build) ? 'cost' : 'cost so far'} ${formatUsd(cost)}`;
  return `${what}: ${status}${costText}`;
}

/** The card's text once its build could not be recorded: no Approve button for a build that does not exist. */
export function unrecordedCardText(buildId: string): string {
  return `${buildId} could not be recorded; request it again.`;
}

export function buildCard(build: Build, ctx: CardContext): { text: string; blocks: Block[] } {
  // A self-test has no card: its line is redrawn in its place.
  if (isSelftest(build)) return selftestLine(build, ctx);
  const { config } = ctx;
  const estimate = buildQuote(build, config);
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(`metal-build · ${build.BuildBranch}`, HEADER_MAX), emoji: true } },
    section(statusLine(build, ctx)),
    {
      type: 'section',
      fields: [
        field('Branch', code(build.BuildBranch)),
        field('Commit', commitText(build)),
        field('Requested by', requestedByText(build, ctx.config.githubRepository)),
        field('Instance type', instanceTypeOf(build, config)),
        field('Region', config.region),
        field('Disk', `${config.volumeSizeGb} GB gp3`),
        field('Expected duration', expectedDurationText(build, config)),
        ...(build.RebuildOf ? [field('Rebuild of', rebuildOfText(build))] : []),
      ],
    },
  ];
  if (build.Status === 'awaiting_approval') {
    blocks.push({ type: 'divider' });
    blocks.push(estimate ? costSection(estimate, ctx) : section(`*Cost estimate*: maximum ${formatUsd(build.CostMax)}`));
    blocks.push(safetySection(build, ctx));
    if (ctx.others && ctx.others.length > 0) blocks.push(section(otherTypesText(ctx.others)));
    const running = runningSection(build, ctx);
    if (running) blocks.push(running);
    if (ctx.budget) blocks.push(section(budgetLine(ctx.budget)));
  } else {
    const progress = progressSection(build, ctx);
    if (progress) blocks.push(progress);
  }
  const buttons = cardActions(build, estimate, ctx);
  if (buttons) blocks.push(buttons);
  const rebuilt = build.RebuiltAs ? ` · rebuilt as ${code(build.RebuiltAs)}` : '';
  blocks.push(context(`${code(build.BuildID)} · requested ${formatUtcTime(new Date(build.CreatedAt), ctx.now)}${rebuilt}`));
  return { text: fallbackText(build, estimate, ctx), blocks };
}
