import type { Build } from '../domain/build';
import { consoleLink, instanceUrl, logGroupUrl, s3ObjectUrl } from './console-links';
import { formatUsd } from '../domain/cost';
import type { Block, LogLine } from '../domain/ports';
import type { ExpectedDuration } from '../domain/expected-duration';
import type { ViewContext } from './status-text';
import { STATUS_EMOJI } from './status-text';
import {
  commandFor,
  costSoFar,
  elapsedMs,
  extraHoursCost,
  instanceTypeOf,
  isCostFinal,
  lifetimeHoursOf,
  buildDeadline,
  logGroupName,
  endedAt,
  isWithdrawn,
  s3CopyCommand,
  s3Uri,
} from '../domain/build-facts';
import { EXTENSION_HOURS } from '../domain/lifetime';
import { isSelftest } from '../domain/build-kind';
import { selftestCents, selftestThreadMessage } from './selftest';
import { actions, showLogButton } from './buttons';
import { cancelButton, extendButton } from './card';
import { expectedText, logSection, phaseText } from './progress';
import { code, codeBlock, formatDuration, formatGb, formatHours, formatUtcTime, mention, truncate } from './mrkdwn';
import { requesterText } from './requester';

// One reply in the card's thread per status change (docs/design.md "Messages"). The endings a
// requester must not miss are broadcast to the channel and mention them. What the build machine
// wrote (its error message, its log) is untrusted text: it only ever appears inside code, made
// inert (views/mrkdwn.ts), so it can neither mention anyone nor plant a link.

/**
 * A thread message's drawing context; `logLines`: the log's newest lines, read for a forced or
 * unexpected end (undefined: not read or unreadable).
 */
export type ThreadContext = ViewContext & { logLines?: readonly LogLine[] };

export interface ThreadMessage {
  text: string;
  blocks?: Block[];
  broadcast: boolean;
}

/** Slack refuses a section whose text is longer. */
export const SECTION_TEXT_MAX = 3000;

const section = (text: string): Block => ({ type: 'section', text: { type: 'mrkdwn', text: truncate(text, SECTION_TEXT_MAX) } });
const context = (text: string): Block => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

/** The Show log button (its own block), for a message about a build that has a machine. */
const logActions = (build: Build): Block[] => (build.InstanceID ? [actions('log_actions', [showLogButton(build.BuildID)])] : []);

/** A quiet message with the Show log button under it. */
const withLogButton = (build: Build, text: string): ThreadMessage => ({ text, blocks: [section(text), ...logActions(build)], broadcast: false });

const ref = (build: Build) => `${code(build.BuildID)} (${code(build.BuildBranch)})`;

/** The cost in a final status's message: no message about an ended build says "so far". */
function costText(build: Build, ctx: ViewContext): string | undefined {
  const cost = costSoFar(build, ctx);
  if (cost === undefined) return undefined;
  return isCostFinal(build) ? `Cost ${formatUsd(cost)}, final.` : `Cost about ${formatUsd(cost)}; final when EC2 reports the machine's end.`;
}

const sentences = (...parts: Array<string | undefined | false>) => parts.filter(Boolean).join(' ');

function completed(build: Build, ctx: ViewContext): ThreadMessage {
  const { config } = ctx;
  const seconds = build.BuildDurationSeconds;
  const duration = seconds !== undefined ? seconds * 1000 : elapsedMs(build, ctx);
  const headline = sentences(
    `${STATUS_EMOJI.completed} ${requesterText(build)} build ${ref(build)} *completed*`,
    `${duration !== undefined ? `in ${formatDuration(duration)} ` : ''}on ${instanceTypeOf(build, config)}.`,
  );
  const blocks: Block[] = [section(headline)];
  let download: string | undefined;
  if (build.ArtifactKey) {
    const uri = s3Uri(config.artifactBucket, build.ArtifactKey);
    download = s3CopyCommand(config.artifactBucket, build.ArtifactKey);
    const facts = [
      `*Artifact* ${code(uri)}${build.ArtifactBytes !== undefined ? ` (${formatGb(build.ArtifactBytes)})` : ''} · ${consoleLink(s3ObjectUrl(config.region, config.artifactBucket, build.ArtifactKey))}`,
      build.ArtifactSha256 ? `*SHA-256* ${code(build.ArtifactSha256)}` : undefined,
      build.ActualCommit ? `*Commit* ${code(build.ActualCommit)}` : undefined,
    ];
    blocks.push(section(facts.filter(Boolean).join('\n')));
    if (download) blocks.push(section(`*Download*\n${codeBlock(download, SECTION_TEXT_MAX - 20)}`));
  } else {
    blocks.push(section('The runner reported no artifact.'));
  }
  const cost = costText(build, ctx);
  if (cost) blocks.push(context(cost));
  const text = sentences(headline, download ? `Download: ${code(download)}` : undefined, cost);
  return { text, blocks, broadcast: true };
}

