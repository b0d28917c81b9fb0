import type { Build } from '../domain/build';
import { usd } from '../domain/cost';
import { isApprovalStale } from '../domain/lifetime';
import type { Logger, SlotTake } from '../domain/ports';
import { buildQuote, launchableMax } from '../domain/build-facts';
import { refreshCard } from '../use-cases/card-refresh';
import { approvalOverBudget } from '../views/spend-messages';
import { slotMayBeGivenBack } from '../domain/slot-holding';
import type { BudgetDecision } from '../use-cases/month-budget';
import { reserveBudget } from '../use-cases/month-budget';
import { warnIfBudgetCrossed } from './budget-warning';
import type { BotDeps } from './deps';
import { applyStep, dequeueBy } from './apply-step';
import { freeSlot } from '../use-cases/slot-queue';
import { joinQueue, requestLaunch } from './queue-or-launch';
import { tellThread } from './effects';
import type { Click } from './interaction';
import type { ApproverRules } from './approvers';
import { maySpend, permittedBuild } from './permissions';
import * as replies from '../views/replies';
import { takeSlot } from './slot';
import { awaitingCardContext } from './card-context';

// approve_build (docs/design.md "Concurrency" and "Spend control"): take a slot, check the
// month's budget and hold this build's maximum, then move awaiting_approval → approved with one
// conditional write. Of any number of simultaneous clicks exactly one wins that write, and only
// the winner puts `Build Approved`. A build whose maximum is above SECOND_APPROVAL_ABOVE_USD is
// approved by two people: the first click is recorded (no slot, no status change), the second,
// by someone else, goes the whole way.

export async function approveBuild(deps: BotDeps, click: Click): Promise<string | undefined> {
  const now = deps.clock.now();
  const log = deps.log.child({ buildId: click.buildId, user: click.user });
  const target = await permittedBuild(deps, log, click.user, click.buildId, 'approve', click);
  if (!target.ok) return target.reply;
  if (isApprovalStale(target.build, deps.config, now)) return expire(deps, target.build, click, log);
  if (target.build.Status !== 'awaiting_approval') return replies.already(target.build);

  // Today's prices decide, not the card's: the two-approver threshold and the budget hold alike.
  const costs = requoted(deps, target.build);
  const turn = await approvalTurn(deps, target.build, target.rules, click, costs, log, now);
  if (!turn.ok) return turn.reply;
  const held = await holdSlotAndBudget(deps, turn.build, click, costs, log, now);
  if (!held.ok) return held.reply;
  if (held.queue) return queueBuild(deps, turn, click, costs, held, log, now);

  const secondOf = turn.needsTwo ? turn.build.FirstApprover : undefined;
  const event = { type: 'approve', by: click.user, ...(secondOf ? { secondOf } : {}), ...requoteOf(turn.build, costs) } as const;
  // Told after Build Approved is put (startLaunch): the launch never waits on Slack.
  const applied = await applyStep(deps, turn.build, event, click.user, now, { tell: false });
  if (applied.outcome !== 'changed') {
    const current = applied.outcome === 'missing' ? undefined : applied.build;
    // Lost to a deny or expiry in between: the slot taken above is not needed. Lost to another
    // approval: that approval holds the very same slot (takeSlot is per BuildID), and its
    // machine may be launching or running by now, so only domain/slot-holding's rule frees it.
    if (slotMayBeGivenBack(current, now)) await freeSlot(deps, click.buildId, dequeueBy(deps), log);
    return current ? replies.already(current) : replies.noBuild(click.buildId);
  }
  // A click that failed after adding the slot may have given it back while this one approved.
  await keepApprovedSlot(deps, click.buildId, log);
  return startLaunch(deps, applied.build, held, log, now);
}

type Refused = { ok: false; reply: string };
type Turn = { ok: true; build: Build; needsTwo: boolean } | Refused;

/**
 * Whose turn this click is: the whole approval, the first of two (recorded, and answered), or the
 * second. Two are needed when today's maximum (the re-quote) is above SECOND_APPROVAL_ABOVE_USD,
 * and a first approval counts only while its giver may still approve under today's rules: else
 * this click replaces it as the first.
 */
