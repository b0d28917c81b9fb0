import type { Config } from '../domain/config';
import { parseConfig } from '../domain/config';
import { SANDBOX_GITHUB_REPOSITORY } from '../stand-ins/github-request';
import { DEFAULT_IMAGE_ID } from '../stand-ins/ec2';
import { APPROVER, SANDBOX_CHANNEL, SECOND_APPROVER } from '../stand-ins/slack-api';

// The sandbox's configuration: the values the stack would set, fixed, and the knobs a sandbox user
// may change through the environment.

/** The key of the builds' event tokens in the sandbox (EVENT_TOKEN_KEY); the stack generates one. */
export const SANDBOX_EVENT_TOKEN_KEY = 'sandbox-event-token-key-not-a-secret';
/** The Slack secret's name, as the stack names it (infra/stack.ts SLACK_SECRET_NAME). */
export const SANDBOX_SLACK_SECRET_NAME = 'labapp-metal-build/slack';
/** The role the stack gives Scheduler to terminate its machines (the stand-in does not check it). */
export const SANDBOX_SCHEDULER_ROLE_ARN = 'arn:aws:iam::123456789012:role/labapp-metal-build-scheduler';
/** The stack's SNS topic in the sandbox's account and region. */
export const SANDBOX_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:labapp-metal-builds';

/** Configuration knobs a sandbox user may change through the environment (the rest is fixed). */
export const CONFIG_KNOBS = [
  'SLACK_SIGNING_SECRET',
  'INSTANCE_TYPE',
  'FALLBACK_INSTANCE_TYPES',
  'VOLUME_SIZE_GB',
  'MAX_LIFETIME_HOURS',
  'WARN_AFTER_HOURS',
  'MAX_EXTENSION_HOURS',
  'APPROVAL_TTL_MINUTES',
  'MAX_CONCURRENT_BUILDS',
  'EXPECTED_BUILD_HOURS',
  'TRANSFER_GB',
  'PRICE_OVERRIDES',
  'ARTIFACT_BUCKET',
  'MONTHLY_BUDGET_USD',
  'BUDGET_WARN_PERCENT',
  'SECOND_APPROVAL_ABOVE_USD',
] as const;

export const knobValue = (env: Readonly<Record<string, string | undefined>>, k: string) => (env[k] !== undefined && env[k] !== '' ? env[k] : undefined);

/**
 * The sandbox's configuration, through the same parser as on AWS. The Slack credentials are not in
 * it: as on AWS, SLACK_SECRET_ARN names the secret that holds them (SLACK_SIGNING_SECRET, a knob,
 * goes into that secret).
 */
export function sandboxConfig(port: number, slackSecretArn: string, env: Readonly<Record<string, string | undefined>> = {}, githubApiUrl?: string): Config {
  const knobs = Object.fromEntries(CONFIG_KNOBS.flatMap((k) => (k !== 'SLACK_SIGNING_SECRET' && knobValue(env, k) !== undefined ? [[k, env[k]]] : [])));
  return parseConfig({
    SLACK_SECRET_ARN: slackSecretArn,
    SLACK_API_URL: `http://127.0.0.1:${port}/api/`,
    // Two approvers, so a build over SECOND_APPROVAL_ABOVE_USD can be given both approvals.
    APPROVER_IDS: `${APPROVER},${SECOND_APPROVER}`,
    // Home's New build posts its card in #builds (no ALLOWED_CHANNEL_IDS to take it from).
    HOME_CHANNEL_ID: SANDBOX_CHANNEL,
    ALLOW_SELF_APPROVAL: 'false',
    SUBNET_IDS: 'subnet-sandbox-a,subnet-sandbox-b',
    LAUNCH_TEMPLATE_ID: 'lt-0sandbox',
    // The template's AMI, as the stack passes it: a self-test's root disk is its 8 GB snapshot.
    BUILDER_IMAGE_ID: DEFAULT_IMAGE_ID,
    SNS_TOPIC_ARN: SANDBOX_TOPIC_ARN,
    SCHEDULER_ROLE_ARN: SANDBOX_SCHEDULER_ROLE_ARN,
    AWS_REGION: 'us-east-1',
    // Fixed, as the other sandbox credentials: the simulated runner derives each build's token from it.
    EVENT_TOKEN_KEY: SANDBOX_EVENT_TOKEN_KEY,
    // A budget a few builds reach, so the card's budget line and a refusal can be seen.
    MONTHLY_BUDGET_USD: '50',
    // "GitHub: push tag": REPO_URL's repository, cards in the sandbox's channel, statuses to the stand-in.
    GITHUB_REPOSITORY: SANDBOX_GITHUB_REPOSITORY,
    GITHUB_CHANNEL_ID: SANDBOX_CHANNEL,
    ...(githubApiUrl !== undefined && { GITHUB_API_URL: githubApiUrl }),
    ...knobs,
  });
}
