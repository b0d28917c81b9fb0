import type { Build } from './build';
import type { Config } from './config';
import type { CostEstimate } from './cost';
import { costOf } from './build-cost';
import { estimate, hourlyDiskPrice, hourlyPrice, usd } from './cost';
import { deadlineOf, lifetimeHours } from './lifetime';
import { limitHoursOf, requestedTypeOf } from './build-choice';

// What can be said of a build beyond its stored attributes: figures derived from the record, the
// configuration and the time the caller passes in. The card, the thread, the SNS texts, the
// machine's user data and the bot's pricing all read them here, none through the Slack adapter.

export interface FactsContext {
  config: Config;
  now: Date;
}

/** The machine's type once launched; before, the one the request chose. */
export function instanceTypeOf(build: Build, config: Config): string {
  return build.InstanceType ?? requestedTypeOf(build, config);
}

export interface QuoteOptions {
  /** The configured INSTANCE_TYPE unless given. */
  instanceType?: string;
  /** The expected line's hours (the record's ExpectedHours, domain/expected-duration.ts); EXPECTED_BUILD_HOURS unless given. */
  expectedHours?: number;
  /** The maximum's hours (the record's LimitHours); MAX_LIFETIME_HOURS unless given. */
  limitHours?: number;
}

/** The quote for a machine; undefined only when no price is known. */
export function quote(config: Config, options: QuoteOptions = {}): CostEstimate | undefined {
  const limitHours = options.limitHours ?? config.maxLifetimeHours;
  const r = estimate({
    instanceType: options.instanceType ?? config.instanceType,
    volumeGb: config.volumeSizeGb,
    // A build cannot be expected to outlive its limit: `hours=1` expects at most 1 h.
    expectedHours: Math.min(options.expectedHours ?? config.expectedBuildHours, limitHours),
    maxLifetimeHours: limitHours,
    maxExtensionHours: config.maxExtensionHours,
    transferGb: config.transferGb,
    priceOverrides: config.priceOverrides,
  });
  return r.ok ? r.estimate : undefined;
}

/** The quote for this build's own choice (or `instanceType`, a fallback), its limit and expected duration. */
export function buildQuote(
  build: Pick<Build, 'RequestedType' | 'LimitHours' | 'ExpectedHours'>,
  config: Config,
  instanceType?: string,
): CostEstimate | undefined {
  return quote(config, {
    instanceType: instanceType ?? requestedTypeOf(build, config),
    limitHours: limitHoursOf(build, config),
    ...(build.ExpectedHours !== undefined ? { expectedHours: build.ExpectedHours } : {}),
  });
}

/** The most a machine launched for an approval of `approvedMax` may cost: FALLBACK_MAX_OVERRUN_PERCENT above it. */
export function overrunAllowance(config: Pick<Config, 'fallbackMaxOverrunPercent'>, approvedMax: number): number {
  return approvedMax * (1 + config.fallbackMaxOverrunPercent / 100);
}

/**
 * What a launch for this approval may really spend (docs/design.md "Spend control"): the
 * maximum of the costliest type the launch may choose, the build's type or a fallback within the
 * overrun allowance, for the build's limit. The budget holds this, not the first type's maximum.
 */
export function launchableMax(config: Config, build: Pick<Build, 'RequestedType' | 'LimitHours' | 'ExpectedHours'>, approvedMax: number): number {
  const allowed = overrunAllowance(config, approvedMax);
  let most = approvedMax;
  for (const instanceType of config.fallbackInstanceTypes) {
    const max = buildQuote(build, config, instanceType)?.max.total;
    if (max !== undefined && max <= allowed && max > most) most = max;
  }
  return usd(most);
}

/** What pricing a build needs of the configuration: its prices and, for a deadline, the limit. */
export type CostConfig = Pick<Config, 'instanceType' | 'volumeSizeGb' | 'priceOverrides' | 'maxLifetimeHours'>;

