import { monthFigures, monthOf, monthReport, pastRetention, uncounted } from '../domain/spend';
import { costsReport } from '../views/spend-messages';
import type { BotDeps } from './deps';
import { slotHolders } from '../use-cases/month-budget';

// `/metal-build costs [YYYY-MM]` (docs/design.md "Spend control"): the month's item (one GetItem),
// its counted builds (MonthIndex, one page for a small team's month) and the builds holding a
// slot (the only ones that can still cost money), never a Scan, so the answer is inside Slack's
// 3 s however long the history.

export async function showCosts(deps: BotDeps, month?: string): Promise<string> {
  const { config } = deps;
  const now = deps.clock.now();
  const asked = month ?? monthOf(now);
  const [ledger, holders] = await Promise.all([deps.ledger.read(asked), slotHolders(deps)]);
  // The month's builds whose cost is not counted yet: running, or ended a moment ago.
  const running = holders
    .filter((b) => b.LaunchTime !== undefined && monthOf(b.LaunchTime) === asked && !ledger.counted.some((c) => c.buildId === b.BuildID))
    .map((build) => ({ build, soFar: uncounted(build, ledger, config, now).soFar }));
  const budget = config.monthlyBudgetUsd;
  const committed = asked === monthOf(now) ? monthFigures(ledger, holders, config, now).committed : 0;
  deps.log.info('costs shown', { month: asked, counted: ledger.counted.length, running: running.length });
  return costsReport(monthReport(ledger, running), budget === undefined ? undefined : { budget, committed }, pastRetention(asked, now));
}
