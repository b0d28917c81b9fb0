import { githubPushSchema, decidePush, GITHUB_REQUESTER } from '../domain/github';
import type { ClaimKey, Logger } from '../domain/ports';
import type { BotDeps } from './deps';
import { checkGithubSignature } from './github-signature';
import { openRequest } from './request';
import type { HttpEvent } from './slack-signature';
import { headerValue, rawBodyOf } from './slack-signature';

// `/github/webhook` (docs/design.md "Builds requested by GitHub"): a tag push in GITHUB_REPOSITORY
// posts the request card `/metal-build <tag> <commit>` would, in GITHUB_CHANNEL_ID. GitHub is
// authenticated (its signature is checked before anything is parsed) but not trusted: its tag goes
// through the branch rules, its login is shown as text, and it approves nothing.

export const GITHUB_WEBHOOK_PATH = '/github/webhook';

export interface WebhookAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const answer = (statusCode: number, body = ''): WebhookAnswer => ({ statusCode, headers: { 'content-type': 'text/plain' }, body });

/** One delivery: 401 unsigned, 200 ping, 204 nothing to do, 201 a card posted, 503 when it could not be (GitHub may redeliver). */
export async function handleGithubDelivery(deps: BotDeps, event: HttpEvent, sourceIp: string | undefined): Promise<WebhookAnswer> {
  const body = rawBodyOf(event);
  const delivery = headerValue(event.headers, 'X-GitHub-Delivery');
  const check = checkGithubSignature(deps.credentials.githubWebhookSecret, body, headerValue(event.headers, 'X-Hub-Signature-256'));
  if (!check.ok) {
    // The fact and its kind only: never the signature, the body or the secret.
    deps.log.warn('refused a GitHub delivery with an invalid signature', { reason: check.reason, sourceIp: sourceIp ?? null });
    return answer(401, 'invalid GitHub signature');
  }

  const eventName = headerValue(event.headers, 'X-GitHub-Event');
  const log = deps.log.child({ githubDelivery: delivery ?? null, githubEvent: eventName ?? null });
  if (eventName === 'ping') {
    log.info('GitHub webhook ping');
    return answer(200, 'pong');
  }
  if (eventName !== 'push') return answer(204);

  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    json = undefined;
  }
  const parsed = githubPushSchema.safeParse(json);
  if (!parsed.success || delivery === undefined || !/^[A-Za-z0-9-]{1,100}$/.test(delivery)) {
    log.warn('refused a signed GitHub push that does not parse');
    return answer(400, 'unreadable push');
  }
  const decision = decidePush(deps.config, parsed.data);
  if (decision.kind === 'ignore') {
    if (decision.problem) log.warn('GitHub push refused; nothing posted', { reason: decision.reason, ref: parsed.data.ref });
    else log.info('GitHub push ignored', { reason: decision.reason });
    return answer(204);
  }
  return requestFor(deps, log, delivery, decision);
}

async function requestFor(deps: BotDeps, log: Logger, delivery: string, push: { tag: string; commit: string; login: string }): Promise<WebhookAnswer> {
  const channel = deps.config.githubChannelId;
  if (channel === undefined) {
    log.error('GITHUB_CHANNEL_ID is not set; nothing posted');
    return answer(204);
  }
  const now = deps.clock.now();
  const claims: ClaimKey[] = [
    { kind: 'github', what: 'delivery', id: delivery, delivery },
    { kind: 'github', what: 'tag', id: `${push.tag}@${push.commit}`, delivery },
  ];
  const taken: ClaimKey[] = [];
  for (const key of claims) {
    const claim = await deps.claims.claim(key, now);
    if (!claim.claimed) {
      log.info(`GitHub ${key.kind === 'github' ? key.what : ''} already handled; nothing posted`, { tag: push.tag, commit: push.commit });
      await giveBack(deps, log, taken);
      return answer(200, 'already handled');
    }
    taken.push(key);
  }

  // The delivery is claimed once: the request claim only has to be unique to this attempt.
  const request = await openRequest(
    deps,
    { user: GITHUB_REQUESTER, channel, branch: push.tag, commit: push.commit },
    { claimKey: `github-${delivery}-${now.getTime()}`, fields: { GithubLogin: push.login } },
  ).catch((error: unknown) => {
    log.error('GitHub request failed', { error });
    return { reply: 'failed', buildId: undefined };
  });
  if (request.buildId === undefined) {
    // Given back, so GitHub's redelivery of this delivery may post the card.
    await giveBack(deps, log, taken);
    log.warn('GitHub request not posted; its claims given back', { tag: push.tag, reply: request.reply });
    return answer(503, 'the card could not be posted');
  }
  log.info('GitHub requested a build', { buildId: request.buildId, tag: push.tag, commit: push.commit, login: push.login });
  return answer(201, request.buildId);
}

async function giveBack(deps: BotDeps, log: Logger, keys: readonly ClaimKey[]): Promise<void> {
  for (const key of keys) await deps.claims.giveBack(key).catch((error: unknown) => log.warn('could not give a GitHub claim back', { error }));
}
