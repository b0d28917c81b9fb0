import type { Config } from '../domain/config';
import { formatUsd } from '../domain/cost';
import { quote } from '../domain/build-facts';
import { priceSource } from './region-prices';
import { SETTINGS_FILE } from './settings-file';

// Synth prints the policy the deploy puts in place, in plain words: a setting that parsed but
// means something else than intended (an empty approver list: anybody approves) shows here before
// it reaches AWS.

export interface PolicyFacts {
  config: Config;
  /** The deploy's region, when synth knows it. */
  region?: string;
  /** Settings given with `-c` for this deploy only. */
  overridden: readonly string[];
}

const hours = (h: number) => `${h} h`;
const and = (items: readonly string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

function whoMayApprove(config: Config): string {
  const named = [...config.approverIds, ...config.approverGroupIds.map((g) => `the members of user group ${g}`)];
  if (named.length === 0) return config.allowSelfApproval ? 'anyone in the channel, the requester included' : 'anyone in the channel except the requester';
  return `${and(named)}${config.allowSelfApproval ? ', their own requests included' : ', never their own requests'}`;
}

/** The effective policy, a few lines, each a complete statement. */
export function describePolicy({ config, region, overridden }: PolicyFacts): string[] {
  const lines = [
    `Who may request: ${config.allowedChannelIds.length === 0 ? 'anyone, in any channel the app is in' : `anyone in ${and(config.allowedChannelIds)}`}`,
    `Who may approve: ${whoMayApprove(config)}` +
      (config.secondApprovalAboveUsd === undefined ? '' : `; a build whose maximum is above ${formatUsd(config.secondApprovalAboveUsd)} needs two of them`),
    `Limits: ${config.instanceType} unless a request chooses ${and(config.instanceTypes.filter((t) => t !== config.instanceType)) || 'nothing else'}; ` +
      `at most ${hours(config.maxLifetimeHours)} a build (warned at ${hours(config.warnAfterHours)}), plus ${hours(config.maxExtensionHours)} of extensions; ` +
      `${config.maxConcurrentBuilds} build${config.maxConcurrentBuilds === 1 ? '' : 's'} at a time; an unanswered request expires after ${config.approvalTtlMinutes} min`,
  ];
  if (config.githubRepository !== undefined)
    lines.push(
      `GitHub: a new tag matching ${config.githubTagPattern} in ${config.githubRepository} posts a request card in ${config.githubChannelId ?? '(no channel)'}; it is approved like any other`,
    );
  const defaultBuild = quote(config);
  const oneBuild = defaultBuild ? `; a default build costs at most ${formatUsd(defaultBuild.max.total)}` : '';
  lines.push(
    config.monthlyBudgetUsd === undefined
      ? `Budget: none, approvals are not capped by month${oneBuild}`
      : `Budget: ${formatUsd(config.monthlyBudgetUsd)} a month (UTC), a warning at ${config.budgetWarnPercent} %${oneBuild}`,
  );
  lines.push(`Region: ${region ?? "not known at synth (the deploy's credentials choose it)"}; ${priceSource(region, config)}`);
  if (overridden.length > 0)
    lines.push(`For this deploy only (-c): ${overridden.map((k) => `\`${k}\``).join(', ')}; the next deploy without -c takes ${SETTINGS_FILE}'s value again`);
  return lines;
}
