import { describe, expect, it } from 'vitest';
import { MONTH_PREFIX } from '../../adapters/aws/dynamo-ledger';
import { expirationTime } from '../../domain/build';
import { costBetween } from '../../domain/cost';
import type { SpendLedger } from '../../domain/ports';
import { emptyLedger } from '../../domain/spend';
import { createHandler as instanceStateHandler } from '../../events/instance-state';
import { createHandler as watchdogHandler } from '../../events/watchdog';
import { INSTANCE_ID, aLaunchedBuild, at } from '../../stand-ins/build-fixture';
import { ec2StateChange, scheduled } from '../support/event-fixtures';
import { logLines, useWorld } from '../support/events-world';

// A build's final cost joins the month of its LaunchTime once (events/month-spend.ts): from
// instance-state on every ending delivery, and from the watchdog for a machine whose end it
// recorded itself. Asserted on the build's record (CountedMonth, CountedCost), the month as the
// ledger reads it (MonthIndex) and the `#month#2026-11` item in dynalite, through the real handlers.
// A count that fails never keeps the slot (docs/design.md "Safety before bookkeeping").

const world = useWorld({ minutesAfterT0: 3 });
const MONTH = '2026-11';
const cost = (from: string, to: string) => costBetween('c5n.metal', 500, from, to, {}, 'c5n.metal');
const monthItem = () => world().dynamo.get(`${MONTH_PREFIX}${MONTH}`);

const instanceState = (event: unknown, ledger?: SpendLedger) => instanceStateHandler({ ...world().deps, ...(ledger ? { ledger } : {}) })(event);

async function watchdogAt(minutes: number, ledger?: SpendLedger): Promise<void> {
  world().clock.minutesAfterT0(minutes);
  await watchdogHandler({ ...world().deps, ...(ledger ? { ledger } : {}) })(scheduled(at(minutes)));
}

/** The real ledger, whose next `count` fails as DynamoDB throttling would. */
function countFailsOnce(ledger: SpendLedger): { ledger: SpendLedger; attempts: () => number } {
  let attempts = 0;
  return {
    attempts: () => attempts,
    ledger: {
      read: (m) => ledger.read(m),
      holds: (m) => ledger.holds(m),
      hold: (m, v, id, amount) => ledger.hold(m, v, id, amount),
      release: (m, id, amount) => ledger.release(m, id, amount),
      count: async (m, entry) => {
        if (++attempts === 1)
          throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException' });
        return ledger.count(m, entry);
      },
    },
  };
}

