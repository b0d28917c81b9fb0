import { slotMayBeGivenBack } from '../domain/slot-holding';
import { countedEntry } from '../domain/spend';
import type { SlotTake } from '../domain/ports';
import type { BotDeps } from './deps';
import type { StepDeps } from './apply-step';
import { dequeueBy } from './apply-step';
import { freeSlot } from '../use-cases/slot-queue';

// docs/design.md "Concurrency", step 1: take a slot before the approve transition. When the slots are
// full, holders whose build has ended without a machine left (or vanished) are given back first: a crash between an
// end and its release must not block every later approval until the watchdog's next run.
// Holders still awaiting approval are left alone: another approver may be between the two steps.

/** `take`: whether this click put the BuildID in the slot set (`added`) or found it there (`held`). */
export type SlotResult = { ok: true; take: Exclude<SlotTake, 'full'> } | { ok: false; holders: string[] };

export async function takeSlot(deps: StepDeps & Pick<BotDeps, 'ledger'>, buildId: string): Promise<SlotResult> {
  const { store, config, log } = deps;
  const first = await store.takeSlot(buildId, config.maxConcurrentBuilds);
  if (first !== 'full') return { ok: true, take: first };
  const holders = await store.slots();
  const builds = await Promise.all(holders.map((id) => store.get(id)));
  // The slot follows the machine: a final build whose machine EC2 has not yet reported gone
  // keeps it, or a second metal machine could start beside the first.
  const now = deps.clock.now();
  const stale = holders.filter((_, i) => slotMayBeGivenBack(builds[i], now));
  if (stale.length === 0) return { ok: false, holders };
  for (const [i, id] of holders.entries()) {
    if (!stale.includes(id)) continue;
    // Counted into its month on the way (a no-op once counted), but the slot goes either way:
    // until the count reaches the index the build's hold keeps its money in every budget figure.
    const counted = builds[i] && countedEntry(builds[i]);
    if (counted)
      await deps.ledger
        .count(counted.month, counted.entry)
        .catch((error: unknown) => log.warn('could not count an ended build; its hold keeps it in the figures', { buildId: id, error }));
    log.warn('gave back the slot of a build that has ended', { buildId: id, for: buildId });
    await freeSlot(deps, id, dequeueBy(deps), log.child({ buildId: id }));
  }
  const second = await store.takeSlot(buildId, config.maxConcurrentBuilds);
  if (second !== 'full') return { ok: true, take: second };
  return { ok: false, holders: await store.slots() };
}
