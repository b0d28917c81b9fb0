// Who may approve, as a refusal names them (docs/user-guide.md "Who may do what").

/** What a refusal names: never each group's members, who may be many. */
export interface ApproverNames {
  userIds: readonly string[];
  groupIds: readonly string[];
  /** The groups' members could not be read for this decision: only `userIds` approve, nobody when it is empty. */
  groupsUnread: boolean;
}