async function approvalTurn(deps: BotDeps, build: Build, rules: ApproverRules, click: Click, costs: Costs, log: Logger, now: Date): Promise<Turn> {
  const threshold = deps.config.secondApprovalAboveUsd;
  const needsTwo = threshold !== undefined && costs.CostMax > threshold;
  if (!needsTwo) return { ok: true, build, needsTwo };
  const lapsed = build.FirstApprover !== undefined && !maySpend(rules, build.FirstApprover, build, 'approve').ok ? build.FirstApprover : undefined;
  if (build.FirstApprover === undefined || lapsed !== undefined) {
    const rose = build.CostMax <= threshold;
    const event = {
      type: 'first-approve',
      by: click.user,
      ...(lapsed !== undefined ? { replacing: lapsed } : {}),
      ...requoteOf(build, costs),
    } as const;
    const first = await applyStep(deps, build, event, click.user, now, { tell: false });
    if (first.outcome === 'changed') {
      log.info('first of two approvals recorded', {
        costMax: costs.CostMax,
        storedCostMax: build.CostMax,
        threshold,
        ...(lapsed ? { replacing: lapsed } : {}),
      });
      // Still waiting: the card keeps its running-builds and budget lines, as of now.
      await refreshCard(deps, first.build, await awaitingCardContext(deps, first.build, now, log));
      const why = lapsed !== undefined ? { lapsedApprover: lapsed } : rose ? { roseFrom: build.CostMax, to: costs.CostMax } : {};
      return { ok: false, reply: replies.firstApprovalRecorded(build.BuildID, threshold, why) };
    }
    if (first.outcome === 'missing') return { ok: false, reply: replies.noBuild(click.buildId) };
    // Someone else's first approval landed just before ours: this click is the second.
    if (first.build.Status !== 'awaiting_approval' || first.build.FirstApprover === undefined) return { ok: false, reply: replies.already(first.build) };
    build = first.build;
  }
  if (build.FirstApprover === click.user) return { ok: false, reply: replies.sameApproverTwice(build.BuildID) };
  return { ok: true, build, needsTwo };
}

/** `queue`: no slot for it now (all taken, or others wait first): it is approved into the queue. */
type Held = { ok: true; budget: Extract<BudgetDecision, { ok: true }>; queue?: true } | Refused;

/**
 * A slot, then the month's budget for what the build may cost at today's prices ("re-quote at
 * approval"). Without a slot the budget is held all the same: a queued build holds its money as
 * an approved one does (docs/design.md "Concurrency", the queue).
 */
async function holdSlotAndBudget(deps: BotDeps, build: Build, click: Click, costs: Costs, log: Logger, now: Date): Promise<Held> {
  const slot = await takeSlot(deps, build.BuildID);
  if (!slot.ok) {
    log.info('no free slot: the approval queues the build', { holders: slot.holders });
    const budget = await reserveBudget(deps, build, launchableMax(deps.config, build, costs.CostMax), 'approval');
    if (!budget.ok) {
      log.info('approval refused: over the monthly budget', { ...budget.figures, month: budget.month });
      return { ok: false, reply: approvalOverBudget(build.BuildID, budget.month, budget.figures) };
    }
    return { ok: true, budget, queue: true };
  }
  const budget = await reserveBudget(deps, build, launchableMax(deps.config, build, costs.CostMax), 'approval').catch(async (error: unknown) => {
    // Undecided (the ledger unreachable, or too busy): the click fails, and the slot is not kept
    // for a request nobody approved.
    await giveBackSlot(deps, click.buildId, slot.take, log, now);
    throw error;
  });
  if (!budget.ok) {
    log.info('approval refused: over the monthly budget', { ...budget.figures, month: budget.month });
    await giveBackSlot(deps, click.buildId, slot.take, log, now);
    return { ok: false, reply: approvalOverBudget(build.BuildID, budget.month, budget.figures) };
  }
  return { ok: true, budget };
}

/**
 * Approved into the queue: the `queue` row (one winner, as for `approve`), then the build joins
 * `Queue`, and a slot that came free in between goes to the queue's head at once.
 */
