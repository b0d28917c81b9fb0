import type { Build } from '../domain/build';
import type { Logger } from '../domain/ports';
import { crossesWarning } from '../domain/spend';
import type { BudgetDecision } from '../use-cases/month-budget';
import { budgetWarning } from '../views/spend-messages';
import type { BotDeps } from './deps';

// The month's budget warning: the one part of a budget decision that talks to Slack, so it stays
// on the bot's side (the decision itself is use-cases/month-budget.ts).

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
