import type { Build } from '../domain/build';
import { newBuildId } from '../domain/build-id';
import { usd } from '../domain/cost';
import type { Logger } from '../domain/ports';
import { buildQuote } from '../domain/build-facts';
import type { BudgetDecision } from '../use-cases/month-budget';
import { reserveBudget } from '../use-cases/month-budget';
import { joinQueue, requestLaunch } from './queue-or-launch';
import { approvalOverBudget } from '../views/spend-messages';
import { selftestLine, selftestNotAnApprover, selftestStarted } from '../views/selftest';
import * as replies from '../views/replies';
import type { BotDeps } from './deps';
import { applyStep } from './apply-step';
import { isApprover, mayUseChannel } from './permissions';
import { takeSlot } from './slot';
import { warnIfBudgetCrossed } from './budget-warning';
import { isNotAMember } from '../adapters/slack/permanent-chat-error';

// `/metal-build selftest` (docs/design.md "Self-test"): an approver proves the loop on a small
// machine. Approved at request: no card, one line in the channel (its thread's parent), and a
// record created directly in `approved` (Kind "selftest", BuildBranch HEAD, the self-test's type
// and half an hour). From there it goes the normal way: the budget holds its maximum, it takes a
// slot (or waits in the queue, the `queue` row from approved), and `Build Approved` launches it.
// Self-approval and the second approver do not apply: the approver asks, and it costs under a
// cent. Everything here is table and Slack work: the reply fits Slack's 3 s.

export interface SelftestRequest {
  user: string;
  channel: string;
  triggerId: string;
}

/** The self-test's limit: its machine is terminated at 30 minutes. */
export const SELFTEST_LIMIT_HOURS = 0.5;
/** What the card of a build would call its expected duration: a self-test takes minutes. */
const SELFTEST_EXPECTED_HOURS = 0.1;

export async function requestSelftest(deps: BotDeps, request: SelftestRequest): Promise<string> {
  const { config, clock } = deps;
  const here = mayUseChannel(config, request.user, request.channel, 'request');
  if (!here.ok) return here.reason;
  const rules = await deps.approvers.rules(deps.log);
  if (!isApprover(rules, request.user)) {
    deps.log.info('self-test refused: not an approver', { user: request.user, ...(rules.named.groupsUnread ? { approverGroupsUnread: true } : {}) });
    return selftestNotAnApprover(rules.named);
  }
  const now = clock.now();
  const buildId = newBuildId(now, deps.random ?? Math.random);
  const claim = await deps.claims.claim({ kind: 'request', request: request.triggerId, buildId }, now);
  if (!claim.claimed) {
    const holder = claim.holder ?? '';
    deps.log.info('request already handled', { buildId: holder, user: request.user });
    return replies.alreadyHandled(holder, holder ? await deps.store.get(holder) : undefined);
  }
  const log = deps.log.child({ buildId });
  try {
    return await startSelftest(deps, draftOf(deps, request, buildId, now), log);
  } catch (error) {
    log.error('self-test request failed', { error, user: request.user });
    return replies.failed();
  }
}

function draftOf(deps: BotDeps, request: SelftestRequest, buildId: string, now: Date): Build {
  const choice = { RequestedType: deps.config.selftestInstanceType, LimitHours: SELFTEST_LIMIT_HOURS, ExpectedHours: SELFTEST_EXPECTED_HOURS };
  const quote = buildQuote(choice, deps.config);
  // parseConfig refuses a self-test type without a price, so this is a configuration slip-up.
  if (!quote) throw new Error(`no price known for ${choice.RequestedType}`);
  const at = now.toISOString();
  return {
    BuildID: buildId,
    Status: 'approved',
    Kind: 'selftest',
    BuildBranch: 'HEAD',
    Requester: request.user,
    Approver: request.user,
    ApprovedAt: at,
    Channel: request.channel,
    ThreadTs: '',
    CreatedAt: at,
    CostEstimate: usd(quote.expected.total),
    CostMax: usd(quote.max.total),
    ...choice,
    ExpectedFromBuilds: 0,
    // Told by the line itself: the thread starts with the launch.
    NotifiedStatus: 'approved',
  };
}

/**
 * The budget first (nothing is posted for a self-test the month cannot pay), then the line, the
 * record, the slot or the queue, and `Build Approved`. A failure after the hold gives it back
 * unless the record exists (then the watchdog's books and its stuck rule see to it).
 */
async function startSelftest(deps: BotDeps, draft: Build, log: Logger): Promise<string> {
  const budget = await reserveBudget(deps, draft, draft.CostMax, 'approval');
  if (!budget.ok) {
    log.info('self-test refused: over the monthly budget', { ...budget.figures, month: budget.month });
    return approvalOverBudget(draft.BuildID, budget.month, budget.figures);
  }
  let build: Build;
  try {
    const posted = await deps.chat.post({ channel: draft.Channel, ...selftestLine(draft, { config: deps.config, now: deps.clock.now() }) });
    build = { ...draft, ThreadTs: posted.ts };
    if (!(await deps.store.create(build))) throw new Error('the BuildID is taken');
  } catch (error) {
    await giveBackHold(deps, draft, budget, log);
    if (isNotAMember(error)) return replies.inviteMe();
    throw error;
  }
  log.info('self-test requested', { user: build.Requester, instanceType: build.RequestedType, costMax: build.CostMax });
  const now = deps.clock.now();
  const slot = await takeSlot(deps, build.BuildID);
  if (!slot.ok) {
    const applied = await applyStep(deps, build, { type: 'queue', by: build.Requester }, build.Requester, now, { tell: false });
    if (applied.outcome !== 'changed') return applied.outcome === 'missing' ? replies.noBuild(build.BuildID) : replies.already(applied.build);
    const ahead = await joinQueue(deps, applied.build, log, now);
    log.info('self-test queued', { ahead, holders: slot.holders });
    await warnIfBudgetCrossed(deps, applied.build, budget, log);
    return selftestStarted(build.BuildID, ahead !== undefined);
  }
  const reply = (await requestLaunch(deps, build, log)) ? selftestStarted(build.BuildID, false) : replies.launchNotRequested(build.BuildID);
  await warnIfBudgetCrossed(deps, build, budget, log);
  return reply;
}

async function giveBackHold(deps: BotDeps, draft: Build, budget: Extract<BudgetDecision, { ok: true }>, log: Logger): Promise<void> {
  if (deps.config.monthlyBudgetUsd === undefined) return;
  await deps.ledger
    .release(budget.month, draft.BuildID, draft.CostMax)
    .catch((error: unknown) => log.warn('could not give back the hold of a self-test that did not start; the watchdog removes it', { error }));
}
