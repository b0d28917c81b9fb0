import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, maskConfig, parseConfig } from '../../domain/config';
import type { GithubPush } from '../../domain/github';
import { DESCRIPTION_MAX, COMMIT_STATES, decidePush, movesForward, repositoryOfUrl, statusDescription, tagPatternMatches } from '../../domain/github';

// docs/design.md "Builds requested by GitHub": which pushes ask for a build, and how commit
// statuses move. The webhook's own tests (test/bot/github-webhook.test.ts) send real deliveries.

const LOCAL = { SLACK_SIGNING_SECRET: 'sandbox-signing-secret', SLACK_BOT_TOKEN: 'xoxb-test-sandbox-token' };
const COMMIT = 'a'.repeat(40);
const SETTINGS = { githubRepository: 'afewell-hh/labapp', githubTagPattern: 'v*' };

function push(overrides: Partial<GithubPush> = {}): GithubPush {
  return {
    ref: 'refs/tags/v1.4.0',
    after: COMMIT,
    created: true,
    deleted: false,
    repository: { full_name: 'afewell-hh/labapp' },
    head_commit: { id: COMMIT },
    sender: { login: 'octocat' },
    ...overrides,
  };
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig({ ...LOCAL, ...env });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('tag patterns', () => {
  it.each([
    ['v*', 'v1.4.0', true],
    ['v*', 'v1/evil', false],
    ['v*', 'release-1', false],
    ['v*.*.*', 'v1.4.0', true],
    ['v*.*.*', 'v1.4', false],
    ['release/*', 'release/2026', true],
    ['release/*', 'release/2026/x', false],
    ['v?', 'v1', true],
    ['v?', 'v12', false],
    ['v1.4.0', 'v1x4x0', false],
  ])('%s against %s: %s', (pattern, tag, matches) => {
    expect(tagPatternMatches(pattern, tag)).toBe(matches);
  });

  it('`*` never matches a "/" (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(tagPatternMatches('v*', `v${a}/${b}`)).toBe(false);
      }),
    );
  });

  it('a pattern without wildcards matches only itself (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/), fc.string({ maxLength: 20 }), (pattern, tag) => {
        expect(tagPatternMatches(pattern, tag)).toBe(pattern === tag);
      }),
    );
  });
});

describe('which pushes ask for a build', () => {
  it('a new tag matching the pattern in the repository: its tag, head commit and login', () => {
    expect(decidePush(SETTINGS, push())).toEqual({ kind: 'request', tag: 'v1.4.0', commit: COMMIT, login: 'octocat' });
  });

  it('an annotated tag: the commit is head_commit.id, never `after` (the tag object)', () => {
    const decision = decidePush(SETTINGS, push({ after: 'b'.repeat(40), head_commit: { id: COMMIT } }));
    expect(decision).toMatchObject({ kind: 'request', commit: COMMIT });
  });

  it('the repository compared without case', () => {
    expect(decidePush(SETTINGS, push({ repository: { full_name: 'AFEWELL-HH/LabApp' } })).kind).toBe('request');
  });

  it.each<[string, Partial<GithubPush>, string]>([
    ['another repository', { repository: { full_name: 'someone/labapp' } }, 'another repository'],
    ['a branch push', { ref: 'refs/heads/main' }, 'not a tag'],
    ['a deleted tag', { deleted: true, created: false, head_commit: null }, 'a deleted tag'],
    ['a tag moved', { created: false }, 'a tag moved, not created'],
    ['a tag outside the pattern', { ref: 'refs/tags/release-1' }, 'the tag does not match GITHUB_TAG_PATTERN'],
  ])('%s: nothing', (_name, change, reason) => {
    expect(decidePush(SETTINGS, push(change))).toEqual({ kind: 'ignore', reason });
  });

  it.each([
    ['a tag with "..", a problem', 'refs/tags/v1..2'],
    ['a tag ending ".lock"', 'refs/tags/v1.lock'],
    ['a tag with a shell character', 'refs/tags/v1;rm'],
    ['a tag with a Slack mention', 'refs/tags/v<!channel>'],
    ['a tag with a non-ASCII look-alike', 'refs/tags/vа1'],
  ])('%s: refused by the branch rules, as a problem', (_name, ref) => {
    expect(decidePush(SETTINGS, push({ ref }))).toMatchObject({ kind: 'ignore', problem: true });
  });

  it('no head commit, or a login that is not one: refused', () => {
    expect(decidePush(SETTINGS, push({ head_commit: null }))).toMatchObject({ kind: 'ignore', problem: true });
    expect(decidePush(SETTINGS, push({ sender: { login: '<@U1>' } }))).toMatchObject({ kind: 'ignore', problem: true });
  });

  it('without GITHUB_REPOSITORY nothing is requested', () => {
    expect(decidePush({ githubTagPattern: 'v*' }, push())).toMatchObject({ kind: 'ignore' });
  });
});

