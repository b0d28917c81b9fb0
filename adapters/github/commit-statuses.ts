import type { CommitStatus, CommitStatuses } from '../../domain/ports';

// GitHub's commit statuses over its REST API (`POST repos/{owner}/{repo}/statuses/{sha}` at
// GITHUB_API_URL), with the status token (docs/design.md "Builds requested by GitHub"). Built once
// per container with the handlers' other adapters. No error built here ever contains the token.

/** An event handler may wait, but not on a GitHub that hangs: the next event or the watchdog retries. */
const TIMEOUT_MS = 10_000;

export class GithubCommitStatuses implements CommitStatuses {
  constructor(
    private readonly apiUrl: string,
    private readonly token: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async set(status: CommitStatus): Promise<void> {
    const base = this.apiUrl.endsWith('/') ? this.apiUrl : `${this.apiUrl}/`;
    const url = `${base}repos/${status.repository}/statuses/${status.sha}`;
    const response = await this.fetchImpl(url, {
      method: 'POST',
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${this.token}`,
        'content-type': 'application/json',
        'user-agent': 'metal-build',
        'x-github-api-version': '2022-11-28',
      },
      body: JSON.stringify({
        state: status.state,
        description: status.description,
        context: status.context,
        ...(status.targetUrl !== undefined && { target_url: status.targetUrl }),
      }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    // The body is drained either way, so the connection can be reused.
    const text = await response.text().catch(() => '');
    if (!response.ok) throw new Error(`GitHub answered ${response.status} to the ${status.state} status of ${status.sha}: ${text.slice(0, 200)}`);
  }
}
