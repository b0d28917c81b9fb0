import type { Build } from '../domain/build';
import type { Config } from '../domain/config';
import type { Logger } from '../domain/ports';
import type { ApproverRules } from './approvers';
import type { BotDeps } from './deps';
import type { Click } from './interaction';
import * as replies from '../views/replies';
import { requestedByGithub } from '../views/requester';

// Who may do what, where (docs/user-guide.md "Who may do what"). The approvers are APPROVER_IDS and the
// members of APPROVER_GROUP_IDS (bot/approvers.ts); with neither set, anyone in the channel is an
// approver. The requester is never their own approver unless ALLOW_SELF_APPROVAL says so.
// ALLOWED_CHANNEL_IDS says where anything but `help` works.

export type Permission = { ok: true } | { ok: false; reason: string };

const allowed: Permission = { ok: true };

export function isApprover(rules: ApproverRules, user: string): boolean {
  return rules.anyone || rules.approverIds.includes(user);
}

/** Approve and extend spend money: an approver other than the requester (unless self-approval is on). */
export function maySpend(rules: ApproverRules, user: string, build: Build, verb: 'approve' | 'extend'): Permission {
  if (!isApprover(rules, user)) return { ok: false, reason: replies.notAnApprover(verb, rules.named) };
  if (user === build.Requester && !rules.allowSelfApproval) return { ok: false, reason: replies.selfApproval(verb, build.BuildID) };
  return allowed;
}

/** Deny and cancel stop spending: an approver, or the requester withdrawing their own build. */
export function mayStop(rules: ApproverRules, user: string, build: Build, verb: 'deny' | 'cancel'): Permission {
  // A build GitHub asked for has no Slack requester: only approvers stop it.
  if ((user === build.Requester && !requestedByGithub(build)) || isApprover(rules, user)) return allowed;
  return { ok: false, reason: replies.notRequesterOrApprover(verb, build, rules.named) };
}

type ChannelRules = Pick<Config, 'allowedChannelIds' | 'approverIds'>;

/** What a person does in a channel: a request, a read, or an action (a command or a button). */
/** `logs` reads what `status` reads: the same rule. */
export type ChannelUse = 'request' | 'status' | 'logs' | 'list' | 'costs' | 'cancel' | 'button';

/**
 * Outside ALLOWED_CHANNEL_IDS (when set) nothing but `help` works: anyone who can message the
 * bot could otherwise read every build or cancel one. An approver named in APPROVER_IDS may
 * still read and act from anywhere (a DM to check on a build); an empty APPROVER_IDS names
 * nobody here, unlike isApprover, or the exception would be everyone. A request is only ever
 * accepted in an allowed channel: its card, and everything said about it, goes there.
 * APPROVER_GROUP_IDS does not widen the exception: it is for people named one by one, and
 * reading the groups here would put a Slack call before every command, inside the 3 s.
 */
export function mayUseChannel(rules: ChannelRules, user: string, channel: string | undefined, use: ChannelUse): Permission {
  const channels = rules.allowedChannelIds;
  if (channels.length === 0 || (channel !== undefined && channels.includes(channel))) return allowed;
  if (use !== 'request' && rules.approverIds.includes(user)) return allowed;
  return { ok: false, reason: use === 'request' ? replies.channelNotAllowed(channels) : replies.onlyInAllowedChannels(use, channels) };
}

export type Verb = 'approve' | 'extend' | 'deny' | 'cancel';

const refusedMessage: Record<Verb, string> = {
  approve: 'approval refused',
  extend: 'extension refused',
  deny: 'denial refused',
  cancel: 'cancel refused',
};

/**
 * How every action on a build starts: load it, check that `user` may `verb` it (maySpend or
 * mayStop), log a refusal. Either the build, or the reply that ends the interaction. A button's
 * `click` is then claimed (`#click#<action_ts>#<user>#<action_id>`): a click counts once, and a
 * replay of its signed body (within Slack's 5 minutes) is answered like a second click.
 */
export async function permittedBuild(
  deps: Pick<BotDeps, 'store' | 'claims' | 'approvers' | 'clock'>,
  log: Logger,
  user: string,
  buildId: string,
  verb: Verb,
  click?: Pick<Click, 'actionId' | 'actionTs'>,
): Promise<{ ok: true; build: Build; rules: ApproverRules } | { ok: false; reply: string }> {
  // Side by side: a group read (when the cache is stale) should not wait for the table's answer.
  const [build, rules] = await Promise.all([deps.store.get(buildId), deps.approvers.rules(log)]);
  if (!build) return { ok: false, reply: replies.noBuild(buildId) };

  const permission = verb === 'approve' || verb === 'extend' ? maySpend(rules, user, build, verb) : mayStop(rules, user, build, verb);
  if (!permission.ok) {
    log.info(refusedMessage[verb], { requester: build.Requester, ...(rules.named.groupsUnread ? { approverGroupsUnread: true } : {}) });
    return { ok: false, reply: permission.reason };
  }
  if (click && !(await deps.claims.claim({ kind: 'click', click: `${click.actionTs}#${user}#${click.actionId}`, buildId }, deps.clock.now())).claimed) {
    log.warn('a click already handled came again (a replay); nothing done', { user, actionId: click.actionId, actionTs: click.actionTs });
    return { ok: false, reply: replies.clickAlreadyHandled(build) };
  }
  return { ok: true, build, rules };
}
