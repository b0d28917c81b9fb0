import type { Build } from '../domain/build';
import type { Logger } from '../domain/ports';
import { fillFreeSlots, placeInQueue } from '../use-cases/slot-queue';
import type { BotDeps } from './deps';
import { dequeueBy } from './apply-step';
import { tellThread } from './effects';

// What follows an approval (a click's or a self-test's), once its row is written: a queued build
// joins `Queue`, a slot freed in between goes to the head at once, and the thread is told its
// place; a build holding its slot gets `Build Approved`, which starts the launch function.

/** The build's place in the queue (builds ahead), or undefined when it has already left it. */
export async function joinQueue(deps: BotDeps, queued: Build, log: Logger, now: Date): Promise<number | undefined> {
  await deps.store.enqueue(queued.BuildID);
  await fillFreeSlots(deps, dequeueBy(deps), log);
  const ahead = await placeInQueue(deps.store, queued.BuildID);
  if (ahead !== undefined) await tellThread(deps, queued, now, { ahead });
  return ahead;
}

/**
 * `Build Approved` for a build holding its slot; false when it could not be put. Not rolled
 * back: the watchdog's "stuck approved" rule fails the build and frees the slot.
 */
export async function requestLaunch(deps: BotDeps, approved: Build, log: Logger): Promise<boolean> {
  try {
    await deps.bus.put({ detailType: 'Build Approved', detail: { buildId: approved.BuildID } });
    return true;
  } catch (error) {
    log.error('approved, but Build Approved could not be put; no launch will follow', { error });
    return false;
  }
}
