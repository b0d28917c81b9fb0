import { quote } from '../domain/build-facts';
import type { Config } from '../domain/config';
import { DEFAULT_HOURLY_PRICES, formatUsd, usd } from '../domain/cost';
import type { CostEstimate } from '../domain/cost';

// Table 8, computed, not timed: what a default build costs on each built-in instance type
// (DEFAULT_HOURLY_PRICES in domain/cost.ts), by the same quote the card shows (domain/build-facts
// `quote`): the expected line (EXPECTED_BUILD_HOURS) and the maximum (MAX_LIFETIME_HOURS), the
// VOLUME_SIZE_GB gp3 disk included, and each type's expected cost as a ratio to c5n.metal's.

/** The type every other one is compared with: the default INSTANCE_TYPE, a bare-metal machine. */
export const REFERENCE_TYPE = 'c5n.metal';

export interface CostRow {
  instanceType: string;
  /** The instance's price per hour, without the disk. */
  hourlyUsd: number;
  /** Instance, disk and transfer over the expected hours, to the cent. */
  expectedUsd: number;
  /** The same over the maximum lifetime, to the cent. */
  maxUsd: number;
  /** Expected cost / the reference type's expected cost (from the unrounded figures). */
  ratioToReference: number;
}

export interface CostTable {
  reference: string;
  expectedHours: number;
  maxHours: number;
  volumeGb: number;
  /** The disk's price per hour (gp3), the same for every type. */
  hourlyDiskUsd: number;
  transferGb: number;
  /** Cheapest expected cost first. */
  rows: CostRow[];
}

function quoteOf(config: Config, instanceType: string): CostEstimate {
  const q = quote(config, { instanceType });
  if (!q) throw new Error(`bench: no price for ${instanceType}`);
  return q;
}

/** One row per built-in instance type, priced as `quote(config, { instanceType })` prices it. */
export function costTable(config: Config, types: readonly string[] = Object.keys(DEFAULT_HOURLY_PRICES)): CostTable {
  const reference = quoteOf(config, REFERENCE_TYPE);
  const quotes = [...new Set([REFERENCE_TYPE, ...types])].map((type) => quoteOf(config, type));
  const rows = quotes
    .sort((a, b) => a.expected.total - b.expected.total || a.instanceType.localeCompare(b.instanceType))
    .map((q) => ({
      instanceType: q.instanceType,
      hourlyUsd: q.hourlyInstance,
      expectedUsd: usd(q.expected.total),
      maxUsd: usd(q.max.total),
      ratioToReference: Math.round((q.expected.total / reference.expected.total) * 1000) / 1000,
    }));
  return {
    reference: REFERENCE_TYPE,
    expectedHours: reference.expected.hours,
    maxHours: reference.max.hours,
    volumeGb: config.volumeSizeGb,
    hourlyDiskUsd: reference.hourlyDisk,
    transferGb: config.transferGb,
    rows,
  };
}

const hours = (h: number) => `${h} h`;

/** The title, header and cells of the printed table (bench/report.ts lays them out). */
export function costTableCells(t: CostTable): { title: string; header: string[]; rows: string[][] } {
  const transfer = t.transferGb > 0 ? ` and ${t.transferGb} GB of transfer` : '';
  return {
    title:
      `8. Cost of a default build by instance type, as the card quotes it: the instance ($/h) + a ${t.volumeGb} GB gp3 disk ` +
      `($${t.hourlyDiskUsd.toFixed(3)}/h)${transfer}; cheapest expected first (computed, not timed)`,
    header: ['type', '$/h', `expected (${hours(t.expectedHours)})`, `maximum (${hours(t.maxHours)})`, `ratio to ${t.reference}`],
    rows: t.rows.map((r) => [r.instanceType, `$${r.hourlyUsd.toFixed(3)}`, formatUsd(r.expectedUsd), formatUsd(r.maxUsd), `${r.ratioToReference.toFixed(2)}×`]),
  };
}
