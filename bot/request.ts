import type { Build } from '../core/build';
import { isActive } from '../core/build';
import { newBuildId } from '../core/build-id';
import { usd } from '../core/cost';
import type { Completion } from '../core/expected-duration';
import { expectedDuration } from '../core/expected-duration';
import type { Logger } from '../core/ports';
import { ChatError } from '../core/ports';
import { quote } from '../core/slack/build-facts';
import { buildCard } from '../core/slack/card';
import type { BotDeps } from './deps';
import { mayUseChannel } from './permissions';
import * as replies from './replies';

// `/metal-build <branch> [commit]`: claim the trigger_id (a Slack retry of the same command finds
// the claim and creates nothing), post the card, then write the record with the card's ts as
// ThreadTs. The arguments were validated by core/command before this runs.

export interface BuildRequest {
  user: string;
  channel: string;
  triggerId: string;
  branch: string;
  commit?: string;
}

/** Slack's answers to a post in a channel the bot cannot write to. */
const NOT_A_MEMBER = new Set(['not_in_channel', 'channel_not_found']);

/** A BuildID is taken at most once a second by chance (36⁴ suffixes); a few tries suffice. */
const MAX_ID_ATTEMPTS = 5;

export async function requestBuild(deps: BotDeps, request: BuildRequest): Promise<string> {
  const { config, store, clock } = deps;
  // app.ts refuses this already; the request keeps its own rule, as the card goes to this channel.
  const here = mayUseChannel(config, request.user, request.channel, 'request');
  if (!here.ok) return here.reason;

  const now = clock.now();
  const buildId = newBuildId(now, deps.random ?? Math.random);
  const claim = await store.claimRequest(request.triggerId, buildId, now);
  if (!claim.claimed) {
    deps.log.info('Slack retried a command already handled', { buildId: claim.buildId, user: request.user });
    return replies.alreadyHandled(claim.buildId, claim.buildId ? await store.get(claim.buildId) : undefined);
  }

  const log = deps.log.child({ buildId });
  try {
    return await postAndRecord(deps, request, buildId, now, log);
  } catch (error) {
    log.error('build request failed', { error, user: request.user });
    return replies.failed();
  }
}

/**
 * The builds already running, for the card: those holding a concurrency slot (approved or with
 * a machine), which is also what limits this one. One read when nothing runs, where the five
 * StatusIndex queries of `active()` cost a cold start a connection each (`npm run bench`).
 */
async function runningBuilds(store: BotDeps['store']): Promise<Build[]> {
  const holders = await Promise.all((await store.slots()).map((id) => store.get(id)));
  return holders.filter((b): b is Build => b !== undefined && isActive(b.Status) && b.Status !== 'awaiting_approval');
}

/**
 * The configured type's recent build times (one GetItem). Unreadable, the request goes on with
 * EXPECTED_BUILD_HOURS: the expected line is advice, the maximum is what is approved.
 */
async function recentCompletions(deps: BotDeps, log: Logger): Promise<Completion[]> {
  try {
    return await deps.durations.recent(deps.config.instanceType);
  } catch (error) {
    log.warn('build time history unreadable; the estimate uses EXPECTED_BUILD_HOURS', { error });
    return [];
  }
}

async function postAndRecord(deps: BotDeps, request: BuildRequest, buildId: string, now: Date, log: Logger): Promise<string> {
  const { config, store, chat } = deps;
  const [running, history] = await Promise.all([runningBuilds(store), recentCompletions(deps, log)]);
  const expected = expectedDuration(history, config.expectedBuildHours);
  const estimate = quote(config, { expectedHours: expected.hours });
  // parseConfig refuses an instance type without a price, so this is a configuration slip-up.
  if (!estimate) throw new Error(`no price known for ${config.instanceType}`);
  const card = (b: Build) => buildCard(b, { config, now, running });

  let build: Build = {
    BuildID: buildId,
    Status: 'awaiting_approval',
    BuildBranch: request.branch,
    ...(request.commit ? { BuildCommit: request.commit } : {}),
    Requester: request.user,
    Channel: request.channel,
    ThreadTs: '',
    CreatedAt: now.toISOString(),
    CostEstimate: usd(estimate.expected.total),
    CostMax: usd(estimate.max.total),
    ExpectedHours: expected.hours,
    ExpectedFromBuilds: expected.fromBuilds,
    NotifiedStatus: 'awaiting_approval',
  };

  try {
    build.ThreadTs = (await chat.post({ channel: build.Channel, ...card(build) })).ts;
  } catch (error) {
    if (error instanceof ChatError && NOT_A_MEMBER.has(error.code)) {
      log.info('cannot post in the channel; nothing recorded', { channel: build.Channel, code: error.code });
      return replies.inviteMe();
    }
    throw error;
  }

  try {
    for (let attempt = 1; !(await store.create(build)); attempt++) {
      if (attempt >= MAX_ID_ATTEMPTS) throw new Error(`no free BuildID after ${attempt} attempts`);
      // The card's buttons name the taken ID: point them at the new one.
      const next = newBuildId(now, deps.random ?? Math.random);
      log.warn('BuildID taken; retrying with a new suffix', { next });
      build = { ...build, BuildID: next };
      await chat.update({ channel: build.Channel, ts: build.ThreadTs, ...card(build) });
    }
  } catch (error) {
    // The card must not offer an Approve button for a build that was never recorded.
    await chat
      .update({ channel: build.Channel, ts: build.ThreadTs, text: `${build.BuildID} could not be recorded; request it again.` })
      .catch((e: unknown) => log.warn('could not withdraw the card of an unrecorded build', { error: e }));
    throw error;
  }
  deps.log.info('build requested', {
    buildId: build.BuildID,
    user: request.user,
    branch: build.BuildBranch,
    commit: build.BuildCommit,
    costMax: build.CostMax,
    expectedHours: build.ExpectedHours,
    expectedFromBuilds: build.ExpectedFromBuilds,
  });
  return replies.requested(build.BuildID);
}
