import type { Build } from './build';
import type { Config } from './config';
import { costBetween, exactCostBetween } from './cost';

// What one build's machine and disk cost: the one place that turns a record into dollars, for the
// card, the thread, the final cost, the month's spend and the budget.

type CostConfig = Pick<Config, 'instanceType' | 'volumeSizeGb' | 'priceOverrides'>;

type Costed = Pick<Build, 'LaunchTime' | 'InstanceType' | 'RootVolumeGb'>;

/** LaunchTime to `until` (an ISO time); undefined before a launch. The disk is the one launched (a self-test's), else VOLUME_SIZE_GB. */
export function costOf(build: Costed, config: CostConfig, until: string): number | undefined {
  if (!build.LaunchTime) return undefined;
  const disk = build.RootVolumeGb ?? config.volumeSizeGb;
  return costBetween(build.InstanceType ?? config.instanceType, disk, build.LaunchTime, until, config.priceOverrides, config.instanceType);
}

/** costOf unrounded, for a self-test's thread (fractions of a cent). */
export function exactCostOf(build: Costed, config: CostConfig, until: string): number | undefined {
  if (!build.LaunchTime) return undefined;
  const disk = build.RootVolumeGb ?? config.volumeSizeGb;
  return exactCostBetween(build.InstanceType ?? config.instanceType, disk, build.LaunchTime, until, config.priceOverrides, config.instanceType);
}
