import type { Build } from '../../domain/build';
import { countedEntry, holdCare, monthOf } from '../../domain/spend';
import { countFinalCost } from '../month-spend';
import type { Snapshot, WatchdogRun } from './snapshot';

// The month's books (docs/design.md "Spend control"), after every due termination was requested
// and before anyone is told: bookkeeping never delays safety, and Slack never delays the books.
// For this month's and last month's holds: a build that ended uncounted is counted (its slot may
// be long gone: counting never kept it), and a hold leaves the month item once MonthIndex shows
// its build's count, or its build ended without a machine, launched in another month, or is gone;
// an ended build's hold above its final cost is brought down to it (a running build's is its own
// handlers' to trim). A failed step is the next run's.

export async function keepMonthBooks(run: WatchdogRun, snap: Snapshot): Promise<void> {
  if (run.deps.config.monthlyBudgetUsd === undefined) return;
  const current = monthOf(run.now);
  const previous = monthOf(new Date(Date.UTC(run.now.getUTCFullYear(), run.now.getUTCMonth(), 0)));
  const active = new Map((snap.active ?? []).map((b) => [b.BuildID, b]));
  for (const month of [previous, current]) await run.step('month books', undefined, () => keepMonth(run, month, active));
}

async function keepMonth(run: WatchdogRun, month: string, active: ReadonlyMap<string, Build>): Promise<void> {
  const { ledger, store, config } = run.deps;
  // Most minutes hold nothing: the month's counted builds (index pages) are read only when a hold needs them.
  if (Object.keys((await ledger.holds(month)).holds).length === 0) return;
  const books = await ledger.read(month);
  await run.each(Object.entries(books.holds), ([buildId, hold]) =>
    run.step('month hold', buildId, async () => {
      const log = run.log.child({ buildId });
      // Consistent: the snapshot's active builds came from an index, which may be behind.
      const build = active.get(buildId) ?? (await store.get(buildId));
      if (build && countedEntry(build) && build.CountedMonth === undefined) await countFinalCost(run.deps, build, log);
      const care = holdCare(build, books, config, run.now);
      if (care.action === 'remove') {
        if (await ledger.release(month, buildId, hold)) log.info('hold removed from the month', { month, hold, why: care.why });
      } else if (care.action === 'trim') {
        if (await ledger.hold(month, books.version, buildId, care.to))
          log.info('hold brought down to what the build may still cost', { month, hold, to: care.to });
      }
    }),
  );
}
