import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { costBetween, estimate, usd } from '../../domain/cost';
import type { BuildLimits } from '../../domain/build-choice';
import {
  deadline,
  deadlineOf,
  endedByDeadline,
  scheduleMinute,
  tooCloseToExtend,
  didNotShutDown,
  isApprovalStale,
  isOrphan,
  isStuckWithoutLaunch,
  isStuckWithoutMachine,
  lifeStart,
  machineVerdict,
  outlivedTermination,
} from '../../domain/lifetime';
import { aBuild, aLaunchedBuild, anApprovedBuild, at, INSTANCE_ID, T0 } from '../../stand-ins/build-fixture';

const LIMITS: BuildLimits & { approvalTtlMinutes: number } = { limitHours: 3, warnAfterHours: 2, maxExtensionHours: 2, approvalTtlMinutes: 30 };
const MS = 1 / 60_000;
/** `at` in minutes from T0; `at(m - MS)` is one millisecond earlier. */
const when = (minutes: number) => new Date(at(minutes));

describe('machineVerdict: warn and force, measured from launch', () => {
  const verdict = (minutes: number, build: { WarnedAt?: string; ExtendedHours?: number } = {}) => machineVerdict(T0, build, LIMITS, when(minutes));

  it('warns at WARN_AFTER_HOURS, once', () => {
    expect(verdict(120 - MS)).toBe('ok');
    expect(verdict(120)).toBe('warn');
    expect(verdict(150, { WarnedAt: at(120) })).toBe('ok');
  });

  it('forces at MAX_LIFETIME_HOURS, warned or not', () => {
    expect(verdict(180 - MS, { WarnedAt: at(120) })).toBe('ok');
    expect(verdict(180, { WarnedAt: at(120) })).toBe('force');
    expect(verdict(180)).toBe('force');
  });

  it('moves the limit by the hours approvers added', () => {
    expect(verdict(180, { WarnedAt: at(120), ExtendedHours: 1 })).toBe('ok');
    expect(verdict(240 - MS, { WarnedAt: at(120), ExtendedHours: 1 })).toBe('ok');
    expect(verdict(240, { WarnedAt: at(120), ExtendedHours: 1 })).toBe('force');
    expect(verdict(300 - MS, { WarnedAt: at(120), ExtendedHours: 2 })).toBe('ok');
    expect(verdict(300, { WarnedAt: at(120), ExtendedHours: 2 })).toBe('force');
    expect(deadline(T0, LIMITS, 2).toISOString()).toBe(at(300));
    expect(deadline(T0, LIMITS).toISOString()).toBe(at(180));
  });
});

describe("lifeStart: when a machine's lifetime began", () => {
  const machine = (launchTime: string, instanceId = INSTANCE_ID) => ({ instanceId, launchTime });

  it("the build's own machine: the record's LaunchTime, whatever EC2 says after a stop and start", () => {
    const running = aLaunchedBuild('building'); // launched at minute 2
    expect(lifeStart(running, machine(at(150)))).toBe(at(2));
    expect(lifeStart(running, machine(at(2)))).toBe(at(2));
  });

  it('another machine of a recorded build: the earlier of the two', () => {
    const running = aLaunchedBuild('building');
    expect(lifeStart(running, machine(at(40), 'i-0000000000000beef'))).toBe(at(2));
    expect(lifeStart(running, machine(at(1), 'i-0000000000000beef'))).toBe(at(1));
  });

  it("no record, or a record without LaunchTime: EC2's LaunchTime", () => {
    expect(lifeStart(undefined, machine(at(40)))).toBe(at(40));
    expect(lifeStart(anApprovedBuild(), machine(at(40)))).toBe(at(40));
  });

  it("judged from it, a stopped-and-started machine is forced at the first launch's limit", () => {
    const running = aLaunchedBuild('building', { WarnedAt: at(122) });
    const restarted = machine(at(180));
    expect(machineVerdict(lifeStart(running, restarted), running, LIMITS, when(2 + 180))).toBe('force');
    expect(machineVerdict(restarted.launchTime, running, LIMITS, when(2 + 180))).toBe('ok');
  });
});

