import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GithubCommitStatuses } from '../../../adapters/github/commit-statuses';
import type { CommitStatus } from '../../../domain/ports';
import type { GithubStandIn } from '../../../stand-ins/github';
import { SANDBOX_GITHUB_STATUS_TOKEN, startGithubStandIn } from '../../../stand-ins/github';

// The commit-status adapter against the GitHub stand-in: what GitHub's endpoint takes, and a
// refusal that throws without ever naming the token.

let github: GithubStandIn;
beforeAll(async () => {
  github = await startGithubStandIn();
});
afterAll(async () => {
  await github.close();
});
beforeEach(() => github.reset());

const STATUS: CommitStatus = {
  repository: 'afewell-hh/labapp',
  sha: '3f786850e387550fdab836ed7e6dc881de23001b',
  state: 'pending',
  description: 'build-20261125-170052-a1b2: approved, building on c5n.metal',
  targetUrl: 'https://sandbox.slack.com/archives/C0SANDBOX/p1764090052000100',
  context: 'metal-build',
};

describe('GithubCommitStatuses', () => {
  it('posts the status to repos/{owner}/{repo}/statuses/{sha} with the token', async () => {
    await new GithubCommitStatuses(github.url, SANDBOX_GITHUB_STATUS_TOKEN).set(STATUS);
    expect(github.statuses()).toEqual([
      expect.objectContaining({
        repository: STATUS.repository,
        sha: STATUS.sha,
        state: 'pending',
        description: STATUS.description,
        targetUrl: STATUS.targetUrl,
        context: 'metal-build',
      }),
    ]);
  });

  it('a refusal throws, naming the answer and never the token; GitHub failing for a while, then taking it', async () => {
    const wrong = 'ghp_test_not_the_token';
    const error = await new GithubCommitStatuses(github.url, wrong).set(STATUS).then(
      () => new Error('accepted'),
      (e: unknown) => e as Error,
    );
    expect(error.message).toContain('401');
    expect(error.message).not.toContain(wrong);

    github.failFor(1);
    const adapter = new GithubCommitStatuses(github.url.replace(/\/$/, ''), SANDBOX_GITHUB_STATUS_TOKEN);
    await expect(adapter.set(STATUS)).rejects.toThrow('502');
    await adapter.set(STATUS);
    expect(github.statuses()).toHaveLength(1);
  });
});
