import type { Applied } from '../domain/apply';
import { applyEvent } from '../domain/apply';
import type { Build } from '../domain/build';
import type { BotEvent } from '../domain/event-sides';
import { botEffects } from '../domain/event-sides';
import type { BotDeps } from './deps';
import { runEffects, tellThread } from './effects';
import type { Dequeue } from '../use-cases/slot-queue';

// The bot's one way to apply an event of the status table, and its only caller of applyEvent:
// the conditional write, then the effects the row asks for, then the thread (for a status
// change). A handler reads as: may this person do it, apply the step, answer from the outcome.

export interface BotStepOptions {
  /**
   * Tell the thread of a status change here (the default). The approval tells after it put
   * `Build Approved` (the launch never waits on Slack); the first of two approvals and an
   * extension change no status and say their own words.
   */
  tell?: boolean;
}

export type StepDeps = Pick<BotDeps, 'store' | 'claims' | 'bus' | 'chat' | 'log' | 'config' | 'clock'>;

export async function applyStep(deps: StepDeps, build: Build, event: BotEvent, by: string, now: Date, options: BotStepOptions = {}): Promise<Applied> {
  const applied = await applyEvent(deps.store, build, event, now);
  if (applied.outcome === 'changed' || applied.outcome === 'effects')
    await runEffects(deps, applied.build, botEffects(applied.decision.effects), by, dequeueBy(deps));
  if (applied.outcome === 'changed' && options.tell !== false) await tellThread(deps, applied.build, now);
  return applied;
}

/** How the bot hands a freed slot on (use-cases/slot-queue.ts): the queue's head is dequeued here, told after its launch is asked. */
export function dequeueBy(deps: StepDeps): Dequeue {
  return {
    apply: (head) => applyStep(deps, head, { type: 'dequeue' }, 'metal-build', deps.clock.now(), { tell: false }),
    tell: (head) => tellThread(deps, head, deps.clock.now()),
  };
}
