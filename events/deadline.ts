import { BOT_SOURCE, DETAIL_TYPES, buildExtendedDetail } from '../domain/events';
import { keepDeadline } from './deadline-schedule';
import { eventEntry } from './entry';

// `Build Extended` → the build's schedule moves to its new deadline. The bot wrote ExtendedHours
// and DeadlineAt; it never calls Scheduler (a role that may pass the terminating role to
// Scheduler is EC2 power by another name). The schedule follows the record, not the event:
// a late or repeated delivery sets the same minute again.

export const { createHandler, handler } = eventEntry({
  name: 'deadline',
  source: BOT_SOURCE,
  detailType: DETAIL_TYPES.extended,
  schema: buildExtendedDetail,
  handle: ({ deps, build, log }) => keepDeadline(deps, build, log),
});
