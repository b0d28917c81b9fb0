import { describe, expect, it } from 'vitest';
import { expirationTime } from '../../domain/build';
import type { BuildStore } from '../../domain/ports';
import { LAUNCH_SETTLE_MS } from '../../domain/slot-holding';
import { launchTags } from '../../events/launch/plan';
import { createHandler } from '../../events/watchdog';
import { INSTANCE_ID, aLaunchedBuild, anApprovedBuild, at } from '../../stand-ins/build-fixture';
import { scheduled } from '../support/event-fixtures';
import { useWorld } from '../support/events-world';

// The watchdog gives back slots whose build is not active, deciding from a consistent read of
// the build and EC2's machine list (domain/slot-holding), never from the index alone: StatusIndex
// is eventually consistent, and dynalite's never lags, so a wrapper serves a stale one here.

const world = useWorld();
const SETTLE_MINUTES = LAUNCH_SETTLE_MS / 60_000;

async function watchdogAt(minutes: number, store?: BuildStore): Promise<void> {
  world().clock.minutesAfterT0(minutes);
  await createHandler({ ...world().deps, ...(store ? { store } : {}) })(scheduled(at(minutes)));
}

/** The table as an index that has not yet seen the latest writes: every StatusIndex read is empty. */
function staleIndex(store: BuildStore): BuildStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'active' || property === 'recent') return async () => [];
      if (property === 'byStatus') return async () => [];
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

describe('slot reconciliation', () => {
  it('a stale index that misses an approved build does not free its slot', async () => {
    const build = await world().seed(anApprovedBuild({ ApprovedAt: at(5) }));
    await watchdogAt(6, staleIndex(world().deps.store));
    expect(await world().slots()).toEqual([build.BuildID]);
  });

  it('a stale index that misses a running build whose machine came up after the listing keeps its slot', async () => {
    // Launched at minute 7, after the list the watchdog works from (EC2 shows nothing yet).
    const build = await world().seed(aLaunchedBuild('launching', { LaunchTime: at(7) }), { machine: false });
    await watchdogAt(7, staleIndex(world().deps.store));
    expect(await world().slots()).toEqual([build.BuildID]);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching' });
  });

  it('cancelled while approved, a tagged machine live (its launch was in flight): the slot is kept until EC2 shows it gone and the launch settled', async () => {
    const cancelledAt = 10;
    const build = await world().seed(
      anApprovedBuild({ Status: 'cancelled', CancelledBy: 'U0REQUESTER', ExpirationTime: expirationTime(new Date(at(cancelledAt))) }),
      { slot: true },
    );
    world().ec2.add({ id: INSTANCE_ID, state: 'running', launchTime: at(cancelledAt), tags: launchTags(build, world().config.maxLifetimeHours) });

    await watchdogAt(cancelledAt + SETTLE_MINUTES + 1);
    expect(await world().slots()).toEqual([build.BuildID]);

    world()
      .ec2.liveOf(build.BuildID)
      .forEach((i) => world().ec2.setState(i.instanceId, 'terminated'));
    await watchdogAt(cancelledAt + SETTLE_MINUTES + 2);
    expect(await world().slots()).toEqual([]);
  });

  it('cancelled while approved, no machine anywhere: freed once the launch has settled, not before', async () => {
    const cancelledAt = 10;
    const build = await world().seed(
      anApprovedBuild({ Status: 'cancelled', CancelledBy: 'U0REQUESTER', ExpirationTime: expirationTime(new Date(at(cancelledAt))) }),
      { slot: true },
    );
    await watchdogAt(cancelledAt + SETTLE_MINUTES - 1);
    expect(await world().slots()).toEqual([build.BuildID]);
    await watchdogAt(cancelledAt + SETTLE_MINUTES);
    expect(await world().slots()).toEqual([]);
  });

  it('a final build whose terminated event was lost: freed when EC2 no longer lists its machine', async () => {
    const build = await world().seed(
      aLaunchedBuild('building', { Status: 'cancelled', TerminationReason: 'cancelled', ExpirationTime: expirationTime(new Date(at(30))) }),
      { slot: true, machine: false },
    );
    await watchdogAt(31);
    expect(await world().slots()).toEqual([]);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'cancelled' });
  });

  it('a final build whose machine is still listed keeps its slot', async () => {
    const build = await world().seed(
      aLaunchedBuild('building', { Status: 'cancelled', TerminationReason: 'cancelled', ExpirationTime: expirationTime(new Date(at(30))) }),
      { slot: true, machine: true },
    );
    await watchdogAt(31);
    expect(await world().slots()).toEqual([build.BuildID]);
  });

  it('EC2 unreadable: no slot is freed', async () => {
    const build = await world().seed(
      aLaunchedBuild('building', { Status: 'cancelled', TerminationReason: 'cancelled', ExpirationTime: expirationTime(new Date(at(30))) }),
      { slot: true, machine: false },
    );
    world().ec2.failNext('DescribeInstances', 'RequestLimitExceeded', 503, 'throttled');
    await expect(watchdogAt(31)).rejects.toThrow();
    expect(await world().slots()).toEqual([build.BuildID]);
  });
});
