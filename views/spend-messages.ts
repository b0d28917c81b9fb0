import type { BudgetFigures, MonthReport } from '../domain/spend';
import { monthName, projectedPercent } from '../domain/spend';
import { formatUsd } from '../domain/cost';
import { code } from './mrkdwn';
import { STATUS_LABEL } from './status-text';
import type { Status } from '../domain/build';
import { RETENTION_DAYS } from '../domain/build';
import { spenderText } from './requester';

// What people read about the month's spend and its budget (docs/design.md "Spend control"): the
// card's budget line, the refusals, the one warning per month, and `/metal-build costs`.

const percent = (part: number, whole: number) => `${Math.round((part / whole) * 100)}%`;

/** The card's line while a build awaits approval. */
export function budgetLine(f: BudgetFigures): string {
  return `*Budget*: ${formatUsd(f.spent)} of ${formatUsd(f.budget)} used this month, this build up to ${formatUsd(f.adding)}`;
}

function figuresSentence(f: BudgetFigures, adding: string): string {
  return (
    `spent so far ${formatUsd(f.spent)}, running and approved builds may still cost up to ${formatUsd(f.committed)}, ` +
    `and ${adding} ${formatUsd(f.adding)}: ${formatUsd(f.spent + f.committed + f.adding)} in all`
  );
}

export function approvalOverBudget(buildId: string, month: string, f: BudgetFigures): string {
  return (
    `:no_entry: ${buildId} was not approved: it could take ${monthName(month)} past its budget of ${formatUsd(f.budget)} ` +
    `(${figuresSentence(f, 'this build up to')}). Nothing was started; the request stays open.`
  );
}

export function extensionOverBudget(buildId: string, month: string, f: BudgetFigures): string {
  return (
    `:no_entry: ${buildId} was not extended: the hour could take ${monthName(month)} past its budget of ${formatUsd(f.budget)} ` +
    `(${figuresSentence(f, 'the hour up to')}). The deadline stays as it was.`
  );
}

/** A launch in a later month than its approval, decided again there (the build's ErrorMessage). */
export function launchOverBudget(month: string, f: BudgetFigures): string {
  return (
    `No machine was launched: the build was approved last month, and in ${monthName(month)} it could take the month past its budget of ${formatUsd(f.budget)} ` +
    `(${figuresSentence(f, 'this build up to')}).`
  );
}

/** Posted once a month, in the channel of the build whose approval reached BUDGET_WARN_PERCENT. */
export function budgetWarning(buildId: string, month: string, f: BudgetFigures): string {
  const reached = f.spent + f.committed + f.adding;
  return (
    `:money_with_wings: ${monthName(month)} has reached ${Math.round(projectedPercent(f))}% of its ${formatUsd(f.budget)} budget ` +
    `with the approval of ${code(buildId)}: ${formatUsd(f.spent)} spent, up to ${formatUsd(reached)} with what approved builds may still cost. ` +
    `Approvals that would go past ${formatUsd(f.budget)} are refused. \`/metal-build costs\` shows where it went.`
  );
}

const OUTCOME_ORDER: ReadonlyArray<Status | 'running'> = ['running', 'completed', 'failed', 'terminated', 'cancelled'];

function outcomes(byOutcome: Record<string, number>): string {
  const keys = [...OUTCOME_ORDER.filter((k) => byOutcome[k] !== undefined), ...Object.keys(byOutcome).filter((k) => !OUTCOME_ORDER.includes(k as Status))];
  return keys.map((k) => `${byOutcome[k]} ${k === 'running' ? 'running' : STATUS_LABEL[k as Status].toLowerCase()}`).join(' · ');
}

const LINES_SHOWN = 5;

function spendLines(lines: MonthReport['byRequester'], show: (key: string) => string): string {
  const shown = lines.slice(0, LINES_SHOWN).map((l) => `${show(l.key)} ${formatUsd(l.cost)}`);
  const rest = lines.length - LINES_SHOWN;
  return rest > 0 ? `${shown.join(' · ')} · and ${rest} more` : shown.join(' · ');
}

/** `/metal-build costs [YYYY-MM]`: the month in a few lines a phone shows whole. */
export function costsReport(r: MonthReport, budget: { budget: number; committed: number } | undefined, pastRetention = false): string {
  const title = `*Costs for ${monthName(r.month)}* (UTC, by launch month)`;
  const gone = `Builds are kept ${RETENTION_DAYS} days: the records of ${monthName(r.month)} are gone, so its costs can no longer be told.`;
  const selftests =
    r.selftests.count > 0 ? `*selftest* ${r.selftests.count} run${r.selftests.count === 1 ? '' : 's'}, ${formatUsd(r.selftests.cost)}` : undefined;
  if (pastRetention && r.builds === 0 && !selftests) return [title, gone].join('\n');
  if (r.builds === 0)
    return [
      title,
      'No builds were launched in this month.',
      selftests,
      budget ? `*Budget*: ${formatUsd(r.total)} of ${formatUsd(budget.budget)} used` : undefined,
    ]
      .filter(Boolean)
      .join('\n');
  const running = r.byOutcome.running ?? 0;
  const lines = [
    title,
    `*Spent* ${formatUsd(r.total)} — ${formatUsd(r.finalTotal)} final` + (running > 0 ? ` + ${formatUsd(r.runningTotal)} so far for ${running} running` : ''),
    budget
      ? `*Budget*: ${formatUsd(r.total)} of ${formatUsd(budget.budget)} used (${percent(r.total, budget.budget)})` +
        (budget.committed > 0 ? `; running and approved builds may add up to ${formatUsd(budget.committed)}` : '')
      : '*Budget*: none set',
    `*Builds* ${r.builds}: ${outcomes(r.byOutcome)}`,
    `*By requester* ${spendLines(r.byRequester, spenderText)}`,
    `*By branch* ${spendLines(r.byBranch, code)}`,
    `*Most expensive* ${r.top.map((b) => `${code(b.buildId)} ${formatUsd(b.cost)} (${code(b.branch)}, ${b.running ? 'running' : STATUS_LABEL[b.status].toLowerCase()})`).join(' · ')}`,
  ];
  if (selftests) lines.push(selftests);
  if (pastRetention) lines.push(`Builds are kept ${RETENTION_DAYS} days: some records of ${monthName(r.month)} may be gone, and this is what is left.`);
  return lines.join('\n');
}
