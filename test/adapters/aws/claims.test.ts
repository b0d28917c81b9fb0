import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BuildStore, ClaimKey, Claims } from '../../../domain/ports';
import { startDynalite, type LocalDynamo } from '../../../stand-ins/dynalite';
import { MemoryBuildStore, MemoryClaims } from '../../support/memory-store';
import { aBuild, aLaunchedBuild } from '../../../stand-ins/build-fixture';

// One contract, two Claims: DynamoClaims on dynalite and the in-memory Claims must agree on every
// case (the cases the store and the ledger held before the Claims port carried them, and one per
// kind besides). The store is beside them: mail and direct-message claims live on the record.

interface Harness {
  claims(): Claims;
  store(): BuildStore;
  reset(): Promise<void>;
  close(): Promise<void>;
}

async function dynamoHarness(): Promise<Harness> {
  const local: LocalDynamo = await startDynalite();
  return { claims: () => local.claims, store: () => local.store, reset: () => local.reset(), close: () => local.close() };
}

async function memoryHarness(): Promise<Harness> {
  let store = new MemoryBuildStore();
  let claims = new MemoryClaims(store);
  return {
    claims: () => claims,
    store: () => store,
    reset: async () => {
      store = new MemoryBuildStore();
      claims = new MemoryClaims(store);
    },
    close: async () => {},
  };
}

const id = (n: number) => `build-20261125-170052-${String(n).padStart(4, '0')}`;
const request = (key: string, buildId: string): ClaimKey => ({ kind: 'request', request: key, buildId });
const release = (version: string, buildId: string): ClaimKey => ({ kind: 'release', version, buildId });

