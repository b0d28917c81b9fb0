import * as z from 'zod/mini';
import type { Build } from './build';
import { checkBranch, COMMAND_WORDS } from './command';

// docs/design.md "Builds requested by GitHub": what a push delivery asks for, decided once from
// the parsed payload and the settings. GitHub is an authenticated but untrusted party: its
// signature says the delivery is GitHub's, not that the tag is a good branch name.

/** The record's `Requester` for a build GitHub asked for; never a Slack user ID (those start U or W). */
export const GITHUB_REQUESTER = 'github';

/** GitHub logins: letters, digits and single hyphens, at most 39 characters. */
const LOGIN_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const FULL_COMMIT = /^[0-9a-f]{40}$/;
/** `owner/name` as GitHub spells a repository. */
export const REPOSITORY_PATTERN = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;

/** The fields of a `push` delivery this bot reads; everything else GitHub sends is ignored. */
export const githubPushSchema = z.object({
  ref: z.string(),
  after: z.string(),
  created: z.optional(z.boolean()),
  deleted: z.optional(z.boolean()),
  repository: z.object({ full_name: z.string() }),
  // Null for a deleted ref.
  head_commit: z.optional(z.nullable(z.object({ id: z.string() }))),
  sender: z.optional(z.object({ login: z.string() })),
  pusher: z.optional(z.object({ name: z.string() })),
});
export type GithubPush = z.infer<typeof githubPushSchema>;

export interface GithubSettings {
  githubRepository?: string;
  githubTagPattern: string;
}

export type PushDecision =
  | { kind: 'request'; tag: string; commit: string; login: string }
  /** Nothing to post; `problem` when the delivery asked for something this bot refuses (logged as a warning). */
  | { kind: 'ignore'; reason: string; problem?: boolean };

/**
 * A glob over a tag name: `*` is any run of characters but `/`, `?` one such character, every
 * other character itself. `v*` matches `v1.4.0`, not `v1/evil`.
 */
export function tagPatternMatches(pattern: string, tag: string): boolean {
  const source = [...pattern].map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, 'u').test(tag);
}

/** Why `pattern` cannot be GITHUB_TAG_PATTERN, or undefined. */
export function tagPatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0 || pattern.length > 100) return `expected a glob of 1 to 100 characters, got ${JSON.stringify(pattern)}`;
  if (!/^[A-Za-z0-9._/*?-]+$/.test(pattern)) return `expected a glob of letters, digits, ".", "_", "-", "/", "*" and "?", got ${JSON.stringify(pattern)}`;
  return undefined;
}

/** `owner/name` of a github.com clone URL (https or ssh, `.git` or not), lower-cased; undefined otherwise. */
export function repositoryOfUrl(url: string): string | undefined {
  const m = /^(?:https:\/\/github\.com\/|git@github\.com:|ssh:\/\/git@github\.com\/)([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(url.trim());
  return m ? m[1]!.toLowerCase() : undefined;
}

/** GitHub compares repository names without regard to case. */
export const sameRepository = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

const TAG_PREFIX = 'refs/tags/';

/** What a `push` asks of this bot: a request for a new tag matching the settings, or nothing. */
export function decidePush(settings: GithubSettings, push: GithubPush): PushDecision {
  const repository = settings.githubRepository;
  if (repository === undefined) return { kind: 'ignore', reason: 'GITHUB_REPOSITORY is not set' };
  if (!sameRepository(push.repository.full_name, repository)) return { kind: 'ignore', reason: 'another repository' };
  if (!push.ref.startsWith(TAG_PREFIX)) return { kind: 'ignore', reason: 'not a tag' };
  if (push.deleted === true) return { kind: 'ignore', reason: 'a deleted tag' };
  if (push.created !== true) return { kind: 'ignore', reason: 'a tag moved, not created' };
  const tag = push.ref.slice(TAG_PREFIX.length);
  if (!tagPatternMatches(settings.githubTagPattern, tag)) return { kind: 'ignore', reason: 'the tag does not match GITHUB_TAG_PATTERN' };
  const problem = checkBranch(tag) ?? ((COMMAND_WORDS as readonly string[]).includes(tag) ? `${tag} is a command word` : undefined);
  if (problem !== undefined) return { kind: 'ignore', reason: `the tag is not a branch name this bot builds: ${problem}`, problem: true };
  // For an annotated tag `after` is the tag object; the commit is head_commit's.
  const commit = push.head_commit?.id.toLowerCase();
  if (commit === undefined || !FULL_COMMIT.test(commit)) return { kind: 'ignore', reason: 'no head commit of 40 hex characters', problem: true };
  const login = push.sender?.login ?? push.pusher?.name ?? '';
  if (!LOGIN_PATTERN.test(login)) return { kind: 'ignore', reason: 'the sender is not a GitHub login', problem: true };
  return { kind: 'request', tag, commit, login };
}

// ---- Commit statuses -------------------------------------------------------------------------

/** The context every status this bot sets carries. */
export const STATUS_CONTEXT = 'metal-build';

export const COMMIT_STATES = ['pending', 'success', 'failure', 'error'] as const;
export type CommitState = (typeof COMMIT_STATES)[number];

/** GitHub's limit on a status description. */
export const DESCRIPTION_MAX = 140;

/** Statuses only move forward: pending, then one final state, never another after it. */
export function movesForward(from: CommitState | undefined, to: CommitState): boolean {
  if (from === undefined) return true;
  return from === 'pending' && to !== 'pending';
}

/** At most DESCRIPTION_MAX characters (code points), cut with an ellipsis. */
export function statusDescription(text: string): string {
  const chars = [...text.replace(/\s+/g, ' ').trim()];
  return chars.length <= DESCRIPTION_MAX ? chars.join('') : `${chars.slice(0, DESCRIPTION_MAX - 1).join('')}…`;
}

/** A status this bot may set: the repository, the commit and the state the build is in now. */
export interface CommitStatusTarget {
  repository: string;
  sha: string;
  state: CommitState;
}

type StatusFacts = Pick<Build, 'Status' | 'BuildCommit' | 'Requester' | 'Kind' | 'ApprovedAt' | 'GithubStatus'>;

/**
 * The status a build's commit should show now, when it moves forward from GithubStatus: pending
 * once approved and running, then success, failure or error. Only for a build GitHub asked for or
 * a full 40-character commit (REPO_URL is GITHUB_REPOSITORY, checked at start-up), never a
 * self-test, and a final state only for a build that was approved (a denied or expired request
 * never ran).
 */
export function commitStatusTarget(build: StatusFacts, settings: Pick<GithubSettings, 'githubRepository'>): CommitStatusTarget | undefined {
  const repository = settings.githubRepository;
  const sha = build.BuildCommit;
  if (repository === undefined || sha === undefined || !FULL_COMMIT.test(sha) || build.Kind === 'selftest') return undefined;
  const state = stateOf(build);
  if (state === undefined || !movesForward(build.GithubStatus, state)) return undefined;
  return { repository, sha, state };
}

function stateOf(build: StatusFacts): CommitState | undefined {
  switch (build.Status) {
    case 'approved':
    case 'launching':
    case 'building':
    case 'uploading':
      return 'pending';
    case 'completed':
      return build.ApprovedAt !== undefined ? 'success' : undefined;
    case 'failed':
      return build.ApprovedAt !== undefined ? 'failure' : undefined;
    case 'terminated':
    case 'cancelled':
      return build.ApprovedAt !== undefined ? 'error' : undefined;
    default:
      return undefined;
  }
}