async function queueBuild(
  deps: BotDeps,
  turn: Extract<Turn, { ok: true }>,
  click: Click,
  costs: Costs,
  held: Extract<Held, { ok: true }>,
  log: Logger,
  now: Date,
): Promise<string> {
  const build = turn.build;
  const secondOf = turn.needsTwo ? build.FirstApprover : undefined;
  const event = { type: 'queue', by: click.user, ...(secondOf ? { secondOf } : {}), ...requoteOf(build, costs) } as const;
  const applied = await applyStep(deps, build, event, click.user, now, { tell: false });
  if (applied.outcome !== 'changed') return applied.outcome === 'missing' ? replies.noBuild(click.buildId) : replies.already(applied.build);
  const ahead = await joinQueue(deps, applied.build, log, now);
  log.info('build approved into the queue', { ahead, costMax: applied.build.CostMax });
  await warnIfBudgetCrossed(deps, applied.build, held.budget, log);
  return replies.queued(build.BuildID, ahead);
}

/** The winner's part: today's quote stored, `Build Approved` put, the thread told. */
async function startLaunch(deps: BotDeps, approved: Build, held: Extract<Held, { ok: true }>, log: Logger, now: Date): Promise<string | undefined> {
  log.info('build approved', { requester: approved.Requester, firstApprover: approved.FirstApprover, costMax: approved.CostMax });
  const reply = (await requestLaunch(deps, approved, log)) ? undefined : replies.launchNotRequested(approved.BuildID);
  await tellThread(deps, approved, now);
  await warnIfBudgetCrossed(deps, approved, held.budget, log);
  return reply;
}

async function expire(deps: BotDeps, build: Build, click: Click, log: Logger): Promise<string> {
  const applied = await applyStep(deps, build, { type: 'expire' }, click.user, deps.clock.now());
  if (applied.outcome === 'missing') return replies.noBuild(click.buildId);
  if (applied.outcome !== 'changed') return replies.already(applied.build);
  log.info('approval came too late; build expired');
  return replies.expired(applied.build, deps.config.approvalTtlMinutes);
}

/**
 * A refused approval's slot: only one this click put in itself (`added`), and only while a
 * consistent read still shows nobody approved the build. A slot this click found `held` is
 * another click's, which may be about to approve and launch: freeing it would let a second
 * machine start beside that one. (A launch never starts a machine outside the slot set either.)
 */
async function giveBackSlot(deps: BotDeps, buildId: string, take: SlotTake, log: Logger, now: Date): Promise<void> {
  if (take !== 'added') {
    log.info('approval failed; the slot it found held is left to its holder');
    return;
  }
  const current = await deps.store.get(buildId);
  if (!(current?.Status === 'awaiting_approval' || slotMayBeGivenBack(current, now))) return;
  await freeSlot(deps, buildId, dequeueBy(deps), log);
  // Another click, which found this slot `held`, may have approved between that read and the
  // release: read again after it, and an approval that landed meanwhile gets the slot back. (That
  // click takes it again after its own write too: of the two orders, one of them sees the other.)
  const after = await deps.store.get(buildId);
  if (after && after.Status !== 'awaiting_approval' && !slotMayBeGivenBack(after, now)) await keepApprovedSlot(deps, buildId, log);
}

/**
 * An approved build holds its slot. Idempotent (`held` when it is there); `full` means another
 * build took it in the moment it was free: the launch then starts no machine (events/launch.ts).
 */
async function keepApprovedSlot(deps: BotDeps, buildId: string, log: Logger): Promise<void> {
  const take = await deps.store.takeSlot(buildId, deps.config.maxConcurrentBuilds);
  if (take === 'added') log.warn('a failed click gave back the slot of an approved build; taken again');
  if (take === 'full') log.error('an approved build lost its slot to another build; the launch will not start a machine');
}

type Costs = Pick<Build, 'CostEstimate' | 'CostMax'>;

/** Today's quote as an event's fields, only when it differs from the stored one. */
function requoteOf(build: Build, costs: Costs): { costEstimate?: number; costMax?: number } {
  return costs.CostMax !== build.CostMax || costs.CostEstimate !== build.CostEstimate ? { costEstimate: costs.CostEstimate, costMax: costs.CostMax } : {};
}

/** Prices may have changed since the card was posted; the build's own expected duration is kept. */
function requoted(deps: BotDeps, build: Build): Costs {
  const estimate = buildQuote(build, deps.config);
  if (!estimate) return { CostEstimate: build.CostEstimate, CostMax: build.CostMax };
  return { CostEstimate: usd(estimate.expected.total), CostMax: usd(estimate.max.total) };
}