describe.each([
  { name: 'DynamoClaims on dynalite', start: dynamoHarness },
  { name: 'MemoryClaims', start: memoryHarness },
])('Claims contract: $name', ({ start }) => {
  let h: Harness;
  let claims: Claims;
  let store: BuildStore;

  beforeAll(async () => {
    h = await start();
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(async () => {
    await h.reset();
    claims = h.claims();
    store = h.store();
  });

  describe('request', () => {
    const now = new Date('2026-11-25T17:00:52.000Z');

    it('the first claim wins; a retry with the same trigger gets the first BuildID', async () => {
      expect(await claims.claim(request('trigger-1', id(1)), now)).toEqual({ claimed: true });
      expect(await claims.claim(request('trigger-1', id(2)), now)).toEqual({ claimed: false, holder: id(1) });
      expect(await claims.claim(request('trigger-2', id(3)), now)).toEqual({ claimed: true });
    });

    it('the same BuildID claiming again (an SDK retry) is still the claim holder', async () => {
      await claims.claim(request('trigger-1', id(1)), now);
      expect(await claims.claim(request('trigger-1', id(1)), now)).toEqual({ claimed: true });
    });

    it('two claims at once: exactly one wins, the other learns its BuildID', async () => {
      const results = await Promise.all([claims.claim(request('t', id(1)), now), claims.claim(request('t', id(2)), now)]);
      const winners = results.filter((r) => r.claimed);
      expect(winners).toHaveLength(1);
      const loser = results.find((r) => !r.claimed);
      expect(loser).toEqual({ claimed: false, holder: results[0]!.claimed ? id(1) : id(2) });
    });

    it('is not a build: no list shows it', async () => {
      await claims.claim(request('trigger-1', id(1)), now);
      expect(await store.recent(10)).toEqual([]);
      expect(await store.active()).toEqual([]);
    });
  });

  describe('release: claim and complete', () => {
    const now = new Date('2026-11-25T19:00:00.000Z');
    const later = new Date('2026-11-25T19:05:00.000Z');

    it('the first build claims a version; another build learns who holds it', async () => {
      expect(await claims.claim(release('1.2.3', id(1)), now)).toEqual({ claimed: true });
      expect(await claims.claim(release('1.2.3', id(2)), now)).toEqual({ claimed: false, holder: id(1) });
      expect(await claims.claim(release('1.2.4', id(2)), now)).toEqual({ claimed: true });
    });

    it('the holder claiming again (a redelivery) is still the holder, and learns when it published', async () => {
      await claims.claim(release('1.2.3', id(1)), now);
      expect(await claims.claim(release('1.2.3', id(1)), later)).toEqual({ claimed: true });
      await claims.complete(release('1.2.3', id(1)), later);
      expect(await claims.claim(release('1.2.3', id(1)), later)).toEqual({ claimed: true, completedAt: later.toISOString() });
      expect(await claims.claim(release('1.2.3', id(2)), later)).toEqual({ claimed: false, holder: id(1), completedAt: later.toISOString() });
    });

    it('complete keeps the first PublishedAt and refuses a build that does not hold the version', async () => {
      await claims.claim(release('1.2.3', id(1)), now);
      await claims.complete(release('1.2.3', id(1)), now);
      await claims.complete(release('1.2.3', id(1)), later);
      expect(await claims.claim(release('1.2.3', id(1)), later)).toEqual({ claimed: true, completedAt: now.toISOString() });
      await expect(claims.complete(release('1.2.3', id(2)), later)).rejects.toThrow(/not claimed by/);
      await expect(claims.complete(release('9.9.9', id(1)), later)).rejects.toThrow(/not claimed by/);
    });

    it('two builds claiming at once: exactly one holds the version', async () => {
      const results = await Promise.all([claims.claim(release('2.0.0', id(1)), now), claims.claim(release('2.0.0', id(2)), now)]);
      expect(results.filter((r) => r.claimed)).toHaveLength(1);
      const winner = results[0]!.claimed ? id(1) : id(2);
      expect(results.find((r) => !r.claimed)).toEqual({ claimed: false, holder: winner });
    });

    it('a version given back by its holder is free for the next claim, and never once published', async () => {
      await claims.claim(release('1.2.3', id(1)), now);
      await claims.giveBack(release('1.2.3', id(2)));
      expect(await claims.claim(release('1.2.3', id(2)), now)).toEqual({ claimed: false, holder: id(1) });
      await claims.giveBack(release('1.2.3', id(1)));
      expect(await claims.claim(release('1.2.3', id(2)), now)).toEqual({ claimed: true });
      await claims.complete(release('1.2.3', id(2)), now);
      await claims.giveBack(release('1.2.3', id(2)));
      expect(await claims.claim(release('1.2.3', id(1)), now)).toEqual({ claimed: false, holder: id(2), completedAt: now.toISOString() });
    });

    it('is not a build: no list shows it', async () => {
      await claims.claim(release('1.2.3', id(1)), now);
      expect(await store.recent(10)).toEqual([]);
      expect(await store.active()).toEqual([]);
    });
  });

  describe('click', () => {
    const now = new Date('2026-11-25T17:05:00.000Z');
    const click = (key: string): ClaimKey => ({ kind: 'click', click: key, buildId: id(1) });

    it('a click is claimed once; a replay of the same click is refused; another click is its own', async () => {
      expect(await claims.claim(click('1764090300.000100#U0APPROVER#approve_build'), now)).toEqual({ claimed: true });
      expect(await claims.claim(click('1764090300.000100#U0APPROVER#approve_build'), now)).toEqual({ claimed: false });
      expect(await claims.claim(click('1764090301.000100#U0APPROVER#approve_build'), now)).toEqual({ claimed: true });
      expect(await store.recent(10)).toEqual([]);
    });
  });

  describe('mail', () => {
    const now = new Date('2026-11-25T18:00:00.000Z');
    const later = new Date('2026-11-25T18:10:00.000Z');
    const mail = (notice: string): ClaimKey => ({ kind: 'mail', buildId: aBuild().BuildID, notice });

    it('one claim at a time; completed, the notice is sent for good; given back, it may be claimed again', async () => {
      await store.create(aLaunchedBuild('building'));
      expect(await claims.claim(mail('launching'), now, { staleBefore: '2026-11-25T17:55:00.000Z' })).toEqual({ claimed: true });
      const held = await claims.claim(mail('completed'), now, { staleBefore: '2026-11-25T17:55:00.000Z' });
      expect(held).toMatchObject({ claimed: false, build: { MailClaim: 'launching', MailClaimedAt: now.toISOString() } });
      await claims.giveBack(mail('completed'));
      expect((await store.get(aBuild().BuildID))?.MailClaim).toBe('launching');
      await claims.complete(mail('launching'), now);
      expect(await store.get(aBuild().BuildID)).toMatchObject({ MailSent: ['launching'] });
      expect((await store.get(aBuild().BuildID))?.MailClaim).toBeUndefined();
      expect(await claims.claim(mail('launching'), later, { staleBefore: now.toISOString() })).toMatchObject({ claimed: false });
      expect(await claims.claim(mail('completed'), later, { staleBefore: now.toISOString() })).toEqual({ claimed: true });
      await claims.giveBack(mail('completed'));
      expect(await claims.claim(mail('completed'), later, { staleBefore: now.toISOString() })).toEqual({ claimed: true });
    });

    it('a claim older than staleBefore is taken over; an unknown build is never claimed', async () => {
      await store.create(aLaunchedBuild('building'));
      await claims.claim(mail('launching'), now, { staleBefore: '2026-11-25T17:55:00.000Z' });
      expect(await claims.claim(mail('launching'), later, { staleBefore: '2026-11-25T18:05:00.000Z' })).toEqual({ claimed: true });
      expect(await claims.claim({ kind: 'mail', buildId: id(9), notice: 'launching' }, now)).toEqual({ claimed: false });
    });
  });

  describe('direct message', () => {
    const now = new Date('2026-11-25T18:00:00.000Z');
    const dm = (message: string): ClaimKey => ({ kind: 'direct-message', buildId: aBuild().BuildID, message });

    it('each message once; given back, it may be claimed again; an unknown build is never claimed', async () => {
      await store.create(aLaunchedBuild('building'));
      expect(await claims.claim(dm('warning'), now)).toEqual({ claimed: true });
      expect(await claims.claim(dm('warning'), now)).toEqual({ claimed: false });
      expect(await claims.claim(dm('completed'), now)).toEqual({ claimed: true });
      expect((await store.get(aBuild().BuildID))?.DirectMessages).toEqual(['completed', 'warning']);
      await claims.giveBack(dm('warning'));
      expect((await store.get(aBuild().BuildID))?.DirectMessages).toEqual(['completed']);
      expect(await claims.claim(dm('warning'), now)).toEqual({ claimed: true });
      expect(await claims.claim({ kind: 'direct-message', buildId: id(9), message: 'warning' }, now)).toEqual({ claimed: false });
    });
  });

  describe('stray machine', () => {
    const now = new Date('2026-11-25T18:00:00.000Z');
    const later = new Date('2026-11-25T18:01:00.000Z');
    const stray: ClaimKey = { kind: 'stray', instanceId: 'i-0fedcba9876543210' };

    it('the first run tells; the next learns since when; given back, the next run tells', async () => {
      expect(await claims.claim(stray, now)).toEqual({ claimed: true });
      expect(await claims.claim(stray, later)).toEqual({ claimed: false, since: now.toISOString() });
      await claims.giveBack(stray);
      expect(await claims.claim(stray, later)).toEqual({ claimed: true });
      expect(await store.recent(10)).toEqual([]);
    });
  });

  describe('budget warning', () => {
    const MONTH = '2026-11';
    const now = new Date('2026-11-25T17:00:52.000Z');
    const warning = (buildId: string): ClaimKey => ({ kind: 'budget-warning', month: MONTH, buildId });

    it('claims the warning once; a give-back by another build changes nothing; the claimer’s lets the next claim in', async () => {
      const results = await Promise.all([claims.claim(warning('build-a'), now), claims.claim(warning('build-b'), now)]);
      expect(results.filter((r) => r.claimed)).toHaveLength(1);
      const claimer = results[0]!.claimed ? 'build-a' : 'build-b';
      expect(await claims.claim(warning('build-c'), now)).toEqual({ claimed: false });
      await claims.giveBack(warning('build-c'));
      expect(await claims.claim(warning('build-c'), now)).toEqual({ claimed: false });
      await claims.giveBack(warning(claimer));
      expect(await claims.claim(warning('build-c'), now)).toEqual({ claimed: true });
    });
  });

  describe('GitHub delivery and tag', () => {
    const now = new Date('2026-11-25T18:00:00.000Z');
    const delivery = (id: string, holder = id): ClaimKey => ({ kind: 'github', what: 'delivery', id, delivery: holder });
    const tag = (holder: string): ClaimKey => ({ kind: 'github', what: 'tag', id: `v1.4.0@${'a'.repeat(40)}`, delivery: holder });

    it('five claims of one delivery at once: exactly one wins, even the same delivery id again is refused', async () => {
      const results = await Promise.all([1, 2, 3, 4, 5].map(() => claims.claim(delivery('d-1'), now)));
      expect(results.filter((r) => r.claimed)).toHaveLength(1);
      expect(await claims.claim(delivery('d-1'), now)).toEqual({ claimed: false, holder: 'd-1', since: now.toISOString() });
    });

    it('a tag at a commit once; given back by another delivery nothing changes; by its holder it is free again', async () => {
      expect(await claims.claim(tag('d-1'), now)).toEqual({ claimed: true });
      expect(await claims.claim(tag('d-2'), now)).toMatchObject({ claimed: false, holder: 'd-1' });
      await claims.giveBack(tag('d-2'));
      expect(await claims.claim(tag('d-2'), now)).toMatchObject({ claimed: false });
      await claims.giveBack(tag('d-1'));
      expect(await claims.claim(tag('d-2'), now)).toEqual({ claimed: true });
      expect(await store.recent(10)).toEqual([]);
    });
  });
});
