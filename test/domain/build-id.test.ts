import { describe, expect, it } from 'vitest';
import { isBuildId, newBuildId } from '../../domain/build-id';
import { buildApprovedDetail } from '../../domain/events';

/** A fake random source that plays back the given values. */
const sequence =
  (...values: number[]) =>
  () =>
    values.shift() ?? 0;

describe('newBuildId', () => {
  it('is build-YYYYMMDD-HHMMSS-xxxx in UTC, the suffix drawn from [a-z0-9]', () => {
    const now = new Date('2026-11-25T17:00:52.987Z');
    expect(newBuildId(now, sequence(0, 0.5, 0.99, 25 / 36))).toBe('build-20261125-170052-as9z');
    expect(newBuildId(new Date('2027-01-02T03:04:05Z'), sequence(0.1, 0.2, 0.3, 0.4))).toBe('build-20270102-030405-dhko');
  });

  it('stays in the alphabet even for a random source that returns 1', () => {
    expect(newBuildId(new Date('2026-11-25T17:00:52Z'), () => 1)).toBe('build-20261125-170052-aaaa');
  });

  it('draws a fresh suffix each time, so a collision retry gets another ID', () => {
    const now = new Date('2026-11-25T17:00:52Z');
    const ids = new Set(Array.from({ length: 50 }, () => newBuildId(now, Math.random)));
    expect(ids.size).toBeGreaterThan(45);
    for (const id of ids) expect(isBuildId(id)).toBe(true);
  });
});

describe('isBuildId', () => {
  it.each([
    ['build-20261125-170052-a1b2', true],
    ['build-20261125-170052-A1B2', false],
    ['build-20261125-170052-a1b', false],
    ['build-20261125-17005-a1b2', false],
    ['build-20261125-170052-a1b2 ', false],
    ['xbuild-20261125-170052-a1b2', false],
    ['build-20261125-170052-a1_2', false],
  ])('%j → %s', (text, ok) => {
    expect(isBuildId(text)).toBe(ok);
  });

  it('agrees with the bus schema', () => {
    const id = newBuildId(new Date('2026-11-25T17:00:52Z'), Math.random);
    expect(buildApprovedDetail.safeParse({ buildId: id }).success).toBe(true);
  });
});
