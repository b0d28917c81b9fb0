import type { Build } from '../core/build';
import { announce } from '../core/use-cases/announce';
import type { Effect } from '../core/transition';
import type { BotDeps } from './deps';

// What follows a transition the bot made: the Effects core/transition asks for, then the thread.
// The bot never touches EC2: a running build is ended by the cancel handler behind the bus.

export async function runEffects(
  deps: Pick<BotDeps, 'store' | 'bus' | 'log'>,
  build: Build,
  effects: readonly Effect[],
  by: string,
): Promise<void> {
  for (const effect of effects) {
    switch (effect) {
      case 'release-slot':
        await deps.store.releaseSlot(build.BuildID);
        break;
      case 'put-cancel-requested':
        await deps.bus.put({ detailType: 'Build Cancel Requested', detail: { buildId: build.BuildID, by } });
        break;
      case 'terminate-instance':
        // No bot event leads here (core/transition); were one to, the watchdog ends the machine.
        deps.log.error('a bot transition asked to terminate an instance; left to the watchdog', {
          buildId: build.BuildID,
        });
        break;
    }
  }
}

/**
 * The thread reply and card update for the build's new status. The change itself has happened,
 * so a Slack failure here is logged, not passed on: the person who clicked is not told "failed"
 * about something that took effect, and the next status change is announced as usual.
 */
export async function tellThread(deps: Pick<BotDeps, 'store' | 'chat' | 'log' | 'config'>, build: Build, now: Date): Promise<void> {
  try {
    await announce(deps, build, { config: deps.config, now });
  } catch (error) {
    deps.log.error('could not tell the thread', { buildId: build.BuildID, status: build.Status, error });
  }
}
