import type { Build } from '../domain/build';
import { GITHUB_REQUESTER } from '../domain/github';
import { code, inertMrkdwn, mention } from './mrkdwn';

// Who asked for a build, as every message names them: a Slack user is mentioned; a build GitHub
// asked for names GitHub and the login that pushed the tag, as text: no mention, no direct message
// (docs/design.md "Builds requested by GitHub").

export const requestedByGithub = (build: Pick<Build, 'Requester'>): boolean => build.Requester === GITHUB_REQUESTER;

/** `<@U…>`, or `GitHub (octocat)`. */
export function requesterText(build: Pick<Build, 'Requester' | 'GithubLogin'>): string {
  if (!requestedByGithub(build)) return mention(build.Requester);
  return build.GithubLogin ? `GitHub (${inertMrkdwn(build.GithubLogin)})` : 'GitHub';
}

/** The card's "Requested by": `GitHub: tag v1.4.0 pushed by octocat`, the tag linking to it in the repository. */
export function requestedByText(build: Pick<Build, 'Requester' | 'GithubLogin' | 'BuildBranch'>, repository: string | undefined): string {
  if (!requestedByGithub(build)) return mention(build.Requester);
  // The tag passed the branch rules: letters, digits and `._/-` only, safe in a URL and in a Slack link.
  const tag = repository ? `<https://github.com/${repository}/tree/${build.BuildBranch}|${code(build.BuildBranch)}>` : code(build.BuildBranch);
  return `GitHub: tag ${tag} pushed by ${inertMrkdwn(build.GithubLogin ?? 'unknown')}`;
}

/** A requester key of the month's spend (`costs`): GitHub's builds under "GitHub". */
export const spenderText = (requester: string): string => (requester === GITHUB_REQUESTER ? 'GitHub' : mention(requester));
