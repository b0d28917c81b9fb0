import { BOT_SOURCE, DETAIL_TYPES, buildExtendedDetail } from '../domain/events';
import { keepDeadline } from './deadline-schedule';
import type { EventDeps } from './deps';
import { loadEventDeps } from './deps';
import { parseOrDrop } from './inbound';

// `Build Extended` → the build's schedule moves to its new deadline. The bot wrote ExtendedHours
// and DeadlineAt; it never calls Scheduler (a role that may pass the terminating role to
// Scheduler is EC2 power by another name). The schedule follows the record, not the event:
// a late or repeated delivery sets the same minute again.

export function createHandler(deps: EventDeps) {
  return async function deadline(event: unknown): Promise<void> {
    const log = deps.log.child({ handler: 'deadline' });
    const inbound = parseOrDrop(event, BOT_SOURCE, DETAIL_TYPES.extended, buildExtendedDetail, log);
    if (!inbound) return;
    const blog = log.child({ buildId: inbound.detail.buildId });
    const build = await deps.store.get(inbound.detail.buildId);
    if (!build) {
      blog.warn('no such build; event dropped');
      return;
    }
    await keepDeadline(deps, build, blog);
  };
}

export async function handler(event: unknown, _context: unknown): Promise<void> {
  await createHandler(await loadEventDeps())(event);
}