describe('the month’s spend from the machine’s end', () => {
  it('a redelivered termination (and a racing one) is counted once, on the record; the month item is not touched', async () => {
    const build = await world().seed(aLaunchedBuild('building'), { instanceState: 'running' });
    world().clock.minutesAfterT0(93);
    await instanceState(ec2StateChange(INSTANCE_ID, 'shutting-down', at(92)));
    await instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(93)));
    await Promise.all([instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(93))), instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(93)))]);

    const final = cost(at(2), at(92));
    expect(final).toBe(5.91);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'terminated', ActualCost: final, TerminatedAt: at(92) });
    expect(await world().dynamo.ledger.read(MONTH)).toEqual({
      ...emptyLedger(MONTH),
      spent: final,
      counted: [{ buildId: build.BuildID, cost: final, requester: build.Requester, branch: 'main', status: 'terminated' }],
    });
    expect(await world().get(build.BuildID)).toMatchObject({ CountedMonth: MONTH, CountedCost: final });
    expect(await monthItem()).toBeUndefined();
    expect(logLines(world(), 'INFO').filter((l) => l.message === 'final cost counted into the month')).toHaveLength(1);
    expect(world().replies(build)).toHaveLength(1);
  });

  it('pending / running deliveries count nothing: the cost is not final', async () => {
    await world().seed(aLaunchedBuild('launching'));
    await instanceState(ec2StateChange(INSTANCE_ID, 'running', at(3)));
    expect(await monthItem()).toBeUndefined();
  });

  it('a final build whose terminated event was lost: the watchdog records the end, counts it once and frees the slot', async () => {
    // Cancelled at minute 30; EC2's state change never came, and EC2 no longer lists the machine.
    const build = await world().seed(
      aLaunchedBuild('building', {
        Status: 'cancelled',
        TerminationReason: 'cancelled',
        CancelledBy: 'U0REQUESTER',
        ExpirationTime: expirationTime(new Date(at(30))),
      }),
      { slot: true, machine: false },
    );
    await watchdogAt(31);

    const final = cost(at(2), at(31));
    expect(world().ec2.liveOf(build.BuildID)).toEqual([]);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'cancelled', TerminatedAt: at(31), ActualCost: final });
    expect(await world().slots()).toEqual([]);
    expect(await world().get(build.BuildID)).toMatchObject({ CountedMonth: MONTH, CountedCost: final });
    expect(await world().dynamo.ledger.read(MONTH)).toMatchObject({
      spent: final,
      counted: [{ buildId: build.BuildID, cost: final, requester: build.Requester, branch: 'main', status: 'cancelled' }],
    });

    // The next run, and EC2's event arriving late after all: nothing is added.
    await watchdogAt(32);
    await instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(30)));
    expect((await world().dynamo.ledger.read(MONTH)).spent).toBe(final);
    expect(await world().get(build.BuildID)).toMatchObject({ TerminatedAt: at(31), ActualCost: final });
  });

  // The stuck row leaves the slot to the reconciliation, the one code that records a lost
  // machine end: without that, the build would never get TerminatedAt or ActualCost.
  it('a running build whose machine vanished without an event: stuck, then its end recorded, counted and its slot freed', async () => {
    const build = await world().seed(aLaunchedBuild('building'), { machine: false });
    await watchdogAt(20);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'failed' });

    await watchdogAt(21);
    await watchdogAt(22);
    const final = cost(at(2), at(21));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'failed', TerminatedAt: at(21), ActualCost: final });
    expect(await world().slots()).toEqual([]);
    expect(await world().dynamo.ledger.read(MONTH)).toMatchObject({
      spent: final,
      counted: [expect.objectContaining({ buildId: build.BuildID, status: 'failed' })],
    });
  });

  it('the ledger write fails at a termination: the slot is freed all the same, the handler throws (EventBridge redelivers), and the redelivery counts it once', async () => {
    const build = await world().seed(aLaunchedBuild('building'), { instanceState: 'running' });
    world().clock.minutesAfterT0(93);
    const failing = countFailsOnce(world().dynamo.ledger);

    await expect(instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(92)), failing.ledger)).rejects.toThrow('allowed throughput');
    // The end itself is recorded and the slot freed: counting never keeps a slot.
    const ended = await world().get(build.BuildID);
    expect(ended).toMatchObject({ Status: 'terminated', TerminatedAt: at(92), ActualCost: 5.91 });
    expect(ended?.CountedMonth).toBeUndefined();
    expect(await world().slots()).toEqual([]);

    await instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(92)), failing.ledger);
    expect(failing.attempts()).toBe(2);
    expect(await world().get(build.BuildID)).toMatchObject({ CountedMonth: MONTH, CountedCost: 5.91 });
    // The thread and SNS hear of the end once, on the delivery that got through.
    expect(world().replies(build)).toHaveLength(1);
    expect(world().published()).toHaveLength(1);
    expect(await world().get(build.BuildID)).toMatchObject({ NotifiedStatus: 'terminated' });
  });

  it('the ledger write fails in the watchdog: the slot is freed all the same, the run fails, and the final builds’ count catches it', async () => {
    const build = await world().seed(
      aLaunchedBuild('building', {
        Status: 'cancelled',
        TerminationReason: 'cancelled',
        CancelledBy: 'U0REQUESTER',
        ExpirationTime: expirationTime(new Date(at(30))),
      }),
      { slot: true, machine: false },
    );
    const failing = countFailsOnce(world().dynamo.ledger);
    // The reconciliation's count fails: a failed step (the run throws, the alarm sees it), the slot goes anyway.
    await expect(watchdogAt(31, failing.ledger)).rejects.toThrow('slot reconciliation');
    expect(await world().get(build.BuildID)).toMatchObject({ TerminatedAt: at(31) });
    expect(await world().slots()).toEqual([]);
    // Later in the same run, the recent final builds are counted: at the end the run recorded.
    expect(await world().get(build.BuildID)).toMatchObject({ CountedMonth: MONTH, CountedCost: cost(at(2), at(31)) });

    await watchdogAt(34, failing.ledger);
    expect(failing.attempts()).toBe(2);
    expect((await world().dynamo.ledger.read(MONTH)).spent).toBe(cost(at(2), at(31)));
  });
});
