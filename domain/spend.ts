import type { Build, Status } from './build';
import { RETENTION_DAYS, isFinal } from './build';
import { isSelftest } from './build-kind';
import type { CostConfig } from './build-facts';
import { costSoFar, costToDeadline, isCostFinal } from './build-facts';
import { usd } from './cost';

// docs/design.md "Spend control": what a month has cost, and whether one more approval or
// extension fits its budget. A build belongs to the month (UTC) of its LaunchTime. The month's
// ledger is the final cost of each build counted once (MonthIndex), plus the holds that approvals
// and extensions took (`#month#YYYY-MM`); running builds are added from their records, and a hold
// whose build is neither counted nor running counts at its amount, so no money is out of sight.

/** A build's final cost, as counted into its month. */
export interface CountedBuild {
  buildId: string;
  cost: number;
  requester: string;
  branch: string;
  /** The status when it was counted. */
  status: Status;
  /** A self-test (docs/design.md "Self-test"): shown on its own line, not among the builds. */
  kind?: 'selftest';
}

export interface MonthLedger {
  /** YYYY-MM */
  month: string;
  /** Bumped by every hold: the optimistic lock that serialises budget decisions. 0 = no hold yet. */
  version: number;
  /** Sum of the counted costs. */
  spent: number;
  /** As the index shows them: a count that just landed may not be here yet (its hold still is). */
  counted: CountedBuild[];
  /** What approvals and extensions reserved, by BuildID: their maximum at that moment. */
  holds: Readonly<Record<string, number>>;
  budgetWarnedAt?: string;
}

export const emptyLedger = (month: string): MonthLedger => ({ month, version: 0, spent: 0, counted: [], holds: {} });

/** The month (UTC, YYYY-MM) of an ISO time. */
export function monthOf(time: string | Date): string {
  return (typeof time === 'string' ? new Date(time) : time).toISOString().slice(0, 7);
}

/** Whether every record of the month may be gone: its last build expired RETENTION_DAYS after it ended. */
export function pastRetention(month: string, now: Date): boolean {
  const [year, mon] = month.split('-').map(Number) as [number, number];
  // A build launched on the month's last day ends within days; a week of margin.
  const lastEnd = Date.UTC(year, mon, 7);
  return now.getTime() > lastEnd + RETENTION_DAYS * 24 * 3600_000;
}

/** "December 2026" */
export function monthName(month: string): string {
  return new Date(`${month}-01T00:00:00Z`).toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
}

/** The entry a build with a final cost adds to its month; undefined while its cost is not final. */
export function countedEntry(build: Build): { month: string; entry: CountedBuild } | undefined {
  if (!isFinal(build.Status) || build.ActualCost === undefined || !build.LaunchTime) return undefined;
  return {
    month: monthOf(build.LaunchTime),
    entry: {
      buildId: build.BuildID,
      cost: build.ActualCost,
      requester: build.Requester,
      branch: build.BuildBranch,
      status: build.Status,
      ...(isSelftest(build) && { kind: 'selftest' as const }),
    },
  };
}

/**
 * What a build not yet counted adds to `month`: what it has cost so far, and the most it may
 * still cost. A build approved but not launched counts at its hold (or CostMax) in the month of
 * the decision; a build awaiting approval without a hold has not passed a budget check yet, so
 * it counts nothing: it meets ours when it does.
 */
export function uncounted(build: Build, ledger: MonthLedger, config: CostConfig, now: Date): { soFar: number; upTo: number } {
  const none = { soFar: 0, upTo: 0 };
  if (isCounted(ledger, build.BuildID)) return none;
  const hold = ledger.holds[build.BuildID];
  if (build.LaunchTime) {
    if (monthOf(build.LaunchTime) !== ledger.month) return none;
    const soFar = costSoFar(build, { config, now }) ?? 0;
    if (isCostFinal(build)) return { soFar, upTo: soFar };
    return { soFar, upTo: Math.max(soFar, costToDeadline(build, config) ?? soFar, hold ?? 0) };
  }
  if (isFinal(build.Status)) return none;
  if (build.Status === 'approved' || build.Status === 'queued' || hold !== undefined) return { soFar: 0, upTo: Math.max(hold ?? 0, build.CostMax) };
  return none;
}

