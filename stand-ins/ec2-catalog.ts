import type { QueryParams, XmlValue } from './ec2-query';
import { Ec2Error, filters, page, values } from './ec2-query';

// What the stand-in's EC2 sells and where: instance types with their vCPUs, which zones offer
// which type, the refusals a test arranges, and the two Describe calls that read them. The
// refusal texts are the ones EC2 really sends, because events/launch/plan.ts classifies some
// refusals by their message, not only their code.

/** vCPUs per type; the metal and nested-virtualization types this project prices, plus small ones for other tests. */
export const DEFAULT_INSTANCE_TYPES: Readonly<Record<string, number>> = {
  'c5n.metal': 72,
  'm5zn.metal': 48,
  'c8i.4xlarge': 16,
  'c8i.8xlarge': 32,
  'c8i-flex.8xlarge': 32,
  'm8i.4xlarge': 16,
  'm8i.8xlarge': 32,
  'm8i-flex.8xlarge': 32,
  'm8i.12xlarge': 48,
  'r8i.4xlarge': 16,
  't3.micro': 2,
  't3.small': 2,
  'm5.large': 2,
};

/**
 * The families whose DescribeInstanceTypes lists `nested-virtualization` in
 * ProcessorInfo.SupportedFeatures (AWS, February 2026: C8i, M8i, R8i and their -flex variants).
 */
const NESTED_VIRTUALIZATION_FAMILY = /^(c8i|m8i|r8i)(-flex)?\./;

export function supportsNestedVirtualization(instanceType: string): boolean {
  return NESTED_VIRTUALIZATION_FAMILY.test(instanceType);
}

/**
 * EC2's answer to `CpuOptions.NestedVirtualization=enabled` for a type without the feature. AWS
 * documents neither the code nor the text of this refusal: both are this stand-in's assumption
 * (a client error, as every parameter refusal is). The launch treats any refusal of an attempt
 * with the option as final for that type, so it does not depend on the exact words.
 */
export const NESTED_VIRTUALIZATION_REFUSAL = {
  code: 'InvalidParameterCombination',
  message: (type: string) => `Nested virtualization is not supported for instance type ${type}.`,
};

export type RefusalCode = 'InsufficientInstanceCapacity' | 'VcpuLimitExceeded' | 'Unsupported' | 'InvalidParameterCombination';

export interface RefusalRule {
  instanceType: string;
  /** Only launches into this subnet; every subnet when absent. */
  subnetId?: string;
  code: RefusalCode;
  /** EC2's own text for the code when absent. */
  message?: string;
}

/**
 * EC2's error-code reference lists InsufficientInstanceCapacity among the server errors and EC2
 * answers it with HTTP 500 (so the SDK retries it); the other refusals are client errors (400).
 */
const REFUSAL_STATUS: Record<RefusalCode, number> = {
  InsufficientInstanceCapacity: 500,
  VcpuLimitExceeded: 400,
  Unsupported: 400,
  InvalidParameterCombination: 400,
};

export class Catalog {
  private readonly refusals: RefusalRule[] = [];

  constructor(
    readonly instanceTypes: Readonly<Record<string, number>>,
    /** instance type → zones that offer it. */
    readonly offerings: Readonly<Record<string, readonly string[]>>,
  ) {}

  static create(zones: readonly string[], instanceTypes?: Record<string, number>, offerings?: Record<string, string[]>): Catalog {
    const types = instanceTypes ?? DEFAULT_INSTANCE_TYPES;
    const offered = offerings ?? Object.fromEntries(Object.keys(types).map((type) => [type, [...new Set(zones)]]));
    return new Catalog(types, offered);
  }

  /** Returns a function that lifts the refusal again. */
  refuse(rule: RefusalRule): () => void {
    this.refusals.push(rule);
    return () => {
      const at = this.refusals.indexOf(rule);
      if (at >= 0) this.refusals.splice(at, 1);
    };
  }

