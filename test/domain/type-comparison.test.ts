import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../domain/config';
import { usd } from '../../domain/cost';
import { quote } from '../../domain/build-facts';
import type { Completion } from '../../domain/expected-duration';
import { MAX_OTHER_TYPES, otherTypes, tryCommand } from '../../domain/type-comparison';

const config = parseConfig({
  SLACK_SIGNING_SECRET: 's',
  SLACK_BOT_TOKEN: 'xoxb-t',
  INSTANCE_TYPES: 'c5n.metal,m5zn.metal,m8i.8xlarge,c8i.4xlarge,r8i.4xlarge,m8i.4xlarge',
});
const history = (count: number, minutes: number): Completion[] =>
  Array.from({ length: count }, (_, i) => ({ buildId: `b-${i}`, seconds: minutes * 60, completedAt: `2026-11-0${i + 1}T00:00:00.000Z` }));
const request = { BuildBranch: 'main', BuildCommit: 'abc1234', RequestedType: 'c5n.metal', LimitHours: 3 };

describe('otherTypes', () => {
  it('names only other allowed types with 3 or more builds, at their median, cheapest expected first', () => {
    const others = otherTypes(request, config, {
      'c5n.metal': history(5, 90),
      'm5zn.metal': history(2, 60),
      'm8i.8xlarge': history(3, 60),
      'c8i.4xlarge': history(3, 120),
      'not-allowed.metal': history(9, 10),
    });
    expect(others.map((o) => o.instanceType)).toEqual(['c8i.4xlarge', 'm8i.8xlarge']);
    expect(others[1]).toEqual({
      instanceType: 'm8i.8xlarge',
      hours: 1,
      fromBuilds: 3,
      expected: usd(quote(config, { instanceType: 'm8i.8xlarge', expectedHours: 1 })!.expected.total),
      command: '/metal-build main abc1234 type=m8i.8xlarge',
    });
  });

  it(`shows at most ${MAX_OTHER_TYPES}`, () => {
    const all = Object.fromEntries(config.instanceTypes.map((t) => [t, history(3, 60)]));
    expect(otherTypes(request, config, all)).toHaveLength(MAX_OTHER_TYPES);
  });

  it('the command keeps a chosen limit and the commit, and is the branch head without one', () => {
    expect(tryCommand({ ...request, LimitHours: 1 }, config, 'm8i.8xlarge')).toBe('/metal-build main abc1234 type=m8i.8xlarge hours=1');
    expect(tryCommand({ BuildBranch: 'release/v1', RequestedType: 'c5n.metal' }, config, 'c8i.4xlarge')).toBe('/metal-build release/v1 type=c8i.4xlarge');
  });
});