function failed(build: Build, ctx: ViewContext): ThreadMessage {
  const { config } = ctx;
  const error = build.ErrorMessage ?? 'The build failed (no message).';
  const headline = `${STATUS_EMOJI.failed} ${requesterText(build)} build ${ref(build)} *failed*:`;
  const blocks: Block[] = [section(`${headline}\n${codeBlock(truncate(error, 1500), SECTION_TEXT_MAX - headline.length - 1)}`)];
  if (build.LogTail) {
    const title = '*Last log lines*\n';
    blocks.push(section(title + codeBlock(build.LogTail, SECTION_TEXT_MAX - title.length)));
  }
  const logCommand = build.LogKey ? s3CopyCommand(config.artifactBucket, build.LogKey) : undefined;
  const where = [
    logCommand ? `*Full log* ${code(logCommand)}` : undefined,
    build.InstanceID ? `*CloudWatch Logs* group ${code(logGroupName(build.BuildID))} · ${consoleLink(logGroupUrl(config.region, build.BuildID))}` : undefined,
  ].filter(Boolean);
  if (where.length > 0) blocks.push(section(where.join('\n')));
  blocks.push(...logActions(build));
  const cost = costText(build, ctx);
  if (cost) blocks.push(context(cost));
  // One line in notifications: the error inline, as code, its line breaks as spaces.
  const text = `${STATUS_EMOJI.failed} ${requesterText(build)} metal-build ${code(build.BuildID)} (${code(build.BuildBranch)}) failed: ${code(truncate(error.replace(/\s+/g, ' '), 300))}`;
  return { text, blocks, broadcast: true };
}

function terminated(build: Build, ctx: ThreadContext): ThreadMessage {
  const why =
    build.TerminationReason === 'forced'
      ? `it reached its limit of ${formatHours(lifetimeHoursOf(build, ctx.config))}.`
      : build.TerminationReason === 'unexpected' || build.TerminationReason === undefined
        ? `the machine${build.InstanceID ? ` ${code(build.InstanceID)}` : ''} shut down or was terminated outside metal-build before the build finished.`
        : `reason: ${build.TerminationReason}.`;
  const logs = build.InstanceID
    ? `Logs: CloudWatch group ${code(logGroupName(build.BuildID))} (${consoleLink(logGroupUrl(ctx.config.region, build.BuildID))}).`
    : undefined;
  // A forced or unexpected end: how far it got, and the log's last words.
  const endedEarly = build.TerminationReason === 'forced' || build.TerminationReason === 'unexpected' || build.TerminationReason === undefined;
  const end = endedAt(build) ?? ctx.now;
  const progress = endedEarly && build.InstanceID ? `It was in ${phaseText(build, ctx, end)}.` : undefined;
  const text = sentences(
    `${STATUS_EMOJI.terminated} ${requesterText(build)} build ${ref(build)} was *terminated*: ${why}`,
    progress,
    costText(build, ctx),
    logs,
  );
  const blocks = [section(text)];
  if (progress && ctx.logLines !== undefined) blocks.push(section(logSection(ctx.logLines, ctx, SECTION_TEXT_MAX)));
  return { text, blocks: [...blocks, ...logActions(build)], broadcast: true };
}

