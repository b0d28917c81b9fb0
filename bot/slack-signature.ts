import { createHmac, timingSafeEqual } from 'node:crypto';

// Slack's request signing (v0): HMAC-SHA256 of `v0:<timestamp>:<body>` under the signing secret,
// checked on the bytes Slack signed before anything reads them. Bolt's receiver parses the body
// before it checks the signature, so garbage from anyone on the internet made it throw
// (docs/design.md "Requests that are not Slack's"). Pure: the caller gives the time.

/** Slack's replay window, both ways: a clock a little ahead must not let old requests through. */
export const MAX_SIGNATURE_AGE_SECONDS = 5 * 60;

export type SignatureProblem = 'no signature' | 'no timestamp' | 'malformed timestamp' | 'stale timestamp' | 'malformed signature' | 'wrong signature';

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: SignatureProblem; timestamp?: number };

/** A request as it reached us: the body's bytes and the two headers Slack signs it with. */
export interface SignedRequest {
  body: Buffer;
  timestamp: string | undefined;
  signature: string | undefined;
}

/** What this needs of a Function URL (or API Gateway) event; nothing in it is trusted. */
export interface HttpEvent {
  headers?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
}

/** Unix seconds as Slack sends them; no sign, no leading zero, no fraction (Bolt signs `Number(ts)`). */
const TIMESTAMP = /^[1-9][0-9]{0,14}$/;
const SIGNATURE = /^v0=([0-9a-f]{64})$/;

/** Header names are case-insensitive; Function URLs lower-case them, other callers may not. */
export function headerValue(headers: HttpEvent['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers ?? {})) if (key.toLowerCase() === wanted && typeof value === 'string') return value;
  return undefined;
}

/** The body's bytes exactly as sent: Function URLs hand form bodies over base64-encoded. */
export function rawBodyOf(event: HttpEvent): Buffer {
  if (typeof event.body !== 'string') return Buffer.alloc(0);
  return Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
}

export function signedRequestOf(event: HttpEvent): SignedRequest {
  return {
    body: rawBodyOf(event),
    timestamp: headerValue(event.headers, 'X-Slack-Request-Timestamp'),
    signature: headerValue(event.headers, 'X-Slack-Signature'),
  };
}

export function checkSlackSignature(signingSecret: string, request: SignedRequest, now: Date): SignatureCheck {
  if (!request.signature) return { ok: false, reason: 'no signature' };
  if (!request.timestamp) return { ok: false, reason: 'no timestamp' };
  if (!TIMESTAMP.test(request.timestamp)) return { ok: false, reason: 'malformed timestamp' };
  const timestamp = Number(request.timestamp);
  if (Math.abs(Math.floor(now.getTime() / 1000) - timestamp) > MAX_SIGNATURE_AGE_SECONDS) return { ok: false, reason: 'stale timestamp', timestamp };

  const given = SIGNATURE.exec(request.signature)?.[1];
  if (!given) return { ok: false, reason: 'malformed signature', timestamp };
  const expected = createHmac('sha256', signingSecret).update(`v0:${request.timestamp}:`).update(request.body).digest();
  // Both are 32 bytes here (the pattern above), as timingSafeEqual requires.
  if (!timingSafeEqual(Buffer.from(given, 'hex'), expected)) return { ok: false, reason: 'wrong signature', timestamp };
  return { ok: true, timestamp };
}
