import type { Build } from '../core/build';
import { applyEvent } from '../core/apply';
import { usd } from '../core/cost';
import { isApprovalStale } from '../core/lifetime';
import { quote } from '../core/slack/build-facts';
import type { BotDeps } from './deps';
import { runEffects, tellThread } from './effects';
import type { Click } from './interaction';
import { permittedBuild } from './permissions';
import * as replies from './replies';
import { takeSlot } from './slot';
import { slotMayBeGivenBack } from '../core/slot-holding';

// approve_build (docs/design.md "Concurrency"): take a slot, then move awaiting_approval → approved
// with one conditional write. Of any number of simultaneous clicks exactly one wins that write,
// and only the winner puts `Build Approved`.

export async function approveBuild(deps: BotDeps, click: Click): Promise<string | undefined> {
  const { config, store, bus, clock } = deps;
  const now = clock.now();
  const log = deps.log.child({ buildId: click.buildId, user: click.user });
  const target = await permittedBuild(deps, log, click.user, click.buildId, 'approve');
  if (!target.ok) return target.reply;
  const { build } = target;

  if (isApprovalStale(build, config, now)) {
    const applied = await applyEvent(store, build, { type: 'expire' }, now);
    if (applied.outcome === 'changed') {
      await runEffects(deps, applied.build, applied.decision.effects, click.user);
      await tellThread(deps, applied.build, now);
      log.info('approval came too late; build expired');
      return replies.expired(applied.build, config.approvalTtlMinutes);
    }
    if (applied.outcome === 'missing') return replies.noBuild(click.buildId);
    return replies.already(applied.build);
  }
  if (build.Status !== 'awaiting_approval') return replies.already(build);

  const slot = await takeSlot(deps, build.BuildID);
  if (!slot.ok) {
    log.info('no free slot', { holders: slot.holders });
    return replies.noSlot(config.maxConcurrentBuilds, slot.holders);
  }

  const applied = await applyEvent(store, build, { type: 'approve', by: click.user }, now);
  if (applied.outcome !== 'changed') {
    const current = applied.outcome === 'missing' ? undefined : applied.build;
    // Lost to a deny or expiry in between: the slot taken above is not needed. Lost to another
    // approval: that approval holds the very same slot (takeSlot is per BuildID), and its
    // machine may be launching or running by now, so only core/slot-holding's rule frees it.
    if (slotMayBeGivenBack(current, now)) await store.releaseSlot(click.buildId);
    return current ? replies.already(current) : replies.noBuild(click.buildId);
  }

  const approved = await requote(deps, applied.build);
  log.info('build approved', { requester: approved.Requester });
  let reply: string | undefined;
  try {
    await bus.put({ detailType: 'Build Approved', detail: { buildId: approved.BuildID } });
  } catch (error) {
    // Not rolled back: the watchdog's "stuck approved" rule fails the build and frees the slot.
    log.error('approved, but Build Approved could not be put; no launch will follow', { error });
    reply = replies.launchNotRequested(approved.BuildID);
  }
  await tellThread(deps, approved, now);
  return reply;
}

/** Prices may have changed since the card was posted ("re-quote at approval"). */
async function requote(deps: BotDeps, build: Build): Promise<Build> {
  const estimate = quote(deps.config);
  if (!estimate) return build;
  const costs = { CostEstimate: usd(estimate.expected.total), CostMax: usd(estimate.max.total) };
  if (costs.CostEstimate === build.CostEstimate && costs.CostMax === build.CostMax) return build;
  const result = await deps.store.update(build.BuildID, { status: ['approved'] }, costs);
  deps.log.info('re-quoted at approval', { buildId: build.BuildID, before: build.CostMax, after: costs.CostMax, stored: result.ok });
  return result.ok ? result.build : build;
}