/** The thread reply for the build's current status. */
export function threadMessage(build: Build, ctx: ThreadContext): ThreadMessage {
  const { config } = ctx;
  const selftest = isSelftest(build) ? selftestThreadMessage(build, ctx) : undefined;
  if (selftest) return selftest;
  const quiet = (text: string): ThreadMessage => ({ text, broadcast: false });
  switch (build.Status) {
    case 'awaiting_approval':
      return quiet(`${STATUS_EMOJI.awaiting_approval} Waiting for approval.`);
    case 'queued':
      return quiet(
        `${STATUS_EMOJI.queued} Approved by ${mention(build.Approver ?? 'unknown')} while every slot is taken: queued; it launches when a slot frees, in approval order, or expires after ${formatHours(config.queueTtlHours)}.`,
      );
    case 'approved':
      return quiet(
        build.DequeuedAt
          ? `${STATUS_EMOJI.approved} A slot is free: launching a ${instanceTypeOf(build, config)} in ${config.region}…`
          : `${STATUS_EMOJI.approved} Approved by ${mention(build.Approver ?? 'unknown')}. Launching a ${instanceTypeOf(build, config)} in ${config.region}…`,
      );
    case 'launching': {
      const end = buildDeadline(build, config);
      return quiet(
        sentences(
          `${STATUS_EMOJI.launching} Machine ${code(build.InstanceID ?? 'unknown')} (${instanceTypeOf(build, config)}) is starting${build.AvailabilityZone ? ` in ${build.AvailabilityZone}` : ''}` +
            (build.InstanceID ? ` (${consoleLink(instanceUrl(config.region, build.InstanceID))}).` : '.'),
          end && `If it is still running at ${formatUtcTime(end, ctx.now)} (${formatHours(lifetimeHoursOf(build, config))}), it is terminated.`,
        ),
      );
    }
    case 'building': {
      const commit = build.ActualCommit ?? build.BuildCommit;
      return withLogButton(
        build,
        `${STATUS_EMOJI.building} Building ${commit ? `commit ${code(commit)}` : 'the branch head'} of ${code(build.BuildBranch)}. ` +
          `Live log: CloudWatch group ${code(logGroupName(build.BuildID))} (${consoleLink(logGroupUrl(config.region, build.BuildID))}).`,
      );
    }
    case 'uploading':
      return withLogButton(build, `${STATUS_EMOJI.uploading} Build finished; uploading the OVA to ${code(s3Uri(config.artifactBucket, ''))}…`);
    case 'completed':
      return completed(build, ctx);
    case 'failed':
      return failed(build, ctx);
    case 'terminated':
      return terminated(build, ctx);
    case 'cancelled':
      return quiet(
        sentences(
          `${STATUS_EMOJI.cancelled} Cancelled by ${mention(build.CancelledBy ?? 'unknown')}.`,
          build.InstanceID ? `Machine ${code(build.InstanceID)} is being terminated.` : 'No machine was launched.',
          build.InstanceID ? costText(build, ctx) : undefined,
        ),
      );
    case 'rejected':
      return quiet(
        `${STATUS_EMOJI.rejected} ${isWithdrawn(build) ? 'Withdrawn' : 'Denied'} by ${mention(build.DeniedBy ?? 'unknown')}. No machine was launched.`,
      );
    case 'expired':
      return {
        text:
          `${STATUS_EMOJI.expired} ${requesterText(build)} build request ${ref(build)} *expired*: ` +
          (build.QueuedAt
            ? `it waited in the queue for a slot more than ${formatHours(config.queueTtlHours)}; no machine was launched and its budget hold is given back.`
            : `no approval within ${config.approvalTtlMinutes} minutes.`) +
          ` To ask again: ${code(commandFor(build))}`,
        broadcast: true,
      };
  }
}

/**
 * The watchdog's warning: the machine nears its limit; extend or cancel. Rendered again, and
 * the message edited in place (WarningTs), after every extension: deadline, extensions left and
 * the buttons always say what is true now (no Extend once none are left).
 */
export interface WarningContext extends ViewContext {
  deadline: Date;
  /** The log's newest lines (WARNING_LOG_LINES); undefined: could not be read. */
  logLines?: readonly LogLine[];
  /** This type's history (domain/expected-duration.ts); undefined or the fallback: not known. */
  expected?: ExpectedDuration;
}

