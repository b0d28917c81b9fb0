import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './wire';

// GitHub's commit-status endpoint on loopback (`POST /repos/{owner}/{repo}/statuses/{sha}`), for
// the tests and the sandbox: it checks what GitHub checks (a bearer token, a known state, a
// description of at most 140 characters, a 40-hex sha), records what it accepted, and can fail
// for a while (502) the way GitHub sometimes does.

export const SANDBOX_GITHUB_STATUS_TOKEN = 'ghp_test_sandbox_status_token';

export interface ReceivedStatus {
  repository: string;
  sha: string;
  state: string;
  description?: string;
  targetUrl?: string;
  context?: string;
  at: number;
}

export interface GithubStandIn {
  /** GITHUB_API_URL for the adapter: `http://127.0.0.1:<port>/`. */
  url: string;
  /** Accepted statuses, oldest first. */
  statuses(sha?: string): ReceivedStatus[];
  /** The next `count` calls answer 502 and record nothing. */
  failFor(count: number): void;
  /** Calls refused so far (502 or 4xx). */
  refused(): number;
  reset(): void;
  close(): Promise<void>;
}

const STATES = new Set(['pending', 'success', 'failure', 'error']);
const PATH = /^\/repos\/([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)\/statuses\/([0-9a-f]{40})$/;

export async function startGithubStandIn(options: { token?: string; host?: string } = {}): Promise<GithubStandIn> {
  const token = options.token ?? SANDBOX_GITHUB_STATUS_TOKEN;
  let received: ReceivedStatus[] = [];
  let failing = 0;
  let refusals = 0;

  const answer = (res: ServerResponse, status: number, body: unknown) => {
    if (status >= 400) refusals++;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const match = PATH.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) return answer(res, 404, { message: 'Not Found' });
    if (req.headers.authorization !== `Bearer ${token}`) return answer(res, 401, { message: 'Bad credentials' });
    if (failing > 0) {
      failing--;
      return answer(res, 502, { message: 'Server Error' });
    }
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return answer(res, 400, { message: 'Problems parsing JSON' });
    }
    const { state, description, target_url: targetUrl, context } = json;
    if (typeof state !== 'string' || !STATES.has(state)) return answer(res, 422, { message: 'Validation Failed', field: 'state' });
    if (description !== undefined && (typeof description !== 'string' || [...description].length > 140))
      return answer(res, 422, { message: 'Validation Failed', field: 'description' });
    const status: ReceivedStatus = {
      repository: match[1]!,
      sha: match[2]!,
      state,
      ...(typeof description === 'string' && { description }),
      ...(typeof targetUrl === 'string' && { targetUrl }),
      ...(typeof context === 'string' && { context }),
      at: Date.now(),
    };
    received.push(status);
    return answer(res, 201, { id: received.length, state, context: context ?? 'default' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => answer(res, 500, { message: 'stand-in error' }));
  });
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/`,
    statuses: (sha) => received.filter((s) => sha === undefined || s.sha === sha),
    failFor(count) {
      failing = count;
    },
    refused: () => refusals,
    reset() {
      received = [];
      failing = 0;
      refusals = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
