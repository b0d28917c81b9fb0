import type { Applied } from '../domain/apply';
import { applyEvent } from '../domain/apply';
import type { Build } from '../domain/build';
import type { BotEvent } from '../domain/event-sides';
import { botEffects } from '../domain/event-sides';
import type { BotDeps } from './deps';
import { runEffects, tellThread } from './effects';

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

export async function applyStep(
  deps: Pick<BotDeps, 'store' | 'claims' | 'bus' | 'chat' | 'log' | 'config'>,
  build: Build,
  event: BotEvent,
  by: string,
  now: Date,
  options: BotStepOptions = {},
): Promise<Applied> {
  const applied = await applyEvent(deps.store, build, event, now);
  if (applied.outcome === 'changed' || applied.outcome === 'effects') await runEffects(deps, applied.build, botEffects(applied.decision.effects), by);
  if (applied.outcome === 'changed' && options.tell !== false) await tellThread(deps, applied.build, now);
  return applied;
}
