import type { Build } from '../domain/build';
import { isActive } from '../domain/build';
import { usd } from '../domain/cost';
import type { Logger } from '../domain/ports';
import type { MonthLedger } from '../domain/spend';
import { monthFigures, monthOf } from '../domain/spend';
import { slotHolders } from '../use-cases/month-budget';
import type { CardContext } from '../views/card';
import type { BotDeps } from './deps';

// What the card of a request awaiting approval shows besides the build: the builds already
// running and the month's budget line, each as of the moment it is drawn. The request draws it;
// a redraw while the request still waits (the first of two approvals) draws it again, so the
// card keeps its lines.

/** The slot holders that are running or about to: what this request would wait for. */
export const runningOf = (holders: readonly Build[]): Build[] => holders.filter((b) => isActive(b.Status) && b.Status !== 'awaiting_approval');

/**
 * The month's ledger for the card's budget line when MONTHLY_BUDGET_USD is set. Advice as of the
 * drawing: the approval decides again. Unreadable, the card goes without the line.
 */
export async function monthLedger(deps: Pick<BotDeps, 'config' | 'ledger'>, now: Date, log: Logger): Promise<MonthLedger | undefined> {
  if (deps.config.monthlyBudgetUsd === undefined) return undefined;
  try {
    return await deps.ledger.read(monthOf(now));
  } catch (error) {
    log.warn('month ledger unreadable; the card goes without its budget line', { error });
    return undefined;
  }
}

/** The card's budget line: the month as read, with what this build may add. */
export function cardBudget(
  config: BotDeps['config'],
  ledger: MonthLedger | undefined,
  holders: readonly Build[],
  now: Date,
  adding: number,
  deciding?: string,
) {
  if (!ledger || config.monthlyBudgetUsd === undefined) return undefined;
  return { budget: config.monthlyBudgetUsd, ...monthFigures(ledger, holders, config, now, deciding), adding: usd(adding) };
}

/** A redraw of a waiting card with its lines; a failed read leaves only that line out. */
export async function awaitingCardContext(deps: Pick<BotDeps, 'config' | 'ledger' | 'store'>, build: Build, now: Date, log: Logger): Promise<CardContext> {
  const { config } = deps;
  const [holders, ledger] = await Promise.all([
    slotHolders(deps).catch((error: unknown) => {
      log.warn('builds holding a slot unreadable; the card goes without that line', { error });
      return undefined;
    }),
    monthLedger(deps, now, log),
  ]);
  const budget = holders && cardBudget(config, ledger, holders, now, build.CostMax, build.BuildID);
  return { config, now, ...(holders ? { running: runningOf(holders) } : {}), ...(budget ? { budget } : {}) };
}
