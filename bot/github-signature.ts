import { createHmac, timingSafeEqual } from 'node:crypto';

// GitHub's webhook signing: `X-Hub-Signature-256: sha256=<hex HMAC-SHA-256 of the raw body under
// the webhook secret>`, checked on the bytes GitHub sent before anything parses them
// (docs/design.md "Builds requested by GitHub"). No timestamp: a replay is stopped by the claims.

export type GithubSignatureProblem = 'no webhook secret configured' | 'no signature' | 'malformed signature' | 'wrong signature';

export type GithubSignatureCheck = { ok: true } | { ok: false; reason: GithubSignatureProblem };

const SIGNATURE = /^sha256=([0-9a-f]{64})$/;

export function checkGithubSignature(secret: string | undefined, body: Buffer, signature: string | undefined): GithubSignatureCheck {
  // Without a secret nothing can be GitHub's: refused like a forgery, never let through unchecked.
  if (secret === undefined || secret === '') return { ok: false, reason: 'no webhook secret configured' };
  if (!signature) return { ok: false, reason: 'no signature' };
  const given = SIGNATURE.exec(signature)?.[1];
  if (!given) return { ok: false, reason: 'malformed signature' };
  const expected = createHmac('sha256', secret).update(body).digest();
  // Both are 32 bytes here (the pattern above), as timingSafeEqual requires.
  if (!timingSafeEqual(Buffer.from(given, 'hex'), expected)) return { ok: false, reason: 'wrong signature' };
  return { ok: true };
}
