import type { Build, Status } from '../domain/build';
import type { FactsContext } from '../domain/build-facts';
import { isWithdrawn } from '../domain/build-facts';

// How a status reads in Slack: its emoji and its label. The figures beside them are the build's
// facts (domain/build-facts.ts).

/** What every view is drawn with: the configuration and the time of drawing. */
export type ViewContext = FactsContext;

export const STATUS_EMOJI: Readonly<Record<Status, string>> = {
  awaiting_approval: '⏳',
  queued: '🕒',
  approved: '👍',
  launching: '🚀',
  building: '🔨',
  uploading: '⬆️',
  completed: '✅',
  failed: '❌',
  terminated: '🛑',
  cancelled: '🚫',
  rejected: '👎',
  expired: '⌛',
};

export const STATUS_LABEL: Readonly<Record<Status, string>> = {
  awaiting_approval: 'Awaiting approval',
  queued: 'Queued',
  approved: 'Approved',
  launching: 'Launching',
  building: 'Building',
  uploading: 'Uploading',
  completed: 'Completed',
  failed: 'Failed',
  terminated: 'Terminated',
  cancelled: 'Cancelled',
  rejected: 'Denied',
  expired: 'Expired',
};

/** Where a queued build stands, when the drawing knows it; it launches when a slot frees, in approval order. */
export function queuePlace(ahead: number | undefined): string {
  const place = ahead === undefined ? '' : ahead === 0 ? 'next in line, ' : `${ahead} ahead, `;
  return `queued: ${place}it launches when a slot frees`;
}

/** The status's label, "Withdrawn" for a request its requester took back. */
export function statusLabel(build: Build): string {
  return isWithdrawn(build) ? 'Withdrawn' : STATUS_LABEL[build.Status];
}
