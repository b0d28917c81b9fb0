import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ConfigError, parseConfig, type Config } from '../domain/config';
import { formatUsd, usd } from '../domain/cost';
import { quote } from '../domain/build-facts';
import { slackIdProblem, type SlackIdKind } from '../domain/slack-id';
import { regionPriceProblem } from './region-prices';

// The deploy's settings come from metal-build.config.json, and `-c key=value` for one deploy
// (infra/settings-file.ts merges them). Every value is checked at synth, all problems in one
// error, so a bad deploy fails before CloudFormation runs.

/**
 * Settings that set a knob the functions read, and the environment variable each becomes
 * (domain/config.ts owns the defaults). A key that is not given leaves the variable unset, so the
 * default lives in one place.
 */
export const CONFIG_CONTEXT_KEYS = {
  instanceType: 'INSTANCE_TYPE',
  instanceTypes: 'INSTANCE_TYPES',
  fallbackInstanceTypes: 'FALLBACK_INSTANCE_TYPES',
  selftestInstanceType: 'SELFTEST_INSTANCE_TYPE',
  volumeSize: 'VOLUME_SIZE_GB',
  maxLifetimeHours: 'MAX_LIFETIME_HOURS',
  warnAfterHours: 'WARN_AFTER_HOURS',
  maxExtensionHours: 'MAX_EXTENSION_HOURS',
  approvalTtlMinutes: 'APPROVAL_TTL_MINUTES',
  queueTtlHours: 'QUEUE_TTL_HOURS',
  maxConcurrentBuilds: 'MAX_CONCURRENT_BUILDS',
  approverIds: 'APPROVER_IDS',
  allowSelfApproval: 'ALLOW_SELF_APPROVAL',
  allowedChannelIds: 'ALLOWED_CHANNEL_IDS',
  homeChannelId: 'HOME_CHANNEL_ID',
  expectedBuildHours: 'EXPECTED_BUILD_HOURS',
  transferGb: 'TRANSFER_GB',
  priceOverrides: 'PRICE_OVERRIDES',
  monthlyBudgetUsd: 'MONTHLY_BUDGET_USD',
  budgetWarnPercent: 'BUDGET_WARN_PERCENT',
  approverGroupIds: 'APPROVER_GROUP_IDS',
  secondApprovalAboveUsd: 'SECOND_APPROVAL_ABOVE_USD',
  repoUrl: 'REPO_URL',
  artifactBucket: 'ARTIFACT_BUCKET',
  githubRepository: 'GITHUB_REPOSITORY',
  githubTagPattern: 'GITHUB_TAG_PATTERN',
  githubChannelId: 'GITHUB_CHANNEL_ID',
  githubApiUrl: 'GITHUB_API_URL',
} as const;

/** Settings of the infrastructure itself: the functions never see them. */
export const INFRASTRUCTURE_KEYS = [
  'notificationEmail',
  'sshAllowedCidrs',
  'builderAmiId',
  'githubToken',
  'logRetentionDays',
  'watchdogReservedConcurrency',
  'availabilityZones',
] as const;

/** Every setting metal-build.config.json may hold, spelled exactly as here. */
export const SETTING_KEYS: readonly string[] = [...Object.keys(CONFIG_CONTEXT_KEYS), ...INFRASTRUCTURE_KEYS];

/** Keys once accepted: refused with what replaced them, not as unknown. */
export const RETIRED_KEYS: readonly string[] = ['createArtifactBucket'];

/** The settings whose values are Slack IDs, and of which kind. */
const SLACK_ID_SETTINGS: ReadonlyArray<[key: keyof typeof CONFIG_CONTEXT_KEYS, kind: SlackIdKind]> = [
  ['approverIds', 'user'],
  ['approverGroupIds', 'user group'],
  ['allowedChannelIds', 'channel'],
  ['homeChannelId', 'channel'],
  ['githubChannelId', 'channel'],
];

