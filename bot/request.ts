import type { Build } from '../domain/build';
import { newBuildId } from '../domain/build-id';
import type { CostEstimate } from '../domain/cost';
import { usd } from '../domain/cost';
import type { Completion } from '../domain/expected-duration';
import { expectedDuration } from '../domain/expected-duration';
import type { Logger } from '../domain/ports';
import type { BudgetFigures } from '../domain/spend';
import { buildQuote } from '../domain/build-facts';
import type { ChoiceWords } from '../domain/build-choice';
import { choiceFields, choiceProblem } from '../domain/build-choice';
import { otherTypes } from '../domain/type-comparison';
import { buildCard, unrecordedCardText } from '../views/card';
import type { BotDeps } from './deps';
import { mayUseChannel } from './permissions';
import * as replies from '../views/replies';
import { slotHolders } from '../use-cases/month-budget';
import { cardBudget, monthLedger, runningOf } from './card-context';
import { isNotAMember } from '../adapters/slack/permanent-chat-error';

// `/metal-build <branch> [commit] [type=…] [hours=…]`: check the choice against the settings, claim
// the trigger_id (a Slack retry of the same command finds the claim and creates nothing), post the
// card, then write the record with the card's ts as ThreadTs. The words' form was validated by
// domain/command before this runs.

export interface BuildRequest {
  user: string;
  channel: string;
  triggerId: string;
  branch: string;
  commit?: string;
  /** `type=` and `hours=` as typed; absent, the defaults. */
  choice?: ChoiceWords;
}

/** Slack's answers to a post in a channel the bot cannot write to. */
/** A BuildID is taken at most once a second by chance (36⁴ suffixes); a few tries suffice. */
const MAX_ID_ATTEMPTS = 5;

export async function requestBuild(deps: BotDeps, request: BuildRequest): Promise<string> {
  return (await openRequest(deps, request, { claimKey: request.triggerId })).reply;
}

/** Where a request comes from beyond its branch and commit: a Rebuild names the earlier build. */
export interface RequestOrigin {
  /**
   * What makes a second attempt find the first: the trigger_id (a Slack retry), or for a
   * Rebuild the earlier build's ID, so it is rebuilt once however many clicks arrive.
   */
  claimKey: string;
  /** The answer when the claim is someone else's: by default, "already handled". */
  claimedBy?: (buildId: string, build: Build | undefined) => string;
  fields?: Pick<Build, 'RebuildOf' | 'RebuildOfLink' | 'RebuildOfReportedCommit' | 'GithubLogin'>;
}

/** A new request card and record; `buildId` when one was recorded. */
export async function openRequest(
  deps: BotDeps,
  request: Omit<BuildRequest, 'triggerId'>,
  origin: RequestOrigin,
): Promise<{ reply: string; buildId?: string }> {
  const { config, store, clock } = deps;
  // app.ts refuses this already; the request keeps its own rule, as the card goes to this channel.
  const here = mayUseChannel(config, request.user, request.channel, 'request');
  if (!here.ok) return { reply: here.reason };
  const problem = choiceProblem(config, request.choice ?? {});
  if (problem) return { reply: replies.badArguments(problem, false) };

  const now = clock.now();
  const buildId = newBuildId(now, deps.random ?? Math.random);
  const claim = await deps.claims.claim({ kind: 'request', request: origin.claimKey, buildId }, now);
  if (!claim.claimed) {
    const holder = claim.holder ?? '';
    deps.log.info('request already handled', { buildId: holder, user: request.user, claimKey: origin.claimKey });
    const earlier = holder ? await store.get(holder) : undefined;
    return { reply: (origin.claimedBy ?? replies.alreadyHandled)(holder, earlier) };
  }

  const log = deps.log.child({ buildId });
  try {
    return await postAndRecord(deps, request, origin, buildId, now, log);
  } catch (error) {
    log.error('build request failed', { error, user: request.user });
    return { reply: replies.failed() };
  }
}

/**
 * Each allowed type's recent build times (one GetItem each, at once): the chosen type's make the
 * expected line, the others' the card's comparison. Unreadable, the request goes on with
 * EXPECTED_BUILD_HOURS and without that type's line: both are advice, the maximum is what is approved.
 */
export async function recentCompletions(deps: BotDeps, log: Logger): Promise<Record<string, Completion[]>> {
  const types = deps.config.instanceTypes;
  const histories = await Promise.all(
    types.map((instanceType) =>
      deps.durations.recent(instanceType).catch((error: unknown) => {
        log.warn('build time history unreadable; the estimate uses EXPECTED_BUILD_HOURS', { instanceType, error });
        return [];
      }),
    ),
  );
  return Object.fromEntries(types.map((type, i) => [type, histories[i]!]));
}

