import { describe, expect, it } from 'vitest';
import type { CapacityFacts } from '../../domain/launch-capacity';
import { countsTowardStandardQuota, fitLaunch } from '../../domain/launch-capacity';
import { launchAttempts } from '../../events/launch/plan';

// What is skipped before RunInstances, from the facts EC2 and Service Quotas give.

const SUBNET_A = 'subnet-0aaaaaaaaaaaaaaaa';
const SUBNET_E = 'subnet-0eeeeeeeeeeeeeeee';
const attempts = launchAttempts('build-1', ['c5n.metal', 'm5zn.metal'], { subnetIds: [SUBNET_A, SUBNET_E] });
const facts = (over: Partial<CapacityFacts> = {}): CapacityFacts => ({
  region: 'us-east-1',
  subnetZones: { [SUBNET_A]: 'us-east-1a', [SUBNET_E]: 'us-east-1e' },
  offeredZones: { 'c5n.metal': ['us-east-1a', 'us-east-1b'], 'm5zn.metal': ['us-east-1a', 'us-east-1e'] },
  vcpus: { 'c5n.metal': 72, 'm5zn.metal': 48 },
  quota: { limit: 640, inUse: 0 },
  ...over,
});
const pairs = (fit: { attempts: Array<{ instanceType: string; subnetId: string }> }) => fit.attempts.map((a) => `${a.instanceType}@${a.subnetId}`);

describe('fitLaunch', () => {
  it('skips a subnet whose zone does not offer the type, and keeps the order of the rest', () => {
    const fit = fitLaunch(attempts, facts());
    expect(pairs(fit)).toEqual([`c5n.metal@${SUBNET_A}`, `m5zn.metal@${SUBNET_A}`, `m5zn.metal@${SUBNET_E}`]);
    expect(fit.skips).toEqual([
      { instanceType: 'c5n.metal', subnetId: SUBNET_E, reason: 'zone', text: `c5n.metal in ${SUBNET_E} (us-east-1e does not offer it)` },
    ]);
    expect(fit.failure).toBeUndefined();
  });

  it('skips every subnet of a type whose vCPUs do not fit under the quota', () => {
    const fit = fitLaunch(attempts, facts({ quota: { limit: 128, inUse: 64 }, offeredZones: undefined }));
    expect(pairs(fit)).toEqual([`m5zn.metal@${SUBNET_A}`, `m5zn.metal@${SUBNET_E}`]);
    expect(fit.skips).toEqual([
      { instanceType: 'c5n.metal', reason: 'quota', text: 'c5n.metal (needs 72 vCPUs; 64 of the 128-vCPU quota L-1216C47A are free)' },
    ]);
  });

  it('fits exactly at the quota', () => {
    expect(pairs(fitLaunch(attempts, facts({ quota: { limit: 72, inUse: 0 }, offeredZones: undefined })))).toHaveLength(4);
  });

  it('none fits the quota: fails with the quota code, the numbers and the command', () => {
    const fit = fitLaunch(attempts, facts({ quota: { limit: 64, inUse: 32 } }));
    expect(fit.attempts).toEqual([]);
    expect(fit.failure).toBe(
      [
        'No machine could be launched: no instance type fits.',
        '• vCPU quota: L-1216C47A ("Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances") is 64 vCPUs in us-east-1, 32 are in use by other machines, and c5n.metal needs 72, m5zn.metal needs 48.',
        '  Ask for at least 80: aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-1216C47A --desired-value 80 --region us-east-1',
      ].join('\n'),
    );
  });

  it('no subnet in a zone that offers any type: fails naming subnets, zones and the context key', () => {
    const fit = fitLaunch(attempts, facts({ offeredZones: { 'c5n.metal': ['us-east-1b'], 'm5zn.metal': ['us-east-1c'] } }));
    expect(fit.attempts).toEqual([]);
    expect(fit.failure).toContain(`Subnets: ${SUBNET_A} (us-east-1a), ${SUBNET_E} (us-east-1e). Offered in c5n.metal: us-east-1b; m5zn.metal: us-east-1c.`);
    expect(fit.failure).toContain('-c availabilityZones=');
  });

  it('skips a type whose maximum is more than FALLBACK_MAX_OVERRUN_PERCENT above the approved one', () => {
    const price = { maxOf: { 'c5n.metal': 11.83, 'm5zn.metal': 12.06 }, approved: 11.83, allowed: 11.83 * 1.01, overrunPercent: 1 };
    const fit = fitLaunch(attempts, facts({ price, offeredZones: undefined }));
    expect(pairs(fit)).toEqual([`c5n.metal@${SUBNET_A}`, `c5n.metal@${SUBNET_E}`]);
    expect(fit.skips).toEqual([
      { instanceType: 'm5zn.metal', reason: 'price', text: 'm5zn.metal (up to $12.06, more than 1% above the approved maximum of $11.83)' },
    ]);
    // At 10 % it is covered.
    expect(fitLaunch(attempts, facts({ price: { ...price, allowed: 11.83 * 1.1, overrunPercent: 10 }, offeredZones: undefined })).skips).toEqual([]);
  });

  it('no type within the price limit: fails saying so and naming the setting', () => {
    const price = { maxOf: { 'c5n.metal': 13.5, 'm5zn.metal': 14 }, approved: 11.83, allowed: 11.83 * 1.1, overrunPercent: 10 };
    const fit = fitLaunch(attempts, facts({ price }));
    expect(fit.attempts).toEqual([]);
    expect(fit.failure).toContain(
      '• Price: c5n.metal costs up to $13.50, m5zn.metal costs up to $14.00, above the approved $11.83 + 10%; raise FALLBACK_MAX_OVERRUN_PERCENT to allow them.',
    );
  });

  it('unknown facts filter nothing: EC2 decides, attempt by attempt', () => {
    const fit = fitLaunch(attempts, facts({ subnetZones: {}, offeredZones: undefined, vcpus: {}, quota: undefined }));
    expect(fit.attempts).toEqual(attempts);
    expect(fit.skips).toEqual([]);
  });

  it('the launch template decides the subnet when none is configured: never skipped for zones', () => {
    const noSubnets = launchAttempts('build-1', ['c5n.metal'], { subnetIds: [] });
    expect(fitLaunch(noSubnets, facts()).attempts).toEqual(noSubnets);
  });
});

describe('countsTowardStandardQuota', () => {
  it.each([
    ['c5n.metal', undefined, true],
    ['m5zn.metal', undefined, true],
    ['t3.micro', undefined, true],
    ['im4gn.large', undefined, true],
    ['c5n.metal', 'spot', false],
    ['p4d.24xlarge', undefined, false],
    ['g5.xlarge', undefined, false],
    ['inf2.xlarge', undefined, false],
    ['dl1.24xlarge', undefined, false],
    ['trn1.32xlarge', undefined, false],
    ['mac2.metal', undefined, false],
    ['x2idn.metal', undefined, false],
  ])('%s (%s): %s', (type, lifecycle, expected) => {
    expect(countsTowardStandardQuota(type, lifecycle)).toBe(expected);
  });
});
