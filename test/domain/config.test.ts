import { describe, expect, it } from 'vitest';
import type { Config } from '../../domain/config';
import { ConfigError, maskConfig, parseConfig } from '../../domain/config';

const LOCAL = { SLACK_SIGNING_SECRET: 'sandbox-signing-secret', SLACK_BOT_TOKEN: 'xoxb-test-sandbox-token' };
const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:metal-build-slack';

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    parseConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('the configuration was accepted');
}

describe('parseConfig', () => {
  it('fills docs/design.md’s defaults', () => {
    expect(parseConfig(LOCAL)).toEqual<Config>({
      buildsTable: 'labapp-metal-builds',
      eventBusName: 'labapp-metal-builds',
      snsTopicArn: undefined,
      slackSigningSecret: 'sandbox-signing-secret',
      slackBotToken: 'xoxb-test-sandbox-token',
      slackSecretArn: undefined,
      slackApiUrl: 'https://slack.com/api/',
      artifactBucket: 'hedgehog-lab-artifacts',
      repoUrl: 'https://github.com/afewell-hh/labapp.git',
      packerTemplate: 'packer/prewarmed-build.pkr.hcl',
      githubSecretArn: undefined,
      instanceType: 'c5n.metal',
      instanceTypes: ['c5n.metal', 'm5zn.metal'],
      fallbackInstanceTypes: ['m5zn.metal'],
      selftestInstanceType: 't3.small',
      launchTemplateId: undefined,
      subnetIds: [],
      volumeSizeGb: 500,
      maxLifetimeHours: 3,
      warnAfterHours: 2,
      maxExtensionHours: 2,
      approvalTtlMinutes: 30,
      queueTtlHours: 4,
      maxConcurrentBuilds: 1,
      approverIds: [],
      allowSelfApproval: false,
      allowedChannelIds: [],
      expectedBuildHours: 1.5,
      transferGb: 0,
      monthlyBudgetUsd: undefined,
      budgetWarnPercent: 80,
      approverGroupIds: [],
      secondApprovalAboveUsd: undefined,
      priceOverrides: {},
      region: 'us-east-1',
      scheduleGroup: 'labapp-metal-builds',
      fallbackMaxOverrunPercent: 10,
      notifyRequesterDm: true,
      githubTagPattern: 'v*',
      githubApiUrl: 'https://api.github.com/',
    });
  });

  it('reads lists, numbers, booleans and URLs as given', () => {
    const c = parseConfig({
      ...LOCAL,
      SUBNET_IDS: 'subnet-a, subnet-b,,',
      APPROVER_IDS: 'U0APPROVER,U0LEAD',
      ALLOWED_CHANNEL_IDS: 'C0SANDBOX',
      FALLBACK_INSTANCE_TYPES: '',
      MAX_CONCURRENT_BUILDS: '2',
      ALLOW_SELF_APPROVAL: 'TRUE',
      EXPECTED_BUILD_HOURS: '2.25',
      SLACK_API_URL: 'http://localhost:3000/api',
      AWS_REGION: 'eu-west-1',
    });
    expect(c.subnetIds).toEqual(['subnet-a', 'subnet-b']);
    expect(c.approverIds).toEqual(['U0APPROVER', 'U0LEAD']);
    expect(c.allowedChannelIds).toEqual(['C0SANDBOX']);
    // Set but empty means no fallback at all; unset means the default one.
    expect(c.fallbackInstanceTypes).toEqual([]);
    expect(c.maxConcurrentBuilds).toBe(2);
    expect(c.allowSelfApproval).toBe(true);
    expect(c.expectedBuildHours).toBe(2.25);
    expect(c.slackApiUrl).toBe('http://localhost:3000/api/');
    expect(c.region).toBe('eu-west-1');
  });

  it('names every bad value in one error', () => {
    const env = {
      VOLUME_SIZE_GB: 'abc',
      MAX_CONCURRENT_BUILDS: '0',
      ALLOW_SELF_APPROVAL: 'maybe',
      TRANSFER_GB: '-5',
      MAX_LIFETIME_HOURS: '1',
      PRICE_OVERRIDES: '{"c5n.metal": 4, "m5zn.metal": 0}',
    };
    expect(problemsOf(env)).toEqual([
      'VOLUME_SIZE_GB: expected a whole number ≥ 1, got "abc"',
      'MAX_CONCURRENT_BUILDS: expected a whole number ≥ 1, got "0"',
      'ALLOW_SELF_APPROVAL: expected true or false, got "maybe"',
      'TRANSFER_GB: expected a number ≥ 0, got "-5"',
      'PRICE_OVERRIDES: "m5zn.metal": expected USD per hour > 0, got 0',
      'SLACK_SECRET_ARN: required unless both SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are set',
      'WARN_AFTER_HOURS: must be below MAX_LIFETIME_HOURS (1), got 2',
    ]);
    let error: unknown;
    try {
      parseConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^invalid configuration:\n- VOLUME_SIZE_GB: .*\n- MAX_CONCURRENT_BUILDS: /);
  });

  it('refuses numbers that are not numbers, or out of range', () => {
    expect(
      problemsOf({
        ...LOCAL,
        VOLUME_SIZE_GB: '1.5',
        APPROVAL_TTL_MINUTES: 'Infinity',
        WARN_AFTER_HOURS: '-1',
        MAX_EXTENSION_HOURS: 'two',
        EXPECTED_BUILD_HOURS: '0',
      }),
    ).toEqual([
      'VOLUME_SIZE_GB: expected a whole number ≥ 1, got "1.5"',
      'WARN_AFTER_HOURS: expected a positive number, got "-1"',
      'MAX_EXTENSION_HOURS: expected a number ≥ 0, got "two"',
      'APPROVAL_TTL_MINUTES: expected a positive number, got "Infinity"',
      'EXPECTED_BUILD_HOURS: expected a positive number, got "0"',
    ]);
    expect(parseConfig({ ...LOCAL, MAX_EXTENSION_HOURS: '0' }).maxExtensionHours).toBe(0);
  });

  it('takes PACKER_TEMPLATE as a path inside the checkout, and refuses one that could leave it', () => {
    expect(parseConfig({ ...LOCAL, PACKER_TEMPLATE: ' packer/other_build-2.pkr.hcl ' }).packerTemplate).toBe('packer/other_build-2.pkr.hcl');
    expect(parseConfig({ ...LOCAL, PACKER_TEMPLATE: '' }).packerTemplate).toBe('packer/prewarmed-build.pkr.hcl');
    for (const bad of [
      '/etc/passwd',
      '../x.pkr.hcl',
      'packer/../../x',
      'packer//x',
      'packer/',
      './x',
      '-var=x',
      'a b',
      'x;id',
      '$(id)',
      'é',
      'x'.repeat(201),
    ]) {
      const problems = problemsOf({ ...LOCAL, PACKER_TEMPLATE: bad });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^PACKER_TEMPLATE: expected a/);
    }
  });

  it('needs SLACK_SECRET_ARN unless both local Slack secrets are set', () => {
    const rule = 'SLACK_SECRET_ARN: required unless both SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are set';
    expect(problemsOf({})).toEqual([rule]);
    expect(problemsOf({ SLACK_SIGNING_SECRET: 'only-the-secret' })).toEqual([rule]);
    expect(problemsOf({ SLACK_BOT_TOKEN: 'xoxb-test-only-the-token', SLACK_SIGNING_SECRET: '  ' })).toEqual([rule]);
    const aws = parseConfig({ SLACK_SECRET_ARN: ARN });
    expect(aws.slackSecretArn).toBe(ARN);
    expect(aws.slackSigningSecret).toBeUndefined();
    expect(parseConfig(LOCAL).slackSecretArn).toBeUndefined();
  });

  it('explains PRICE_OVERRIDES mistakes', () => {
    expect(problemsOf({ ...LOCAL, PRICE_OVERRIDES: '{c5n.metal: 4}' })).toEqual(['PRICE_OVERRIDES: expected JSON such as {"c5n.metal": 3.888}']);
    expect(problemsOf({ ...LOCAL, PRICE_OVERRIDES: '[4]' })).toEqual(['PRICE_OVERRIDES: expected a JSON object of instance type to USD per hour (> 0)']);
    expect(problemsOf({ ...LOCAL, PRICE_OVERRIDES: '{"c5n.metal": "4"}' })).toEqual(['PRICE_OVERRIDES: "c5n.metal": expected USD per hour > 0, got "4"']);
    expect(problemsOf({ ...LOCAL, INSTANCE_TYPE: 'c6i.metal', FALLBACK_INSTANCE_TYPES: 'm5zn.metal,x9.metal' })).toEqual([
      'PRICE_OVERRIDES: no price for c6i.metal; add {"c6i.metal": <USD per hour>}',
      'PRICE_OVERRIDES: no price for x9.metal; add {"x9.metal": <USD per hour>}',
    ]);
    const c = parseConfig({ ...LOCAL, INSTANCE_TYPE: 'c6i.metal', PRICE_OVERRIDES: '{"c6i.metal": 5.44}' });
    expect(c.priceOverrides).toEqual({ 'c6i.metal': 5.44 });
  });

  it('INSTANCE_TYPES unset or empty: INSTANCE_TYPE and the fallbacks, in that order, each once', () => {
    expect(parseConfig(LOCAL).instanceTypes).toEqual(['c5n.metal', 'm5zn.metal']);
    expect(parseConfig({ ...LOCAL, INSTANCE_TYPES: '' }).instanceTypes).toEqual(['c5n.metal', 'm5zn.metal']);
    expect(parseConfig({ ...LOCAL, INSTANCE_TYPE: 'm5zn.metal', FALLBACK_INSTANCE_TYPES: 'c5n.metal' }).instanceTypes).toEqual(['m5zn.metal', 'c5n.metal']);
    expect(parseConfig({ ...LOCAL, FALLBACK_INSTANCE_TYPES: '' }).instanceTypes).toEqual(['c5n.metal']);
    expect(parseConfig({ ...LOCAL, FALLBACK_INSTANCE_TYPES: 'c5n.metal,m5zn.metal,m5zn.metal' }).instanceTypes).toEqual(['c5n.metal', 'm5zn.metal']);
  });

  it('INSTANCE_TYPES given: read as a list, trimmed, each once', () => {
    const c = parseConfig({ ...LOCAL, INSTANCE_TYPES: ' m5zn.metal, c6i.metal,c5n.metal,,c6i.metal ', PRICE_OVERRIDES: '{"c6i.metal": 5.44}' });
    expect(c.instanceTypes).toEqual(['m5zn.metal', 'c6i.metal', 'c5n.metal']);
    // The default and the fallbacks are what they were.
    expect(c.instanceType).toBe('c5n.metal');
    expect(c.fallbackInstanceTypes).toEqual(['m5zn.metal']);
  });

  it('INSTANCE_TYPES without INSTANCE_TYPE is refused', () => {
    expect(problemsOf({ ...LOCAL, INSTANCE_TYPES: 'm5zn.metal' })).toEqual(['INSTANCE_TYPES: must include c5n.metal (INSTANCE_TYPE); got m5zn.metal']);
    const problems = problemsOf({ ...LOCAL, INSTANCE_TYPE: 'm5zn.metal', FALLBACK_INSTANCE_TYPES: '', INSTANCE_TYPES: 'c5n.metal' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^INSTANCE_TYPES: must include m5zn\.metal/);
  });

  it('INSTANCE_TYPES without a fallback is refused, each missing fallback named', () => {
    expect(problemsOf({ ...LOCAL, INSTANCE_TYPES: 'c5n.metal' })).toEqual([
      'INSTANCE_TYPES: must include m5zn.metal (in FALLBACK_INSTANCE_TYPES); got c5n.metal',
    ]);
    const problems = problemsOf({
      ...LOCAL,
      FALLBACK_INSTANCE_TYPES: 'm5zn.metal,c6i.metal',
      INSTANCE_TYPES: 'c5n.metal',
      PRICE_OVERRIDES: '{"c6i.metal": 5.44}',
    });
    expect(problems).toEqual([
      'INSTANCE_TYPES: must include m5zn.metal (in FALLBACK_INSTANCE_TYPES); got c5n.metal',
      'INSTANCE_TYPES: must include c6i.metal (in FALLBACK_INSTANCE_TYPES); got c5n.metal',
    ]);
  });

  it('a type in INSTANCE_TYPES without a price is refused with the PRICE_OVERRIDES message', () => {
    expect(problemsOf({ ...LOCAL, INSTANCE_TYPES: 'c5n.metal,m5zn.metal,c6i.metal' })).toEqual([
      'PRICE_OVERRIDES: no price for c6i.metal; add {"c6i.metal": <USD per hour>}',
    ]);
    expect(parseConfig({ ...LOCAL, INSTANCE_TYPES: 'c5n.metal,m5zn.metal,c6i.metal', PRICE_OVERRIDES: '{"c6i.metal": 5.44}' }).instanceTypes).toEqual([
      'c5n.metal',
      'm5zn.metal',
      'c6i.metal',
    ]);
  });

  it('every INSTANCE_TYPES problem in one ConfigError, with the others', () => {
    const env = { ...LOCAL, VOLUME_SIZE_GB: 'abc', INSTANCE_TYPES: 'x9.metal' };
    expect(problemsOf(env)).toEqual([
      'VOLUME_SIZE_GB: expected a whole number ≥ 1, got "abc"',
      'INSTANCE_TYPES: must include c5n.metal (INSTANCE_TYPE); got x9.metal',
      'INSTANCE_TYPES: must include m5zn.metal (in FALLBACK_INSTANCE_TYPES); got x9.metal',
      'PRICE_OVERRIDES: no price for x9.metal; add {"x9.metal": <USD per hour>}',
    ]);
    let error: unknown;
    try {
      parseConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      [
        'invalid configuration:',
        '- VOLUME_SIZE_GB: expected a whole number ≥ 1, got "abc"',
        '- INSTANCE_TYPES: must include c5n.metal (INSTANCE_TYPE); got x9.metal',
        '- INSTANCE_TYPES: must include m5zn.metal (in FALLBACK_INSTANCE_TYPES); got x9.metal',
        '- PRICE_OVERRIDES: no price for x9.metal; add {"x9.metal": <USD per hour>}',
      ].join('\n'),
    );
  });
});

describe('maskConfig', () => {
  it('hides the signing secret and the bot token, and keeps the rest', () => {
    const masked = maskConfig(parseConfig(LOCAL));
    const text = JSON.stringify(masked);
    expect(text).not.toContain('sandbox-signing-secret');
    expect(text).not.toContain('xoxb-test-sandbox-token');
    expect(masked.slackSigningSecret).toBe('***(22 chars)');
    expect(masked.slackBotToken).toBe('***(23 chars)');
    expect(masked.buildsTable).toBe('labapp-metal-builds');
    expect(maskConfig(parseConfig({ SLACK_SECRET_ARN: ARN })).slackSecretArn).toBe(ARN);
  });
});
