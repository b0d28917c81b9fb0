import type { Build } from '../domain/build';
import type { Block } from '../domain/ports';
import type { ApproverNames } from '../domain/approver-names';
import { instanceTypeOf } from '../domain/build-facts';
import type { ViewContext } from './status-text';
import { STATUS_EMOJI, statusLabel } from './status-text';
import { code, mention } from './mrkdwn';
import { approverList } from './replies';

// `/metal-build selftest` (docs/design.md "Self-test"): no card, one line in the channel, redrawn
// in place at each status like a card, and its thread.

/** The self-test's line: the parent of its thread, where a build has its card. */
export function selftestLine(build: Build, ctx: ViewContext): { text: string; blocks: Block[] } {
  const text =
    `🧪 Self-test ${code(build.BuildID)} by ${mention(build.Requester)} on a ${instanceTypeOf(build, ctx.config)} in ${ctx.config.region}: ` +
    `${STATUS_EMOJI[build.Status]} ${statusLabel(build).toLowerCase()}`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

/** The answer to the approver who asked. */
export const selftestStarted = (buildId: string, queued: boolean): string =>
  queued ? `Self-test ${buildId} is queued: every slot is taken; it launches when one frees.` : `Self-test ${buildId} started; its thread follows it.`;

export const selftestNotAnApprover = (names: ApproverNames): string =>
  names.groupsUnread && names.userIds.length === 0
    ? ':no_entry: The approver list could not be read from Slack just now, so nobody can run a self-test. Try again in a minute; nothing was changed.'
    : `:no_entry: Only approvers can run a self-test: ${approverList(names)}. Nothing was changed.`;
