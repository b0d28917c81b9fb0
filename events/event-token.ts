import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Build } from '../domain/build';
import { eventTokenKeySource } from '../domain/config';
import type { EventDeps } from './deps';

// docs/design.md "Contract additions", eventToken. A build machine runs untrusted code with an
// instance role every build machine shares, so any of them can put a `Build Phase` for any
// BuildID. What tells them apart is the token the launch wrote into that build's build.json:
// HMAC-SHA-256 of the BuildID under a key only the launch and build-phase functions can read.
// Derived, not random, because a redelivered `Build Approved` must render the same user data
// (EC2 refuses a reused ClientToken with different parameters). The record keeps only its
// SHA-256 (EventTokenHash); the token is never logged, stored or shown.

/** The build's event token: hex HMAC-SHA-256 of the BuildID. */
export function eventTokenFor(key: string, buildId: string): string {
  return createHmac('sha256', key).update(buildId, 'utf8').digest('hex');
}

/** What the record keeps: hex SHA-256 of the token. */
export function hashEventToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The key: `deps.eventTokenKey` (read from Secrets Manager by events/deps.ts) or EVENT_TOKEN_KEY.
 * Throws the ConfigError naming the variable when neither is there.
 */
export function eventTokenKeyOf(deps: Pick<EventDeps, 'config' | 'eventTokenKey'>): string {
  if (deps.eventTokenKey !== undefined) return deps.eventTokenKey;
  const source = eventTokenKeySource(deps.config);
  if ('key' in source) return source.key;
  throw new Error(`the event-token key from ${source.secretArn} was not loaded (events/deps.ts loads it)`);
}

/**
 * Whether `token` is the build's. Against the record's EventTokenHash when the launch wrote one
 * (the token the machine was given, whatever the key is now), else against the HMAC from the
 * key (a phase before the launch's write landed, or a record from before the hash). Both sides
 * are hashed first, so the comparison takes the same time whatever the token's length.
 */
export function eventTokenMatches(token: string, expected: { key: string; buildId: string; build?: Pick<Build, 'EventTokenHash'> }): boolean {
  const stored = expected.build?.EventTokenHash;
  const want = stored !== undefined && isTokenHash(stored) ? stored : hashEventToken(eventTokenFor(expected.key, expected.buildId));
  return tokenHashes(token, want);
}

/**
 * Whether `token` hashes to a record's EventTokenHash; undefined when the record has none (it
 * predates the hash). Needs no key: what a function without the event-token secret can check.
 */
export function eventTokenMatchesRecord(token: string, build: Pick<Build, 'EventTokenHash'>): boolean | undefined {
  const stored = build.EventTokenHash;
  if (stored === undefined || !isTokenHash(stored)) return undefined;
  return tokenHashes(token, stored);
}

function isTokenHash(text: string): boolean {
  return /^[0-9a-f]{64}$/.test(text);
}

function tokenHashes(token: string, hash: string): boolean {
  return timingSafeEqual(Buffer.from(hashEventToken(token), 'hex'), Buffer.from(hash, 'hex'));
}
