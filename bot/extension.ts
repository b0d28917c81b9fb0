import type { Build } from '../domain/build';
import { isFinal } from '../domain/build';
import type { BuildEvent } from '../domain/transition';
import { transition } from '../domain/transition';
import { extensionOverBudget } from '../views/spend-messages';
import { reserveBudget, trimHold } from '../use-cases/month-budget';
import { estimate, formatUsd } from '../domain/cost';
import { refreshCard } from '../use-cases/card-refresh';
import { EXTENSION_HOURS } from '../domain/lifetime';
import { limitHoursOf } from '../domain/build-choice';
import { buildDeadline, endedAt, extraHoursCost, instanceTypeOf, lifetimeHoursOf } from '../domain/build-facts';
import { warningMessage } from '../views/thread';
import { warningFacts } from '../use-cases/warning-facts';
import { formatHours, formatUtcTime, mention } from '../views/mrkdwn';
import type { Config } from '../domain/config';
import type { BotDeps } from './deps';
import type { Click } from './interaction';
import { permittedBuild } from './permissions';
import { applyStep } from './apply-step';
import * as replies from '../views/replies';

/** The warning's redraw after an Extend waits this long for the log before it goes without. */
const WARNING_REDRAW_READ_MS = 1_000;

// extend_build (the watchdog's warning): one more hour for a running build, approvers only, up
// to MAX_EXTENSION_HOURS in all, and not within 3 minutes of the deadline's schedule. The write
// (ExtendedHours and DeadlineAt) is conditional on the old ExtendedHours, so two clicks at once
// add one hour, and the loser is told why; `Build Extended` then moves the schedule.

export async function extendBuild(deps: BotDeps, click: Click): Promise<string | undefined> {
  const { config, chat, clock } = deps;
  const now = clock.now();
  const log = deps.log.child({ buildId: click.buildId, user: click.user });
  const target = await permittedBuild(deps, log, click.user, click.buildId, 'extend', click);
  if (!target.ok) return target.reply;
  const { build } = target;

  const event: BuildEvent = {
    type: 'extend',
    by: click.user,
    hours: EXTENSION_HOURS,
    maxExtensionHours: config.maxExtensionHours,
    limitHours: limitHoursOf(build, config),
    seen: build.ExtendedHours ?? 0,
  };
  // The budget is asked only for an hour the status table would give: a refused extension must
  // not leave a hold that makes the month look fuller than it is.
  const held = transition(build, event, now).kind === 'write';
  if (held) {
    const budget = await reserveBudget(deps, build, extraHoursCost(build, config, EXTENSION_HOURS), 'extension');
    if (!budget.ok) {
      log.info('extension refused: over the monthly budget', { ...budget.figures, month: budget.month });
      return extensionOverBudget(build.BuildID, budget.month, budget.figures);
    }
  }
  const applied = await applyStep(deps, build, event, click.user, now, { tell: false });
  if (applied.outcome === 'missing') return replies.noBuild(click.buildId);
  if (applied.outcome !== 'changed') {
    if (held) await trimHold(deps, applied.build, log).catch((error: unknown) => log.warn('could not give back the hour this click held', { error }));
    // A button still live on an ended build (its warning could not be closed): say when it ended.
    if (isFinal(applied.build.Status)) return replies.endedNothingTo(applied.build, 'extend', endedAt(applied.build), now);
    const reason = applied.outcome === 'unchanged' ? applied.reason : `it is ${applied.build.Status}`;
    log.info('extension not possible', { reason });
    return replies.extensionRefused(click.buildId, reason);
  }

  const extended = applied.build;
  log.info('build extended', { extendedHours: extended.ExtendedHours, deadlineAt: extended.DeadlineAt });
  // The events side moves the Scheduler schedule; the bot never touches Scheduler. If this put
  // is lost, the watchdog finds the schedule stale (ScheduleAt ≠ DeadlineAt's) within a minute.
  try {
    await deps.bus.put({ detailType: 'Build Extended', detail: { buildId: extended.BuildID, by: click.user, hours: EXTENSION_HOURS } });
  } catch (error) {
    log.error('extended, but Build Extended could not be put; the watchdog moves the schedule', { error });
  }
  try {
    await chat.post({ channel: extended.Channel, threadTs: extended.ThreadTs, text: extensionMessage(extended, click.user, config, now) });
  } catch (error) {
    log.error('extended, but the thread could not be told', { error });
  }
  await Promise.all([refreshCard(deps, extended, { config, now }), updateWarning(deps, extended, now)]);
  return undefined;
}

/**
 * The warning says the new deadline and the extensions left, and offers Extend only while some
 * are left: edited in place (WarningTs). A failure is logged; the thread reply says it too.
 */
async function updateWarning(deps: BotDeps, build: Build, now: Date): Promise<void> {
  const end = buildDeadline(build, deps.config);
  if (!build.WarningTs || !end) return;
  try {
    // As the watchdog drew it: how far it got, read again (best effort, briefly: inside Slack's 3 s).
    const facts = await warningFacts({ ...deps, log: deps.log.child({ buildId: build.BuildID }) }, build, WARNING_REDRAW_READ_MS);
    const message = warningMessage(build, { config: deps.config, now, deadline: end, ...facts });
    await deps.chat.update({ channel: build.Channel, ts: build.WarningTs, text: message.text, blocks: message.blocks });
  } catch (error) {
    deps.log.warn('extended, but the warning could not be updated', { buildId: build.BuildID, error });
  }
}

export function extensionMessage(build: Build, by: string, config: Config, now: Date): string {
  const limit = lifetimeHoursOf(build, config);
  const end = buildDeadline(build, config);
  const cost = estimate({
    instanceType: instanceTypeOf(build, config),
    volumeGb: config.volumeSizeGb,
    expectedHours: limit,
    maxLifetimeHours: limit,
    maxExtensionHours: 0,
    transferGb: config.transferGb,
    priceOverrides: config.priceOverrides,
  });
  const left = Math.max(0, config.maxExtensionHours - (build.ExtendedHours ?? 0));
  return (
    `⏱️ Extended by ${formatHours(EXTENSION_HOURS)} by ${mention(by)}; new limit ${formatHours(limit)}` +
    `${end ? ` (terminated at ${formatUtcTime(end, now)})` : ''}` +
    `${cost.ok ? `, max cost ${formatUsd(cost.estimate.max.total)}` : ''}. ` +
    (left > 0 ? `${formatHours(left)} of extensions left.` : 'No extensions left.')
  );
}
