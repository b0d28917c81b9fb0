import type { Build } from '../domain/build';
import type { Config } from '../domain/config';
import type { BuildStore, Clock, Logger, SpendLedger } from '../domain/ports';
import type { BudgetFigures, MonthLedger } from '../domain/spend';
import { budgetVerdict, launchedMayCost, monthFigures, monthOf, trimmedHold } from '../domain/spend';
import { usd } from '../domain/cost';
import { launchableMax } from '../domain/build-facts';

// MONTHLY_BUDGET_USD at the three moments money is committed (docs/design.md "Spend control"):
// an approval (after its slot is taken), an extension, and a launch in a later month than its
// approval. The decision is pure (domain/spend.ts); this is its read–decide–hold loop.
//
// Timeline of the race it closes: two approvals read the month at version 4 and each fits the
// budget alone. Both try to write their hold conditional on version 4; one lands (version 5),
// the other's condition fails, so it reads again, now sees the first one's hold, and is refused
// when both together would not fit.

export interface BudgetDeps {
  store: Pick<BuildStore, 'slots' | 'get'>;
  ledger: SpendLedger;
  config: Config;
  clock: Clock;
}

export type BudgetDecision = { ok: true; month: string; figures?: BudgetFigures; ledger?: MonthLedger } | { ok: false; month: string; figures: BudgetFigures };

const MAX_ATTEMPTS = 4;

/** The builds holding a concurrency slot: every build that may be running or about to. */
export async function slotHolders(deps: Pick<BudgetDeps, 'store'>): Promise<Build[]> {
  const builds = await Promise.all((await deps.store.slots()).map((id) => deps.store.get(id)));
  return builds.filter((b): b is Build => b !== undefined);
}

/**
 * Whether `adding` more fits the month's budget, and if so the hold that records it. For an
 * approval `build` is the request (not yet costing anything: it is left out of the figures and
 * holds `adding`, any earlier hold of its own replaced); for an extension it is the running build,
 * decided in its launch month (where its whole cost is counted), whose own remaining maximum is
 * part of the figures and whose hold becomes what it may then cost.
 */
export async function reserveBudget(deps: BudgetDeps, build: Build, adding: number, kind: 'approval' | 'extension'): Promise<BudgetDecision> {
  const { config } = deps;
  const now = deps.clock.now();
  const month = kind === 'extension' && build.LaunchTime !== undefined ? monthOf(build.LaunchTime) : monthOf(now);
  const budget = config.monthlyBudgetUsd;
  if (budget === undefined) return { ok: true, month };
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const [ledger, holders] = await Promise.all([deps.ledger.read(month), slotHolders(deps)]);
    const self = holders.find((b) => b.BuildID === build.BuildID) ?? build;
    const others = holders.filter((b) => b.BuildID !== build.BuildID);
    const figures = kind === 'approval' ? monthFigures(ledger, others, config, now, build.BuildID) : monthFigures(ledger, [...others, self], config, now);
    const verdict = budgetVerdict(budget, figures, adding);
    if (!verdict.ok) return { ok: false, month, figures: verdict.figures };
    // An extension's hold is what the build may then cost, from its record: never a stale hold + the hour.
    const amount = kind === 'approval' ? adding : usd(launchedMayCost(self, config, now) + adding);
    if (await deps.ledger.hold(month, ledger.version, build.BuildID, amount)) return { ok: true, month, figures: verdict.figures, ledger };
  }
  throw new Error(`the ${month} budget ledger changed under ${MAX_ATTEMPTS} decisions in a row`);
}

/**
 * A launch in a later month than its approval: the build's whole cost will belong to the launch
 * month, so its hold moves there, decided again like an approval before any RunInstances. A
 * redelivery that finds the hold already there decides nothing. The old month's hold is removed
 * after (a failure leaves it to the watchdog, which removes holds of builds launched elsewhere).
 */
export async function holdInLaunchMonth(deps: BudgetDeps, build: Build, log: Logger): Promise<BudgetDecision> {
  const month = monthOf(deps.clock.now());
  const approvedIn = monthOf(build.ApprovedAt ?? build.CreatedAt);
  if (deps.config.monthlyBudgetUsd === undefined || approvedIn === month) return { ok: true, month };
  if ((await deps.ledger.holds(month)).holds[build.BuildID] !== undefined) return { ok: true, month };
  const decision = await reserveBudget(deps, build, launchableMax(deps.config, build, build.CostMax), 'approval');
  if (!decision.ok) return decision;
  log.info('the approval’s hold moved to the launch month', { from: approvedIn, to: month });
  try {
    const old = (await deps.ledger.holds(approvedIn)).holds[build.BuildID];
    if (old !== undefined) await deps.ledger.release(approvedIn, build.BuildID, old);
  } catch (error) {
    log.warn('could not remove the approval’s hold from its month; the watchdog removes it', { error, month: approvedIn });
  }
  return decision;
}

/**
 * A hold is brought down to what its build may still cost (`build` as just written): after an
 * extension that lost its write (another click extended first), and after a launch on a cheaper
 * type than the costliest it may have chosen. One attempt, which throws when the ledger fails:
 * the caller decides whether to retry (the launch's redelivery) or log (the hold errs high,
 * towards refusing money, until its build ends and the watchdog brings it to the final cost).
 */
export async function trimHold(deps: Pick<BudgetDeps, 'ledger' | 'config' | 'clock'>, build: Build, log: Logger): Promise<void> {
  if (deps.config.monthlyBudgetUsd === undefined || build.LaunchTime === undefined) return;
  const month = monthOf(build.LaunchTime);
  const ledger = await deps.ledger.holds(month);
  const trimmed = trimmedHold(build, ledger, deps.config, deps.clock.now());
  if (trimmed === undefined) return;
  if (await deps.ledger.hold(month, ledger.version, build.BuildID, trimmed))
    log.info('hold brought down to what the build may still cost', { month, hold: trimmed });
}
