import type { Build } from '../domain/build';
import type { Logger } from '../domain/ports';
import { crossesWarning } from '../domain/spend';
import type { BudgetDecision } from '../use-cases/month-budget';
import { sendOnce } from '../use-cases/send-once';
import { budgetWarning } from '../views/spend-messages';
import type { BotDeps } from './deps';

// The month's budget warning: the one part of a budget decision that talks to Slack, so it stays
// on the bot's side (the decision itself is use-cases/month-budget.ts).

/**
 * The month's one warning at BUDGET_WARN_PERCENT, in the build's channel: claimed on the month
 * item first, so of two approvals crossing it at once one posts; given back when the post fails.
 */
export async function warnIfBudgetCrossed(
  deps: Pick<BotDeps, 'claims' | 'chat' | 'config' | 'clock'>,
  build: Build,
  decision: BudgetDecision,
  log: Logger,
): Promise<void> {
  if (!decision.ok || !decision.figures || !decision.ledger) return;
  if (!crossesWarning(decision.figures, deps.config.budgetWarnPercent, decision.ledger)) return;
  const { month, figures } = decision;
  const post = async () => {
    await deps.chat.post({ channel: build.Channel, text: budgetWarning(build.BuildID, month, figures) });
    log.warn('the month reached the budget warning', { month, ...figures });
  };
  await sendOnce(deps.claims, { kind: 'budget-warning', month, buildId: build.BuildID }, deps.clock.now(), post, {
    onFailure: (error) => log.error('could not post the budget warning; the next approval tries again', { error, month }),
  });
}
