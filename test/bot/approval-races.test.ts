import { describe, expect, it } from 'vitest';
import type { Build } from '../../domain/build';
import type { BuildStore } from '../../domain/ports';
import type { Guard } from '../../domain/transition';
import { APPROVER } from '../../stand-ins/slack-api';
import { useWorld } from '../support/bot-world';

// Concurrent approvals must never free a slot that a machine needs: with MAX_CONCURRENT_BUILDS=1
// a losing click that gave the slot back after the launch landed let a second build be approved
// while the first machine ran. Each case ends with a second build's approval, which must be
// refused for want of a slot.

const world = useWorld();
const OTHER_APPROVER = 'U0APPROVER2';
const env = { APPROVER_IDS: `${APPROVER},${OTHER_APPROVER}` };

/** The store, with a hook that runs before the approve write of one click lands. */
function storeHoldingApproval(store: BuildStore, beforeApproveWrite: () => Promise<void>): BuildStore {
  let held = false;
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'update') return Reflect.get(target, property, receiver) as unknown;
      return async (buildId: string, guard: Guard, set: Partial<Build>) => {
        if (!held && set.Status === 'approved') {
          held = true;
          await beforeApproveWrite();
        }
        return target.update(buildId, guard, set);
      };
    },
  });
}

/** The slot stays with the first build: a second approval queues behind it, and nothing launches for it. */
async function secondBuildQueued(): Promise<void> {
  const bot = world().bot(env);
  const second = await bot.request('release/next', OTHER_APPROVER);
  await bot.click('approve_build', second, APPROVER);
  expect(await world().build(second)).toMatchObject({ Status: 'queued' });
  expect(world().ephemerals(APPROVER).at(-1)).toContain(`Approved ${second} — queued, next in line.`);
  expect(
    world()
      .bus()
      .filter(([, d]) => (d as { buildId: string }).buildId === second),
  ).toEqual([]);
}

describe('approvals racing the launch', () => {
  it('forced interleaving: the losing click re-reads after the launch landed and keeps the slot', async () => {
    const id = await world().bot(env).request();
    const winner = world().bot(env);
    // The loser's write waits until the winner approved and the launch was recorded.
    const loser = world().bot(env, {
      store: storeHoldingApproval(world().dynamo.store, async () => {
        await winner.click('approve_build', id, APPROVER);
        await world().launch(id);
      }),
    });
    await loser.click('approve_build', id, OTHER_APPROVER);

    expect(await world().build(id)).toMatchObject({ Status: 'launching', Approver: APPROVER });
    expect(await world().slots()).toEqual([id]);
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    await secondBuildQueued();
  });

  it('8 clicks at once while the launch runs: one Build Approved, the slot stays with the running build', async () => {
    const id = await world().bot(env).request();
    const bots = Array.from({ length: 8 }, () => world().bot(env));
    const launched = (async () => {
      // The launch lands as soon as the first approval does, in the middle of the other clicks.
      for (;;) {
        const b = await world().build(id);
        if (b?.Status === 'approved') return world().launch(id);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    await Promise.all(bots.map((bot, i) => bot.click('approve_build', id, i % 2 === 0 ? APPROVER : OTHER_APPROVER)));
    await launched;

    expect(await world().build(id)).toMatchObject({ Status: 'launching' });
    expect(await world().slots()).toEqual([id]);
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    await secondBuildQueued();
  });

  it('a click whose budget step fails gives its slot back while another click approves: the approved build keeps the slot', async () => {
    const budget = { ...env, MONTHLY_BUDGET_USD: '100' };
    const id = await world().bot(budget).request();
    const { store, ledger } = world().dynamo;
    const winner = world().bot(budget);
    // The loser added the slot; its ledger read fails; between its re-read of the build (still
    // awaiting approval) and its release, the winner (finding the slot `held`) approves.
    const loserStore = new Proxy(store, {
      get(target, property, receiver) {
        if (property !== 'handOver') return Reflect.get(target, property, receiver) as unknown;
        return async (buildId: string, max: number) => {
          await winner.click('approve_build', id, OTHER_APPROVER);
          return target.handOver(buildId, max);
        };
      },
    });
    const failingLedger = new Proxy(ledger, {
      get(target, property, receiver) {
        if (property !== 'read') return Reflect.get(target, property, receiver) as unknown;
        return () => Promise.reject(Object.assign(new Error('the month ledger is unavailable'), { name: 'InternalServerError' }));
      },
    });
    await world().bot(budget, { store: loserStore, ledger: failingLedger }).click('approve_build', id, APPROVER);

    expect(await world().build(id)).toMatchObject({ Status: 'approved', Approver: OTHER_APPROVER });
    expect(await world().slots()).toEqual([id]);
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    await secondBuildQueued();
  });

  it('a click that lost to a Deny gives its slot back: the next build can be approved', async () => {
    const id = await world().bot(env).request();
    const denier = world().bot(env);
    const loser = world().bot(env, {
      store: storeHoldingApproval(world().dynamo.store, async () => {
        await denier.click('deny_build', id, APPROVER);
      }),
    });
    await loser.click('approve_build', id, OTHER_APPROVER);

    expect(await world().build(id)).toMatchObject({ Status: 'rejected' });
    expect(await world().slots()).toEqual([]);
    expect(world().bus()).toEqual([]);
  });
});
