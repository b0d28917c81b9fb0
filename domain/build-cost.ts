import type { Build } from './build';
import type { Config } from './config';
import { costBetween } from './cost';

// What one build's machine and disk cost: the one place that turns a record into dollars, for the
// card, the thread, the final cost, the month's spend and the budget.

type CostConfig = Pick<Config, 'instanceType' | 'volumeSizeGb' | 'priceOverrides'>;

/** LaunchTime to `until` (an ISO time); undefined before a launch. */
export function costOf(build: Pick<Build, 'LaunchTime' | 'InstanceType'>, config: CostConfig, until: string): number | undefined {
  if (!build.LaunchTime) return undefined;
  return costBetween(build.InstanceType ?? config.instanceType, config.volumeSizeGb, build.LaunchTime, until, config.priceOverrides, config.instanceType);
}
