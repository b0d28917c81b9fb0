import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { usd } from '../../domain/cost';
import type { CountedBuild, MonthLedger } from '../../domain/spend';
import { budgetVerdict, crossesWarning, emptyLedger, holdCare, monthFigures, monthOf, monthReport, uncounted } from '../../domain/spend';
import { aBuild, aLaunchedBuild, anApprovedBuild, at } from '../../stand-ins/build-fixture';

// domain/spend.ts: the month a build belongs to, what a build not yet counted adds to it, and the
// budget's verdict at its edges. Prices are the defaults: c5n.metal $3.888/h + 500 GB gp3
// $0.0548/h = $3.9428/h; the maximum is 3 h ($11.83).

const CONFIG = { instanceType: 'c5n.metal', volumeSizeGb: 500, priceOverrides: {}, maxLifetimeHours: 3 };
const NOVEMBER = '2026-11';

const ledger = (overrides: Partial<MonthLedger> = {}): MonthLedger => ({ ...emptyLedger(NOVEMBER), ...overrides });

describe('monthOf', () => {
  it('is the UTC month: the last millisecond of November is November, the first of December is December', () => {
    expect(monthOf('2026-11-30T23:59:59.999Z')).toBe('2026-11');
    expect(monthOf('2026-12-01T00:00:00.000Z')).toBe('2026-12');
    expect(monthOf(new Date('2026-12-01T00:00:00.000Z'))).toBe('2026-12');
    // Half past midnight in Paris is still November in UTC.
    expect(monthOf('2026-12-01T00:30:00+01:00')).toBe('2026-11');
    expect(monthOf('2026-12-31T23:59:59Z')).toBe('2026-12');
    expect(monthOf('2027-01-01T00:00:00Z')).toBe('2027-01');
  });
});

describe('uncounted', () => {
  const now = new Date(at(32));

  it('a running build: its cost so far, up to its cost at the deadline', () => {
    const running = aLaunchedBuild('building');
    // Launched at minute 2: 30 minutes so far, 3 h at the deadline.
    expect(uncounted(running, ledger(), CONFIG, now)).toEqual({ soFar: 1.97, upTo: 11.83 });
  });

  it('a launching build with an extension: up to the extended deadline, or its hold when that is higher', () => {
    const extended = aLaunchedBuild('launching', { ExtendedHours: 1 });
    expect(uncounted(extended, ledger(), CONFIG, now)).toEqual({ soFar: 1.97, upTo: 15.77 });
    expect(uncounted(extended, ledger({ holds: { [extended.BuildID]: 20 } }), CONFIG, now)).toEqual({ soFar: 1.97, upTo: 20 });
  });

  it('a terminated build not yet counted: its final cost, nothing more to come', () => {
    const ended = aLaunchedBuild('building', { Status: 'terminated', TerminatedAt: at(92), ActualCost: 5.91 });
    expect(uncounted(ended, ledger(), CONFIG, new Date(at(200)))).toEqual({ soFar: 5.91, upTo: 5.91 });
    // Machine gone, ActualCost not written yet: the cost up to TerminatedAt, not up to now.
    const { ActualCost: _cost, ...noCost } = ended;
    expect(uncounted(noCost, ledger(), CONFIG, new Date(at(200)))).toEqual({ soFar: 5.91, upTo: 5.91 });
  });

  it('a counted build adds nothing: its cost is in `spent` already', () => {
    const ended = aLaunchedBuild('building', { Status: 'completed', TerminatedAt: at(92), ActualCost: 5.91 });
    const counted: CountedBuild = { buildId: ended.BuildID, cost: 5.91, requester: ended.Requester, branch: 'main', status: 'completed' };
    expect(uncounted(ended, ledger({ spent: 5.91, counted: [counted] }), CONFIG, now)).toEqual({ soFar: 0, upTo: 0 });
  });

  it('approved, not launched: its maximum (or its hold, when higher), nothing spent yet', () => {
    const approved = anApprovedBuild();
    expect(uncounted(approved, ledger(), CONFIG, now)).toEqual({ soFar: 0, upTo: 11.83 });
    expect(uncounted(approved, ledger({ holds: { [approved.BuildID]: 12.5 } }), CONFIG, now)).toEqual({ soFar: 0, upTo: 12.5 });
  });

  it('awaiting approval: nothing without a hold; its hold once an approval has passed the budget', () => {
    const awaiting = aBuild();
    expect(uncounted(awaiting, ledger(), CONFIG, now)).toEqual({ soFar: 0, upTo: 0 });
    expect(uncounted(awaiting, ledger({ holds: { [awaiting.BuildID]: 11.83 } }), CONFIG, now)).toEqual({ soFar: 0, upTo: 11.83 });
  });

  it('ended before a launch (rejected, cancelled): nothing, even with a hold left behind', () => {
    const rejected = aBuild({ Status: 'rejected', DeniedBy: 'U0APPROVER' });
    expect(uncounted(rejected, ledger({ holds: { [rejected.BuildID]: 11.83 } }), CONFIG, now)).toEqual({ soFar: 0, upTo: 0 });
  });

  it('a build launched in another month adds nothing to this one', () => {
    const october = aLaunchedBuild('building', { LaunchTime: '2026-10-31T23:30:00.000Z' });
    expect(uncounted(october, ledger(), CONFIG, new Date('2026-11-01T00:30:00.000Z'))).toEqual({ soFar: 0, upTo: 0 });
    expect(uncounted(october, emptyLedger('2026-10'), CONFIG, new Date('2026-11-01T00:30:00.000Z'))).toEqual({ soFar: 3.94, upTo: 11.83 });
  });

  it('monthFigures: counted spend, plus each build’s so-far in spent and its rest in committed', () => {
    const figures = monthFigures(
      ledger({ spent: 50 }),
      [aLaunchedBuild('building'), anApprovedBuild({ BuildID: 'build-20261125-170052-b2c3' }), aBuild({ BuildID: 'build-20261125-170052-c3d4' })],
      CONFIG,
      now,
    );
    expect(figures).toEqual({ spent: 51.97, committed: usd(11.83 - 1.97 + 11.83) });
  });
});

