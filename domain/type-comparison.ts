import type { Build } from './build';
import type { Config } from './config';
import type { Completion } from './expected-duration';
import { expectedDuration } from './expected-duration';
import { limitHoursOf, requestedTypeOf } from './build-choice';
import { buildQuote, commandFor } from './build-facts';
import { usd } from './cost';

// The team's own benchmark (docs/design.md "Choosing the machine"): what another type the
// operator allows took in the team's recent builds and would cost for this request, so that
// trying it is one word. Only types with enough completed builds to mean something are named.

export interface OtherType {
  instanceType: string;
  /** The median of its recent completed builds (domain/expected-duration.ts). */
  hours: number;
  fromBuilds: number;
  /** This request's expected cost on that type, for that median. */
  expected: number;
  /** The request again on that type, ready to paste. */
  command: string;
}

/** At most this many lines: the card is read on a phone. */
export const MAX_OTHER_TYPES = 3;

type Request = Pick<Build, 'BuildBranch' | 'BuildCommit' | 'RequestedType' | 'LimitHours'>;

/** Every allowed type but the request's own with a history of at least MIN_HISTORY builds, cheapest expected first. */
export function otherTypes(request: Request, config: Config, histories: Readonly<Record<string, readonly Completion[]>>): OtherType[] {
  const own = requestedTypeOf(request, config);
  const others: OtherType[] = [];
  for (const instanceType of config.instanceTypes) {
    if (instanceType === own) continue;
    const expected = expectedDuration(histories[instanceType] ?? [], config.expectedBuildHours);
    if (expected.fromBuilds === 0) continue;
    const quoted = buildQuote({ ...request, ExpectedHours: expected.hours }, config, instanceType);
    if (!quoted) continue;
    others.push({
      instanceType,
      hours: expected.hours,
      fromBuilds: expected.fromBuilds,
      expected: usd(quoted.expected.total),
      command: tryCommand(request, config, instanceType),
    });
  }
  return others.sort((a, b) => a.expected - b.expected || a.instanceType.localeCompare(b.instanceType)).slice(0, MAX_OTHER_TYPES);
}

/** `/metal-build <branch> [commit] type=<t>`, with the request's limit when it chose one. */
export function tryCommand(request: Request, config: Config, instanceType: string): string {
  const limit = limitHoursOf(request, config);
  const hours = limit !== config.maxLifetimeHours ? ` hours=${limit}` : '';
  return `${commandFor(request)} type=${instanceType}${hours}`;
}
