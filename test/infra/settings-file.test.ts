import { Code } from 'aws-cdk-lib/aws-lambda';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp, type CreateAppOptions } from '../../infra/app';
import { PROJECT_ROOT } from '../../infra/functions';
import { SETTING_KEYS, SettingsError } from '../../infra/settings';
import { isCdkContextKey } from '../../infra/settings-file';

// metal-build.config.json and `-c`, as an operator meets them: each mistake refused at synth with
// the message that says what to fix, and nothing constructed.

const code = () => Code.fromInline('exports.handler = async () => {}');

/** The problems synth reports, or [] when it accepts the settings. */
function problemsOf(options: CreateAppOptions): string[] {
  try {
    createApp({ code, ...options });
    return [];
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
}

const USER_ID = 'U or W, then upper-case letters and digits, such as U0123ABCD';
const GROUP_ID = 'S, then upper-case letters and digits, such as S0123ABCD';
const CHANNEL_ID = 'C or G, then upper-case letters and digits, such as C0123ABCD';

const BAD: Array<[string, CreateAppOptions, string]> = [
  // Unknown keys, with the nearest valid name
  [
    'a wrong-case key in the file',
    { settings: { approverIDs: ['U0123ABCD'] } },
    '`approverIDs` in metal-build.config.json: unknown setting; did you mean `approverIds`?',
  ],
  ['a wrong-case key with -c', { context: { approverIDs: 'U0123ABCD' } }, '`approverIDs` (-c): unknown setting; did you mean `approverIds`?'],
  [
    'a misspelt key',
    { settings: { allowedChanelIds: ['C0123ABCD'] } },
    '`allowedChanelIds` in metal-build.config.json: unknown setting; did you mean `allowedChannelIds`?',
  ],
  ['a key cut short', { context: { volume: '600' } }, '`volume` (-c): unknown setting; did you mean `volumeSize`?'],
  [
    'the environment variable name',
    { settings: { MAX_LIFETIME_HOURS: 4 } },
    '`MAX_LIFETIME_HOURS` in metal-build.config.json: unknown setting; did you mean `maxLifetimeHours`?',
  ],
  [
    'a key like no setting',
    { settings: { colour: 'blue' } },
    '`colour` in metal-build.config.json: unknown setting; the settings are listed in docs/operator-guide.md "Settings"',
  ],
  // Slack IDs by kind
  ['a name as approver', { context: { approverIds: 'bob' } }, `\`approverIds\`: "bob" is not a Slack user ID (${USER_ID})`],
  ['a channel as approver', { settings: { approverIds: ['C0123ABCD'] } }, `\`approverIds\`: "C0123ABCD" is not a Slack user ID (${USER_ID})`],
  ['a lower-case user ID', { settings: { approverIds: ['u0123abcd'] } }, `\`approverIds\`: "u0123abcd" is not a Slack user ID (${USER_ID})`],
  [
    'a user as approver group',
    { settings: { approverGroupIds: ['U0123ABCD'] } },
    `\`approverGroupIds\`: "U0123ABCD" is not a Slack user group ID (${GROUP_ID})`,
  ],
  [
    'a group handle as approver group',
    { settings: { approverGroupIds: ['@platform'] } },
    `\`approverGroupIds\`: "@platform" is not a Slack user group ID (${GROUP_ID})`,
  ],
  ['a user as channel', { settings: { allowedChannelIds: ['U0123ABCD'] } }, `\`allowedChannelIds\`: "U0123ABCD" is not a Slack channel ID (${CHANNEL_ID})`],
  ['a channel name as channel', { settings: { allowedChannelIds: ['#builds'] } }, `\`allowedChannelIds\`: "#builds" is not a Slack channel ID (${CHANNEL_ID})`],
  // Rules across settings
  [
    'a second approval with one approver and no group',
    { settings: { approverIds: ['U0123ABCD'], secondApprovalAboveUsd: 10 } },
    '`secondApprovalAboveUsd`: builds above $10.00 need two different approvers, but `approverIds` names one (U0123ABCD) and `approverGroupIds` none; name a second approver or a group',
  ],
  ['the warning at the limit', { settings: { warnAfterHours: 3 } }, '`warnAfterHours`: must be below `maxLifetimeHours` (3), got 3'],
  ['the warning after a shorter limit', { settings: { maxLifetimeHours: 1 } }, '`warnAfterHours`: must be below `maxLifetimeHours` (1), got 2'],
  [
    'a budget below one default build',
    { settings: { monthlyBudgetUsd: 10 } },
    "`monthlyBudgetUsd`: $10.00 is below one default build's maximum ($11.83: c5n.metal for 3 h), so no build could be approved",
  ],
  [
    'a type without a price',
    { settings: { instanceTypes: ['c5n.metal', 'm5zn.metal', 'x9.metal'] } },
    '`priceOverrides`: no price for x9.metal; add {"x9.metal": <USD per hour>}',
  ],
  [
    'a default type outside the choosable ones',
    { settings: { instanceTypes: ['c5n.metal'] } },
    '`instanceTypes`: must include m5zn.metal (in `fallbackInstanceTypes`); got c5n.metal',
  ],
  // Where settings live
  [
    'a setting left in cdk.json',
    { cdkJsonContext: { 'cli-telemetry': false, approverIds: 'U0123ABCD' }, context: { 'cli-telemetry': false, approverIds: 'U0123ABCD' } },
    '`approverIds` in cdk.json: settings are no longer read from cdk.json; move it to metal-build.config.json',
  ],
  [
    'a misspelt key in cdk.json',
    { cdkJsonContext: { approverIDs: 'U0123ABCD' }, context: { approverIDs: 'U0123ABCD' } },
    '`approverIDs` in cdk.json: unknown setting; did you mean `approverIds`?',
  ],
  // Prices per region
  [
    'another region without prices',
    { region: 'eu-west-1', settings: { priceOverrides: { 'c5n.metal': 4.3 } } },
    "`priceOverrides`: the stack deploys to eu-west-1, and the built-in prices are us-east-1's; give eu-west-1's price of every type a build may use (missing: m5zn.metal), " +
      'such as {"m5zn.metal": <USD per hour>}; look them up on https://aws.amazon.com/ec2/pricing/on-demand/ (region eu-west-1, Linux), or with ' +
      '`aws pricing get-products --region us-east-1 --service-code AmazonEC2 --filters Type=TERM_MATCH,Field=regionCode,Value=eu-west-1 ' +
      'Type=TERM_MATCH,Field=operatingSystem,Value=Linux Type=TERM_MATCH,Field=tenancy,Value=Shared Type=TERM_MATCH,Field=preInstalledSw,Value=NA ' +
      'Type=TERM_MATCH,Field=capacitystatus,Value=Used Type=TERM_MATCH,Field=instanceType,Value=m5zn.metal` ' +
      '(the Price List API answers only in us-east-1 and ap-south-1; this bot reads no live prices)',
  ],
];

describe('bad settings are refused at synth, each with the message that says what to fix', () => {
  it.each(BAD)('%s', (_, options, message) => {
    expect(problemsOf(options)).toEqual([message]);
  });

  it('names every problem of the file, the flags and cdk.json in one error, without a stack in its message', () => {
    const problems = problemsOf({
      settings: { approverIDs: ['U0123ABCD'], approverIds: ['bob'] },
      cdkJsonContext: { maxLifetimeHours: 4 },
      context: { maxLifetimeHours: 4, volum: '600' },
    });
    expect(problems).toEqual([
      '`approverIDs` in metal-build.config.json: unknown setting; did you mean `approverIds`?',
      '`maxLifetimeHours` in cdk.json: settings are no longer read from cdk.json; move it to metal-build.config.json',
      '`volum` (-c): unknown setting; did you mean `volumeSize`?',
      `\`approverIds\`: "bob" is not a Slack user ID (${USER_ID})`,
    ]);
    const error = (() => {
      try {
        createApp({ code, context: { approverIDs: 'U1' } });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toBe('invalid settings (metal-build.config.json, -c):\n- `approverIDs` (-c): unknown setting; did you mean `approverIds`?');
  });

  it('reads the settings file from disk when named, and says when it is missing or not an object', () => {
    const dir = mkdtempSync(join(tmpdir(), 'metal-build-settings-'));
    const path = join(dir, 'metal-build.config.json');
    expect(problemsOf({ settingsFile: path })).toEqual([
      `metal-build.config.json: not found at ${path}; create it (an empty {} keeps every default; docs/operator-guide.md "Deploy" shows every key)`,
    ]);
    writeFileSync(path, '["U0123ABCD"]');
    expect(problemsOf({ settingsFile: path })).toEqual([
      'metal-build.config.json: expected one JSON object of settings, such as {"approverIds": ["U0123ABCD"]}',
    ]);
    writeFileSync(path, JSON.stringify({ approverIds: ['U0123ABCD', 'W0456EFGH'], volumeSize: 600 }));
    expect(createApp({ code, settingsFile: path }).stack.node.tryGetContext('approverIds')).toBeUndefined();
    expect(problemsOf({ settingsFile: path })).toEqual([]);
  });
});

describe('accepted settings', () => {
  it('takes the file, and a -c override over it for this deploy', () => {
    const lines: string[] = [];
    createApp({ code, settings: { volumeSize: 600, approverIds: ['U0123ABCD'] }, context: { volumeSize: '700' }, report: (l) => lines.push(l) });
    expect(lines.at(-1)).toBe("For this deploy only (-c): `volumeSize`; the next deploy without -c takes metal-build.config.json's value again");
  });

  it("lets CDK's own context keys through, from cdk.json and -c", () => {
    for (const key of [
      '@aws-cdk/aws-lambda:recognizeLayerVersion',
      'aws:cdk:enable-path-metadata',
      'cli-telemetry',
      'acknowledged-issue-numbers',
      'vpc-provider:account=1:region=x',
    ])
      expect(isCdkContextKey(key)).toBe(true);
    expect(isCdkContextKey('approverIds')).toBe(false);
    expect(
      problemsOf({
        cdkJsonContext: { 'cli-telemetry': false, '@aws-cdk/core:newStyleStackSynthesis': true },
        context: { 'cli-telemetry': false, '@aws-cdk/core:newStyleStackSynthesis': true, 'aws:cdk:enable-path-metadata': true },
      }),
    ).toEqual([]);
  });

  it('accepts Enterprise Grid users (W), private channels (G) and user groups (S)', () => {
    expect(
      problemsOf({ settings: { approverIds: ['W0123ABCD'], allowedChannelIds: ['G0123ABCD'], approverGroupIds: ['S0123ABCD'], secondApprovalAboveUsd: 5 } }),
    ).toEqual([]);
  });

  it('accepts another region when priceOverrides prices every type, and us-east-1 with the built-in table', () => {
    expect(problemsOf({ region: 'eu-west-1', settings: { priceOverrides: { 'c5n.metal': 4.3, 'm5zn.metal': 4.4 } } })).toEqual([]);
    expect(problemsOf({ region: 'us-east-1' })).toEqual([]);
  });

  it('accepts a budget of exactly one default build', () => {
    expect(problemsOf({ settings: { monthlyBudgetUsd: 11.83 } })).toEqual([]);
  });
});

describe('docs/operator-guide.md "Settings file"', () => {
  it('shows an example with every setting, and the example is accepted', () => {
    const guide = readFileSync(join(PROJECT_ROOT, 'docs/operator-guide.md'), 'utf8');
    const section = guide.slice(guide.indexOf('### Settings file'));
    const example = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!) as Record<string, unknown>;
    expect(Object.keys(example).sort()).toEqual([...SETTING_KEYS].sort());
    expect(problemsOf({ settings: example, region: 'us-east-1' })).toEqual([]);
  });

  it('the checked-in metal-build.config.json is accepted as it is', () => {
    expect(problemsOf({ settingsFile: join(PROJECT_ROOT, 'metal-build.config.json'), cdkJsonFile: join(PROJECT_ROOT, 'cdk.json') })).toEqual([]);
  });
});
