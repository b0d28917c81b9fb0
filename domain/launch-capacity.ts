import { formatUsd } from './cost';

// Which launch attempts can work at all, decided before RunInstances from what EC2 and Service
// Quotas say: a subnet whose zone does not offer the type, or a type whose vCPUs do not fit
// under the account's on-demand quota, is skipped (and the thread told why) instead of being
// tried and refused. Pure: the launch handler gathers the facts.

export const ON_DEMAND_STANDARD_QUOTA = {
  serviceCode: 'ec2',
  quotaCode: 'L-1216C47A',
  name: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances',
} as const;

export interface CapacityFacts {
  region: string;
  /** Zone of each configured subnet; a subnet missing here is tried as before. */
  subnetZones: Readonly<Record<string, string>>;
  /** Zones offering each type; undefined when EC2 could not say (nothing is skipped for zones). */
  offeredZones: Readonly<Record<string, readonly string[]>> | undefined;
  /** vCPUs of each type; a type missing here is not checked against the quota. */
  vcpus: Readonly<Record<string, number>>;
  /** undefined when Service Quotas could not say: the launch goes on and EC2 decides. */
  quota: { limit: number; inUse: number } | undefined;
  /**
   * What the approval covers: each type's maximum (the card's maximum line for that type) and
   * the most a machine may cost (the approved maximum + FALLBACK_MAX_OVERRUN_PERCENT). A type
   * without a known maximum is not checked.
   */
  price?: { maxOf: Readonly<Record<string, number>>; allowed: number; approved: number; overrunPercent: number };
}

export interface Skip {
  instanceType: string;
  /** Set for a zone skip; a quota skip covers every subnet of the type. */
  subnetId?: string;
  reason: 'zone' | 'quota' | 'price';
  /** One clause for the thread. */
  text: string;
}

/** What is needed of a launch attempt here (events/launch/plan.ts `LaunchAttempt`). */
interface Attempt {
  instanceType: string;
  /** '' when the launch template's network settings decide. */
  subnetId: string;
}

export interface CapacityFit<A extends Attempt> {
  attempts: A[];
  skips: Skip[];
  /** Every attempt was skipped: the build's ErrorMessage. */
  failure?: string;
}

export function fitLaunch<A extends Attempt>(attempts: readonly A[], facts: CapacityFacts): CapacityFit<A> {
  const skips: Skip[] = [];
  const overQuota = new Set<string>();
  const overPrice = new Set<string>();
  const types = [...new Set(attempts.map((a) => a.instanceType))];
  if (facts.price) {
    const { maxOf, allowed, approved, overrunPercent } = facts.price;
    for (const type of types) {
      const max = maxOf[type];
      if (max === undefined || max <= allowed) continue;
      overPrice.add(type);
      skips.push({
        instanceType: type,
        reason: 'price',
        text: `${type} (up to ${formatUsd(max)}, more than ${overrunPercent}% above the approved maximum of ${formatUsd(approved)})`,
      });
    }
  }
  if (facts.quota) {
    const { limit, inUse } = facts.quota;
    for (const type of types) {
      if (overPrice.has(type)) continue;
      const needs = facts.vcpus[type];
      if (needs === undefined || inUse + needs <= limit) continue;
      overQuota.add(type);
      skips.push({
        instanceType: type,
        reason: 'quota',
        text: `${type} (needs ${needs} vCPUs; ${Math.max(0, limit - inUse)} of the ${limit}-vCPU quota ${ON_DEMAND_STANDARD_QUOTA.quotaCode} are free)`,
      });
    }
  }
  const kept: A[] = [];
  for (const attempt of attempts) {
    if (overQuota.has(attempt.instanceType) || overPrice.has(attempt.instanceType)) continue;
    const zone = facts.subnetZones[attempt.subnetId];
    const offered = facts.offeredZones?.[attempt.instanceType];
    if (attempt.subnetId !== '' && zone !== undefined && offered !== undefined && !offered.includes(zone)) {
      skips.push({
        instanceType: attempt.instanceType,
        subnetId: attempt.subnetId,
        reason: 'zone',
        text: `${attempt.instanceType} in ${attempt.subnetId} (${zone} does not offer it)`,
      });
      continue;
    }
    kept.push(attempt);
  }
  if (kept.length > 0 || attempts.length === 0) return { attempts: kept, skips };
  return { attempts: [], skips, failure: failureMessage(types, facts, overQuota, overPrice) };
}

function failureMessage(types: readonly string[], facts: CapacityFacts, overQuota: ReadonlySet<string>, overPrice: ReadonlySet<string>): string {
  const lines = ['No machine could be launched: no instance type fits.'];
  if (overPrice.size > 0) lines.push(`• Price: ${skipsText(facts, overPrice)}; raise FALLBACK_MAX_OVERRUN_PERCENT to allow them.`);
  if (overQuota.size > 0 && facts.quota) {
    const { limit, inUse } = facts.quota;
    const needs = [...overQuota].map((t) => `${t} needs ${facts.vcpus[t]}`).join(', ');
    const smallest = Math.min(...[...overQuota].map((t) => facts.vcpus[t] ?? Infinity));
    const desired = inUse + smallest;
    lines.push(
      `• vCPU quota: ${ON_DEMAND_STANDARD_QUOTA.quotaCode} ("${ON_DEMAND_STANDARD_QUOTA.name}") is ${limit} vCPUs in ${facts.region}, ` +
        `${inUse} are in use by other machines, and ${needs}.`,
      `  Ask for at least ${desired}: aws service-quotas request-service-quota-increase --service-code ${ON_DEMAND_STANDARD_QUOTA.serviceCode} ` +
        `--quota-code ${ON_DEMAND_STANDARD_QUOTA.quotaCode} --desired-value ${desired} --region ${facts.region}`,
    );
  }
  const zoneOnly = types.filter((t) => !overQuota.has(t) && !overPrice.has(t));
  if (zoneOnly.length > 0) {
    const subnets = Object.entries(facts.subnetZones)
      .map(([subnet, zone]) => `${subnet} (${zone})`)
      .join(', ');
    const offering = zoneOnly.map((t) => `${t}: ${(facts.offeredZones?.[t] ?? []).join(', ') || 'no zone'}`).join('; ');
    lines.push(
      `• Zones: no configured subnet lies in a zone that offers ${zoneOnly.join(' or ')}. Subnets: ${subnets}. Offered in ${offering}.`,
      '  Deploy with zones that offer them (cdk deploy -c availabilityZones=…) or set SUBNET_IDS to subnets there.',
    );
  }
  return lines.join('\n');
}

function skipsText(facts: CapacityFacts, types: ReadonlySet<string>): string {
  const price = facts.price!;
  return (
    [...types].map((t) => `${t} costs up to ${formatUsd(price.maxOf[t] ?? 0)}`).join(', ') +
    `, above the approved ${formatUsd(price.approved)} + ${price.overrunPercent}%`
  );
}

/** The standard on-demand families the quota counts (its name lists them); others have their own quotas. */
export function countsTowardStandardQuota(instanceType: string, lifecycle: string | undefined): boolean {
  if (lifecycle === 'spot' || lifecycle === 'scheduled' || lifecycle === 'capacity-block') return false;
  const family = /^[a-z]+/.exec(instanceType)?.[0] ?? '';
  // inf, dl, trn, hpc and mac start with a listed letter but are quoted separately.
  if (['inf', 'dl', 'trn', 'hpc', 'mac'].includes(family)) return false;
  return /^[acdhimrtz]/.test(family);
}
