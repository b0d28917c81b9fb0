import { Code } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { createApp, type CreateAppOptions } from '../../infra/app';

// What synth prints: the policy the deploy puts in place, in words an operator checks at a glance.

function printed(options: CreateAppOptions): string[] {
  const lines: string[] = [];
  createApp({ code: () => Code.fromInline('exports.handler = async () => {}'), ...options, report: (line) => lines.push(line) });
  return lines;
}

describe('the effective policy printed at synth', () => {
  it('says that anyone in the channel except the requester approves when no approver is set', () => {
    expect(printed({})).toEqual([
      'Who may request: anyone, in any channel the app is in',
      'Who may approve: anyone in the channel except the requester',
      'Limits: c5n.metal unless a request chooses m5zn.metal; at most 3 h a build (warned at 2 h), plus 2 h of extensions; 1 build at a time; an unanswered request expires after 30 min',
      'Budget: none, approvals are not capped by month; a default build costs at most $11.83',
      "Region: not known at synth (the deploy's credentials choose it); prices from the built-in us-east-1 table; a deploy to another region is refused unless `priceOverrides` prices every type",
    ]);
  });

  it('names the approvers, groups, channels, second approval and budget of a locked-down deploy', () => {
    expect(
      printed({
        region: 'us-east-1',
        settings: {
          approverIds: ['U0123ABCD', 'W0456EFGH'],
          approverGroupIds: ['S0789IJKL'],
          allowedChannelIds: ['C0123ABCD', 'G0456EFGH'],
          secondApprovalAboveUsd: 20,
          monthlyBudgetUsd: 400,
          budgetWarnPercent: 75,
          maxConcurrentBuilds: 2,
          instanceTypes: ['c5n.metal', 'm5zn.metal', 'c8i.8xlarge'],
          priceOverrides: { 'c5n.metal': 3.5 },
        },
      }),
    ).toEqual([
      'Who may request: anyone in C0123ABCD and G0456EFGH',
      'Who may approve: U0123ABCD, W0456EFGH and the members of user group S0789IJKL, never their own requests; a build whose maximum is above $20.00 needs two of them',
      'Limits: c5n.metal unless a request chooses m5zn.metal and c8i.8xlarge; at most 3 h a build (warned at 2 h), plus 2 h of extensions; 2 builds at a time; an unanswered request expires after 30 min',
      'Budget: $400.00 a month (UTC), a warning at 75 %; a default build costs at most $10.66',
      'Region: us-east-1; prices from the built-in us-east-1 table, `priceOverrides` for c5n.metal',
    ]);
  });

  it('says where the prices of another region come from, and which settings -c changed for this deploy only', () => {
    expect(
      printed({
        region: 'eu-west-1',
        settings: { approverIds: ['U0123ABCD'], allowSelfApproval: true, priceOverrides: { 'c5n.metal': 4.3, 'm5zn.metal': 4.4 } },
        context: { maxLifetimeHours: '4', warnAfterHours: '3' },
      }),
    ).toEqual([
      'Who may request: anyone, in any channel the app is in',
      'Who may approve: U0123ABCD, their own requests included',
      'Limits: c5n.metal unless a request chooses m5zn.metal; at most 4 h a build (warned at 3 h), plus 2 h of extensions; 1 build at a time; an unanswered request expires after 30 min',
      'Budget: none, approvals are not capped by month; a default build costs at most $17.42',
      'Region: eu-west-1; prices from `priceOverrides` (c5n.metal, m5zn.metal)',
      "For this deploy only (-c): `maxLifetimeHours`, `warnAfterHours`; the next deploy without -c takes metal-build.config.json's value again",
    ]);
  });

  it('says which tags GitHub may ask for, and where their cards go', () => {
    const lines = printed({ settings: { githubRepository: 'afewell-hh/labapp', githubChannelId: 'C0123ABCD' } });
    expect(lines).toContain('GitHub: a new tag matching v* in afewell-hh/labapp posts a request card in C0123ABCD; it is approved like any other');
  });
});
