import { describe, expect, it } from 'vitest';
import type { Build } from '../../domain/build';
import { expirationTime } from '../../domain/build';
import { LAUNCH_SETTLE_MS, slotMayBeGivenBack } from '../../domain/slot-holding';
import { aBuild, aLaunchedBuild, anApprovedBuild, at } from '../../stand-ins/build-fixture';

// A slot goes back only for a build that is final and either never got as far as a launch or
// whose machine EC2 reported gone. One case per rule.

const NOW = new Date(at(60));
const endedAt = (minutes: number): Partial<Build> => ({ ExpirationTime: expirationTime(new Date(at(minutes))) });
const listed = (liveMachine: boolean) => ({ listedAt: NOW, liveMachine });

describe('slotMayBeGivenBack', () => {
  it('no record: yes (nothing launches without one)', () => {
    expect(slotMayBeGivenBack(undefined, NOW)).toBe(true);
  });

  it('any active status: never', () => {
    for (const build of [aBuild(), anApprovedBuild(), aLaunchedBuild('launching'), aLaunchedBuild('building'), aLaunchedBuild('uploading')])
      expect(slotMayBeGivenBack(build, NOW, listed(false))).toBe(false);
  });

  it('final, never approved (denied, expired, withdrawn): yes', () => {
    expect(slotMayBeGivenBack(aBuild({ Status: 'rejected', ...endedAt(59) }), NOW)).toBe(true);
  });

  it('final with a machine EC2 reported terminated (TerminatedAt): yes', () => {
    expect(slotMayBeGivenBack(aLaunchedBuild('building', { Status: 'completed', TerminatedAt: at(50) }), NOW)).toBe(true);
  });

  it('final with a machine and no TerminatedAt: only when EC2 lists it gone and it launched before the listing', () => {
    const build = aLaunchedBuild('building', { Status: 'cancelled', LaunchTime: at(2) });
    expect(slotMayBeGivenBack(build, NOW)).toBe(false);
    expect(slotMayBeGivenBack(build, NOW, listed(true))).toBe(false);
    expect(slotMayBeGivenBack(build, NOW, listed(false))).toBe(true);
    expect(slotMayBeGivenBack({ ...build, LaunchTime: NOW.toISOString() }, NOW, listed(false))).toBe(false);
  });

  it("final after approval with no recorded machine: only by EC2's word once a launch in flight has settled", () => {
    const settle = LAUNCH_SETTLE_MS / 60_000;
    const build = anApprovedBuild({ Status: 'cancelled', ...endedAt(60 - settle) });
    expect(slotMayBeGivenBack(build, NOW)).toBe(false);
    expect(slotMayBeGivenBack(build, NOW, listed(true))).toBe(false);
    expect(slotMayBeGivenBack(build, NOW, listed(false))).toBe(true);
    expect(slotMayBeGivenBack(anApprovedBuild({ Status: 'cancelled', ...endedAt(61 - settle) }), NOW, listed(false))).toBe(false);
  });

  it('a tagged live machine keeps the slot of any final build', () => {
    expect(slotMayBeGivenBack(aLaunchedBuild('building', { Status: 'completed', TerminatedAt: at(50) }), NOW, listed(true))).toBe(false);
  });
});
