import type { Build } from '../domain/build';
import { isFinal } from '../domain/build';
import { commandFor } from '../domain/build-facts';
import { USAGE } from '../domain/command';
import { formatUsd } from '../domain/cost';
import { formatUtcTime, mention, nameList } from './mrkdwn';
import type { ApproverNames } from '../domain/approver-names';
import { requesterText } from './requester';

// Every text the bot sends to one person: in the ack body of a slash command, or through
// chat.postEphemeral after a button click (docs/design.md "Messages"). None of them changes anything.

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export const help = (): string =>
  ['*metal-build* runs the Hedgehog Lab OVA build on a bare-metal EC2 machine once someone approves its cost.', USAGE].join('\n');

/** One line: the exact problem and where the usage is; the full usage only for `usage` (an unknown subcommand). */
export const badArguments = (problem: string, usage = false): string =>
  usage ? `:warning: ${capitalize(problem)}.\n*Usage*\n${USAGE}` : `:warning: ${capitalize(problem)}. See \`/metal-build help\`.`;

const channelLinks = (channels: readonly string[]) => channels.map((c) => `<#${c}>`).join(' or ');

export const channelNotAllowed = (allowed: readonly string[]): string => `:no_entry: Builds cannot be requested in this channel. Use ${channelLinks(allowed)}.`;

/** ALLOWED_CHANNEL_IDS scopes reading and acting too: outside them only `help` answers. */
export const onlyInAllowedChannels = (use: 'status' | 'logs' | 'list' | 'costs' | 'cancel' | 'button', allowed: readonly string[]): string =>
  use === 'button'
    ? `:no_entry: These buttons work only in ${channelLinks(allowed)}; nothing was changed.`
    : `:no_entry: \`/metal-build ${use}\` works only in ${channelLinks(allowed)}; here only \`/metal-build help\` does.`;

export const inviteMe = (): string =>
  ':wave: I am not a member of this channel, so I cannot post the build card here. ' +
  'Invite me with `/invite @metal-build`, then run the command again. Nothing was requested.';

export const requested = (buildId: string): string => `Requested ${buildId} — waiting for approval.`;

/** Slack retried a command already answered: the first attempt's build stands. */
export const alreadyHandled = (buildId: string, build: Build | undefined): string =>
  build
    ? `This request was already handled as ${buildId} (${build.Status}).`
    : `This request was already handled (as ${buildId || 'an earlier attempt'}); see the first answer.`;

export const noBuild = (buildId: string): string => `There is no build ${buildId}.`;

/** Slack's user-group mention: shown as the group's handle, it stays true when the members change. */
const groupMention = (group: string) => `<!subteam^${group}>`;

/** APPROVER_IDS by name and APPROVER_GROUP_IDS as groups. */
export const approverList = (names: ApproverNames) => nameList([...names.userIds.map(mention), ...names.groupIds.map((g) => `members of ${groupMention(g)}`)]);

/** Said when the groups could not be read: who approves meanwhile, and that waiting helps. */
const unreadGroupsNote = (names: ApproverNames, verb: string) =>
  ` The members of ${nameList(names.groupIds.map(groupMention))} could not be read from Slack just now, so ` +
  (names.userIds.length > 0 ? `only ${nameList(names.userIds.map(mention))} can ${verb}` : `nobody can ${verb}`) +
  '. Try again in a minute.';

export const notAnApprover = (verb: string, names: ApproverNames): string =>
  names.groupsUnread && names.userIds.length === 0
    ? `:no_entry: The approver list could not be read from Slack just now, so nobody can ${verb} builds. Try again in a minute; nothing was changed.`
    : `:no_entry: Only approvers can ${verb} builds: ${approverList(names)}.${names.groupsUnread ? unreadGroupsNote(names, verb) : ''}`;

export const selfApproval = (verb: string, buildId: string): string =>
  `:no_entry: You requested ${buildId}, and here requesters may not approve their own builds, so someone else has to ${verb} it.`;

export const notRequesterOrApprover = (verb: string, build: Build, names: ApproverNames): string =>
  names.groupsUnread && names.userIds.length === 0
    ? `:no_entry: Only the requester (${requesterText(build)}) or an approver can ${verb} ${build.BuildID}, and the approver list could not be read from Slack just now. Try again in a minute; nothing was changed.`
    : `:no_entry: Only the requester (${requesterText(build)}) or an approver (${approverList(names)}) can ${verb} ${build.BuildID}.` +
      (names.groupsUnread ? unreadGroupsNote(names, verb) : '');

/** Who did what to a build, for "already …" answers. */
function byWhom(build: Build): string {
  const who =
    build.Status === 'rejected'
      ? build.DeniedBy
      : build.Status === 'cancelled'
        ? build.CancelledBy
        : build.Status === 'expired' || build.Status === 'awaiting_approval'
          ? undefined
          : build.Approver;
  if (!who) return '';
  const direct = build.Status === 'approved' || build.Status === 'rejected' || build.Status === 'cancelled';
  return direct ? ` by ${mention(who)}` : ` (approved by ${mention(who)})`;
}

const withdrawn = (build: Build) => build.Status === 'rejected' && build.DeniedBy !== undefined && build.DeniedBy === build.Requester;

