import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { createHmac, randomUUID } from 'node:crypto';
import { functionUrlEvent } from './slack-request';

// Deliveries exactly as GitHub sends them to `/github/webhook` (docs/design.md "Builds requested by
// GitHub"): JSON body, `X-Hub-Signature-256: sha256=<hex HMAC-SHA-256 of the body>`, the event name
// and a delivery id. One factory for the tests and the sandbox's "GitHub: push tag".

export const SANDBOX_GITHUB_WEBHOOK_SECRET = 'sandbox-test-github-webhook-secret';
export const SANDBOX_GITHUB_REPOSITORY = 'afewell-hh/labapp';
export const GITHUB_WEBHOOK_PATH = '/github/webhook';
const GITHUB_USER_AGENT = 'GitHub-Hookshot/sandbox';

export function githubSignature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface PushFields {
  /** A tag (`v1.4.0`) or, with `ref`, any ref. */
  tag?: string;
  ref?: string;
  /** The commit the tag points at (head_commit.id). */
  commit?: string;
  /** What `after` says; for an annotated tag the tag object, not the commit. */
  after?: string;
  repository?: string;
  login?: string;
  created?: boolean;
  deleted?: boolean;
}

/** A `push` payload as GitHub sends it for a new tag (the fields that matter, and a few that do not). */
export function pushPayload(fields: PushFields = {}): Record<string, unknown> {
  const commit = fields.commit ?? '3f786850e387550fdab836ed7e6dc881de23001b';
  const repository = fields.repository ?? SANDBOX_GITHUB_REPOSITORY;
  const login = fields.login ?? 'octocat';
  const deleted = fields.deleted ?? false;
  return {
    ref: fields.ref ?? `refs/tags/${fields.tag ?? 'v1.4.0'}`,
    before: '0'.repeat(40),
    after: deleted ? '0'.repeat(40) : (fields.after ?? commit),
    created: fields.created ?? !deleted,
    deleted,
    forced: false,
    base_ref: null,
    compare: `https://github.com/${repository}/compare/v1.4.0`,
    commits: [],
    head_commit: deleted ? null : { id: commit, message: 'Release', timestamp: '2026-12-08T04:00:00Z', author: { name: 'Octo Cat' } },
    repository: { id: 1, name: repository.split('/')[1], full_name: repository, html_url: `https://github.com/${repository}` },
    pusher: { name: login, email: `${login}@users.noreply.github.com` },
    sender: { login, id: 583231, type: 'User' },
  };
}

export interface DeliveryOptions {
  /** `push` by default; `ping`, `issues`, … */
  event?: string;
  delivery?: string;
  secret?: string;
  /** Sent instead of the computed signature (forgeries); `null` sends none. */
  signature?: string | null;
  /** Sent instead of the signed body (a signature over another body). */
  sentBody?: string;
}

/** A delivery signed as GitHub signs it, wrapped as a Function URL event. */
export function githubDeliveryEvent(payload: unknown, options: DeliveryOptions = {}): LambdaFunctionURLEvent {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': GITHUB_USER_AGENT,
    'x-github-event': options.event ?? 'push',
    'x-github-delivery': options.delivery ?? randomUUID(),
    'x-github-hook-id': '1',
  };
  const signature = options.signature === undefined ? githubSignature(body, options.secret ?? SANDBOX_GITHUB_WEBHOOK_SECRET) : options.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  return functionUrlEvent({ body: options.sentBody ?? body, headers, path: GITHUB_WEBHOOK_PATH, base64: false });
}
