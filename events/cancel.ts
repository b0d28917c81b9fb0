import { BOT_SOURCE, DETAIL_TYPES, cancelRequestedDetail } from '../domain/events';
import type { EventDeps } from './deps';
import { loadEventDeps } from './deps';
import { applyStep } from './apply-step';
import { parseOrDrop } from './inbound';

// `Build Cancel Requested` (the bot, for a build whose machine exists): the build becomes
// `cancelled` first, then its machine is terminated. The conditional write decides, so a
// redelivery or a race with the build's own end terminates nothing twice.

export function createHandler(deps: EventDeps) {
  return async function cancel(event: unknown): Promise<void> {
    const log = deps.log.child({ handler: 'cancel' });
    const inbound = parseOrDrop(event, BOT_SOURCE, DETAIL_TYPES.cancelRequested, cancelRequestedDetail, log);
    if (!inbound) return;
    const { buildId, by } = inbound.detail;
    const blog = log.child({ buildId });
    const { applied } = await applyStep(deps, buildId, { type: 'cancel-requested', by }, { sns: true, refresh: false }, blog);
    if (applied.outcome === 'missing') blog.warn('cancel for an unknown build; dropped');
    else if (applied.outcome === 'changed') blog.info('cancelled; machine terminated', { by, instanceId: applied.build.InstanceID });
  };
}

export async function handler(event: unknown, _context: unknown): Promise<void> {
  await createHandler(await loadEventDeps())(event);
}
