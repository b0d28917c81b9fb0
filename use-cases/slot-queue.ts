import type { Applied } from '../domain/apply';
import type { Build } from '../domain/build';
import type { Config } from '../domain/config';
import type { Bus, BuildStore, Clock, Logger } from '../domain/ports';
import { slotMayBeGivenBack } from '../domain/slot-holding';

// The queue (docs/design.md "Concurrency"): a slot freed while builds wait goes to the queue's
// head, which then launches. Both sides free slots (the bot's stale give-back and failed
// approvals; the events side's ends, launch failures and the watchdog), so both come here, each
// with its own way to apply the `dequeue` row and tell the thread.

export interface SlotQueueDeps {
  store: BuildStore;
  bus: Bus;
  config: Pick<Config, 'maxConcurrentBuilds'>;
  clock: Clock;
}

/**
 * The side's own way to apply `dequeue` (its only caller of applyEvent), and to tell the thread
 * of it afterwards: the launch is asked for before anything waits on Slack.
 */
export interface Dequeue {
  apply(build: Build): Promise<Applied>;
  tell(build: Build): Promise<void>;
}

/** At most this many heads launched by one call: a slot set cannot free more at once. */
const MAX_HANDED = 16;

/** Gives the build's slot back; to the queue's head when one waits, which then launches. */
export async function freeSlot(deps: SlotQueueDeps, buildId: string, dequeue: Dequeue, log: Logger): Promise<void> {
  const head = await deps.store.handOver(buildId, deps.config.maxConcurrentBuilds);
  if (head !== undefined) await launchHead(deps, head, dequeue, log);
}

/** Free slots to the queue's heads, in order, each launched: a slot freed while nobody was listed yet. */
export async function fillFreeSlots(deps: SlotQueueDeps, dequeue: Dequeue, log: Logger): Promise<void> {
  for (let handed = 0; handed < MAX_HANDED; handed++) {
    const head = await deps.store.fillFreeSlot(deps.config.maxConcurrentBuilds);
    if (head === undefined) return;
    await launchHead(deps, head, dequeue, log);
  }
}

/**
 * The head now holds a slot: queued → approved, and `Build Approved` put by whoever wins that
 * write (a conditional write has one winner). A head that is no longer queued (cancelled or
 * expired meanwhile, or gone) gives the slot on at once, when nothing of it can be running.
 */
export async function launchHead(deps: SlotQueueDeps, headId: string, dequeue: Dequeue, log: Logger, depth = 0): Promise<void> {
  const head = await deps.store.get(headId);
  const hlog = log.child({ buildId: headId });
  if (head?.Status === 'queued') {
    const applied = await dequeue.apply(head);
    if (applied.outcome !== 'changed') return;
    hlog.info('a freed slot was handed to the queue’s head; launching');
    // A lost put is put again by the watchdog (an approved build handed a slot without a machine).
    await deps.bus.put({ detailType: 'Build Approved', detail: { buildId: headId } });
    await dequeue.tell(applied.build).catch((error: unknown) => hlog.warn('could not tell the thread that the build leaves the queue', { error }));
    return;
  }
  if (depth < MAX_HANDED && slotMayBeGivenBack(head, deps.clock.now())) {
    hlog.info('the queue’s head no longer waits; its slot goes to the next', { status: head?.Status ?? 'missing' });
    const next = await deps.store.handOver(headId, deps.config.maxConcurrentBuilds);
    if (next !== undefined) await launchHead(deps, next, dequeue, log, depth + 1);
  }
}

/** Where a queued build stands: how many wait before it; undefined when it is not in the queue. */
export async function placeInQueue(store: BuildStore, buildId: string): Promise<number | undefined> {
  const at = (await store.slotSet()).queue.indexOf(buildId);
  return at < 0 ? undefined : at;
}
