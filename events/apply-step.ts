import type { Applied } from '../domain/apply';
import { applyEvent } from '../domain/apply';
import type { Build } from '../domain/build';
import type { Logger } from '../domain/ports';
import type { EventsEvent } from '../domain/event-sides';
import { eventsEffects } from '../domain/event-sides';
import type { EventDeps } from './deps';
import type { TellOptions } from './effects';
import type { EffectDeps } from './effects';
import { runEffects, tell } from './effects';
import type { Dequeue } from '../use-cases/slot-queue';

// The events handlers' one way to apply an event of the status table: the conditional write,
// the row's effects, then telling people (SNS and the thread, docs/design.md "Delivery
// semantics"). Telling runs on every delivery, changed or not: a redelivery after a failed post
// finds the transition done and NotifiedStatus still behind, and tells then.

export interface StepOptions {
  sns: boolean;
  /** Redraw the card even without a status change; by default when the record changed. */
  refresh?: boolean;
}

/** The applied outcome, and the build as told (undefined when there is no such build). */
export async function applyStep(
  deps: EventDeps,
  target: string | Build,
  event: EventsEvent,
  options: StepOptions,
  log: Logger,
): Promise<{ applied: Applied; told?: Build }> {
  const applied = await applyRow(deps, target, event, log);
  if (applied.outcome === 'missing') return { applied };
  const tellOptions: TellOptions = {
    sns: options.sns,
    refresh: options.refresh ?? applied.outcome === 'changed',
    recordFinalMessage: finalMessageRecorder(deps, log),
  };
  return { applied, told: await tell(deps, applied.build, tellOptions, log) };
}

/**
 * The write and the row's effects, without telling anyone: what the watchdog's safety phase
 * does, so that ending a machine never waits on Slack (docs/design.md "Safety before
 * bookkeeping"). Whoever calls it tells afterwards (`tell`), or leaves it to the catch-up. The
 * only caller of applyEvent on the events side; `now` is the watchdog run's when it decides.
 */
export async function applyRow(deps: EffectDeps, target: string | Build, event: EventsEvent, log: Logger, now?: Date): Promise<Applied> {
  const applied = await applyEvent(deps.store, target, event, now ?? deps.clock.now());
  if (applied.outcome === 'missing') return applied;
  if (applied.outcome === 'unchanged') log.info(`${event.type} changes nothing`, { status: applied.build.Status, reason: applied.reason });
  if (applied.outcome === 'changed' || applied.outcome === 'effects')
    // The watchdog passes its run's `now`: a hand-over in its safety phase tells nobody (quiet).
    await runEffects(deps, applied.build, eventsEffects(applied.decision.effects), log, dequeueBy(deps, log, now !== undefined));
  return applied;
}

/**
 * How the events side hands a freed slot on (use-cases/slot-queue.ts): the head is dequeued, its
 * launch asked for, then, where a chat is at hand and `quiet` is not asked, the thread told. The
 * watchdog's safety phase is quiet (it never waits on Slack): the launch's own messages follow.
 */
export function dequeueBy(deps: EffectDeps & Partial<Pick<EventDeps, 'chat' | 'claims' | 'notifier'>>, log: Logger, quiet = false): Dequeue {
  return {
    apply: (head) => applyRow(deps, head, { type: 'dequeue' }, log.child({ buildId: head.BuildID })),
    tell: async (head) => {
      if (!quiet && isFullDeps(deps)) await tell(deps, head, { sns: false, refresh: true }, log.child({ buildId: head.BuildID }));
    },
  };
}

function isFullDeps(deps: object): deps is EventDeps {
  return 'chat' in deps && 'claims' in deps && 'notifier' in deps;
}

/**
 * The broadcast final message's ts (FinalMessageTs), through its status-table row, for `tell`:
 * bookkeeping after the post, so a failure is logged and the edit to the final cost is skipped.
 */
export function finalMessageRecorder(deps: EventDeps, log: Logger): (build: Build, ts: string) => Promise<void> {
  return async (build, ts) => {
    try {
      await applyRow(deps, build, { type: 'final-message-posted', status: build.Status, ts }, log);
    } catch (error) {
      log.warn('could not record the final message; it will not be edited to the final cost', { buildId: build.BuildID, error });
    }
  };
}