/**
 * A hold never exceeds what its build may still cost: a launched build's cost to its deadline
 * (its extensions included), or what it has cost so far when that is more. Undefined when the
 * hold is within that, or the build is not launched (an approval's hold is its maximum).
 */
export function trimmedHold(build: Build, ledger: Pick<MonthLedger, 'holds'>, config: CostConfig, now: Date): number | undefined {
  const hold = ledger.holds[build.BuildID];
  if (hold === undefined || !build.LaunchTime) return undefined;
  const mayCost = launchedMayCost(build, config, now);
  return hold > mayCost ? mayCost : undefined;
}

/** The most a launched build may cost in all: its final cost once its machine is gone, else its cost to its deadline (extensions so far), or so far when more. */
export function launchedMayCost(build: Build, config: CostConfig, now: Date): number {
  const soFar = costSoFar(build, { config, now }) ?? 0;
  return usd(isCostFinal(build) ? soFar : Math.max(soFar, costToDeadline(build, config) ?? 0));
}

export interface BudgetFigures {
  budget: number;
  /** Counted costs plus what running builds have cost so far. */
  spent: number;
  /** What running and approved builds may still cost on top of `spent`, up to their maximums. */
  committed: number;
  /** What this decision adds: the build's maximum, or an extension's price. */
  adding: number;
}

export type BudgetVerdict = { ok: true; figures: BudgetFigures } | { ok: false; figures: BudgetFigures };

/** Whether the index shows this build counted into the month. */
export function isCounted(ledger: MonthLedger, buildId: string): boolean {
  return ledger.counted.some((c) => c.buildId === buildId);
}

/**
 * The month's figures: the counted costs, the slot holders (`others`, read from their records),
 * and every other hold not yet matched by a count (a build ended and its slot freed before its
 * count reached the index). `deciding` is the approval being decided: its own hold, if an earlier
 * attempt left one, is what it is about to replace.
 */
export function monthFigures(
  ledger: MonthLedger,
  others: readonly Build[],
  config: CostConfig,
  now: Date,
  deciding?: string,
): { spent: number; committed: number } {
  let spent = ledger.spent;
  let committed = 0;
  for (const b of others) {
    const u = uncounted(b, ledger, config, now);
    spent += u.soFar;
    committed += u.upTo - u.soFar;
  }
  const read = new Set(others.map((b) => b.BuildID));
  for (const [buildId, hold] of Object.entries(ledger.holds)) if (buildId !== deciding && !read.has(buildId) && !isCounted(ledger, buildId)) committed += hold;
  return { spent: usd(spent), committed: usd(committed) };
}

/** What the watchdog does with a month's hold, given its build's record (docs/design.md "Spend control"). */
export type HoldCare =
  { action: 'keep' } | { action: 'remove'; why: 'counted' | 'never launched' | 'launched in another month' | 'no record' } | { action: 'trim'; to: number };

/**
 * A hold leaves the month only once the index shows its build's count (until then it is what
 * keeps the build in the figures), or when its build ended without a machine, launched in another
 * month or is gone; an ended build's hold above its final cost is brought down to it.
 */
export function holdCare(build: Build | undefined, ledger: MonthLedger, config: CostConfig, now: Date): HoldCare {
  if (!build) return { action: 'remove', why: 'no record' };
  if (isCounted(ledger, build.BuildID)) return { action: 'remove', why: 'counted' };
  if (isFinal(build.Status) && !build.LaunchTime && !build.InstanceID) return { action: 'remove', why: 'never launched' };
  // The launch moved it (or the machine started just past midnight): the cost is the other month's.
  if (build.LaunchTime && monthOf(build.LaunchTime) !== ledger.month) return { action: 'remove', why: 'launched in another month' };
  // Only once the cost no longer grows: a running build's hold is its own handlers' to trim (an
  // Extend may be between its hold and its record's write, which a trim from here would undo).
  const trimmed = isCostFinal(build) ? trimmedHold(build, ledger, config, now) : undefined;
  return trimmed === undefined ? { action: 'keep' } : { action: 'trim', to: trimmed };
}

