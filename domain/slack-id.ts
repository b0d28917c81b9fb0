// Slack IDs by kind: a user ID where a user is meant, a user group where a group is meant. A
// name (`bob`) or a channel where an approver is expected would otherwise deploy fine and match
// nobody, or (an empty approver list) everybody.

export type SlackIdKind = 'user' | 'user group' | 'channel';

/** The first letters each kind's IDs start with (users: U, or W on Enterprise Grid). */
export const SLACK_ID_PREFIXES: Readonly<Record<SlackIdKind, readonly string[]>> = {
  user: ['U', 'W'],
  'user group': ['S'],
  channel: ['C', 'G'],
};

const EXAMPLES: Readonly<Record<SlackIdKind, string>> = { user: 'U0123ABCD', 'user group': 'S0123ABCD', channel: 'C0123ABCD' };

/** Why `id` is not a Slack ID of this kind, or undefined when it is one. */
export function slackIdProblem(kind: SlackIdKind, id: string): string | undefined {
  const prefixes = SLACK_ID_PREFIXES[kind];
  if (prefixes.includes(id[0] ?? '') && /^[A-Z][A-Z0-9]+$/.test(id)) return undefined;
  const starts = prefixes.join(' or ');
  return `${JSON.stringify(id)} is not a Slack ${kind} ID (${starts}, then upper-case letters and digits, such as ${EXAMPLES[kind]})`;
}
