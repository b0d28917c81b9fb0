import type { Build } from '../domain/build';
import type { Config } from '../domain/config';
import { formatUsd } from '../domain/cost';
import type { Machine, Notification } from '../domain/ports';
import { buildDeadline, costSoFar, logGroupName, s3CopyCommand, s3Uri } from '../domain/build-facts';
import { limitsOf } from '../domain/build-choice';
import { formatHours } from './mrkdwn';
import { inertPlainText } from '../domain/inert-text';

// The SNS texts, one per situation the operators are told about (docs/design.md "Messages": started,
// completed, failed, warning, force-terminated, orphan). Plain text: they end up in e-mail.
// The Slack thread says the same things to the team; these are for whoever is on call. What
// the build machine wrote (error message, log lines) is passed through inertPlainText: a mail
// may be forwarded into Slack, where it must not mention anyone or carry a labelled link. It
// comes from domain/inert-text.ts, not the Slack adapter, which a plain-text mail has no use for.

interface Context {
  config: Config;
  now: Date;
}

function facts(build: Build, ctx: Context): string[] {
  const cost = costSoFar(build, ctx);
  return [
    `Build:      ${build.BuildID}`,
    `Branch:     ${build.BuildBranch}${build.BuildCommit ? ` @ ${build.BuildCommit}` : ''}`,
    `Requester:  ${build.Requester}${build.Approver ? ` (approved by ${build.Approver})` : ''}`,
    ...(build.InstanceID ? [`Instance:   ${build.InstanceID} (${build.InstanceType ?? '?'} in ${build.AvailabilityZone ?? '?'})`] : []),
    ...(build.LaunchTime ? [`Launched:   ${build.LaunchTime}`] : []),
    ...(cost !== undefined ? [`Cost so far: ${formatUsd(cost)}`] : []),
  ];
}

const text = (...parts: Array<string | string[]>) => parts.flat().join('\n');

export function startedNotice(build: Build, ctx: Context): Notification {
  const deadline = buildDeadline(build, ctx.config);
  return {
    severity: 'INFO',
    subject: `metal-build ${build.BuildID} started on ${build.InstanceType ?? 'a machine'}`,
    message: text(
      'A metal build machine was launched.',
      '',
      facts(build, ctx),
      ...(deadline ? [`Terminated by the watchdog at ${deadline.toISOString()} unless extended.`] : []),
      `Estimate: ${formatUsd(build.CostEstimate)} expected, ${formatUsd(build.CostMax)} maximum.`,
    ),
    buildId: build.BuildID,
    status: build.Status,
  };
}

export function completedNotice(build: Build, ctx: Context): Notification {
  const uri = build.ArtifactKey ? s3Uri(ctx.config.artifactBucket, build.ArtifactKey) : undefined;
  const download = build.ArtifactKey ? s3CopyCommand(ctx.config.artifactBucket, build.ArtifactKey) : undefined;
  return {
    severity: 'OK',
    subject: `metal-build ${build.BuildID} completed`,
    message: text(
      'The build completed.',
      '',
      facts(build, ctx),
      ...(uri ? [`Artifact:   ${uri}`] : []),
      ...(build.ArtifactBytes !== undefined ? [`Size:       ${build.ArtifactBytes} bytes`] : []),
      ...(build.ArtifactSha256 ? [`SHA-256:    ${build.ArtifactSha256}`] : []),
      ...(build.BuildDurationSeconds !== undefined ? [`Duration:   ${Math.round(build.BuildDurationSeconds / 60)} min`] : []),
      ...(download ? ['', `Download: ${download}`] : []),
    ),
    buildId: build.BuildID,
    status: build.Status,
  };
}

/** Failed for any reason: the runner's failure, no launch possible, stuck. */
export function failedNotice(build: Build, ctx: Context): Notification {
  return {
    severity: 'FAILED',
    subject: `metal-build ${build.BuildID} failed`,
    message: text(
      'The build failed.',
      '',
      facts(build, ctx),
      '',
      build.ErrorMessage !== undefined ? inertPlainText(build.ErrorMessage) : '(no error message)',
      ...(build.LogKey ? ['', `Log: ${s3Uri(ctx.config.artifactBucket, build.LogKey)}`] : []),
      ...(build.InstanceID ? [`CloudWatch log group: ${logGroupName(build.BuildID)}`] : []),
      ...(build.LogTail ? ['', 'Last log lines:', inertPlainText(build.LogTail)] : []),
    ),
    buildId: build.BuildID,
    status: build.Status,
  };
}