describe('watchdog rules', () => {
  it('a request is stale APPROVAL_TTL_MINUTES after it was made, only while awaiting approval', () => {
    expect(isApprovalStale(aBuild(), LIMITS, when(30 - MS))).toBe(false);
    expect(isApprovalStale(aBuild(), LIMITS, when(30))).toBe(true);
    expect(isApprovalStale(anApprovedBuild(), LIMITS, when(60))).toBe(false);
  });

  it('an approved build without an InstanceID is stuck 10 minutes after approval', () => {
    const approved = anApprovedBuild(); // approved at minute 1
    expect(isStuckWithoutLaunch(approved, when(11 - MS))).toBe(false);
    expect(isStuckWithoutLaunch(approved, when(11))).toBe(true);
    expect(isStuckWithoutLaunch({ ...approved, InstanceID: INSTANCE_ID }, when(60))).toBe(false);
    expect(isStuckWithoutLaunch(aLaunchedBuild('launching'), when(60))).toBe(false);
    expect(isStuckWithoutLaunch(aBuild(), when(60))).toBe(false);
  });

  it('a running build whose machine is not alive is stuck 10 minutes after launch', () => {
    const running = aLaunchedBuild('building'); // launched at minute 2
    expect(isStuckWithoutMachine(running, false, when(12 - MS))).toBe(false);
    expect(isStuckWithoutMachine(running, false, when(12))).toBe(true);
    expect(isStuckWithoutMachine(running, true, when(120))).toBe(false);
    expect(isStuckWithoutMachine(aLaunchedBuild('uploading'), false, when(120))).toBe(true);
    expect(isStuckWithoutMachine(anApprovedBuild(), false, when(120))).toBe(false);
    expect(isStuckWithoutMachine({ ...running, Status: 'completed' }, false, when(120))).toBe(false);
  });

  it('a machine without a record is an orphan 15 minutes after its launch', () => {
    expect(isOrphan(undefined, T0, when(15 - MS))).toBe(false);
    expect(isOrphan(undefined, T0, when(15))).toBe(true);
  });

  it('a machine of an ended build is an orphan 15 minutes after the end; completed/failed are did-not-shut-down', () => {
    const cancelled = aLaunchedBuild('building', { Status: 'cancelled', CompletionTime: at(30) });
    expect(isOrphan(cancelled, T0, when(45 - MS))).toBe(false);
    expect(isOrphan(cancelled, T0, when(45))).toBe(true);
    const forced = aLaunchedBuild('building', { Status: 'terminated', TerminationReason: 'forced', CompletionTime: at(180) });
    expect(isOrphan(forced, T0, when(195))).toBe(true);
    // Ended before any launch (no CompletionTime): counted from the request.
    expect(isOrphan(aBuild({ Status: 'rejected' }), at(5), when(15))).toBe(true);
    for (const status of ['completed', 'failed'] as const)
      expect(isOrphan(aLaunchedBuild('building', { Status: status, CompletionTime: at(30) }), T0, when(600))).toBe(false);
    expect(isOrphan(aLaunchedBuild('building'), T0, when(600))).toBe(false);
  });

  it('a second machine of an active build is an orphan 15 minutes after its launch', () => {
    const running = aLaunchedBuild('building');
    const stray = 'i-0fffffffffffffff0';
    expect(isOrphan(running, at(3), when(18 - MS), stray)).toBe(false);
    expect(isOrphan(running, at(3), when(18), stray)).toBe(true);
    expect(isOrphan(running, at(2), when(600), INSTANCE_ID)).toBe(false);
    // Not yet recorded (the launch is writing it): the stuck rule covers this build.
    expect(isOrphan(anApprovedBuild(), at(3), when(600), stray)).toBe(false);
  });

  it('a completed or failed build’s machine still up 15 minutes after CompletionTime did not shut down', () => {
    for (const status of ['completed', 'failed'] as const) {
      const ended = aLaunchedBuild('building', { Status: status, CompletionTime: at(90) });
      expect(didNotShutDown(ended, when(105 - MS))).toBe(false);
      expect(didNotShutDown(ended, when(105))).toBe(true);
    }
    expect(didNotShutDown(aLaunchedBuild('building', { Status: 'cancelled', CompletionTime: at(90) }), when(200))).toBe(false);
    expect(didNotShutDown(aLaunchedBuild('building'), when(200))).toBe(false);
  });

  it('the own machine of a forced or cancelled build still up 2 minutes after the order outlived its termination', () => {
    for (const reason of ['forced', 'cancelled'] as const) {
      const ended = aLaunchedBuild('building', { Status: reason === 'forced' ? 'terminated' : 'cancelled', TerminationReason: reason, CompletionTime: at(90) });
      expect(outlivedTermination(ended, INSTANCE_ID, when(92 - MS))).toBe(false);
      expect(outlivedTermination(ended, INSTANCE_ID, when(92))).toBe(true);
      expect(outlivedTermination(ended, 'i-0000000000000beef', when(200))).toBe(false); // another machine: the orphan rule
    }
    const unexpected = aLaunchedBuild('building', { Status: 'terminated', TerminationReason: 'unexpected', CompletionTime: at(90) });
    expect(outlivedTermination(unexpected, INSTANCE_ID, when(200))).toBe(false);
  });
});

