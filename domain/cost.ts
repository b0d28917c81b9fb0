// docs/design.md "Cost model". On-demand us-east-1 Linux list prices; the original guide's $4.32/h
// for c5n.metal and "$0.08/hour" for the disk were both too high.

export const DEFAULT_HOURLY_PRICES: Readonly<Record<string, number>> = {
  'c5n.metal': 3.888,
  'm5zn.metal': 3.9641,
  // KVM through nested virtualization (docs/design.md "Cost model"): AWS public price list,
  // us-east-1 on-demand Linux, January 2026.
  'c8i.4xlarge': 0.74968,
  'c8i.8xlarge': 1.49936,
  'c8i-flex.8xlarge': 1.42432,
  'm8i.4xlarge': 0.84672,
  'm8i.8xlarge': 1.69344,
  'm8i-flex.8xlarge': 1.6088,
  'm8i.12xlarge': 2.54016,
  'r8i.4xlarge': 1.11136,
  // The self-test's machine (SELFTEST_INSTANCE_TYPE): https://aws.amazon.com/ec2/pricing/on-demand/,
  // us-east-1 Linux, t3.small $0.0208/h.
  't3.small': 0.0208,
};
export const EBS_GP3_USD_PER_GB_MONTH = 0.08;
export const HOURS_PER_MONTH = 730;
/** Internet egress; uploads to S3 in the same region are free, hence TRANSFER_GB defaults to 0. */
export const TRANSFER_USD_PER_GB = 0.09;
/** EC2 bills Linux instances per second with a one-minute minimum. */
export const MINIMUM_BILLED_SECONDS = 60;

export interface CostInputs {
  instanceType: string;
  volumeGb: number;
  expectedHours: number;
  maxLifetimeHours: number;
  maxExtensionHours: number;
  transferGb: number;
  /** PRICE_OVERRIDES: usd per hour by instance type. */
  priceOverrides: Readonly<Record<string, number>>;
}

export interface CostLine {
  label: string;
  hours: number;
  instance: number;
  disk: number;
  transfer: number;
  total: number;
}

export interface CostEstimate {
  instanceType: string;
  hourlyInstance: number;
  hourlyDisk: number;
  expected: CostLine;
  max: CostLine;
  maxWithExtensions: CostLine;
}

export function hourlyPrice(instanceType: string, overrides: Readonly<Record<string, number>>): number | undefined {
  return overrides[instanceType] ?? DEFAULT_HOURLY_PRICES[instanceType];
}

export function hourlyDiskPrice(volumeGb: number): number {
  return (volumeGb * EBS_GP3_USD_PER_GB_MONTH) / HOURS_PER_MONTH;
}

/** Rounded to the cent, as every figure a person sees. */
export function usd(amount: number): number {
  return Math.round(amount * 100) / 100;
}

export function formatUsd(amount: number): string {
  return `$${usd(amount).toFixed(2)}`;
}

function line(label: string, hours: number, hourlyInstance: number, hourlyDisk: number, transfer: number): CostLine {
  const instance = hours * hourlyInstance;
  const disk = hours * hourlyDisk;
  return { label, hours, instance, disk, transfer, total: instance + disk + transfer };
}

export type EstimateResult = { ok: true; estimate: CostEstimate } | { ok: false; problem: string };

export function estimate(inputs: CostInputs): EstimateResult {
  const hourlyInstance = hourlyPrice(inputs.instanceType, inputs.priceOverrides);
  if (hourlyInstance === undefined) return { ok: false, problem: `no price known for ${inputs.instanceType}: add it to PRICE_OVERRIDES` };
  const hourlyDisk = hourlyDiskPrice(inputs.volumeGb);
  const transfer = inputs.transferGb * TRANSFER_USD_PER_GB;
  return {
    ok: true,
    estimate: {
      instanceType: inputs.instanceType,
      hourlyInstance,
      hourlyDisk,
      expected: line('expected', inputs.expectedHours, hourlyInstance, hourlyDisk, transfer),
      max: line('maximum', inputs.maxLifetimeHours, hourlyInstance, hourlyDisk, transfer),
      maxWithExtensions: line('maximum with extensions', inputs.maxLifetimeHours + inputs.maxExtensionHours, hourlyInstance, hourlyDisk, transfer),
    },
  };
}

export function billedSeconds(from: string, to: string): number {
  const seconds = Math.ceil((Date.parse(to) - Date.parse(from)) / 1000);
  return Math.max(MINIMUM_BILLED_SECONDS, seconds);
}

/**
 * Instance + EBS from LaunchTime to `to`, per second with EC2's one-minute minimum. An unknown
 * type costs as the configured type would: the figure is a report, never a reason to fail.
 */
export function costBetween(
  instanceType: string,
  volumeGb: number,
  from: string,
  to: string,
  overrides: Readonly<Record<string, number>>,
  fallbackType: string,
): number {
  return usd(exactCostBetween(instanceType, volumeGb, from, to, overrides, fallbackType));
}

/** costBetween unrounded: a self-test's cost is told in fractions of a cent. */
export function exactCostBetween(
  instanceType: string,
  volumeGb: number,
  from: string,
  to: string,
  overrides: Readonly<Record<string, number>>,
  fallbackType: string,
): number {
  const hourly = hourlyPrice(instanceType, overrides) ?? hourlyPrice(fallbackType, overrides) ?? 0;
  const hours = billedSeconds(from, to) / 3600;
  return hours * (hourly + hourlyDiskPrice(volumeGb));
}
