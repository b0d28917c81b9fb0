import type { Build } from './build';

// docs/design.md "Cost model": the estimate's expected duration is the median time of the last
// completed builds of the instance type, once there are enough of them to mean something. Times
// are the handlers' (the record's LaunchTime to CompletionTime): the machine runs untrusted code,
// so its own `at` and durationSeconds never shape what the next requester is quoted.

/** How many of the newest completions the median is taken over. */
export const HISTORY_SIZE = 10;
/** Fewer than this and EXPECTED_BUILD_HOURS is used: one or two builds are an anecdote. */
export const MIN_HISTORY = 3;

/** One completed build's time, as its instance type's history keeps it. */
export interface Completion {
  buildId: string;
  /** CompletionTime − LaunchTime of the record, whole seconds. */
  seconds: number;
  /** The record's CompletionTime: what "newest" means. */
  completedAt: string;
}

export interface ExpectedDuration {
  hours: number;
  /** How many completions the median is of; 0: the fallback (EXPECTED_BUILD_HOURS). */
  fromBuilds: number;
}

/** The middle value, or the mean of the two middle ones; undefined for none. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const newestFirst = (a: Completion, b: Completion) =>
  a.completedAt < b.completedAt ? 1 : a.completedAt > b.completedAt ? -1 : a.buildId < b.buildId ? 1 : a.buildId > b.buildId ? -1 : 0;

/**
 * The history with `completion` in it, newest first, at most HISTORY_SIZE. A BuildID already there
 * changes nothing (a redelivered completion), and order by CompletionTime rather than by arrival
 * keeps an old completion arriving late from pushing out a newer one.
 */
export function withCompletion(history: readonly Completion[], completion: Completion): Completion[] {
  const known = history.some((c) => c.buildId === completion.buildId);
  return (known ? [...history] : [...history, completion]).sort(newestFirst).slice(0, HISTORY_SIZE);
}

/** The median of the newest HISTORY_SIZE completions, rounded to the minute; `fallbackHours` with fewer than MIN_HISTORY. */
export function expectedDuration(history: readonly Completion[], fallbackHours: number): ExpectedDuration {
  // As withCompletion does, the first entry of a BuildID is the one that counts.
  const unique = history
    .filter((c, i) => history.findIndex((d) => d.buildId === c.buildId) === i)
    .sort(newestFirst)
    .slice(0, HISTORY_SIZE);
  const middle = median(unique.map((c) => c.seconds));
  if (middle === undefined || unique.length < MIN_HISTORY) return { hours: fallbackHours, fromBuilds: 0 };
  // At least a minute: a quote of zero hours would say a build costs nothing.
  return { hours: Math.max(1, Math.round(middle / 60)) / 60, fromBuilds: unique.length };
}

/**
 * What a completed record adds to the history: LaunchTime to CompletionTime, both the handlers'
 * clock. Undefined when the record cannot say (no launch, or an end not after it).
 */
export function completionOf(build: Pick<Build, 'BuildID' | 'LaunchTime' | 'CompletionTime'>): Completion | undefined {
  if (!build.LaunchTime || !build.CompletionTime) return undefined;
  const seconds = Math.round((Date.parse(build.CompletionTime) - Date.parse(build.LaunchTime)) / 1000);
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined;
  return { buildId: build.BuildID, seconds, completedAt: build.CompletionTime };
}
