import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Build, Status } from '../../../domain/build';
import type { BuildStore } from '../../../domain/ports';
import { startDynalite, type LocalDynamo } from '../../../stand-ins/dynalite';
import { MemoryBuildStore } from '../../support/memory-store';
import { INSTANCE_ID, aBuild, aLaunchedBuild, anApprovedBuild, at } from '../../../stand-ins/build-fixture';

// One contract, two stores: DynamoBuildStore on dynalite and the MemoryBuildStore unit tests use
// must agree on every case, or unit tests would prove things the real store does not do.

interface Harness {
  store(): BuildStore;
  /** The stored item as the table holds it. */
  raw(buildId: string): Promise<Record<string, unknown> | undefined>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

async function dynamoHarness(): Promise<Harness> {
  const local: LocalDynamo = await startDynalite();
  return { store: () => local.store, raw: (id) => local.get(id), reset: () => local.reset(), close: () => local.close() };
}

async function memoryHarness(): Promise<Harness> {
  let store = new MemoryBuildStore();
  return {
    store: () => store,
    raw: async (id) => store.builds.get(id) as Record<string, unknown> | undefined,
    reset: async () => {
      store = new MemoryBuildStore();
    },
    close: async () => {},
  };
}

const id = (n: number) => `build-20261125-170052-${String(n).padStart(4, '0')}`;
const ids = (builds: Build[]) => builds.map((b) => b.BuildID);

describe.each([
  { name: 'DynamoBuildStore on dynalite', start: dynamoHarness },
  { name: 'MemoryBuildStore', start: memoryHarness },
])('BuildStore contract: $name', ({ start }) => {
  let h: Harness;
  let store: BuildStore;

  beforeAll(async () => {
    h = await start();
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    await h.reset();
    store = h.store();
  });

  describe('create and get', () => {
    it('stores the record as given and reads it back', async () => {
      const build = aBuild();
      expect(await store.create(build)).toBe(true);
      expect(await store.get(build.BuildID)).toEqual(build);
      const raw = await h.raw(build.BuildID);
      expect(raw?.ThreadTs).toBe('1764090052.000100');
      expect(raw?.Status).toBe('awaiting_approval');
    });

    it('refuses a second record with the same BuildID and keeps the first', async () => {
      expect(await store.create(aBuild())).toBe(true);
      expect(await store.create(aBuild({ BuildBranch: 'other' }))).toBe(false);
      expect((await store.get(aBuild().BuildID))?.BuildBranch).toBe('main');
    });

    it('returns undefined for an unknown BuildID', async () => {
      expect(await store.get(id(9999))).toBeUndefined();
    });

    it('keeps a ThreadTs that looks like a number a string', async () => {
      await store.create(aBuild({ ThreadTs: '1764090052.100000' }));
      const read = await store.get(aBuild().BuildID);
      expect(read?.ThreadTs).toBe('1764090052.100000');
      expect(typeof (await h.raw(aBuild().BuildID))?.ThreadTs).toBe('string');
    });
  });

  describe('update', () => {
    it('writes the set when the status guard holds and returns the new record', async () => {
      await store.create(aBuild());
      const result = await store.update(
        aBuild().BuildID,
        { status: ['awaiting_approval'] },
        {
          Status: 'approved',
          Approver: 'U0APPROVER',
          ApprovedAt: at(1),
        },
      );
      expect(result).toEqual({ ok: true, build: anApprovedBuild() });
      expect(await store.get(aBuild().BuildID)).toEqual(anApprovedBuild());
    });

    it('writes nothing when the status guard fails and returns the current record', async () => {
      await store.create(anApprovedBuild());
      const result = await store.update(
        aBuild().BuildID,
        { status: ['awaiting_approval'] },
        {
          Status: 'rejected',
          DeniedBy: 'U0APPROVER',
        },
      );
      expect(result).toEqual({ ok: false, current: anApprovedBuild() });
      expect(await store.get(aBuild().BuildID)).toEqual(anApprovedBuild());
    });

    it('accepts any status of the list', async () => {
      await store.create(aLaunchedBuild('building'));
      const result = await store.update(aBuild().BuildID, { status: ['launching', 'building'] }, { Status: 'uploading' });
      expect(result.ok && result.build.Status).toBe('uploading');
    });

    it('never creates a record: an unknown BuildID fails with current undefined', async () => {
      const result = await store.update(id(4242), { status: ['awaiting_approval'] }, { Status: 'approved' });
      expect(result).toEqual({ ok: false, current: undefined });
      expect(await h.raw(id(4242))).toBeUndefined();
    });

    it('an empty status list never holds', async () => {
      await store.create(aBuild());
      expect(await store.update(aBuild().BuildID, { status: [] }, { Status: 'approved' })).toEqual({
        ok: false,
        current: aBuild(),
      });
    });

    it('guard `absent`: holds while the attribute is missing, fails once it is there', async () => {
      await store.create(anApprovedBuild());
      const launched = { Status: 'launching' as const, InstanceID: INSTANCE_ID };
      const guard = { status: ['approved', 'launching'] as Status[], absent: ['InstanceID' as const] };
      const first = await store.update(aBuild().BuildID, guard, launched);
      expect(first.ok).toBe(true);
      const second = await store.update(aBuild().BuildID, guard, { InstanceID: 'i-0fffffffffffffff0' });
      expect(second).toEqual({ ok: false, current: expect.objectContaining({ InstanceID: INSTANCE_ID }) });
    });

    it('guard `equals`: holds on the same value, fails on another or a missing one', async () => {
      await store.create(aLaunchedBuild('building', { ExtendedHours: 1 }));
      const buildId = aBuild().BuildID;
      expect((await store.update(buildId, { status: ['building'], equals: { ExtendedHours: 2 } }, { ExtendedHours: 3 })).ok).toBe(false);
      expect((await store.update(buildId, { status: ['building'], equals: { ExtendedHours: 1 } }, { ExtendedHours: 2 })).ok).toBe(true);
      expect((await store.update(buildId, { status: ['building'], equals: { InstanceID: 'i-0aaaaaaaaaaaaaaa0' } }, { Phase: 'uploading' })).ok).toBe(false);
      expect((await store.update(buildId, { status: ['building'], equals: { TerminationReason: 'unexpected' } }, { Phase: 'uploading' })).ok).toBe(false);
      const both = await store.update(buildId, { status: ['building'], equals: { InstanceID: INSTANCE_ID, ExtendedHours: 2 } }, { Phase: 'uploading' });
      expect(both.ok && both.build).toMatchObject({ Phase: 'uploading', ExtendedHours: 2 });
    });

    it('guard `instanceStateBefore`: InstanceState only moves forward', async () => {
      await store.create(aLaunchedBuild('building'));
      const buildId = aBuild().BuildID;
      const move = (state: 'pending' | 'running' | 'shutting-down' | 'terminated') =>
        store.update(buildId, { status: ['building'], instanceStateBefore: state }, { InstanceState: state });

      expect((await move('running')).ok).toBe(true); // absent → running
      expect((await move('pending')).ok).toBe(false); // backwards
      expect((await move('running')).ok).toBe(false); // same state again
      expect((await move('terminated')).ok).toBe(true); // forward, skipping states
      const late = await move('shutting-down');
      expect(late).toEqual({ ok: false, current: expect.objectContaining({ InstanceState: 'terminated' }) });
      expect((await store.get(buildId))?.InstanceState).toBe('terminated');
    });

    it("guard `noticeFree`: one lease per status; a stale one or another status's is free", async () => {
      await store.create(aLaunchedBuild('building'));
      const buildId = aBuild().BuildID;
      const take = (status: Status, now: string, staleBefore: string) =>
        store.update(buildId, { status: ['building'], noticeFree: { status, staleBefore } }, { NotifyingStatus: status, NotifyingSince: now });

      expect((await take('building', at(10), at(9))).ok).toBe(true); // no lease yet
      expect((await take('building', at(10), at(9))).ok).toBe(false); // held since at(10), fresh
      expect((await take('uploading', at(10), at(9))).ok).toBe(true); // another status's lease is no obstacle
      expect((await take('uploading', at(12), at(11))).ok).toBe(true); // taken at(10), stale before at(11)
      expect(await store.get(buildId)).toMatchObject({ NotifyingStatus: 'uploading', NotifyingSince: at(12) });
    });

    it('guard `instanceStateBefore: pending` holds only while InstanceState is absent', async () => {
      await store.create(aLaunchedBuild('launching'));
      const buildId = aBuild().BuildID;
      const guard = { status: ['launching'] as Status[], instanceStateBefore: 'pending' as const };
      expect((await store.update(buildId, guard, { InstanceState: 'pending' })).ok).toBe(true);
      expect((await store.update(buildId, guard, { InstanceState: 'pending' })).ok).toBe(false);
    });

    it('combines every guard kind in one condition', async () => {
      await store.create(aLaunchedBuild('uploading', { InstanceState: 'running' }));
      const result = await store.update(
        aBuild().BuildID,
        { status: ['uploading'], absent: ['TerminatedAt'], equals: { InstanceID: INSTANCE_ID }, instanceStateBefore: 'terminated' },
        { InstanceState: 'terminated', TerminatedAt: at(90), Status: 'terminated', TerminationReason: 'unexpected', ActualCost: 5.83 },
      );
      expect(result.ok && result.build).toMatchObject({ Status: 'terminated', TerminatedAt: at(90), ActualCost: 5.83 });
      const raw = await h.raw(aBuild().BuildID);
      expect(raw).toMatchObject({ Status: 'terminated', InstanceState: 'terminated', TerminationReason: 'unexpected' });
    });

    it('with nothing to set, only checks the guard and returns the stored record', async () => {
      await store.create(aBuild());
      expect(await store.update(aBuild().BuildID, { status: ['awaiting_approval'] }, {})).toEqual({ ok: true, build: aBuild() });
      expect(await store.update(aBuild().BuildID, { status: ['approved'] }, {})).toEqual({ ok: false, current: aBuild() });
    });

    it('leaves undefined values out and never changes BuildID', async () => {
      await store.create(aBuild());
      const result = await store.update(
        aBuild().BuildID,
        { status: ['awaiting_approval'] },
        {
          BuildID: id(1),
          Approver: undefined,
          Phase: 'cloning',
        },
      );
      expect(result.ok && result.build).toEqual({ ...aBuild(), Phase: 'cloning' });
      expect(await h.raw(id(1))).toBeUndefined();
    });
  });

  describe('reading lists', () => {
    // Builds 1..6 created one minute apart; 6 is the newest.
    const seed = async () => {
      const statuses: Status[] = ['completed', 'awaiting_approval', 'failed', 'building', 'completed', 'approved'];
      for (const [i, status] of statuses.entries()) {
        const extra = status === 'building' ? { InstanceID: `i-0${i}00000000000000` } : {};
        await store.create(aBuild({ BuildID: id(i + 1), Status: status, CreatedAt: at(i), ...extra }));
      }
    };

    it('byStatus: newest first', async () => {
      await seed();
      expect(ids(await store.byStatus('completed'))).toEqual([id(5), id(1)]);
      expect(ids(await store.byStatus('cancelled'))).toEqual([]);
    });

    it('byStatus: limit and createdBefore (exclusive)', async () => {
      await seed();
      for (let i = 7; i <= 12; i++) await store.create(aBuild({ BuildID: id(i), Status: 'completed', CreatedAt: at(i) }));
      expect(ids(await store.byStatus('completed', { limit: 3 }))).toEqual([id(12), id(11), id(10)]);
      expect(ids(await store.byStatus('completed', { createdBefore: at(8) }))).toEqual([id(7), id(5), id(1)]);
      expect(ids(await store.byStatus('completed', { createdBefore: at(8), limit: 2 }))).toEqual([id(7), id(5)]);
      expect(ids(await store.byStatus('completed', { createdBefore: at(0) }))).toEqual([]);
    });

    it('byStatus: createdSince (inclusive), alone and with createdBefore and a limit', async () => {
      await seed();
      for (let i = 7; i <= 12; i++) await store.create(aBuild({ BuildID: id(i), Status: 'completed', CreatedAt: at(i) }));
      expect(ids(await store.byStatus('completed', { createdSince: at(10) }))).toEqual([id(12), id(11), id(10)]);
      expect(ids(await store.byStatus('completed', { createdSince: at(9), limit: 2 }))).toEqual([id(12), id(11)]);
      expect(ids(await store.byStatus('completed', { createdSince: at(4), createdBefore: at(9) }))).toEqual([id(8), id(7), id(5)]);
      expect(ids(await store.byStatus('completed', { createdSince: at(4), createdBefore: at(9), limit: 2 }))).toEqual([id(8), id(7)]);
      expect(ids(await store.byStatus('completed', { createdSince: at(13) }))).toEqual([]);
    });

    it('active: every active status, newest first, nothing final', async () => {
      await seed();
      expect(ids(await store.active())).toEqual([id(6), id(4), id(2)]);
    });

    it('recent: merged across statuses, newest first, cut to the limit', async () => {
      await seed();
      expect(ids(await store.recent(4))).toEqual([id(6), id(5), id(4), id(3)]);
      expect(ids(await store.recent(50))).toEqual([id(6), id(5), id(4), id(3), id(2), id(1)]);
    });

    it('recent: a status with many newer builds does not hide older ones of others beyond the limit', async () => {
      for (let i = 1; i <= 5; i++) await store.create(aBuild({ BuildID: id(i), Status: 'completed', CreatedAt: at(10 + i) }));
      await store.create(aBuild({ BuildID: id(6), Status: 'failed', CreatedAt: at(1) }));
      expect(ids(await store.recent(3))).toEqual([id(5), id(4), id(3)]);
      expect(ids(await store.recent(6))).toEqual([id(5), id(4), id(3), id(2), id(1), id(6)]);
    });

    it('findByInstance: the build of that instance, or undefined', async () => {
      await seed();
      expect((await store.findByInstance('i-0300000000000000'))?.BuildID).toBe(id(4));
      expect(await store.findByInstance('i-0999999999999999')).toBeUndefined();
    });

    it('a slot holder record is not a build in any list', async () => {
      await seed();
      await store.takeSlot(id(6), 1);
      expect(ids(await store.recent(50))).toHaveLength(6);
    });
  });

  describe('slots', () => {
    it('two builds racing for one slot: exactly one gets it', async () => {
      const results = await Promise.all([store.takeSlot(id(1), 1), store.takeSlot(id(2), 1)]);
      expect(results.filter((r) => r === 'added')).toHaveLength(1);
      expect(results.filter((r) => r === 'full')).toHaveLength(1);
      const winner = results[0] === 'added' ? id(1) : id(2);
      expect(await store.slots()).toEqual([winner]);
    });

    it('the holder taking its slot again passes, and is told it found the slot held (a double approval)', async () => {
      expect(await store.takeSlot(id(1), 1)).toBe('added');
      expect(await store.takeSlot(id(1), 1)).toBe('held');
      expect(await Promise.all([store.takeSlot(id(1), 1), store.takeSlot(id(1), 1)])).toEqual(['held', 'held']);
      expect(await store.slots()).toEqual([id(1)]);
    });

    it('release frees the slot for another build; releasing again or a non-holder is harmless', async () => {
      await store.takeSlot(id(1), 1);
      expect(await store.takeSlot(id(2), 1)).toBe('full');
      await store.releaseSlot(id(1));
      await store.releaseSlot(id(1));
      await store.releaseSlot(id(3));
      expect(await store.slots()).toEqual([]);
      expect(await store.takeSlot(id(2), 1)).toBe('added');
      expect(await store.slots()).toEqual([id(2)]);
    });

    it('the queue: in approval order, once; a free slot is not taken while others wait', async () => {
      await store.takeSlot(id(1), 1);
      await store.enqueue(id(2));
      await store.enqueue(id(3));
      await store.enqueue(id(2));
      await store.enqueue(id(1));
      expect(await store.slotSet()).toEqual({ active: [id(1)], queue: [id(2), id(3)] });
      // First come, first served: a slot for id(4) only after the queue is empty.
      expect(await store.takeSlot(id(4), 2)).toBe('full');
      expect(await store.takeSlot(id(1), 1)).toBe('held');
    });

    it('handOver gives the slot to the queue’s head; with nobody waiting it is released', async () => {
      await store.takeSlot(id(1), 1);
      await store.enqueue(id(2));
      expect(await store.handOver(id(1), 1)).toBe(id(2));
      expect(await store.slotSet()).toEqual({ active: [id(2)], queue: [] });
      expect(await store.handOver(id(1), 1)).toBeUndefined();
      expect(await store.handOver(id(2), 1)).toBeUndefined();
      expect(await store.slotSet()).toEqual({ active: [], queue: [] });
    });

    it('handOver from a set that is over (a hand-over half done) frees no place: the queue keeps waiting', async () => {
      await store.takeSlot(id(1), 2);
      await store.takeSlot(id(2), 2);
      await store.enqueue(id(3));
      expect(await store.handOver(id(1), 1)).toBeUndefined();
      expect(await store.slotSet()).toEqual({ active: [id(2)], queue: [id(3)] });
    });

    it('two hand-overs at once move two heads, each once', async () => {
      await store.takeSlot(id(1), 2);
      await store.takeSlot(id(2), 2);
      await store.enqueue(id(3));
      await store.enqueue(id(4));
      await store.enqueue(id(5));
      const heads = await Promise.all([store.handOver(id(1), 2), store.handOver(id(2), 2)]);
      expect(heads.sort()).toEqual([id(3), id(4)]);
      expect(await store.slotSet()).toEqual({ active: [id(3), id(4)], queue: [id(5)] });
    });

    it('fillFreeSlot hands free slots to the heads; leaveQueue takes a build out wherever it stands', async () => {
      await store.enqueue(id(1));
      await store.enqueue(id(2));
      await store.enqueue(id(3));
      await store.leaveQueue(id(2));
      await store.leaveQueue(id(9));
      expect(await store.fillFreeSlot(1)).toBe(id(1));
      expect(await store.fillFreeSlot(1)).toBeUndefined();
      expect(await store.slotSet()).toEqual({ active: [id(1)], queue: [id(3)] });
    });

    it('releasing before any slot was ever taken is harmless', async () => {
      await store.releaseSlot(id(1));
      expect(await store.slots()).toEqual([]);
    });

    it('max 2: two builds hold slots, the third is refused until one is released', async () => {
      expect(await store.takeSlot(id(1), 2)).toBe('added');
      expect(await store.takeSlot(id(2), 2)).toBe('added');
      expect(await store.takeSlot(id(3), 2)).toBe('full');
      expect(await store.takeSlot(id(2), 2)).toBe('held');
      expect(await store.slots()).toEqual([id(1), id(2)]);
      await store.releaseSlot(id(1));
      expect(await store.takeSlot(id(3), 2)).toBe('added');
      expect(await store.slots()).toEqual([id(2), id(3)]);
    });

    it('three builds racing for two slots: exactly two get them', async () => {
      const results = await Promise.all([1, 2, 3].map((n) => store.takeSlot(id(n), 2)));
      expect(results.filter((r) => r === 'added')).toHaveLength(2);
      expect(await store.slots()).toHaveLength(2);
    });
  });
});
