import type { Build } from './build';
import type { Config } from './config';

// What a request chose of its machine (docs/design.md "Build record"): the instance type to try
// first (`type=`, RequestedType) and the limit (`hours=`, LimitHours). A record without them,
// written before they existed, chose the defaults. Everything that prices, limits, warns or ends
// a build reads them here, never the settings alone.

type ChoiceConfig = Pick<Config, 'instanceType' | 'instanceTypes' | 'fallbackInstanceTypes' | 'maxLifetimeHours' | 'warnAfterHours' | 'maxExtensionHours'>;

/** The limits one build lives by: its own limit, the warning scaled to it, the settings' extension cap. */
export interface BuildLimits {
  /** Hours from LaunchTime to the deadline, before extensions. */
  limitHours: number;
  warnAfterHours: number;
  maxExtensionHours: number;
}

export function requestedTypeOf(build: Pick<Build, 'RequestedType'>, config: Pick<Config, 'instanceType'>): string {
  return build.RequestedType ?? config.instanceType;
}

export function limitHoursOf(build: Pick<Build, 'LimitHours'>, config: Pick<Config, 'maxLifetimeHours'>): number {
  return build.LimitHours ?? config.maxLifetimeHours;
}

/**
 * The build's limits. The warning comes at the same share of its limit as WARN_AFTER_HOURS is of
 * MAX_LIFETIME_HOURS: `hours=1` with the defaults (2 of 3) warns at 40 minutes.
 */
export function limitsOf(build: Pick<Build, 'LimitHours'>, config: ChoiceConfig): BuildLimits {
  const limitHours = limitHoursOf(build, config);
  return {
    limitHours,
    warnAfterHours: (limitHours * config.warnAfterHours) / config.maxLifetimeHours,
    maxExtensionHours: config.maxExtensionHours,
  };
}

/**
 * The types a launch tries, in order: the chosen one, then each fallback (the overrun rule filters
 * them at launch). A self-test runs on its own type only, never falling back to a build's machine.
 */
export function launchTypesOf(build: Pick<Build, 'RequestedType' | 'Kind'>, config: ChoiceConfig): string[] {
  if (build.Kind === 'selftest') return [requestedTypeOf(build, config)];
  return [...new Set([requestedTypeOf(build, config), ...config.fallbackInstanceTypes])];
}

/** The words `type=` and `hours=` as typed (domain/command.ts checked their form only). */
export interface ChoiceWords {
  type?: string;
  hours?: number;
}

/** Why this choice cannot be recorded, in one line naming what is allowed; undefined when it can. */
export function choiceProblem(config: ChoiceConfig, words: ChoiceWords): string | undefined {
  if (words.type !== undefined && !config.instanceTypes.includes(words.type))
    return `type ${JSON.stringify(words.type)} is not one this bot launches; choose one of ${config.instanceTypes.join(', ')}`;
  if (words.hours === undefined || words.hours === config.maxLifetimeHours) return undefined;
  // MAX_LIFETIME_HOURS may be a fraction (2.5): the default limit is always allowed, `hours=` chooses whole hours below it.
  const most = Math.floor(config.maxLifetimeHours);
  if (most < 1) return `hours= cannot be chosen: the limit is ${config.maxLifetimeHours} h`;
  if (!(Number.isInteger(words.hours) && words.hours >= 1 && words.hours <= config.maxLifetimeHours))
    return `hours=${words.hours} is outside the allowed limits; choose a whole number from 1 to ${most}`;
  return undefined;
}

/** The record's fields for a checked choice: always both, so what the card quoted is what launches. */
export function choiceFields(config: ChoiceConfig, words: ChoiceWords): Required<Pick<Build, 'RequestedType' | 'LimitHours'>> {
  return { RequestedType: words.type ?? config.instanceType, LimitHours: words.hours ?? config.maxLifetimeHours };
}