export const already = (build: Build): string =>
  withdrawn(build) ? `${build.BuildID} was already withdrawn by ${requesterText(build)}.` : `${build.BuildID} is already ${build.Status}${byWhom(build)}.`;

/** A click on a button of a build that has ended (a warning left live): when it ended. */
export const endedNothingTo = (build: Build, verb: 'extend' | 'cancel', endedAt: Date | undefined, now: Date): string =>
  endedAt
    ? `${build.BuildID} ended at ${formatUtcTime(endedAt, now)}; nothing to ${verb}.`
    : `${build.BuildID} has ended (${build.Status}); nothing to ${verb}.`;

export const expired = (build: Build, ttlMinutes: number): string =>
  `:hourglass: ${build.BuildID} expired: it waited more than ${ttlMinutes} minutes for approval. ` +
  `Request it again with \`/metal-build ${build.BuildBranch}${build.BuildCommit ? ` ${build.BuildCommit}` : ''}\`.`;

/** Approved while every slot is taken: where it stands; undefined when a slot was handed to it at once. */
export const queued = (buildId: string, ahead: number | undefined): string =>
  ahead === undefined
    ? `Approved ${buildId}; a slot came free at once, so it is launching.`
    : `:traffic_light: Approved ${buildId} — queued, ${ahead === 0 ? 'next in line' : `${ahead} ahead`}. It launches when a slot frees, in approval order.`;

export const launchNotRequested = (buildId: string): string =>
  `:warning: ${buildId} is approved, but the launch request could not be sent. ` +
  'No machine will start; the watchdog marks the build failed within about 10 minutes, then request it again.';

export const cancelled = (buildId: string): string => `Cancelled ${buildId}.`;

/** Cancelled after approval: a launch may be starting a machine, so the slot waits (domain/slot-holding). */
export const cancelledAfterApproval = (buildId: string): string =>
  `Cancelled ${buildId}. Its slot is free again within about 5 minutes, once the watchdog has seen that no machine was started.`;

export const terminating = (buildId: string): string => `Terminating ${buildId}… the thread says when the machine is gone.`;

export const extensionRefused = (buildId: string, reason: string): string => `:no_entry: ${buildId} was not extended: ${reason}.`;

export const noActiveBuilds = (): string => 'No active builds. `/metal-build list` shows recent ones.';

export const noBuildsYet = (): string => 'No builds yet. Request one with `/metal-build <branch> [commit]`.';

/** An unexpected failure (a timeout, a throttled table): the person learns it did not go through. */
export const failed = (buildId?: string): string =>
  `:boom: That did not go through: something failed on our side${buildId ? ` (${buildId})` : ''}. ` +
  'Check the card and its thread, then try again in a moment.';

/** The first of two approvals (SECOND_APPROVAL_ABOVE_USD) was recorded. */
/** Why this click is a first approval although the card did not ask for two, or had one already. */
export type FirstApprovalWhy = { lapsedApprover?: string; roseFrom?: number; to?: number };

export const firstApprovalRecorded = (buildId: string, threshold: number, why: FirstApprovalWhy = {}): string =>
  `:+1: Your approval of ${buildId} is recorded (1 of 2): ` +
  (why.lapsedApprover !== undefined
    ? `the earlier approval by ${mention(why.lapsedApprover)} no longer counts (they are not an approver now), so yours is the first and a second approver is needed.`
    : why.roseFrom !== undefined && why.to !== undefined
      ? `prices changed since the card was posted, and its maximum rose from ${formatUsd(why.roseFrom)} to ${formatUsd(why.to)}, above ${formatUsd(threshold)}, so a second approver is needed.`
      : `its maximum is above ${formatUsd(threshold)}, so a second approver is needed.`) +
  ' Nothing was started yet.';

export const clickAlreadyHandled = (build: Build): string =>
  `That click was already handled; ${build.BuildID} is ${build.Status.replace(/_/g, ' ')}${byWhom(build)}. Nothing was changed.`;

export const sameApproverTwice = (buildId: string): string =>
  `You have already approved ${buildId}; it needs a second approval by someone else. Nothing was changed.`;

export const notRebuildable = (build: Build): string =>
  `Only a failed, terminated or cancelled build can be rebuilt; ${build.BuildID} is ${build.Status.replace(/_/g, ' ')}.`;

/** The earlier build's one rebuild exists already: where it went, and how to ask for yet another. */
export const alreadyRebuilt = (buildId: string, laterId: string, later: Build | undefined): string =>
  `${buildId} was already rebuilt as ${laterId || 'an earlier request'}${later ? ` (${later.Status.replace(/_/g, ' ')})` : ''}.` +
  (later && isFinal(later.Status) ? ` To build it again: \`${commandFor(later)}\`.` : '');

/** A rebuild repeats the earlier type and limit; the settings no longer allow one of them. */
export const choiceNoLongerAllowed = (earlier: Build, problem: string): string =>
  `:warning: ${earlier.BuildID} cannot be rebuilt as it ran: ${problem}. Nothing was recorded. Ask for it anew: \`${commandFor(earlier)}\`.`;