describe('commit statuses', () => {
  it('move only forward: pending, then one final state', () => {
    expect(movesForward(undefined, 'pending')).toBe(true);
    expect(movesForward('pending', 'success')).toBe(true);
    expect(movesForward('pending', 'pending')).toBe(false);
    for (const final of ['success', 'failure', 'error'] as const) for (const to of COMMIT_STATES) expect(movesForward(final, to)).toBe(false);
  });

  it('a description is at most 140 characters (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), (text) => {
        expect([...statusDescription(text)].length).toBeLessThanOrEqual(DESCRIPTION_MAX);
      }),
    );
  });
});

describe('GitHub settings', () => {
  const repo = { REPO_URL: 'https://github.com/afewell-hh/labapp.git', GITHUB_CHANNEL_ID: 'C0GITHUB' };

  it('defaults: pattern v*, GitHub’s API, no repository', () => {
    const config = parseConfig(LOCAL);
    expect(config).toMatchObject({ githubTagPattern: 'v*', githubApiUrl: 'https://api.github.com/' });
    expect(config.githubRepository).toBeUndefined();
  });

  it('the repository must be the one REPO_URL clones', () => {
    expect(problemsOf({ ...repo, GITHUB_REPOSITORY: 'afewell-hh/labapp' })).toEqual([]);
    expect(problemsOf({ ...repo, GITHUB_REPOSITORY: 'someone/other' })).toEqual([
      'GITHUB_REPOSITORY: must be the repository REPO_URL clones (https://github.com/afewell-hh/labapp.git), got someone/other',
    ]);
    expect(problemsOf({ ...repo, GITHUB_REPOSITORY: 'not a repo' })[0]).toMatch(/^GITHUB_REPOSITORY: expected owner\/name/);
  });

  it('the channel must be one of ALLOWED_CHANNEL_IDS when set, and is required with a repository', () => {
    expect(problemsOf({ ...repo, GITHUB_REPOSITORY: 'afewell-hh/labapp', ALLOWED_CHANNEL_IDS: 'C0BUILDS' })).toEqual([
      'GITHUB_CHANNEL_ID: must be one of ALLOWED_CHANNEL_IDS (C0BUILDS), got C0GITHUB',
    ]);
    expect(problemsOf({ GITHUB_REPOSITORY: 'afewell-hh/labapp' })).toEqual([
      'GITHUB_CHANNEL_ID: required when GITHUB_REPOSITORY is set (the channel of its cards)',
    ]);
  });

  it('a bad tag pattern is named', () => {
    expect(problemsOf({ GITHUB_TAG_PATTERN: 'v[0-9]' })[0]).toMatch(/^GITHUB_TAG_PATTERN: expected a glob/);
  });

  it('the webhook secret and the status token are masked when logged', () => {
    const masked = maskConfig(parseConfig({ ...LOCAL, GITHUB_WEBHOOK_SECRET: 'test-webhook-secret', GITHUB_STATUS_TOKEN: 'ghp_test_token' }));
    expect(JSON.stringify(masked)).not.toContain('test-webhook-secret');
    expect(JSON.stringify(masked)).not.toContain('ghp_test_token');
  });

  it.each([
    ['https://github.com/afewell-hh/labapp.git', 'afewell-hh/labapp'],
    ['https://github.com/afewell-hh/labapp', 'afewell-hh/labapp'],
    ['git@github.com:afewell-hh/labapp.git', 'afewell-hh/labapp'],
    ['https://gitlab.com/afewell-hh/labapp.git', undefined],
  ])('%s clones %s', (url, repository) => {
    expect(repositoryOfUrl(url)).toBe(repository);
  });
});
