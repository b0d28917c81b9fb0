import type { Build } from '../domain/build';
import type { Block } from '../domain/ports';
import type { ApproverNames } from '../domain/approver-names';
import { instanceTypeOf } from '../domain/build-facts';
import { exactCostOf } from '../domain/build-cost';
import type { SelftestCheckName } from '../domain/selftest-check';
import type { ViewContext } from './status-text';
import { STATUS_EMOJI, statusLabel } from './status-text';
import { code, formatDuration, formatUtcTime, inertMrkdwn, mention, truncate } from './mrkdwn';
import { approverList } from './replies';

// `/metal-build selftest` (docs/design.md "Self-test"): no card, one line in the channel, redrawn
// in place at each status like a card, and its thread.

/** The self-test's line: the parent of its thread, where a build has its card. */
export function selftestLine(build: Build, ctx: ViewContext): { text: string; blocks: Block[] } {
  const text =
    `🧪 Self-test ${code(build.BuildID)} by ${mention(build.Requester)} on a ${instanceTypeOf(build, ctx.config)} in ${ctx.config.region}: ` +
    `${STATUS_EMOJI[build.Status]} ${statusLabel(build).toLowerCase()}`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

/** The answer to the approver who asked. */
export const selftestStarted = (buildId: string, queued: boolean): string =>
  queued ? `Self-test ${buildId} is queued: every slot is taken; it launches when one frees.` : `Self-test ${buildId} started; its thread follows it.`;

export const selftestNotRebuilt = (buildId: string): string => `${buildId} is a self-test, which is not rebuilt: run \`/metal-build selftest\` again.`;

export const selftestNotAnApprover = (names: ApproverNames): string =>
  names.groupsUnread && names.userIds.length === 0
    ? ':no_entry: The approver list could not be read from Slack just now, so nobody can run a self-test. Try again in a minute; nothing was changed.'
    : `:no_entry: Only approvers can run a self-test: ${approverList(names)}. Nothing was changed.`;

const CHECK_LABEL: Readonly<Record<SelftestCheckName, string>> = {
  kvm: 'KVM',
  'github-token': 'GitHub token',
  repository: 'Repository',
  s3: 'S3',
  logs: 'CloudWatch Logs',
};

/** One check's line: the machine's detail is outside text, one line, inert. */
const checkLine = (ok: boolean, label: string, detail: string) =>
  `${ok ? '✓' : '✗'} *${label}* — ${inertMrkdwn(truncate(detail.replace(/\s+/g, ' ').trim(), 300))}`;

/** What the handlers saw for themselves, before the machine's word: the launch, the events, the schedule. */
function loopLines(build: Build, ctx: ViewContext): string[] {
  const disk = build.RootVolumeGb !== undefined ? `, the builder AMI's ${build.RootVolumeGb} GB disk` : '';
  return [
    checkLine(
      build.InstanceID !== undefined,
      'Launch',
      `${build.InstanceID ?? 'no machine'} (${instanceTypeOf(build, ctx.config)}${build.AvailabilityZone ? ` in ${build.AvailabilityZone}` : ''}${disk}): the launch template, the launch role and the user data`,
    ),
    checkLine(true, 'Events', "every phase came with the build's event token"),
    checkLine(
      build.ScheduleAt !== undefined,
      'Deadline schedule',
      build.ScheduleAt === undefined
        ? 'none was recorded for this machine'
        : `set at launch for ${formatUtcTime(new Date(build.ScheduleAt), ctx.now)}; ${build.TerminatedAt ? 'removed when the machine ended' : 'removed when the machine ends'}`,
    ),
  ];
}

/** What it cost, in cents with two decimals: a self-test costs a fraction of one. */
export function selftestCents(build: Build, ctx: ViewContext): string | undefined {
  const end = build.TerminatedAt ?? build.CompletionTime ?? ctx.now.toISOString();
  const cost = exactCostOf(build, ctx.config, end);
  return cost === undefined ? undefined : `${(cost * 100).toFixed(2)}¢`;
}

function selftestCostText(build: Build, ctx: ViewContext): string | undefined {
  const cents = selftestCents(build, ctx);
  if (cents === undefined) return undefined;
  return build.TerminatedAt ? `${cents}, final` : `about ${cents} so far, final when EC2 reports the machine's end`;
}

/** The self-test's messages where a build's would speak of a clone, a Packer build or an OVA. */
export function selftestThreadMessage(build: Build, ctx: ViewContext): { text: string; blocks?: Block[]; broadcast: boolean } | undefined {
  const quiet = (text: string) => ({ text, broadcast: false });
  switch (build.Status) {
    case 'building':
      return quiet(`${STATUS_EMOJI.building} The runner started its checks (no build).`);
    case 'uploading':
      return quiet(`${STATUS_EMOJI.uploading} Writing its object under ${code(`builds/${build.BuildID}/selftest/`)}…`);
    case 'completed':
    case 'failed':
      return finished(build, ctx);
    default:
      return undefined;
  }
}

function finished(build: Build, ctx: ViewContext): { text: string; blocks: Block[]; broadcast: boolean } {
  const checks = build.SelftestChecks ?? [];
  const lines = [...(build.Status === 'completed' ? loopLines(build, ctx) : []), ...checks.map((c) => checkLine(c.ok, CHECK_LABEL[c.name], c.detail))];
  const failedChecks = lines.filter((l) => l.startsWith('✗')).length;
  const seconds = build.BuildDurationSeconds;
  const took = seconds !== undefined ? formatDuration(seconds * 1000) : undefined;
  const cost = selftestCostText(build, ctx);
  const outcome =
    build.Status === 'failed'
      ? `*failed*: ${code(truncate((build.ErrorMessage ?? 'no message').replace(/\s+/g, ' '), 300))}`
      : failedChecks === 0
        ? '*passed*: the loop works'
        : `*completed with ${failedChecks} failed check${failedChecks === 1 ? '' : 's'}*`;
  const headline = `${build.Status === 'completed' && failedChecks === 0 ? STATUS_EMOJI.completed : STATUS_EMOJI.failed} ${mention(build.Requester)} self-test ${code(build.BuildID)} ${outcome}`;
  const facts = [took && `Took ${took}`, cost && `cost ${cost}`, build.ActualCommit && `HEAD was ${code(build.ActualCommit)}`].filter(Boolean).join(' · ');
  const body = [headline, ...lines, ...(facts ? [facts] : [])].join('\n');
  return { text: body, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: truncate(body, 3000) } }], broadcast: false };
}
