import type { ApproverNames } from '../domain/approver-names';
import type { Config } from '../domain/config';
import type { Chat, Clock, Logger } from '../domain/ports';
import { ChatError } from '../domain/ports';

// Who the approvers are right now (docs/user-guide.md "Who may do what"): the people of APPROVER_IDS
// and the members of the Slack user groups of APPROVER_GROUP_IDS. Reading the groups is a Slack
// call inside the 3 s of a click, so a container keeps what it read for APPROVER_CACHE_MS; a
// failed read is not kept, or one blip would shut the groups out for five minutes.

/** A member removed from a group may still approve through this container for at most this long. */
export const APPROVER_CACHE_MS = 5 * 60_000;

export interface ApproverRules {
  /** Who may approve: APPROVER_IDS and the groups' members (APPROVER_IDS alone while the groups cannot be read). */
  approverIds: readonly string[];
  /**
   * Neither APPROVER_IDS nor APPROVER_GROUP_IDS is set: anyone in the channel approves. Never
   * true with groups set, even when they cannot be read and APPROVER_IDS is empty: an operator
   * who named groups meant a list, so a failed read fails closed.
   */
  anyone: boolean;
  allowSelfApproval: boolean;
  named: ApproverNames;
}

export interface ApproverDirectory {
  /** Never throws: a failed group read is logged on `log` and these rules fall back to APPROVER_IDS. */
  rules(log: Logger): Promise<ApproverRules>;
}

type Settings = Pick<Config, 'approverIds' | 'approverGroupIds' | 'allowSelfApproval'>;

type GroupRead = { ok: true; members: string[] } | { ok: false; failures: Array<{ groupId: string; error: unknown }> };

/** Answers that will not change by retrying: an operator has to fix the group ID, the scope or the plan. */
const CONFIGURATION_CODES = new Set(['no_such_subteam', 'missing_scope', 'plan_upgrade_required', 'not_allowed_token_type']);

/** One per container (loadBotDeps): the cache lives as long as the deps object. */
export function createApproverDirectory(chat: Pick<Chat, 'userGroupMembers'>, settings: Settings, clock: Clock): ApproverDirectory {
  const { approverIds, approverGroupIds: groupIds, allowSelfApproval } = settings;
  const named = (groupsUnread: boolean): ApproverNames => ({ userIds: approverIds, groupIds, groupsUnread });
  let cached: { members: readonly string[]; readAt: number } | undefined;
  // Clicks that arrive together share one read instead of each calling Slack.
  let reading: Promise<GroupRead> | undefined;

  const read = async (): Promise<GroupRead> => {
    const readAt = clock.now().getTime();
    const settled = await Promise.allSettled(groupIds.map((id) => chat.userGroupMembers(id)));
    const failures = settled.flatMap((r, i) => (r.status === 'rejected' ? [{ groupId: groupIds[i]!, error: r.reason as unknown }] : []));
    if (failures.length > 0) return { ok: false, failures };
    const members = [...new Set([...approverIds, ...settled.flatMap((r) => (r.status === 'fulfilled' ? r.value : []))])];
    cached = { members, readAt };
    return { ok: true, members };
  };

  const fresh = (now: number) => cached !== undefined && now >= cached.readAt && now - cached.readAt < APPROVER_CACHE_MS;

  return {
    async rules(log) {
      if (groupIds.length === 0) return { approverIds, anyone: approverIds.length === 0, allowSelfApproval, named: named(false) };
      if (fresh(clock.now().getTime())) return { approverIds: cached!.members, anyone: false, allowSelfApproval, named: named(false) };

      reading ??= read().finally(() => {
        reading = undefined;
      });
      const result = await reading;
      if (result.ok) return { approverIds: result.members, anyone: false, allowSelfApproval, named: named(false) };

      for (const { groupId, error } of result.failures) {
        const code = error instanceof ChatError ? error.code : 'unexpected_error';
        const fields = { groupId, code, error: error instanceof Error ? error.message : String(error), fallbackApprovers: approverIds.length };
        if (CONFIGURATION_CODES.has(code)) log.error('approver group lookup failed; only APPROVER_IDS may approve', fields);
        else log.warn('approver group lookup failed; only APPROVER_IDS may approve', fields);
      }
      return { approverIds, anyone: false, allowSelfApproval, named: named(true) };
    },
  };
}