describe('holds of builds no slot holder accounts for', () => {
  const now = new Date(at(100));
  const counted: CountedBuild = { buildId: 'build-counted', cost: 5.91, requester: 'U0A', branch: 'main', status: 'completed' };

  it('monthFigures: a hold counts at its amount until the index shows its build counted; never the deciding build’s own', () => {
    const l = ledger({ spent: 5.91, counted: [counted], holds: { 'build-ended': 11.83, 'build-counted': 11.83, 'build-deciding': 12.06 } });
    expect(monthFigures(l, [], CONFIG, now, 'build-deciding')).toEqual({ spent: 5.91, committed: 11.83 });
    expect(monthFigures(l, [], CONFIG, now)).toEqual({ spent: 5.91, committed: 23.89 });
  });

  it('holdCare: removed once counted, for a build never launched, launched in another month, or gone; an ended build’s brought to its final cost; a running one’s kept', () => {
    const l = ledger({ counted: [counted], holds: { 'build-counted': 11.83, [aBuild().BuildID]: 12.06 } });
    expect(holdCare(undefined, l, CONFIG, now)).toEqual({ action: 'remove', why: 'no record' });
    expect(holdCare(aBuild({ BuildID: 'build-counted', Status: 'completed' }), l, CONFIG, now)).toEqual({ action: 'remove', why: 'counted' });
    expect(holdCare(anApprovedBuild({ Status: 'cancelled' }), l, CONFIG, now)).toEqual({ action: 'remove', why: 'never launched' });
    expect(holdCare(aLaunchedBuild('building', { LaunchTime: '2026-12-01T00:00:01.000Z' }), l, CONFIG, now)).toEqual({
      action: 'remove',
      why: 'launched in another month',
    });
    expect(holdCare(aLaunchedBuild('building', { Status: 'failed', TerminatedAt: at(92), ActualCost: 5.91 }), l, CONFIG, now)).toEqual({
      action: 'trim',
      to: 5.91,
    });
    expect(holdCare(aLaunchedBuild('building'), l, CONFIG, now)).toEqual({ action: 'keep' });
    // An approval not launched yet keeps its hold: the launch may still spend it.
    expect(holdCare(anApprovedBuild(), l, CONFIG, now)).toEqual({ action: 'keep' });
  });
});

describe('budgetVerdict', () => {
  it('exactly at the budget passes; one cent over is refused, with the figures', () => {
    const at100 = budgetVerdict(100, { spent: 50, committed: 38.17 }, 11.83);
    expect(at100).toEqual({ ok: true, figures: { budget: 100, spent: 50, committed: 38.17, adding: 11.83 } });
    const over = budgetVerdict(100, { spent: 50, committed: 38.17 }, 11.84);
    expect(over).toEqual({ ok: false, figures: { budget: 100, spent: 50, committed: 38.17, adding: 11.84 } });
  });

  it('is not fooled by floating point: 0.1 + 0.2 of a 0.3 budget fits', () => {
    expect(budgetVerdict(0.3, { spent: 0.1, committed: 0 }, 0.2).ok).toBe(true);
  });
});

