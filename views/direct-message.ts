import type { Build, Status } from '../domain/build';
import type { ViewContext } from './status-text';
import { STATUS_EMOJI, STATUS_LABEL } from './status-text';
import { buildDeadline } from '../domain/build-facts';
import { code, formatUtcTime } from './mrkdwn';

// The requester's direct message about the warning and the end of their build (a post to their
// user ID lands in the app's Messages tab), so a phone shows it even when the channel is muted.
// No buttons: it links to the thread, where acting happens. Sent by use-cases/tell-requester.ts.

/** What the requester did themselves needs no message to them. */
export function theirOwnDoing(build: Build): boolean {
  return (build.Status === 'rejected' && build.DeniedBy === build.Requester) || (build.Status === 'cancelled' && build.CancelledBy === build.Requester);
}

function ref(build: Build): string {
  return `${code(build.BuildID)} (${code(build.BuildBranch)})`;
}

export function directMessageText(build: Build, key: 'warning' | Status, ctx: ViewContext, permalink: string): string {
  const link = `<${permalink}|Open the thread>`;
  if (key === 'warning') {
    const due = buildDeadline(build, ctx.config);
    const when = due ? ` at ${formatUtcTime(due, ctx.now)}` : '';
    return `⚠️ Your build ${ref(build)} will be terminated${when} unless an approver extends it. ${link}.`;
  }
  return `${STATUS_EMOJI[key]} Your build ${ref(build)}: ${STATUS_LABEL[key].toLowerCase()}. ${link}.`;
}