/** Every problem of a settings file and its overrides; the message is all an operator sees (no stack). */
export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid settings (metal-build.config.json, -c):\n- ${problems.join('\n- ')}`);
    this.name = 'SettingsError';
  }
}

export const DEFAULT_LOG_RETENTION_DAYS = 30;

export interface Settings {
  /** Environment variables set from context (validated); unset knobs keep domain/config.ts defaults. */
  knobs: Record<string, string>;
  /** The configuration the functions will parse, as far as it is known at synth. */
  config: Config;
  /**
   * The stack creates the artifact bucket unless context `artifactBucket` names an existing one:
   * the default must not depend on a bucket someone else made and configured.
   */
  createArtifactBucket: boolean;
  /** Only when `artifactBucket` was given: the existing bucket, imported by this name. */
  artifactBucketName?: string;
  notificationEmail?: string;
  sshAllowedCidrs: string[];
  builderAmiId?: string;
  /** Create a Secrets Manager secret for a GitHub token (private repositories). */
  githubToken: boolean;
  logRetentionDays: RetentionDays;
  /**
   * Opt-in only: reserving concurrency takes it from the account's unreserved pool, and an
   * account at its minimum of 10 unreserved executions refuses any reservation at deploy.
   */
  watchdogReservedConcurrency?: number;
  /**
   * The VPC's zones when the operator names them; otherwise the VPC takes the region's first two
   * (the stack has no fixed environment, so CDK cannot look up which offer the metal types).
   */
  availabilityZones?: string[];
}

export type ContextReader = (key: string) => unknown;

export interface ReadSettingsOptions {
  /** The region the stack deploys to, when synth knows it (CDK_DEFAULT_REGION): prices depend on it. */
  region?: string;
}

/** A context value as text: `-c` gives strings, cdk.json may give numbers, booleans, lists or objects. */
function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  const s = String(value).trim();
  return s === '' ? undefined : s;
}

const list = (value: unknown) =>
  (text(value) ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);

function flag(key: string, value: unknown, problems: string[]): boolean {
  const s = text(value)?.toLowerCase();
  if (s === undefined || s === 'false') return false;
  if (s === 'true') return true;
  problems.push(`\`${key}\`: expected true or false, got ${JSON.stringify(value)}`);
  return false;
}

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IPV6_CIDR = /^[0-9a-fA-F:]+:[0-9a-fA-F:]*\/(\d{1,3})$/;

/** The widest SSH source ranges accepted. */
export const MAX_SSH_IPV4_PREFIX = 16;
export const MAX_SSH_IPV6_PREFIX = 48;

/** Why a CIDR may not reach the machines' SSH port, or undefined when it may. */
export function sshCidrProblem(cidr: string): string | undefined {
  const v4 = IPV4_CIDR.exec(cidr);
  const v6 = v4 ? null : IPV6_CIDR.exec(cidr);
  if (!v4 && !v6) return `${JSON.stringify(cidr)} is not an IPv4 or IPv6 CIDR such as 203.0.113.7/32`;
  if (v4 && (v4.slice(1, 5).some((o) => Number(o) > 255) || Number(v4[5]) > 32)) return `${JSON.stringify(cidr)} is not a valid IPv4 CIDR`;
  if (v6 && Number(v6[1]) > 128) return `${JSON.stringify(cidr)} is not a valid IPv6 CIDR`;
  // A /0 is the whole internet (0.0.0.0/0, ::/0, or any address written with /0): the original
  // launcher's worst default. Session Manager needs no open port at all.
  const prefix = Number((v4 ?? v6)![v4 ? 5 : 1]);
  if (prefix === 0) return `${cidr} would open SSH to the whole internet; use Session Manager (aws ssm start-session) or your own network's CIDR`;
  // Anything wider is a provider's or a country's range, not an operator's network: /16 is 65,536
  // IPv4 addresses, /48 one site's IPv6 allocation.
  const widest = v4 ? MAX_SSH_IPV4_PREFIX : MAX_SSH_IPV6_PREFIX;
  if (prefix < widest) return `${cidr} is wider than /${widest}, more than one network's range; use Session Manager (aws ssm start-session) or a narrower CIDR`;
  return undefined;
}

const RETENTION_VALUES = new Set<number>(Object.values(RetentionDays).filter((v): v is number => typeof v === 'number'));

/** domain/config.ts names variables; an operator wrote settings: `WARN_AFTER_HOURS` reads `warnAfterHours`. */
function inSettingsTerms(problem: string): string {
  let out = problem;
  // Longest first, so INSTANCE_TYPES is not read as INSTANCE_TYPE followed by an S.
  const byLength = Object.entries(CONFIG_CONTEXT_KEYS).sort(([, a], [, b]) => b.length - a.length);
  for (const [key, envName] of byLength) out = out.replace(new RegExp(`\\b${envName}\\b`, 'g'), `\`${key}\``);
  return out;
}

