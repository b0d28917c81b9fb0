import { createHash } from 'node:crypto';
import type { Build } from '../../domain/build';
import type { Config } from '../../domain/config';
import { LAUNCHED_BY_TAG } from '../../domain/machine-tags';
import type { LaunchedInstance, Machine } from '../../domain/ports';
import type { Skip } from '../../domain/launch-capacity';
import { classifyRefusal } from '../../domain/launch-refusal';
import { ON_DEMAND_STANDARD_QUOTA } from '../../domain/launch-capacity';

// The pure part of the launch handler: which (type, subnet) pairs to try and in what order, the
// idempotency token of each, the tags, and what an EC2 refusal means for the next attempt.

export interface LaunchAttempt {
  instanceType: string;
  /** The type lists `nested-virtualization`: launched with the CPU option, so KVM works on a virtual machine. */
  nestedVirtualization?: boolean;
  /** '' when SUBNET_IDS is empty: the launch template's network settings decide. */
  subnetId: string;
  clientToken: string;
}

/**
 * Each subnet for each of `types` (the build's type, then the fallbacks: build-choice
 * `launchTypesOf`), in order; the types of `nestedTypes` with the nested-virtualization option.
 */
export function launchAttempts(
  buildId: string,
  types: readonly string[],
  config: Pick<Config, 'subnetIds'>,
  nestedTypes: readonly string[] = [],
): LaunchAttempt[] {
  const subnets = config.subnetIds.length > 0 ? config.subnetIds : [''];
  return types.flatMap((instanceType) => {
    const nested = nestedTypes.includes(instanceType);
    return subnets.map((subnetId) => ({
      instanceType,
      ...(nested ? { nestedVirtualization: true } : {}),
      subnetId,
      clientToken: clientToken(buildId, instanceType, subnetId, nested),
    }));
  });
}

/**
 * EC2 keeps a ClientToken for a while and answers a repeat with the instance the first call
 * made, so a redelivered `Build Approved` cannot start a second machine. One token per
 * attempt: EC2 refuses a token reused with other parameters. The BuildID stays readable (for
 * CloudTrail) and the pair is hashed to stay within EC2's 64 characters.
 */
export function clientToken(buildId: string, instanceType: string, subnetId: string, nestedVirtualization = false): string {
  // The option is a parameter of the request: a delivery that could not read it (launching
  // without) must not reuse the token of one that could.
  const digest = createHash('sha256')
    .update(`${instanceType}\n${subnetId}${nestedVirtualization ? '\nnested' : ''}`)
    .digest('hex')
    .slice(0, 16);
  return `${buildId}-${digest}`.slice(0, 64);
}

/** The machine's own cap (build.json): the build's limit and every extension it may get. */
export function maxLifetimeMinutes(limitHours: number, config: Pick<Config, 'maxExtensionHours'>): number {
  return Math.round((limitHours + config.maxExtensionHours) * 60);
}

/** The original system's tags (its cleanup and cost reports rely on them), on instance and volume. */
export function launchTags(build: Pick<Build, 'BuildID' | 'Requester'>, limitHours: number): Record<string, string> {
  return {
    Project: 'labapp',
    Purpose: 'prewarmed-build',
    BuildID: build.BuildID,
    AutoDelete: 'true',
    // The base limit, as the original tag said; extensions are in the record (ExtendedHours).
    MaxLifetime: `${limitHours}hours`,
    Requester: build.Requester,
    Name: `labapp-metal-build-${build.BuildID}`,
    [LAUNCHED_BY_TAG.key]: LAUNCHED_BY_TAG.value,
  };
}

/** A live machine of the build found before any RunInstances, and the extras to end. */
export interface Adoption {
  instance: LaunchedInstance;
  state: Machine['state'];
  extras: string[];
}

/**
 * An earlier delivery launched these and crashed before recording one. The earliest launched is
 * kept: it has run longest, and the order is total (ties by ID), so overlapping deliveries keep
 * the same one. The others would only cost money until the watchdog's orphan rule.
 */
export function adoption(machines: readonly Machine[]): Adoption | undefined {
  const [first, ...others] = [...machines].sort((a, b) => Date.parse(a.launchTime) - Date.parse(b.launchTime) || a.instanceId.localeCompare(b.instanceId));
  if (!first) return undefined;
  return {
    instance: { instanceId: first.instanceId, instanceType: first.instanceType, availabilityZone: first.availabilityZone, launchTime: first.launchTime },
    state: first.state,
    extras: others.map((m) => m.instanceId),
  };
}

/** vCPUs of the metal types this project uses, for the quota advice. */
export const METAL_VCPUS: Readonly<Record<string, number>> = { 'c5n.metal': 72, 'm5zn.metal': 48 };

export interface Refusal {
  instanceType: string;
  subnetId: string;
  code: string;
  message: string;
}

/**
 * Quotas are per region and instance family, not per subnet: after a quota refusal the other
 * subnets of the same type are skipped (they would be refused the same way).
 */
export function skipsOtherSubnets(code: string, message: string, nestedVirtualization = false): boolean {
  const kind = classifyRefusal(code, message);
  // AWS documents no error for a type that refuses the option: any refusal but capacity is taken as that.
  return kind === 'quota' || (nestedVirtualization && kind !== 'capacity');
}

/** The build's ErrorMessage when no attempt launched: every reason, and what to do about quotas. */
export function launchFailureMessage(refusals: readonly Refusal[], skips: readonly Skip[] = []): string {
  const lines = [
    ...refusals.map((r) => `• ${r.instanceType}${r.subnetId ? ` in ${r.subnetId}` : ''}: ${r.code}: ${oneLine(r.message)}`),
    ...skips.map((s) => `• skipped ${s.text}`),
  ];
  const quotaTypes = [...new Set(refusals.filter((r) => classifyRefusal(r.code, r.message) === 'quota').map((r) => r.instanceType))];
  const advice: string[] = [];
  if (quotaTypes.length > 0) {
    const needs = quotaTypes.map((t) => (METAL_VCPUS[t] ? `${t} needs ${METAL_VCPUS[t]} vCPUs` : `${t}`)).join(', ');
    advice.push(
      `The account's on-demand vCPU quota is too low (${needs}). Raise the Service Quotas limit "${ON_DEMAND_STANDARD_QUOTA.name}" (${ON_DEMAND_STANDARD_QUOTA.quotaCode}) in this region to at least that many vCPUs, then request the build again.`,
    );
  }
  if (refusals.some((r) => classifyRefusal(r.code, r.message) === 'capacity'))
    advice.push('AWS had no capacity for these types in these Availability Zones; try again later or add subnets in other zones (SUBNET_IDS).');
  return [`No machine could be launched (${refusals.length} attempt${refusals.length === 1 ? '' : 's'}):`, ...lines, ...advice].join('\n');
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 299)}…` : flat;
}
