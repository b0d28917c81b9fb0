import { describe, expect, it } from 'vitest';
import type { CostInputs } from '../../domain/cost';
import { billedSeconds, costBetween, estimate, formatUsd, hourlyDiskPrice, usd } from '../../domain/cost';

// docs/design.md "Cost model": the reference figures are pinned for the defaults (c5n.metal, 500 GB,
// expected 1.5 h, maximum 3 h, 2 h of extensions, TRANSFER_GB 0).

const DEFAULTS: CostInputs = {
  instanceType: 'c5n.metal',
  volumeGb: 500,
  expectedHours: 1.5,
  maxLifetimeHours: 3,
  maxExtensionHours: 2,
  transferGb: 0,
  priceOverrides: {},
};

function estimateOf(inputs: Partial<CostInputs> = {}) {
  const r = estimate({ ...DEFAULTS, ...inputs });
  if (!r.ok) throw new Error(r.problem);
  return r.estimate;
}

describe('estimate', () => {
  it('pins the reference figures: expected $5.91, maximum $11.83, with extensions $19.71', () => {
    const e = estimateOf();
    expect(usd(e.expected.total)).toBe(5.91);
    expect(usd(e.max.total)).toBe(11.83);
    expect(usd(e.maxWithExtensions.total)).toBe(19.71);
    expect([e.expected.hours, e.max.hours, e.maxWithExtensions.hours]).toEqual([1.5, 3, 5]);
    expect(formatUsd(e.maxWithExtensions.total)).toBe('$19.71');
  });

  it('splits each line into instance, disk (gp3 $0.08/GB-month over 730 h) and transfer', () => {
    const e = estimateOf();
    expect(e.hourlyInstance).toBe(3.888);
    expect(e.hourlyDisk).toBeCloseTo(0.0548, 4);
    expect(hourlyDiskPrice(730)).toBeCloseTo(0.08, 10);
    expect(e.max.instance).toBeCloseTo(11.664, 10);
    expect(e.max.disk).toBeCloseTo(0.1644, 4);
    expect(e.max.transfer).toBe(0);
    expect(e.max.total).toBeCloseTo(e.max.instance + e.max.disk, 10);
  });

  it('PRICE_OVERRIDES replaces a built-in price and prices unknown types', () => {
    expect(usd(estimateOf({ priceOverrides: { 'c5n.metal': 4.32 } }).max.instance)).toBe(12.96);
    const custom = estimateOf({ instanceType: 'c6i.metal', priceOverrides: { 'c6i.metal': 5.44 } });
    expect(custom.instanceType).toBe('c6i.metal');
    expect(usd(custom.expected.instance)).toBe(8.16);
  });

  it('TRANSFER_GB adds $0.09 per GB to every line', () => {
    const e = estimateOf({ transferGb: 100 });
    for (const line of [e.expected, e.max, e.maxWithExtensions]) expect(line.transfer).toBeCloseTo(9, 10);
    expect(usd(e.expected.total)).toBe(14.91);
  });

  it('names the problem for an unknown type without an override', () => {
    expect(estimate({ ...DEFAULTS, instanceType: 'x9.metal' })).toEqual({
      ok: false,
      problem: 'no price known for x9.metal: add it to PRICE_OVERRIDES',
    });
  });
});

describe('actual cost', () => {
  const launch = '2026-11-25T17:00:00.000Z';
  const after = (seconds: number) => new Date(Date.parse(launch) + seconds * 1000).toISOString();
  const hourly = 3.888 + hourlyDiskPrice(500);

  it('bills per second with EC2’s one-minute minimum', () => {
    expect(billedSeconds(launch, after(10))).toBe(60);
    expect(billedSeconds(launch, after(60))).toBe(60);
    expect(billedSeconds(launch, after(61))).toBe(61);
    expect(billedSeconds(launch, after(90.2))).toBe(91);
    expect(costBetween('c5n.metal', 500, launch, after(10), {}, 'c5n.metal')).toBe(usd((60 / 3600) * hourly));
  });

  it('costs 90 minutes exactly as 1.5 hours of instance and disk', () => {
    expect(costBetween('c5n.metal', 500, launch, after(90 * 60), {}, 'c5n.metal')).toBe(5.91);
    expect(costBetween('m5zn.metal', 500, launch, after(90 * 60), {}, 'c5n.metal')).toBe(usd(1.5 * (3.9641 + hourlyDiskPrice(500))));
  });

  it('uses PRICE_OVERRIDES, and the configured type’s price for a type it does not know', () => {
    expect(costBetween('c5n.metal', 500, launch, after(3600), { 'c5n.metal': 4 }, 'c5n.metal')).toBe(usd(4 + hourlyDiskPrice(500)));
    expect(costBetween('x9.metal', 500, launch, after(3600), {}, 'c5n.metal')).toBe(usd(hourly));
  });
});
