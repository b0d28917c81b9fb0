import type { ClaimKey, ClaimOptions, ClaimOutcome, Claims } from '../domain/ports';

// The one way to do a thing once (docs/design.md "Claims: doing a thing once"): claim it, do it,
// complete the claim; when doing it fails, give the claim back so a later try may do it. Mail,
// the requester's direct message, the stray-machine notice and the budget warning go through it.

export type SendOnce<T> =
  | { outcome: 'sent'; value: T }
  /** Someone else did it, or is doing it: nothing was done. */
  | { outcome: 'taken'; claim: Extract<ClaimOutcome, { claimed: false }> }
  /** Doing it failed (`error`); the claim was given back. */
  | { outcome: 'failed'; error: unknown };

export interface SendOnceOptions extends ClaimOptions {
  /** Told of the failure before the claim is given back (a log line in the order things happened). */
  onFailure?: (error: unknown) => void;
  /** Giving the claim back failed too: told here and swallowed; without it, that error is thrown. */
  onGiveBackError?: (error: unknown) => void;
}

/** Claim `key`, run `send`, complete. A failing claim or completion throws; a failing `send` is returned as `failed`. */
export async function sendOnce<T>(claims: Claims, key: ClaimKey, now: Date, send: () => Promise<T>, options: SendOnceOptions = {}): Promise<SendOnce<T>> {
  const claim = await claims.claim(key, now, options.staleBefore !== undefined ? { staleBefore: options.staleBefore } : {});
  if (!claim.claimed) return { outcome: 'taken', claim };
  let value: T;
  try {
    value = await send();
  } catch (error) {
    options.onFailure?.(error);
    try {
      await claims.giveBack(key);
    } catch (giveBackError) {
      if (!options.onGiveBackError) throw giveBackError;
      options.onGiveBackError(giveBackError);
    }
    return { outcome: 'failed', error };
  }
  await claims.complete(key, now);
  return { outcome: 'sent', value };
}