  zonesOffering(instanceType: string): readonly string[] {
    return this.offerings[instanceType] ?? [];
  }

  /** Throws what EC2 would answer when this launch is refused. */
  checkLaunch(instanceType: string, subnetId: string, zone: string, nestedVirtualization = false): void {
    if (!(instanceType in this.instanceTypes)) throw new Ec2Error('InvalidParameterValue', `Invalid value '${instanceType}' for InstanceType.`);
    if (nestedVirtualization && !supportsNestedVirtualization(instanceType))
      throw new Ec2Error(NESTED_VIRTUALIZATION_REFUSAL.code, NESTED_VIRTUALIZATION_REFUSAL.message(instanceType), 400);
    const rule = this.refusals.find((r) => r.instanceType === instanceType && (r.subnetId === undefined || r.subnetId === subnetId));
    if (rule) throw new Ec2Error(rule.code, rule.message ?? this.message(rule.code, instanceType, zone), REFUSAL_STATUS[rule.code]);
    if (!this.zonesOffering(instanceType).includes(zone))
      throw new Ec2Error('Unsupported', this.message('Unsupported', instanceType, zone), REFUSAL_STATUS.Unsupported);
  }

  describeOfferings(params: QueryParams, region: string, pageSize: number): Record<string, XmlValue> {
    const locationType = params.LocationType ?? 'region';
    if (locationType !== 'region' && locationType !== 'availability-zone')
      throw new Ec2Error('InvalidParameterValue', `The location type '${locationType}' is not supported by this stand-in`);
    const all = Object.entries(this.offerings).flatMap(([instanceType, zones]) =>
      (locationType === 'region' ? (zones.length > 0 ? [region] : []) : zones).map((location) => ({ instanceType, locationType, location })),
    );
    const wanted = filters(params);
    for (const { name } of wanted)
      if (name !== 'instance-type' && name !== 'location') throw new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
    const matching = all.filter((offer) => wanted.every(({ name, values: v }) => v.includes(name === 'location' ? offer.location : offer.instanceType)));
    const { items, nextToken } = page(params, 'DescribeInstanceTypeOfferings', matching, pageSize);
    return { instanceTypeOfferingSet: items, nextToken };
  }

  describeTypes(params: QueryParams, pageSize: number): Record<string, XmlValue> {
    const asked = values(params, 'InstanceType');
    const unknown = asked.filter((type) => !(type in this.instanceTypes));
    if (unknown.length > 0) throw new Ec2Error('InvalidInstanceType', `The following supplied instance types do not exist: [${unknown.join(', ')}]`);
    const types = asked.length > 0 ? asked : Object.keys(this.instanceTypes);
    const { items, nextToken } = page(params, 'DescribeInstanceTypes', types, pageSize);
    const info = items.map((instanceType) => ({
      instanceType,
      bareMetal: instanceType.endsWith('.metal'),
      vCpuInfo: { defaultVCpus: this.instanceTypes[instanceType] },
      processorInfo: { supportedFeatures: supportsNestedVirtualization(instanceType) ? ['nested-virtualization'] : [] },
    }));
    return { instanceTypeSet: info, nextToken };
  }

  private message(code: RefusalCode, instanceType: string, zone: string): string {
    switch (code) {
      case 'InsufficientInstanceCapacity':
        return `We currently do not have sufficient ${instanceType} capacity in the Availability Zone you requested (${zone}). Our system will be working on provisioning additional capacity.`;
      case 'VcpuLimitExceeded':
        return 'You have requested more vCPU capacity than your current vCPU limit of 32 allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.';
      case 'InvalidParameterCombination':
        return NESTED_VIRTUALIZATION_REFUSAL.message(instanceType);
      case 'Unsupported': {
        const others = this.zonesOffering(instanceType).filter((z) => z !== zone);
        return `Your requested instance type (${instanceType}) is not supported in your requested Availability Zone (${zone}). Please retry your request by not specifying an Availability Zone or choosing ${others.join(', ')}.`;
      }
    }
  }
}
