// zod/mini: the classic API costs every cold start ~13 ms more to load (`npm run bench`).
import * as z from 'zod/mini';
import { hourlyPrice } from './cost';
import { REPOSITORY_PATTERN, repositoryOfUrl, sameRepository, tagPatternProblem } from './github';

// docs/design.md "Configuration": the environment is parsed once per container; every bad value is
// named in one error, so a deploy with three typos is fixed in one round, not three.

export interface Config {
  buildsTable: string;
  eventBusName: string;
  snsTopicArn?: string;
  /** Local: both set. AWS: `slackSecretArn` names a JSON secret read at cold start. */
  slackSigningSecret?: string;
  slackBotToken?: string;
  slackSecretArn?: string;
  slackApiUrl: string;
  artifactBucket: string;
  repoUrl: string;
  /** The labapp Packer template the machine builds, relative to the checkout (build.json `packerTemplate`). */
  packerTemplate: string;
  githubSecretArn?: string;
  instanceType: string;
  /** The types a request may choose (`type=`); the launch role may launch no other but the self-test's. */
  instanceTypes: string[];
  /** The self-test's machine (`/metal-build selftest`), never a build's choice. */
  selftestInstanceType: string;
  fallbackInstanceTypes: string[];
  /** A fallback type is launched only when its maximum is at most this much above the approved one. */
  fallbackMaxOverrunPercent: number;
  launchTemplateId?: string;
  /** The launch template's AMI (the stack passes it): a self-test's root disk is its root snapshot's size. */
  builderImageId?: string;
  subnetIds: string[];
  volumeSizeGb: number;
  maxLifetimeHours: number;
  warnAfterHours: number;
  maxExtensionHours: number;
  approvalTtlMinutes: number;
  /** A queued build not launched within this expires (docs/design.md "Concurrency"). */
  queueTtlHours: number;
  maxConcurrentBuilds: number;
  approverIds: string[];
  allowSelfApproval: boolean;
  allowedChannelIds: string[];
  /** Where a request from the Home tab posts its card when ALLOWED_CHANNEL_IDS is empty; neither: Home has no New build button. */
  homeChannelId?: string;
  /** The requester also gets the warning and the end of their build as a direct message. */
  notifyRequesterDm: boolean;
  /** Used while fewer than MIN_DURATION_HISTORY builds of the type completed (domain/expected-duration.ts). */
  expectedBuildHours: number;
  transferGb: number;
  /** Spend control (docs/design.md "Spend control"): undefined = no budget. */
  monthlyBudgetUsd?: number;
  /** The first approval that takes the month's committed spend over this share of the budget posts one message. */
  budgetWarnPercent: number;
  /** Slack user groups whose members are approvers too (usergroups.users.list). */
  approverGroupIds: string[];
  /** A build whose maximum is above this needs two different approvers; undefined = never. */
  secondApprovalAboveUsd?: number;
  priceOverrides: Record<string, number>;
  region: string;
  /**
   * The key of the builds' event tokens (HMAC-SHA-256 of the BuildID), for the launch and
   * build-phase functions only: `eventTokenKey` locally, or the secret named by
   * `eventTokenSecretArn` on AWS, read once per container. See `eventTokenKeySource`.
   */
  eventTokenKey?: string;
  eventTokenSecretArn?: string;
  /**
   * Where each build's deadline schedule lives (docs/design.md "Deadlines"): the stack's schedule
   * group, the role Scheduler assumes to terminate the machine, the queue a failed firing goes to.
   * Set by the stack for the functions that keep schedules; the bot has none of them.
   */
  scheduleGroup: string;
  schedulerRoleArn?: string;
  scheduleDeadLetterArn?: string;
  /**
   * Builds requested by GitHub (docs/design.md "Builds requested by GitHub"): the repository whose
   * tag pushes post a card (`owner/name`, the one REPO_URL clones), which tags, where the card goes,
   * and GitHub's API for the commit statuses. No repository: the webhook posts nothing.
   */
  githubRepository?: string;
  githubTagPattern: string;
  githubChannelId?: string;
  githubApiUrl: string;
  /** Local use: the webhook secret and the status token given directly (on AWS, in the Slack secret's JSON). */
  githubWebhookSecret?: string;
  githubStatusToken?: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n- ${problems.join('\n- ')}`);
    this.name = 'ConfigError';
  }
}

const splitList = (s: string | undefined) =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);

type Issues = { issues: z.core.$ZodRawIssue[]; value: unknown };

/** One variable: absent or a string, then `read` (which reports problems with `refuse`). */
const variable = <T>(read: (s: string | undefined, ctx: Issues) => T) => z.pipe(z.optional(z.string()), z.transform(read));

function refuse(ctx: Issues, message: string): never {
  ctx.issues.push({ code: 'custom', message, input: ctx.value });
  return z.NEVER;
}

const list = variable(splitList);

const optional = variable((s) => (s === undefined || s.trim() === '' ? undefined : s.trim()));

const withDefault = (value: string) => variable((s) => (s === undefined || s.trim() === '' ? value : s.trim()));

const number = (value: number, check: (n: number) => boolean, what: string) =>
  variable((s, ctx) => {
    if (s === undefined || s.trim() === '') return value;
    const n = Number(s);
    if (!Number.isFinite(n) || !check(n)) return refuse(ctx, `expected ${what}, got ${JSON.stringify(s)}`);
    return n;
  });

/** Empty means "none": a setting that is off unless given. */
const optionalNumber = (check: (n: number) => boolean, what: string) =>
  variable((s, ctx): number | undefined => {
    if (s === undefined || s.trim() === '') return undefined;
    const n = Number(s);
    if (!Number.isFinite(n) || !check(n)) return refuse(ctx, `expected ${what}, got ${JSON.stringify(s)}`);
    return n;
  });

const positive = (value: number) => number(value, (n) => n > 0, 'a positive number');
const nonNegative = (value: number) => number(value, (n) => n >= 0, 'a number ≥ 0');
const positiveInt = (value: number) => number(value, (n) => n > 0 && Number.isInteger(n), 'a whole number ≥ 1');

function boolValue(s: string | undefined, ctx: Issues): boolean {
  const v = (s ?? '').trim().toLowerCase();
  if (v === '' || v === 'false' || v === '0' || v === 'no') return false;
  if (v === 'true' || v === '1' || v === 'yes') return true;
  return refuse(ctx, `expected true or false, got ${JSON.stringify(s)}`);
}

const bool = variable(boolValue);

/**
 * Why `path` cannot be a template path inside the checkout, or undefined when it can. The
 * runner joins it to the checkout and passes it to packer as one argument: a relative path of
 * plain characters cannot leave the checkout, nor read as an option.
 */
export function packerTemplateProblem(path: string): string | undefined {
  if (!/^[A-Za-z0-9._/-]{1,200}$/.test(path))
    return `expected a relative path of letters, digits, '.', '_', '-' and '/' (at most 200), got ${JSON.stringify(path)}`;
  if (path.startsWith('/')) return `expected a path relative to the labapp checkout, got ${JSON.stringify(path)}`;
  if (path.split('/').some((part) => part === '..' || part === '.' || part === ''))
    return `expected a path without '..', '.' or empty parts, got ${JSON.stringify(path)}`;
  if (path.startsWith('-')) return `expected a path that does not start with '-', got ${JSON.stringify(path)}`;
  return undefined;
}

const packerTemplate = variable((s, ctx) => {
  const path = s === undefined || s.trim() === '' ? 'packer/prewarmed-build.pkr.hcl' : s.trim();
  const problem = packerTemplateProblem(path);
  return problem === undefined ? path : refuse(ctx, problem);
});

const priceOverrides = variable((s, ctx): Record<string, number> => {
  if (s === undefined || s.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch {
    return refuse(ctx, 'expected JSON such as {"c5n.metal": 3.888}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return refuse(ctx, 'expected a JSON object of instance type to USD per hour (> 0)');
  const prices: Record<string, number> = {};
  for (const [type, price] of Object.entries(parsed)) {
    if (typeof price === 'number' && Number.isFinite(price) && price > 0) prices[type] = price;
    else ctx.issues.push({ code: 'custom', message: `${JSON.stringify(type)}: expected USD per hour > 0, got ${JSON.stringify(price)}`, input: s });
  }
  return prices;
});

const fields = {
  BUILDS_TABLE: withDefault('labapp-metal-builds'),
  EVENT_BUS_NAME: withDefault('labapp-metal-builds'),
  SNS_TOPIC_ARN: optional,
  SLACK_SIGNING_SECRET: optional,
  SLACK_BOT_TOKEN: optional,
  SLACK_SECRET_ARN: optional,
  SLACK_API_URL: withDefault('https://slack.com/api/'),
  ARTIFACT_BUCKET: withDefault('hedgehog-lab-artifacts'),
  REPO_URL: withDefault('https://github.com/afewell-hh/labapp.git'),
  PACKER_TEMPLATE: packerTemplate,
  GITHUB_SECRET_ARN: optional,
  INSTANCE_TYPE: withDefault('c5n.metal'),
  // Unset means the default fallback; set to "" means none.
  FALLBACK_INSTANCE_TYPES: variable((s) => splitList(s === undefined ? 'm5zn.metal' : s)),
  // Unset means INSTANCE_TYPE and the fallbacks (filled in by parseConfig).
  INSTANCE_TYPES: list,
  // The self-test's machine (docs/design.md "Self-test"): never a build's choice, always the launch role's.
  SELFTEST_INSTANCE_TYPE: withDefault('t3.small'),
  FALLBACK_MAX_OVERRUN_PERCENT: nonNegative(10),
  LAUNCH_TEMPLATE_ID: optional,
  BUILDER_IMAGE_ID: optional,
  SUBNET_IDS: list,
  VOLUME_SIZE_GB: positiveInt(500),
  MAX_LIFETIME_HOURS: positive(3),
  WARN_AFTER_HOURS: positive(2),
  MAX_EXTENSION_HOURS: nonNegative(2),
  APPROVAL_TTL_MINUTES: positive(30),
  QUEUE_TTL_HOURS: positive(4),
  MAX_CONCURRENT_BUILDS: positiveInt(1),
  APPROVER_IDS: list,
  ALLOW_SELF_APPROVAL: bool,
  ALLOWED_CHANNEL_IDS: list,
  HOME_CHANNEL_ID: optional,
  NOTIFY_REQUESTER_DM: variable((s, ctx) => (s === undefined || s.trim() === '' ? true : boolValue(s, ctx))),
  EXPECTED_BUILD_HOURS: positive(1.5),
  TRANSFER_GB: nonNegative(0),
  MONTHLY_BUDGET_USD: optionalNumber((n) => n > 0, 'a positive number of USD'),
  BUDGET_WARN_PERCENT: number(80, (n) => n > 0 && n <= 100, 'a percentage above 0 and at most 100'),
  APPROVER_GROUP_IDS: list,
  SECOND_APPROVAL_ABOVE_USD: optionalNumber((n) => n >= 0, 'a number of USD ≥ 0'),
  PRICE_OVERRIDES: priceOverrides,
  AWS_REGION: withDefault('us-east-1'),
  // Not trimmed: a key is its exact bytes.
  EVENT_TOKEN_KEY: variable((s) => (s === undefined || s === '' ? undefined : s)),
  EVENT_TOKEN_SECRET_ARN: optional,
  SCHEDULE_GROUP: withDefault('labapp-metal-builds'),
  SCHEDULER_ROLE_ARN: optional,
  SCHEDULE_DLQ_ARN: optional,
  GITHUB_REPOSITORY: variable((s, ctx) => {
    if (s === undefined || s.trim() === '') return undefined;
    const repository = s.trim();
    return REPOSITORY_PATTERN.test(repository) ? repository : refuse(ctx, `expected owner/name (as in github.com/owner/name), got ${JSON.stringify(s)}`);
  }),
  GITHUB_TAG_PATTERN: variable((s, ctx) => {
    const pattern = s === undefined || s.trim() === '' ? 'v*' : s.trim();
    const problem = tagPatternProblem(pattern);
    return problem === undefined ? pattern : refuse(ctx, problem);
  }),
  GITHUB_CHANNEL_ID: optional,
  GITHUB_API_URL: withDefault('https://api.github.com/'),
  // Not trimmed: a secret is its exact bytes.
  GITHUB_WEBHOOK_SECRET: variable((s) => (s === undefined || s === '' ? undefined : s)),
  GITHUB_STATUS_TOKEN: optional,
};

type Env = { [K in keyof typeof fields]: z.output<(typeof fields)[K]> };

/**
 * Each variable on its own, so one bad value does not hide the others, nor the checks across
 * variables below (an object schema stops before its refinements at the first bad field).
 */
function parseFields(env: Readonly<Record<string, string | undefined>>): { e: Partial<Env>; problems: string[] } {
  const e: Partial<Record<keyof Env, unknown>> = {};
  const problems: string[] = [];
  for (const key of Object.keys(fields) as (keyof Env)[]) {
    const r = fields[key].safeParse(env[key]);
    if (r.success) e[key] = r.data;
    else problems.push(...r.error.issues.map((i) => `${key}: ${i.message}`));
  }
  return { e: e as Partial<Env>, problems };
}

export function parseConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const { e: parsed, problems } = parseFields(env);
  crossCheck(parsed, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const e = parsed as Env;
  return {
    buildsTable: e.BUILDS_TABLE,
    eventBusName: e.EVENT_BUS_NAME,
    snsTopicArn: e.SNS_TOPIC_ARN,
    slackSigningSecret: e.SLACK_SIGNING_SECRET,
    slackBotToken: e.SLACK_BOT_TOKEN,
    slackSecretArn: e.SLACK_SECRET_ARN,
    slackApiUrl: e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
    artifactBucket: e.ARTIFACT_BUCKET,
    repoUrl: e.REPO_URL,
    packerTemplate: e.PACKER_TEMPLATE,
    githubSecretArn: e.GITHUB_SECRET_ARN,
    instanceType: e.INSTANCE_TYPE,
    instanceTypes: instanceTypesOf(e),
    selftestInstanceType: e.SELFTEST_INSTANCE_TYPE,
    fallbackInstanceTypes: e.FALLBACK_INSTANCE_TYPES,
    fallbackMaxOverrunPercent: e.FALLBACK_MAX_OVERRUN_PERCENT,
    launchTemplateId: e.LAUNCH_TEMPLATE_ID,
    builderImageId: e.BUILDER_IMAGE_ID,
    subnetIds: e.SUBNET_IDS,
    volumeSizeGb: e.VOLUME_SIZE_GB,
    maxLifetimeHours: e.MAX_LIFETIME_HOURS,
    warnAfterHours: e.WARN_AFTER_HOURS,
    maxExtensionHours: e.MAX_EXTENSION_HOURS,
    approvalTtlMinutes: e.APPROVAL_TTL_MINUTES,
    queueTtlHours: e.QUEUE_TTL_HOURS,
    maxConcurrentBuilds: e.MAX_CONCURRENT_BUILDS,
    approverIds: e.APPROVER_IDS,
    allowSelfApproval: e.ALLOW_SELF_APPROVAL,
    allowedChannelIds: e.ALLOWED_CHANNEL_IDS,
    ...(e.HOME_CHANNEL_ID !== undefined ? { homeChannelId: e.HOME_CHANNEL_ID } : {}),
    notifyRequesterDm: e.NOTIFY_REQUESTER_DM,
    expectedBuildHours: e.EXPECTED_BUILD_HOURS,
    transferGb: e.TRANSFER_GB,
    monthlyBudgetUsd: e.MONTHLY_BUDGET_USD,
    budgetWarnPercent: e.BUDGET_WARN_PERCENT,
    approverGroupIds: e.APPROVER_GROUP_IDS,
    secondApprovalAboveUsd: e.SECOND_APPROVAL_ABOVE_USD,
    priceOverrides: e.PRICE_OVERRIDES,
    region: e.AWS_REGION,
    eventTokenKey: e.EVENT_TOKEN_KEY,
    eventTokenSecretArn: e.EVENT_TOKEN_SECRET_ARN,
    scheduleGroup: e.SCHEDULE_GROUP,
    schedulerRoleArn: e.SCHEDULER_ROLE_ARN,
    scheduleDeadLetterArn: e.SCHEDULE_DLQ_ARN,
    ...(e.GITHUB_REPOSITORY !== undefined ? { githubRepository: e.GITHUB_REPOSITORY } : {}),
    githubTagPattern: e.GITHUB_TAG_PATTERN,
    ...(e.GITHUB_CHANNEL_ID !== undefined ? { githubChannelId: e.GITHUB_CHANNEL_ID } : {}),
    githubApiUrl: e.GITHUB_API_URL.endsWith('/') ? e.GITHUB_API_URL : `${e.GITHUB_API_URL}/`,
    ...(e.GITHUB_WEBHOOK_SECRET !== undefined ? { githubWebhookSecret: e.GITHUB_WEBHOOK_SECRET } : {}),
    ...(e.GITHUB_STATUS_TOKEN !== undefined ? { githubStatusToken: e.GITHUB_STATUS_TOKEN } : {}),
  };
}

export type EventTokenKeySource = { key: string } | { secretArn: string };

/**
 * Where the launch and build-phase functions take the event-token key from. The other functions
 * never need it (and are not given it), so parseConfig cannot require it; these two call this at
 * start, and a missing key is reported as every other configuration problem is.
 */
export function eventTokenKeySource(config: Pick<Config, 'eventTokenKey' | 'eventTokenSecretArn'>): EventTokenKeySource {
  if (config.eventTokenKey !== undefined) return { key: config.eventTokenKey };
  if (config.eventTokenSecretArn !== undefined) return { secretArn: config.eventTokenSecretArn };
  throw new ConfigError(['EVENT_TOKEN_SECRET_ARN: required by the launch and build-phase functions unless EVENT_TOKEN_KEY is set']);
}

/** INSTANCE_TYPES as given, or INSTANCE_TYPE and the fallbacks. */
function instanceTypesOf(e: Partial<Env>): string[] {
  if (e.INSTANCE_TYPES !== undefined && e.INSTANCE_TYPES.length > 0) return [...new Set(e.INSTANCE_TYPES)];
  return [...new Set([e.INSTANCE_TYPE, ...(e.FALLBACK_INSTANCE_TYPES ?? [])].filter((t) => t !== undefined))];
}

/** Rules across variables; each runs only when the variables it needs parsed. */
function crossCheck(e: Partial<Env>, problems: string[]): void {
  const hasLocalSlack = e.SLACK_SIGNING_SECRET !== undefined && e.SLACK_BOT_TOKEN !== undefined;
  if (!hasLocalSlack && e.SLACK_SECRET_ARN === undefined)
    problems.push('SLACK_SECRET_ARN: required unless both SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are set');
  if (e.WARN_AFTER_HOURS !== undefined && e.MAX_LIFETIME_HOURS !== undefined && e.WARN_AFTER_HOURS >= e.MAX_LIFETIME_HOURS)
    problems.push(`WARN_AFTER_HOURS: must be below MAX_LIFETIME_HOURS (${e.MAX_LIFETIME_HOURS}), got ${e.WARN_AFTER_HOURS}`);
  const choosable = instanceTypesOf(e);
  if (e.INSTANCE_TYPES !== undefined && e.INSTANCE_TYPES.length > 0) {
    // The launch role may launch only these: a default or fallback outside them would be denied at launch.
    for (const type of [e.INSTANCE_TYPE, ...(e.FALLBACK_INSTANCE_TYPES ?? [])])
      if (type !== undefined && !choosable.includes(type))
        problems.push(
          `INSTANCE_TYPES: must include ${type} (${type === e.INSTANCE_TYPE ? 'INSTANCE_TYPE' : 'in FALLBACK_INSTANCE_TYPES'}); got ${choosable.join(', ')}`,
        );
  }
  githubCrossCheck(e, problems);
  if (e.PRICE_OVERRIDES !== undefined) {
    for (const type of [...choosable, e.SELFTEST_INSTANCE_TYPE]) {
      if (type !== undefined && hourlyPrice(type, e.PRICE_OVERRIDES) === undefined)
        problems.push(`PRICE_OVERRIDES: no price for ${type}; add {"${type}": <USD per hour>}`);
    }
  }
}

/** A tag push builds what the machines clone, so the webhook's repository must be REPO_URL's. */
function githubCrossCheck(e: Partial<Env>, problems: string[]): void {
  const repository = e.GITHUB_REPOSITORY;
  if (repository !== undefined && e.REPO_URL !== undefined) {
    const cloned = repositoryOfUrl(e.REPO_URL);
    if (cloned === undefined || !sameRepository(cloned, repository))
      problems.push(`GITHUB_REPOSITORY: must be the repository REPO_URL clones (${e.REPO_URL}), got ${repository}`);
  }
  const channel = e.GITHUB_CHANNEL_ID;
  if (channel !== undefined && e.ALLOWED_CHANNEL_IDS !== undefined && e.ALLOWED_CHANNEL_IDS.length > 0 && !e.ALLOWED_CHANNEL_IDS.includes(channel))
    problems.push(`GITHUB_CHANNEL_ID: must be one of ALLOWED_CHANNEL_IDS (${e.ALLOWED_CHANNEL_IDS.join(', ')}), got ${channel}`);
  if (repository !== undefined && channel === undefined) problems.push('GITHUB_CHANNEL_ID: required when GITHUB_REPOSITORY is set (the channel of its cards)');
}

const SECRET_KEYS: ReadonlyArray<keyof Config> = ['slackSigningSecret', 'slackBotToken', 'eventTokenKey', 'githubWebhookSecret', 'githubStatusToken'];

/** The configuration as it may be logged: secrets replaced by their length. */
export function maskConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const key of SECRET_KEYS) {
    const v = config[key];
    if (typeof v === 'string') out[key] = `***(${v.length} chars)`;
  }
  return out;
}
