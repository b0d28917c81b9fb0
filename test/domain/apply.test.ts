import { describe, expect, it } from 'vitest';
import { applyEvent } from '../../domain/apply';
import type { Build } from '../../domain/build';
import { instanceStateRank } from '../../domain/build';
import type { BuildStore, UpdateResult } from '../../domain/ports';
import type { Guard } from '../../domain/transition';
import { aBuild, aLaunchedBuild, anApprovedBuild, at, INSTANCE_ID } from '../../stand-ins/build-fixture';

const NOW = new Date(at(5));

function holds(item: Build, guard: Guard): boolean {
  if (!guard.status.includes(item.Status)) return false;
  if (guard.absent?.some((a) => item[a] !== undefined)) return false;
  if (Object.entries(guard.equals ?? {}).some(([k, v]) => item[k as keyof Build] !== v)) return false;
  const before = guard.instanceStateBefore;
  if (before && item.InstanceState && instanceStateRank(item.InstanceState) >= instanceStateRank(before)) return false;
  return true;
}

/**
 * One item in memory with a real conditional update. `rivals` are writes that land just before
 * ours, one per update call, as a concurrent handler would; `returnCurrent: false` answers a
 * failed condition without the item, as dynalite does.
 */
function fakeStore(initial: Build | undefined, options: { rivals?: Partial<Build>[]; returnCurrent?: boolean } = {}) {
  let item = initial && { ...initial };
  const rivals = [...(options.rivals ?? [])];
  const calls = { get: 0, update: 0 };
  const store: Pick<BuildStore, 'get' | 'update'> = {
    async get() {
      calls.get++;
      return item && { ...item };
    },
    async update(_id, guard, set): Promise<UpdateResult> {
      calls.update++;
      const rival = rivals.shift();
      if (item && rival) item = { ...item, ...rival };
      if (!item || !holds(item, guard)) return { ok: false, current: options.returnCurrent === false ? undefined : item && { ...item } };
      item = { ...item, ...set };
      return { ok: true, build: { ...item } };
    },
  };
  const notUsed = () => {
    throw new Error('not used by applyEvent');
  };
  const full: BuildStore = {
    ...store,
    create: notUsed,
    findByInstance: notUsed,
    byStatus: notUsed,
    active: notUsed,
    recent: notUsed,
    takeSlot: notUsed,
    releaseSlot: notUsed,
    slots: notUsed,
    slotSet: notUsed,
    enqueue: notUsed,
    leaveQueue: notUsed,
    handOver: notUsed,
    fillFreeSlot: notUsed,
  };
  return { store: full, calls, stored: () => item };
}

describe('applyEvent', () => {
  it('writes the decision and returns the record before and after', async () => {
    const { store, stored } = fakeStore(aBuild());
    const r = await applyEvent(store, aBuild().BuildID, { type: 'approve', by: 'U0APPROVER' }, NOW);
    expect(r.outcome).toBe('changed');
    if (r.outcome !== 'changed') return;
    expect(r.before.Status).toBe('awaiting_approval');
    expect(r.build).toMatchObject({ Status: 'approved', Approver: 'U0APPROVER', ApprovedAt: NOW.toISOString() });
    expect(r.decision.to).toBe('approved');
    expect(stored()).toEqual(r.build);
  });

  it('starts from a record it is given without reading it again', async () => {
    const { store, calls } = fakeStore(aBuild());
    const r = await applyEvent(store, aBuild(), { type: 'deny', by: 'U0APPROVER' }, NOW);
    expect(r).toMatchObject({ outcome: 'changed', build: { Status: 'rejected', DeniedBy: 'U0APPROVER' } });
    expect(calls).toEqual({ get: 0, update: 1 });
  });

  it('answers missing for an unknown build', async () => {
    const { store, calls } = fakeStore(undefined);
    expect(await applyEvent(store, 'build-20261125-170052-zzzz', { type: 'expire' }, NOW)).toEqual({ outcome: 'missing' });
    expect(calls.update).toBe(0);
  });

  it('answers unchanged, with the reason, and writes nothing', async () => {
    const { store, calls, stored } = fakeStore(anApprovedBuild());
    const r = await applyEvent(store, aBuild().BuildID, { type: 'approve', by: 'U0OTHER' }, NOW);
    expect(r).toEqual({ outcome: 'unchanged', build: anApprovedBuild(), reason: 'already approved' });
    expect(calls.update).toBe(0);
    expect(stored()).toEqual(anApprovedBuild());
  });

  it('answers effects without a write', async () => {
    const { store, calls } = fakeStore(aLaunchedBuild('building'));
    const r = await applyEvent(store, aBuild().BuildID, { type: 'cancel', by: 'U0REQUESTER' }, NOW);
    expect(r).toMatchObject({ outcome: 'effects', decision: { effects: ['put-cancel-requested'] } });
    expect(calls.update).toBe(0);
  });

  it('after a lost race decides again on the current item', async () => {
    // The requester cancels an approved build while the launch handler records its machine.
    const launched = { Status: 'launching' as const, InstanceID: INSTANCE_ID, LaunchTime: at(4) };
    const { store, calls, stored } = fakeStore(anApprovedBuild(), { rivals: [launched] });
    const r = await applyEvent(store, aBuild().BuildID, { type: 'cancel', by: 'U0REQUESTER' }, NOW);
    expect(r).toMatchObject({ outcome: 'effects', build: { Status: 'launching' }, decision: { effects: ['put-cancel-requested'] } });
    expect(calls.update).toBe(1);
    expect(stored()?.Status).toBe('launching');
  });

  it('after a lost race to the same change answers unchanged (a double approval approves once)', async () => {
    const { store, stored } = fakeStore(aBuild(), { rivals: [{ Status: 'approved', Approver: 'U0FIRST', ApprovedAt: at(4) }] });
    const r = await applyEvent(store, aBuild().BuildID, { type: 'approve', by: 'U0SECOND' }, NOW);
    expect(r).toMatchObject({ outcome: 'unchanged', reason: 'already approved' });
    expect(stored()?.Approver).toBe('U0FIRST');
  });

  it('after a lost race writes the new decision when one still applies', async () => {
    // The runner's building phase lands first; our InstanceState write was guarded on `launching`.
    const { store, calls } = fakeStore(aLaunchedBuild('launching'), {
      rivals: [{ Status: 'building', Phase: 'building' }],
      returnCurrent: false,
    });
    const r = await applyEvent(store, aBuild().BuildID, { type: 'instance-state', state: 'running', at: at(3) }, NOW);
    // Re-read (dynalite returns no item on a failed condition) and written again under the new status.
    expect(r).toMatchObject({ outcome: 'changed', build: { Status: 'building', InstanceState: 'running' } });
    expect(calls).toEqual({ get: 2, update: 2 });
  });

  it('gives up with an error after four conflicts in a row', async () => {
    // The runner's phases land between every read and write: each time the extension's status guard fails.
    const phase = (Status: 'building' | 'uploading'): Partial<Build> => ({ Status });
    const { store, calls } = fakeStore(aLaunchedBuild('building'), { rivals: [phase('uploading'), phase('building'), phase('uploading'), phase('building')] });
    await expect(
      applyEvent(store, aBuild().BuildID, { type: 'extend', by: 'U0APPROVER', hours: 1, maxExtensionHours: 10, limitHours: 3, seen: 0 }, NOW),
    ).rejects.toThrow('gave up applying extend to build-20261125-170052-a1b2 after 4 conflicts');
    expect(calls.update).toBe(4);
  });
});
