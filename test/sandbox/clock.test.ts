import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../sandbox/clock';

// docs/design.md "Sandbox contract": time runs at the configured speed only while the world is
// busy (a task due, a machine live); waiting on people runs at real time.

let clock: SimulatedClock | undefined;

afterEach(() => {
  clock?.stop();
  clock = undefined;
});

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the simulated clock', () => {
  it('runs at real time while idle and at its speed while a task is due or the world is busy', () => {
    let busy = false;
    clock = new SimulatedClock({ start: new Date('2026-12-01T10:00:00Z'), speed: 60, busy: () => busy });
    expect(clock.rate()).toBe(1);
    const cancel = clock.after(5, () => {});
    expect(clock.rate()).toBe(60);
    cancel();
    expect(clock.rate()).toBe(1);
    busy = true;
    expect(clock.rate()).toBe(60);
  });

  it('never idles faster than its speed, and a stopped clock (speed 0) has rate 0', () => {
    expect(new SimulatedClock({ start: new Date(), speed: 0.5 }).rate()).toBe(0.5);
    expect(new SimulatedClock({ start: new Date(), speed: 0 }).rate()).toBe(0);
    expect(new SimulatedClock({ start: new Date(), speed: 600, idleSpeed: 10 }).rate()).toBe(10);
  });

  it('moves about as far as the wall clock while idle, sixty times as far while busy', async () => {
    let busy = false;
    const rates: number[] = [];
    clock = new SimulatedClock({ start: new Date('2026-12-01T10:00:00Z'), speed: 60, busy: () => busy, onRateChange: (r) => rates.push(r) });
    clock.start();
    const t0 = clock.now().getTime();
    await wait(1_000);
    await clock.idle();
    const idleMoved = clock.now().getTime() - t0;
    // One real second at 1×: never the 60 s the configured speed would give.
    expect(idleMoved).toBeLessThan(5_000);

    busy = true;
    const t1 = clock.now().getTime();
    await wait(1_000);
    await clock.idle();
    const busyMoved = clock.now().getTime() - t1;
    expect(busyMoved).toBeGreaterThan(20_000);
    expect(rates).toEqual([60]);
  });
});
