import { BOT_SOURCE, DETAIL_TYPES, cancelRequestedDetail } from '../domain/events';
import { applyStep } from './apply-step';
import { eventEntry } from './entry';

// `Build Cancel Requested` (the bot, for a build whose machine exists): the build becomes
// `cancelled` first, then its machine is terminated. The conditional write decides, so a
// redelivery or a race with the build's own end terminates nothing twice.

export const { createHandler, handler } = eventEntry({
  name: 'cancel',
  source: BOT_SOURCE,
  detailType: DETAIL_TYPES.cancelRequested,
  schema: cancelRequestedDetail,
  missing: (log) => log.warn('cancel for an unknown build; dropped'),
  async handle({ deps, build, detail: { by }, log }) {
    const { applied } = await applyStep(deps, build, { type: 'cancel-requested', by }, { sns: true, refresh: false }, log);
    if (applied.outcome === 'missing') log.warn('cancel for an unknown build; dropped');
    else if (applied.outcome === 'changed') log.info('cancelled; machine terminated', { by, instanceId: applied.build.InstanceID });
  },
});