/** ActualCost once EC2 reported the end; until then instance + disk from LaunchTime to now. */
export function costSoFar(build: Build, ctx: { config: CostConfig; now: Date }): number | undefined {
  if (build.ActualCost !== undefined) return build.ActualCost;
  return costOf(build, ctx.config, build.TerminatedAt ?? ctx.now.toISOString());
}

/** What `hours` more of this build's machine and disk cost at most (an Extend's price). */
export function extraHoursCost(build: Build, config: Config, hours: number): number {
  const hourly = hourlyPrice(instanceTypeOf(build, config), config.priceOverrides) ?? hourlyPrice(config.instanceType, config.priceOverrides) ?? 0;
  return usd(hours * (hourly + hourlyDiskPrice(config.volumeSizeGb)));
}

/** The build's deadline (lifetime.ts `deadlineOf`) by its own limit. */
export function buildDeadline(
  build: Pick<Build, 'DeadlineAt' | 'LaunchTime' | 'ExtendedHours' | 'LimitHours'>,
  config: Pick<Config, 'maxLifetimeHours'>,
): Date | undefined {
  return deadlineOf(build, { limitHours: limitHoursOf(build, config) });
}

/** What the build costs if it runs to its current deadline (extensions so far counted). */
export function costToDeadline(build: Build, config: CostConfig): number | undefined {
  const end = buildDeadline(build, config);
  return end ? costOf(build, config, end.toISOString()) : undefined;
}

/** When the build ended: CompletionTime (the final status's), else the machine's end. */
export function endedAt(build: Build): Date | undefined {
  const at = build.CompletionTime ?? build.TerminatedAt;
  return at ? new Date(at) : undefined;
}

/** The machine is gone: the cost no longer grows. */
export function isCostFinal(build: Build): boolean {
  return build.ActualCost !== undefined || build.TerminatedAt !== undefined;
}

/** Machine time so far: from LaunchTime to its end, the build's end, or now. */
export function elapsedMs(build: Build, ctx: FactsContext): number | undefined {
  if (!build.LaunchTime) return undefined;
  const end = build.TerminatedAt ?? build.CompletionTime ?? ctx.now.toISOString();
  return Date.parse(end) - Date.parse(build.LaunchTime);
}

/** The build's limit with the extensions so far. */
export function lifetimeHoursOf(build: Build, config: Config): number {
  return lifetimeHours({ limitHours: limitHoursOf(build, config) }, build.ExtendedHours);
}

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

// What a bucket name and a key of docs/design.md's layout can contain. A key is the machine's
// word until domain/artifact-layout.ts checked it; a record written before that check may hold
// anything, so the command is offered only for URIs that nothing in a shell could expand.
const PASTEABLE_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]*\/[A-Za-z0-9._/-]+$/;

/** A ready `aws s3 cp "s3://…" .` line; undefined when the URI is not one to paste into a shell. */
export function s3CopyCommand(bucket: string, key: string): string | undefined {
  const uri = s3Uri(bucket, key);
  return PASTEABLE_URI.test(uri) ? `aws s3 cp "${uri}" .` : undefined;
}

/** docs/design.md "S3 layout": the build streams its log here while it runs. */
/** The build's one-time Scheduler schedule (adapters/aws/scheduler-deadlines.ts), in SCHEDULE_GROUP. */
export function scheduleName(buildId: string): string {
  return `metal-build-${buildId}`;
}

export function logGroupName(buildId: string): string {
  return `/labapp/metal-builds/${buildId}`;
}

/** How to ask again, for messages about a build that never ran. */
export function commandFor(build: Pick<Build, 'BuildBranch' | 'BuildCommit'>): string {
  return `/metal-build ${build.BuildBranch}${build.BuildCommit ? ` ${build.BuildCommit}` : ''}`;
}

/** A requester who denies their own request withdraws it. */
export function isWithdrawn(build: Build): boolean {
  return build.Status === 'rejected' && build.DeniedBy !== undefined && build.DeniedBy === build.Requester;
}