export function unexpectedEndNotice(build: Build, ctx: Context): Notification {
  return {
    severity: 'FAILED',
    subject: `metal-build ${build.BuildID}: machine ended unexpectedly`,
    message: text(
      `EC2 reported the machine ${build.InstanceID ?? ''} shutting down before the build reported its end.`,
      'If the build did finish, its late result will still be recorded.',
      '',
      facts(build, ctx),
    ),
    buildId: build.BuildID,
    status: build.Status,
  };
}

export function warningNotice(build: Build, ctx: Context): Notification {
  const deadline = buildDeadline(build, ctx.config);
  return {
    severity: 'WARNING',
    subject: `metal-build ${build.BuildID} is still running`,
    message: text(
      `The machine has run for ${formatHours(limitsOf(build, ctx.config).warnAfterHours)} or more.`,
      ...(deadline ? [`The watchdog terminates it at ${deadline.toISOString()} unless an approver extends it in Slack.`] : []),
      '',
      facts(build, ctx),
    ),
    buildId: build.BuildID,
    status: build.Status,
  };
}

export function forcedNotice(build: Build, ctx: Context): Notification {
  return {
    severity: 'CRITICAL',
    subject: `metal-build ${build.BuildID} force-terminated at its time limit`,
    message: text('The watchdog terminated the machine: it reached its lifetime limit (plus any extensions).', '', facts(build, ctx)),
    buildId: build.BuildID,
    status: build.Status,
  };
}

export type StrayReason = 'orphan' | 'did-not-shut-down';

/** A tagged machine the watchdog terminated: no record, a final record, or a finished build's. */
export function strayMachineNotice(machine: Machine, build: Build | undefined, reason: StrayReason, ctx: Context): Notification {
  const why =
    reason === 'did-not-shut-down'
      ? `The build ended (${build?.Status ?? '?'}) but its machine was still up 15 minutes later.`
      : !build
        ? `The machine carries BuildID=${machine.tags.BuildID ?? '(none)'} but no such build is on record.`
        : build.InstanceID && build.InstanceID !== machine.instanceId
          ? `The build's machine is ${build.InstanceID}; this one is a second machine launched for it.`
          : `The build is ${build.Status}, yet its machine was still up 15 minutes later.`;
  return {
    severity: 'CRITICAL',
    subject: `metal-build: terminated ${reason === 'orphan' ? 'orphan' : 'leftover'} machine ${machine.instanceId}`,
    message: text(
      why,
      'The watchdog terminated it.',
      '',
      `Instance:   ${machine.instanceId} (${machine.instanceType} in ${machine.availabilityZone}, ${machine.state})`,
      `Launched:   ${machine.launchTime}`,
      ...(build ? ['', facts(build, ctx)] : []),
    ),
    buildId: build?.BuildID ?? machine.tags.BuildID ?? 'none',
    status: build?.Status ?? 'missing',
  };
}

/** A vX.Y.Z release withdrawn because what was published was not the build's own OVA. */
export function releaseWithdrawnNotice(
  build: Build,
  m: { version: string; bucket: string; key: string; expected: { bytes: number; sha256: string }; found: { bytes: number; sha256: string } },
): Notification {
  return {
    severity: 'CRITICAL',
    subject: `metal-build ${build.BuildID}: release v${m.version} withdrawn (not its OVA)`,
    message: text(
      `The OVA under builds/ was not the one this build reported, so nothing was published under releases/v${m.version}/.`,
      "Another build's machine may have written it (every build machine may write under builds/).",
      '',
      `File:       ${s3Uri(m.bucket, m.key)}`,
      `Reported:   ${m.expected.bytes} bytes, sha256 ${m.expected.sha256}`,
      `Found:      ${m.found.bytes} bytes, sha256 ${m.found.sha256}`,
    ),
    buildId: build.BuildID,
    status: build.Status,
  };
}
