import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Completion } from '../../domain/expected-duration';
import { HISTORY_SIZE, MIN_HISTORY, completionOf, expectedDuration, median, withCompletion } from '../../domain/expected-duration';
import { at } from '../../stand-ins/build-fixture';

// docs/design.md "Cost model": the expected duration is the median of the last 10 completed
// builds of the type, by the handlers' clock, and EXPECTED_BUILD_HOURS with fewer than 3.

const completion = (n: number, minutes: number): Completion => ({ buildId: `build-${String(n).padStart(3, '0')}`, seconds: minutes * 60, completedAt: at(n) });

/** Each completion added in turn, as build-phase does. */
const historyOf = (completions: Completion[]) => completions.reduce<Completion[]>((h, c) => withCompletion(h, c), []);

describe('median', () => {
  it('the middle value, the mean of the two middle ones, none for none', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeUndefined();
  });
});

describe('expectedDuration', () => {
  it(`fewer than ${MIN_HISTORY} builds: EXPECTED_BUILD_HOURS, from 0 builds`, () => {
    expect(expectedDuration([], 1.5)).toEqual({ hours: 1.5, fromBuilds: 0 });
    expect(expectedDuration(historyOf([completion(1, 60), completion(2, 70)]), 1.5)).toEqual({ hours: 1.5, fromBuilds: 0 });
  });

  it('three builds or more: their median, rounded to the minute', () => {
    expect(expectedDuration(historyOf([completion(1, 80), completion(2, 92), completion(3, 100)]), 1.5)).toEqual({ hours: 92 / 60, fromBuilds: 3 });
    const seconds = [5_500, 5_530, 5_560, 5_590].map((s, i) => ({ ...completion(i, 0), seconds: s }));
    // Median 5,545 s = 92.4 min → 92 min.
    expect(expectedDuration(seconds, 1.5)).toEqual({ hours: 92 / 60, fromBuilds: 4 });
  });

  it(`only the newest ${HISTORY_SIZE} count, by completion time, whatever the order they arrived in`, () => {
    // Two old slow builds, then ten at 90 min: the slow ones are pushed out.
    const all = [completion(1, 600), completion(2, 600), ...Array.from({ length: 10 }, (_, i) => completion(3 + i, 90))];
    const history = historyOf([...all].reverse());
    expect(history).toHaveLength(HISTORY_SIZE);
    expect(history.map((c) => c.buildId)).toEqual(
      all
        .slice(2)
        .map((c) => c.buildId)
        .reverse(),
    );
    expect(expectedDuration(history, 1.5)).toEqual({ hours: 1.5, fromBuilds: 10 });
    expect(expectedDuration(all, 1.5)).toEqual({ hours: 1.5, fromBuilds: 10 });
  });

  it('a BuildID seen again is not added again', () => {
    const history = historyOf([completion(1, 60), completion(2, 70)]);
    expect(withCompletion(history, { ...completion(1, 60) })).toEqual(history);
    expect(expectedDuration(withCompletion(history, completion(1, 60)), 1.5)).toEqual({ hours: 1.5, fromBuilds: 0 });
  });

  const completions = fc
    .uniqueArray(fc.record({ n: fc.integer({ min: 0, max: 10_000 }), seconds: fc.integer({ min: 60, max: 20 * 3600 }) }), {
      selector: (c) => c.n,
      minLength: 0,
      maxLength: 25,
    })
    .map((cs) => cs.map(({ n, seconds }) => ({ ...completion(n, 0), seconds })));

  it('property: within the kept builds\u2019 min and max, independent of order, unchanged by a duplicate BuildID', () => {
    fc.assert(
      fc.property(completions, fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 4 * 3600 }), (cs, shuffleSeed, dupSeconds) => {
        const history = historyOf(cs);
        const result = expectedDuration(history, 1.5);
        expect(history.length).toBe(Math.min(cs.length, HISTORY_SIZE));
        if (history.length < MIN_HISTORY) expect(result).toEqual({ hours: 1.5, fromBuilds: 0 });
        else {
          const kept = history.map((c) => c.seconds);
          // Rounded to the minute: at most 30 s outside the range.
          expect(result.hours * 3600).toBeGreaterThanOrEqual(Math.min(...kept) - 30);
          expect(result.hours * 3600).toBeLessThanOrEqual(Math.max(...kept) + 30);
          expect(result.fromBuilds).toBe(history.length);
        }
        const shuffled = [...cs].sort((a, b) => ((a.seconds * 31 + shuffleSeed) % 97) - ((b.seconds * 31 + shuffleSeed) % 97));
        expect(expectedDuration(historyOf(shuffled), 1.5)).toEqual(result);
        expect(historyOf(shuffled)).toEqual(history);
        const first = cs[0];
        if (first) {
          // The same build again, even claiming another time, changes nothing.
          expect(expectedDuration(withCompletion(history, { ...first, seconds: dupSeconds }), 1.5)).toEqual(result);
          expect(expectedDuration([...history, { ...history[0]!, seconds: dupSeconds }], 1.5)).toEqual(result);
        }
      }),
    );
  });
});

describe('completionOf', () => {
  it('LaunchTime to CompletionTime of the record, nothing else', () => {
    expect(completionOf({ BuildID: 'b', LaunchTime: at(2), CompletionTime: at(94) })).toEqual({ buildId: 'b', seconds: 92 * 60, completedAt: at(94) });
    expect(completionOf({ BuildID: 'b', CompletionTime: at(94) })).toBeUndefined();
    expect(completionOf({ BuildID: 'b', LaunchTime: at(2) })).toBeUndefined();
    expect(completionOf({ BuildID: 'b', LaunchTime: at(2), CompletionTime: at(2) })).toBeUndefined();
  });
});