describe('deadlines kept by Scheduler', () => {
  it('the schedule’s minute is the minute before the deadline’s minute', () => {
    expect(scheduleMinute(new Date('2026-11-25T20:00:52.000Z')).toISOString()).toBe('2026-11-25T19:59:00.000Z');
    expect(scheduleMinute(new Date('2026-11-25T20:00:00.000Z')).toISOString()).toBe('2026-11-25T19:59:00.000Z');
    expect(scheduleMinute(new Date('2026-11-25T20:00:59.999Z')).toISOString()).toBe('2026-11-25T19:59:00.000Z');
  });

  it('DeadlineAt as recorded, else LaunchTime + limit + extensions; none before a launch', () => {
    expect(deadlineOf({ DeadlineAt: at(200), LaunchTime: at(2) }, LIMITS)?.toISOString()).toBe(at(200));
    expect(deadlineOf({ LaunchTime: at(2), ExtendedHours: 1 }, LIMITS)?.toISOString()).toBe(at(242));
    expect(deadlineOf({}, LIMITS)).toBeUndefined();
  });

  it('an extension is too close less than 3 minutes before the schedule’s minute', () => {
    const due = new Date('2026-11-25T20:00:52.000Z'); // schedule 19:59:00
    expect(tooCloseToExtend(due, new Date('2026-11-25T19:56:00.000Z'))).toBe(false);
    expect(tooCloseToExtend(due, new Date('2026-11-25T19:56:00.001Z'))).toBe(true);
    expect(tooCloseToExtend(due, new Date('2026-11-25T20:30:00.000Z'))).toBe(true);
  });

  it('wherever Scheduler fires in its minute, the machine ends before its deadline, at most 2 min early, and costs at most the card’s maximum', () => {
    const launches = fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') });
    const limits = fc.integer({ min: 1, max: 24 * 4 }).map((quarters) => quarters / 4);
    const extensions = fc.integer({ min: 0, max: 4 });
    const fireMs = fc.integer({ min: 0, max: 59_999 });
    fc.assert(
      fc.property(launches, limits, extensions, fireMs, (launch, limit, extended, offset) => {
        const launchTime = new Date(launch).toISOString();
        const due = deadline(launchTime, { limitHours: limit }, extended);
        const fired = new Date(scheduleMinute(due).getTime() + offset);
        expect(fired.getTime()).toBeLessThan(due.getTime());
        expect(endedByDeadline(due, fired.toISOString())).toBe(true);
        // The pipeline's own numbers: the card's maximum for that lifetime and the cost the
        // instance-state handler records for an end at `fired`.
        const card = estimate({
          instanceType: 'c5n.metal',
          volumeGb: 500,
          expectedHours: 1.5,
          maxLifetimeHours: limit + extended,
          maxExtensionHours: 0,
          transferGb: 0,
          priceOverrides: {},
        });
        if (!card.ok) throw new Error(card.problem);
        const actual = costBetween('c5n.metal', 500, launchTime, fired.toISOString(), {}, 'c5n.metal');
        // The card shows its maximum to the cent, and the record's cost is kept to the cent.
        expect(actual).toBeLessThanOrEqual(usd(card.estimate.max.total));
      }),
      { numRuns: 500 },
    );
  });
});
