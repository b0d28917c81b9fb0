import { describe, expect, it } from 'vitest';
import { NOTICE_LEASE_SECONDS, noticeLeaseStaleBefore, noticeStep, noticeToldCost } from '../../domain/notice';
import { aLaunchedBuild } from '../../stand-ins/build-fixture';

// The decisions of the notice protocol (domain/notice.ts); the steps around them are tested
// through dynalite and the Slack stand-in in test/use-cases/announce.test.ts.

describe('the notice lease', () => {
  it('is free again NOTICE_LEASE_SECONDS after it was taken', () => {
    const now = new Date('2026-12-03T10:01:05.000Z');
    expect(NOTICE_LEASE_SECONDS).toBe(60);
    expect(noticeLeaseStaleBefore(now)).toBe('2026-12-03T10:00:05.000Z');
  });
});

describe('whether to post, with the lease in hand', () => {
  it('posts the status being announced, with what the record holds now', () => {
    const asRead = aLaunchedBuild('building', { NotifiedStatus: 'launching' });
    const leased = { ...asRead, Status: 'uploading' as const, Phase: 'uploading' as const };
    const step = noticeStep(asRead, leased, 'building');
    expect(step).toEqual({ post: true, told: { ...leased, Status: 'building' }, askThreadFirst: false });
  });

  it('asks the thread first when an earlier attempt held this status lease (its answer may be lost)', () => {
    const asRead = aLaunchedBuild('building', { NotifiedStatus: 'launching', NotifyingStatus: 'building' });
    expect(noticeStep(asRead, asRead, 'building')).toMatchObject({ post: true, askThreadFirst: true });
  });

  it('does not post a status another handler told meanwhile', () => {
    const asRead = aLaunchedBuild('building', { NotifiedStatus: 'launching' });
    expect(noticeStep(asRead, { ...asRead, NotifiedStatus: 'building' }, 'building')).toEqual({ post: false, reason: 'told already' });
  });

  it('never tells an older status below a newer one already told', () => {
    const asRead = aLaunchedBuild('building', { NotifiedStatus: 'launching' });
    const leased = { ...asRead, Status: 'completed' as const, NotifiedStatus: 'completed' as const };
    expect(noticeStep(asRead, leased, 'building')).toEqual({ post: false, reason: 'older than what the thread shows' });
  });
});

describe('the final cost told with the final message', () => {
  it('only for a final status carrying ActualCost not told yet', () => {
    expect(noticeToldCost(aLaunchedBuild('building', { Status: 'terminated', ActualCost: 5.91 }))).toBe(true);
    expect(noticeToldCost(aLaunchedBuild('building', { Status: 'terminated', ActualCost: 5.91, CostToldAt: '2026-12-03T10:00:00.000Z' }))).toBe(false);
    expect(noticeToldCost(aLaunchedBuild('building', { Status: 'completed' }))).toBe(false);
    expect(noticeToldCost(aLaunchedBuild('building', { ActualCost: 1 }))).toBe(false);
  });
});