describe('crossesWarning', () => {
  const figures = { budget: 100, spent: 50, committed: 18.17, adding: 11.83 };

  it('at exactly BUDGET_WARN_PERCENT: warns, once a month', () => {
    expect(crossesWarning(figures, 80, ledger())).toBe(true);
    expect(crossesWarning(figures, 80, ledger({ budgetWarnedAt: at(1) }))).toBe(false);
  });

  it('a cent below: no warning', () => {
    expect(crossesWarning({ ...figures, adding: 11.82 }, 80, ledger())).toBe(false);
  });
});

describe('monthReport', () => {
  const entry = (buildId: string, cost: number, requester: string, branch: string, status: CountedBuild['status'] = 'completed'): CountedBuild => ({
    buildId,
    cost,
    requester,
    branch,
    status,
  });

  it('groups by outcome, requester and branch, with the three most expensive builds', () => {
    const counted = [
      entry('build-a', 5.91, 'U0RILEY', 'main'),
      entry('build-b', 11.83, 'U0SAM', 'feature/x', 'terminated'),
      entry('build-c', 2.5, 'U0RILEY', 'feature/x', 'failed'),
      entry('build-d', 0.07, 'U0SAM', 'main', 'cancelled'),
    ];
    const running = aLaunchedBuild('building', { BuildID: 'build-e', Requester: 'U0RILEY', BuildBranch: 'main' });
    const r = monthReport(ledger({ spent: 20.31, counted }), [{ build: running, soFar: 7 }]);

    expect(r).toMatchObject({ month: NOVEMBER, total: 27.31, finalTotal: 20.31, runningTotal: 7, builds: 5 });
    expect(r.byOutcome).toEqual({ completed: 1, terminated: 1, failed: 1, cancelled: 1, running: 1 });
    expect(r.byRequester).toEqual([
      { key: 'U0RILEY', cost: 15.41 },
      { key: 'U0SAM', cost: 11.9 },
    ]);
    expect(r.byBranch).toEqual([
      { key: 'feature/x', cost: 14.33 },
      { key: 'main', cost: 12.98 },
    ]);
    expect(r.top.map((b) => [b.buildId, b.cost, b.running])).toEqual([
      ['build-b', 11.83, false],
      ['build-e', 7, true],
      ['build-a', 5.91, false],
    ]);
  });

  it('property: the total is the sum of its parts, however it is grouped', () => {
    const cents = fc.integer({ min: 0, max: 5_000 }).map((c) => c / 100);
    const people = fc.constantFrom('U0A', 'U0B', 'U0C');
    const branches = fc.constantFrom('main', 'feature/x', 'v1.2.3');
    const statuses = fc.constantFrom<CountedBuild['status']>('completed', 'failed', 'terminated', 'cancelled');
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.nat(10_000), cents, people, branches, statuses), { selector: ([n]) => n, maxLength: 12 }),
        fc.uniqueArray(fc.tuple(fc.integer({ min: 10_001, max: 20_000 }), cents, people, branches), { selector: ([n]) => n, maxLength: 4 }),
        (countedRows, runningRows) => {
          const counted = countedRows.map(([n, cost, who, branch, status]) => entry(`build-${n}`, cost, who, branch, status));
          const running = runningRows.map(([n, soFar, who, branch]) => ({
            build: aLaunchedBuild('building', { BuildID: `build-${n}`, Requester: who, BuildBranch: branch }),
            soFar,
          }));
          const r = monthReport(ledger({ spent: usd(counted.reduce((s, c) => s + c.cost, 0)), counted }), running);
          const sum = (xs: number[]) => usd(xs.reduce((s, x) => s + x, 0));
          expect(r.total).toBe(usd(r.finalTotal + r.runningTotal));
          expect(sum(r.byRequester.map((l) => l.cost))).toBe(r.total);
          expect(sum(r.byBranch.map((l) => l.cost))).toBe(r.total);
          expect(Object.values(r.byOutcome).reduce((s, n) => s + n, 0)).toBe(r.builds);
          expect(r.builds).toBe(counted.length + running.length);
          expect(r.top).toHaveLength(Math.min(3, r.builds));
          const costs = [...counted.map((c) => c.cost), ...running.map((x) => x.soFar)].sort((a, b) => b - a);
          expect(r.top.map((b) => b.cost)).toEqual(costs.slice(0, 3));
        },
      ),
    );
  });
});