/** Refused when spent + committed + adding would go past the budget. */
export function budgetVerdict(budget: number, figures: { spent: number; committed: number }, adding: number): BudgetVerdict {
  const all: BudgetFigures = { budget, ...figures, adding: usd(adding) };
  return { ok: usd(all.spent + all.committed + all.adding) <= budget, figures: all };
}

/** The share of the budget the month reaches with this decision, in percent. */
export function projectedPercent(f: BudgetFigures): number {
  return ((f.spent + f.committed + f.adding) / f.budget) * 100;
}

/** The first decision that takes the month to BUDGET_WARN_PERCENT or more posts the warning. */
export function crossesWarning(f: BudgetFigures, warnPercent: number, ledger: MonthLedger): boolean {
  return ledger.budgetWarnedAt === undefined && projectedPercent(f) >= warnPercent;
}

// ---- the month's report (`/metal-build costs`) ---------------------------------------------

export interface SpendLine {
  key: string;
  cost: number;
}

export interface MonthReport {
  month: string;
  /** Final costs plus running builds so far. */
  total: number;
  finalTotal: number;
  runningTotal: number;
  /** Builds by outcome: final statuses as counted, `running` for those still going. */
  byOutcome: Record<string, number>;
  byRequester: SpendLine[];
  byBranch: SpendLine[];
  /** The three most expensive builds, running ones at their cost so far. */
  top: Array<CountedBuild & { running: boolean }>;
  builds: number;
  /** The month's self-tests (counted and running): how many, and their cost, part of the totals. */
  selftests: { count: number; cost: number };
}

const descending = (lines: Map<string, number>): SpendLine[] =>
  [...lines].map(([key, cost]) => ({ key, cost: usd(cost) })).sort((a, b) => b.cost - a.cost || a.key.localeCompare(b.key));

/** `running`: the month's builds not yet counted, with their cost so far. */
export function monthReport(ledger: MonthLedger, running: ReadonlyArray<{ build: Build; soFar: number }>): MonthReport {
  const everything = [
    ...ledger.counted.map((c) => ({ ...c, running: false })),
    ...running.map(({ build, soFar }) => ({
      buildId: build.BuildID,
      cost: soFar,
      requester: build.Requester,
      branch: build.BuildBranch,
      status: build.Status,
      ...(isSelftest(build) && { kind: 'selftest' as const }),
      running: true,
    })),
  ];
  const selftests = everything.filter((b) => b.kind === 'selftest');
  const all = everything.filter((b) => b.kind !== 'selftest');
  const byOutcome: Record<string, number> = {};
  const byRequester = new Map<string, number>();
  const byBranch = new Map<string, number>();
  for (const b of all) {
    const outcome = b.running ? 'running' : b.status;
    byOutcome[outcome] = (byOutcome[outcome] ?? 0) + 1;
    byRequester.set(b.requester, (byRequester.get(b.requester) ?? 0) + b.cost);
    byBranch.set(b.branch, (byBranch.get(b.branch) ?? 0) + b.cost);
  }
  const runningTotal = usd(running.reduce((sum, r) => sum + r.soFar, 0));
  return {
    month: ledger.month,
    total: usd(ledger.spent + runningTotal),
    finalTotal: usd(ledger.spent),
    runningTotal,
    byOutcome,
    byRequester: descending(byRequester),
    byBranch: descending(byBranch),
    top: [...all].sort((a, b) => b.cost - a.cost || a.buildId.localeCompare(b.buildId)).slice(0, 3),
    builds: all.length,
    selftests: { count: selftests.length, cost: usd(selftests.reduce((sum, b) => sum + b.cost, 0)) },
  };
}