/** Reads and checks every setting; throws one SettingsError naming every problem. */
export function readSettings(get: ContextReader, options: ReadSettingsOptions = {}): Settings {
  const problems: string[] = [];

  const knobs: Record<string, string> = {};
  for (const [key, envName] of Object.entries(CONFIG_CONTEXT_KEYS)) {
    const value = get(key);
    // An explicit empty list is meaningful for FALLBACK_INSTANCE_TYPES ("no fallback").
    if (value === '' && envName === 'FALLBACK_INSTANCE_TYPES') knobs[envName] = '';
    const s = text(value);
    if (s !== undefined) knobs[envName] = s;
  }

  let config: Config | undefined;
  try {
    // The secret's ARN is only known at deploy time; any value satisfies the check here.
    config = parseConfig({ ...knobs, SLACK_SECRET_ARN: 'arn:aws:secretsmanager:synth' });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems.map(inSettingsTerms));
  }

  for (const [key, kind] of SLACK_ID_SETTINGS) {
    for (const id of list(get(key))) {
      const problem = slackIdProblem(kind, id);
      if (problem) problems.push(`\`${key}\`: ${problem}`);
    }
  }
  if (config) problems.push(...crossFieldProblems(config), ...regionPriceProblem(options.region, config));

  // The old switch, refused rather than ignored: `createArtifactBucket=false` meant "use the
  // existing bucket", which now needs that bucket's name.
  if (get('createArtifactBucket') !== undefined)
    problems.push('`createArtifactBucket`: no longer used; the stack creates the bucket unless `artifactBucket` names an existing one');
  const createArtifactBucket = knobs.ARTIFACT_BUCKET === undefined;
  const githubToken = flag('githubToken', get('githubToken'), problems);

  const notificationEmail = text(get('notificationEmail'));
  if (notificationEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(notificationEmail))
    problems.push(`\`notificationEmail\`: ${JSON.stringify(notificationEmail)} is not an email address`);

  const sshAllowedCidrs = list(get('sshAllowedCidrs'));
  for (const cidr of sshAllowedCidrs) {
    const problem = sshCidrProblem(cidr);
    if (problem) problems.push(`\`sshAllowedCidrs\`: ${problem}`);
  }

  const builderAmiId = text(get('builderAmiId'));
  if (builderAmiId !== undefined && !/^ami-[0-9a-f]{8,17}$/.test(builderAmiId))
    problems.push(`\`builderAmiId\`: ${JSON.stringify(builderAmiId)} is not an AMI ID such as ami-0123456789abcdef0`);

  const retentionText = text(get('logRetentionDays'));
  const logRetentionDays = retentionText === undefined ? DEFAULT_LOG_RETENTION_DAYS : Number(retentionText);
  if (!RETENTION_VALUES.has(logRetentionDays))
    problems.push(
      `\`logRetentionDays\`: CloudWatch Logs accepts ${[...RETENTION_VALUES].filter((d) => d > 0).join(', ')}; got ${JSON.stringify(retentionText)}`,
    );

  const concurrencyText = text(get('watchdogReservedConcurrency'));
  const watchdogReservedConcurrency = concurrencyText === undefined ? undefined : Number(concurrencyText);
  if (watchdogReservedConcurrency !== undefined && !(Number.isInteger(watchdogReservedConcurrency) && watchdogReservedConcurrency >= 1))
    problems.push(`\`watchdogReservedConcurrency\`: expected a whole number of at least 1, got ${JSON.stringify(concurrencyText)}`);

  const zones = list(get('availabilityZones'));
  for (const zone of zones) {
    if (!/^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/.test(zone)) problems.push(`\`availabilityZones\`: ${JSON.stringify(zone)} is not a zone name such as us-east-1a`);
  }
  if (new Set(zones.map((z) => z.slice(0, -1))).size > 1) problems.push(`\`availabilityZones\`: ${zones.join(', ')} are not all in one region`);
  if (zones.length === 1) problems.push('`availabilityZones`: name at least two zones, so a zone without capacity is not the end of every launch');

  if (problems.length > 0 || config === undefined) throw new SettingsError(problems);

  return {
    knobs,
    config,
    createArtifactBucket,
    artifactBucketName: knobs.ARTIFACT_BUCKET,
    notificationEmail,
    sshAllowedCidrs,
    builderAmiId,
    githubToken,
    logRetentionDays: logRetentionDays as RetentionDays,
    ...(watchdogReservedConcurrency !== undefined && { watchdogReservedConcurrency }),
    ...(zones.length > 0 && { availabilityZones: zones }),
  };
}

/**
 * Rules across settings that domain/config.ts cannot know at run time (the warning before the
 * limit and every type priced are its own, reported above).
 */
function crossFieldProblems(config: Config): string[] {
  const problems: string[] = [];
  // Two different approvers must exist: with one named approver and no group, every build above
  // the threshold would wait for a second approval nobody can give.
  if (config.secondApprovalAboveUsd !== undefined && config.approverIds.length === 1 && config.approverGroupIds.length === 0)
    problems.push(
      `\`secondApprovalAboveUsd\`: builds above ${formatUsd(config.secondApprovalAboveUsd)} need two different approvers, but \`approverIds\` names one (${config.approverIds[0]}) and \`approverGroupIds\` none; name a second approver or a group`,
    );
  if (config.monthlyBudgetUsd !== undefined) {
    const defaultBuild = quote(config);
    // Below one build's maximum, every approval would be refused for the budget.
    if (defaultBuild && config.monthlyBudgetUsd < usd(defaultBuild.max.total))
      problems.push(
        `\`monthlyBudgetUsd\`: ${formatUsd(config.monthlyBudgetUsd)} is below one default build's maximum (${formatUsd(defaultBuild.max.total)}: ${config.instanceType} for ${config.maxLifetimeHours} h), so no build could be approved`,
      );
  }
  return problems;
}