export function warningMessage(build: Build, ctx: WarningContext): { text: string; blocks: Block[]; broadcast: true } {
  const { config } = ctx;
  const elapsed = elapsedMs(build, ctx);
  const cost = costSoFar(build, ctx);
  const extended = build.ExtendedHours ?? 0;
  const left = Math.max(0, config.maxExtensionHours - extended);
  const text = sentences(
    `⚠️ ${requesterText(build)} build ${ref(build)}`,
    elapsed !== undefined ? `has run ${formatDuration(elapsed)};` : 'is still running;',
    `it will be terminated at ${formatUtcTime(ctx.deadline, ctx.now)} (in ${formatDuration(ctx.deadline.getTime() - ctx.now.getTime())}) unless extended.`,
    extended > 0 ? `Extended by ${formatHours(extended)} so far.` : undefined,
    cost !== undefined ? `Cost so far ${formatUsd(cost)}.` : undefined,
  );
  // How far it got, so Extend is not a guess.
  const progress = sentences(`*Now:* ${phaseText(build, ctx)}.`, expectedText(build, ctx.expected, ctx));
  const buttons: Block[] = [];
  if (left > 0) buttons.push(extendButton(build, ctx, EXTENSION_HOURS));
  buttons.push(cancelButton(build, ctx));
  if (build.InstanceID) buttons.push(showLogButton(build.BuildID));
  const newEnd = new Date(ctx.deadline.getTime() + EXTENSION_HOURS * 3600_000);
  const extendText =
    left > 0
      ? `Extend adds ${formatHours(EXTENSION_HOURS)} for up to ${formatUsd(extraHoursCost(build, config, EXTENSION_HOURS))}: terminated then at ${formatUtcTime(newEnd, ctx.now)}. ` +
        `Extensions left: ${formatHours(left)} (1 h per click, approvers only).`
      : 'No extensions left.';
  const blocks: Block[] = [
    section(text),
    section(progress),
    ...(build.InstanceID ? [section(logSection(ctx.logLines, ctx, SECTION_TEXT_MAX))] : []),
    actions('warning_actions', buttons),
    context(extendText),
  ];
  return { text: sentences(text, progress.replace('*Now:*', 'Now:')), blocks, broadcast: true };
}

/** How a build ended, in one line: "Ended: completed at 02:20 UTC." */
export function endedLine(build: Build, ctx: ViewContext): string {
  const when = endedAt(build);
  const at = when ? ` at ${formatUtcTime(when, ctx.now)}` : '';
  switch (build.Status) {
    case 'terminated':
      return build.TerminationReason === 'forced'
        ? `Ended: terminated at its deadline${at}.`
        : `Ended: terminated${at}; the machine ended before the build finished.`;
    case 'cancelled':
      return `Ended: cancelled by ${mention(build.CancelledBy ?? 'unknown')}${at}.`;
    default:
      return `Ended: ${build.Status}${at}.`;
  }
}

/** The warning once the build has ended: every button gone, one line saying how it ended. */
export function warningEndedMessage(build: Build, ctx: ViewContext): { text: string; blocks: Block[] } {
  const line = endedLine(build, ctx);
  const head = `⚠️ Build ${ref(build)} neared its time limit.`;
  return { text: `${head} ${line}`, blocks: [section(head), section(line)] };
}

/**
 * The one reply that brings the final cost to a thread whose final status message went out
 * before EC2 reported the machine's end: the card shows the same ActualCost.
 */
export function finalCostMessage(build: Build, ctx: ViewContext): string {
  if (isSelftest(build)) return `💵 Final cost: ${selftestCents(build, ctx) ?? formatUsd(build.ActualCost ?? 0)}.`;
  const elapsed = elapsedMs(build, ctx);
  const machine = instanceTypeOf(build, ctx.config);
  return `💵 Final cost: ${formatUsd(build.ActualCost ?? 0)}${elapsed !== undefined ? ` (${formatDuration(elapsed)} of ${machine})` : ''}.`;
}
