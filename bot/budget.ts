import type { Build } from '../domain/build';
import type { Logger } from '../domain/ports';
import type { BudgetFigures, MonthLedger } from '../domain/spend';
import { budgetVerdict, crossesWarning, monthFigures, monthOf, trimmedHold, uncounted } from '../domain/spend';
import { budgetWarning } from '../views/spend-messages';
import type { BotDeps } from './deps';
import { slotHolders } from './slot';

// MONTHLY_BUDGET_USD at the two moments money is committed: an approval (after its slot is taken)
// and an extension. The decision is pure (domain/spend.ts); this is its read–decide–hold loop.
//
// Timeline of the race it closes: two approvals read the month at version 4 and each fits the
// budget alone. Both try to write their hold conditional on version 4; one lands (version 5),
// the other's condition fails, so it reads again, now sees the first one's hold, and is refused
// when both together would not fit. Holds are counted only while their build may still cost
// money (domain/spend `uncounted`), so a hold left by a build that never launched costs nothing.

export type BudgetDecision = { ok: true; month: string; figures?: BudgetFigures; ledger?: MonthLedger } | { ok: false; month: string; figures: BudgetFigures };

const MAX_ATTEMPTS = 4;

/**
 * Whether `adding` more fits this month's budget, and if so the hold that records it. For an
 * approval `build` is the request (not yet costing anything: it is left out of the figures and
 * holds `adding`); for an extension it is the running build, whose own remaining maximum is part
 * of the figures and whose hold grows by `adding`.
 */
export async function reserveBudget(
  deps: Pick<BotDeps, 'store' | 'ledger' | 'config' | 'clock'>,
  build: Build,
  adding: number,
  kind: 'approval' | 'extension',
): Promise<BudgetDecision> {
  const { config } = deps;
  const now = deps.clock.now();
  // A build's whole cost belongs to its launch month: an extension is decided there, even when
  // the click comes in the next month.
  const month = kind === 'extension' && build.LaunchTime !== undefined ? monthOf(build.LaunchTime) : monthOf(now);
  const budget = config.monthlyBudgetUsd;
  if (budget === undefined) return { ok: true, month };
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const [ledger, holders] = await Promise.all([deps.ledger.read(month), slotHolders(deps)]);
    const self = holders.find((b) => b.BuildID === build.BuildID) ?? build;
    const counted = kind === 'approval' ? holders.filter((b) => b.BuildID !== build.BuildID) : [...holders.filter((b) => b.BuildID !== build.BuildID), self];
    const verdict = budgetVerdict(budget, monthFigures(ledger, counted, config, now), adding);
    if (!verdict.ok) return { ok: false, month, figures: verdict.figures };
    const amount = kind === 'approval' ? adding : uncounted(self, ledger, config, now).upTo + adding;
    if (await deps.ledger.hold(month, ledger.version, build.BuildID, amount)) return { ok: true, month, figures: verdict.figures, ledger };
  }
  throw new Error(`the ${month} budget ledger changed under ${MAX_ATTEMPTS} decisions in a row`);
}

/**
 * An extension that lost its write (another click extended first) gives back the hour it held:
 * its hold is brought down to what the build may still cost. One attempt; a failure is logged
 * (the hold then errs high, towards refusing money, until the build is counted).
 */
export async function trimHold(deps: Pick<BotDeps, 'ledger' | 'config' | 'clock'>, build: Build, log: Logger): Promise<void> {
  if (deps.config.monthlyBudgetUsd === undefined || build.LaunchTime === undefined) return;
  const month = monthOf(build.LaunchTime);
  try {
    const ledger = await deps.ledger.read(month);
    const trimmed = trimmedHold(build, ledger, deps.config, deps.clock.now());
    if (trimmed === undefined) return;
    if (await deps.ledger.hold(month, ledger.version, build.BuildID, trimmed))
      log.info('gave back the hold of an extension that did not land', { month, hold: trimmed });
  } catch (error) {
    log.warn('could not give back the hold of an extension that did not land', { error, month });
  }
}

/**
 * The month's one warning at BUDGET_WARN_PERCENT, in the build's channel: claimed on the month
 * item first, so of two approvals crossing it at once one posts; given back when the post fails.
 */
export async function warnIfBudgetCrossed(
  deps: Pick<BotDeps, 'ledger' | 'chat' | 'config' | 'clock'>,
  build: Build,
  decision: BudgetDecision,
  log: Logger,
): Promise<void> {
  if (!decision.ok || !decision.figures || !decision.ledger) return;
  if (!crossesWarning(decision.figures, deps.config.budgetWarnPercent, decision.ledger)) return;
  if (!(await deps.ledger.claimWarning(decision.month, build.BuildID, deps.clock.now()))) return;
  try {
    await deps.chat.post({ channel: build.Channel, text: budgetWarning(build.BuildID, decision.month, decision.figures) });
    log.warn('the month reached the budget warning', { month: decision.month, ...decision.figures });
  } catch (error) {
    log.error('could not post the budget warning; the next approval tries again', { error, month: decision.month });
    await deps.ledger.releaseWarning(decision.month, build.BuildID);
  }
}
