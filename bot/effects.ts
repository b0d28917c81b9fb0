import type { Build } from '../domain/build';
import { announce } from '../use-cases/announce';
import type { BotEffect } from '../domain/event-sides';
import type { BotDeps } from './deps';
import type { CardContext } from '../views/card';
import type { Dequeue } from '../use-cases/slot-queue';
import { freeSlot } from '../use-cases/slot-queue';

// What follows a transition the bot made: the effects its rows ask for (domain/event-sides: never a
// termination, the bot has no EC2 rights; a running build is ended by the cancel handler behind
// the bus), then the thread.

export async function runEffects(
  deps: Pick<BotDeps, 'store' | 'bus' | 'config' | 'clock' | 'log'>,
  build: Build,
  effects: readonly BotEffect[],
  by: string,
  dequeue: Dequeue,
): Promise<void> {
  for (const effect of effects) {
    switch (effect) {
      case 'release-slot':
        await freeSlot(deps, build.BuildID, dequeue, deps.log.child({ buildId: build.BuildID }));
        break;
      case 'leave-queue':
        await deps.store.leaveQueue(build.BuildID);
        break;
      case 'put-cancel-requested':
        await deps.bus.put({ detailType: 'Build Cancel Requested', detail: { buildId: build.BuildID, by } });
        break;
    }
  }
}

/**
 * The thread reply and card update for the build's new status. The change itself has happened,
 * so a Slack failure here is logged, not passed on: the person who clicked is not told "failed"
 * about something that took effect, and the next status change is announced as usual.
 */
export async function tellThread(
  deps: Pick<BotDeps, 'store' | 'claims' | 'chat' | 'log' | 'config'>,
  build: Build,
  now: Date,
  card: Pick<CardContext, 'ahead'> = {},
): Promise<void> {
  try {
    await announce(deps, build, { config: deps.config, now, ...card });
  } catch (error) {
    deps.log.error('could not tell the thread', { buildId: build.BuildID, status: build.Status, error });
  }
}