async function postAndRecord(
  deps: BotDeps,
  request: Omit<BuildRequest, 'triggerId'>,
  origin: RequestOrigin,
  buildId: string,
  now: Date,
  log: Logger,
): Promise<{ reply: string; buildId?: string }> {
  const pricing = await priceRequest(deps, choiceFields(deps.config, request.choice ?? {}), now, log);
  const draft = newRecord(request, origin, buildId, now, pricing);
  const others = otherTypes(draft, deps.config, pricing.histories);
  const card = (b: Build) =>
    buildCard(b, { config: deps.config, now, running: pricing.running, others, ...(pricing.budget ? { budget: pricing.budget } : {}) });
  let threadTs: string;
  try {
    threadTs = (await deps.chat.post({ channel: draft.Channel, ...card(draft) })).ts;
  } catch (error) {
    if (isNotAMember(error)) {
      log.info('cannot post in the channel; nothing recorded', { channel: draft.Channel, code: error.code });
      return { reply: replies.inviteMe() };
    }
    throw error;
  }
  const build = await recordUnderFreeId(deps, { ...draft, ThreadTs: threadTs }, card, now, log);
  deps.log.info('build requested', {
    buildId: build.BuildID,
    user: request.user,
    branch: build.BuildBranch,
    commit: build.BuildCommit,
    costMax: build.CostMax,
    expectedHours: build.ExpectedHours,
    expectedFromBuilds: build.ExpectedFromBuilds,
    rebuildOf: build.RebuildOf,
  });
  return { reply: replies.requested(build.BuildID), buildId: build.BuildID };
}

type Choice = Required<Pick<Build, 'RequestedType' | 'LimitHours'>>;

interface Pricing {
  choice: Choice;
  estimate: CostEstimate;
  expected: ReturnType<typeof expectedDuration>;
  /** Each allowed type's recent completions. */
  histories: Record<string, Completion[]>;
  /** The approved and running builds, which the card lists. */
  running: Build[];
  budget?: BudgetFigures;
}

/** The quote, from the recent builds' durations, and where it leaves the month's budget. */
async function priceRequest(deps: BotDeps, choice: Choice, now: Date, log: Logger): Promise<Pricing> {
  const { config } = deps;
  // The slot holders are also what limits this one. One read when nothing runs, where the five
  // StatusIndex queries of `active()` cost a cold start a connection each (`npm run bench`).
  const [holders, histories, ledger] = await Promise.all([slotHolders(deps), recentCompletions(deps, log), monthLedger(deps, now, log)]);
  const running = runningOf(holders);
  const expected = expectedDuration(histories[choice.RequestedType] ?? [], config.expectedBuildHours);
  const estimate = buildQuote({ ...choice, ExpectedHours: expected.hours }, config);
  // parseConfig refuses an instance type without a price, so this is a configuration slip-up.
  if (!estimate) throw new Error(`no price known for ${choice.RequestedType}`);
  const budget = cardBudget(config, ledger, holders, now, estimate.max.total);
  return { choice, estimate, expected, histories, running, ...(budget ? { budget } : {}) };
}

function newRecord(request: Omit<BuildRequest, 'triggerId'>, origin: RequestOrigin, buildId: string, now: Date, pricing: Pricing): Build {
  return {
    BuildID: buildId,
    Status: 'awaiting_approval',
    BuildBranch: request.branch,
    ...(request.commit ? { BuildCommit: request.commit } : {}),
    Requester: request.user,
    Channel: request.channel,
    // The card's message, once posted: the record is written only after.
    ThreadTs: '',
    CreatedAt: now.toISOString(),
    CostEstimate: usd(pricing.estimate.expected.total),
    CostMax: usd(pricing.estimate.max.total),
    ...pricing.choice,
    ExpectedHours: pricing.expected.hours,
    ExpectedFromBuilds: pricing.expected.fromBuilds,
    ...origin.fields,
    NotifiedStatus: 'awaiting_approval',
  };
}

/** The record under the card's BuildID, or a fresh one (the card follows) when that is taken. */
async function recordUnderFreeId(deps: BotDeps, first: Build, card: (b: Build) => ReturnType<typeof buildCard>, now: Date, log: Logger): Promise<Build> {
  let build = first;
  try {
    for (let attempt = 1; !(await deps.store.create(build)); attempt++) {
      if (attempt >= MAX_ID_ATTEMPTS) throw new Error(`no free BuildID after ${attempt} attempts`);
      // The card's buttons name the taken ID: point them at the new one.
      const next = newBuildId(now, deps.random ?? Math.random);
      log.warn('BuildID taken; retrying with a new suffix', { next });
      build = { ...build, BuildID: next };
      await deps.chat.update({ channel: build.Channel, ts: build.ThreadTs, ...card(build) });
    }
    return build;
  } catch (error) {
    // The card must not offer an Approve button for a build that was never recorded.
    await deps.chat
      .update({ channel: build.Channel, ts: build.ThreadTs, text: unrecordedCardText(build.BuildID) })
      .catch((e: unknown) => log.warn('could not withdraw the card of an unrecorded build', { error: e }));
    throw error;
  }
}
