import { deadline, scheduleMinute } from '../domain/lifetime';

// How close to its limit a machine is ended, by the pipeline's own functions: DeadlineAt as the
// launch records it (domain/lifetime `deadline`), the schedule's minute as keepDeadline sets it
// (`scheduleMinute`), and Scheduler firing at any instant of that minute (its documented
// precision: the first and the last millisecond are the extremes). Overshoot is a machine alive
// past its deadline (the card's maximum broken); undershoot is time given up before it.

export interface DeadlineMargins {
  cases: number;
  /** Largest time past DeadlineAt at which a machine is told to end, in ms (0: never past). */
  overshootMaxMs: number;
  undershootMinMs: number;
  undershootMaxMs: number;
}

export function measureDeadlineMargins(launches = 1_000): DeadlineMargins {
  const start = Date.parse('2026-12-01T00:00:00.000Z');
  let overshootMaxMs = 0;
  let undershootMinMs = Infinity;
  let undershootMaxMs = 0;
  let cases = 0;
  for (let i = 0; i < launches; i++) {
    // Launch times spread over a day at millisecond resolution (a prime step hits every second's fraction).
    const launchTime = new Date(start + i * 86_413).toISOString();
    for (const hours of [3, 4, 5]) {
      const due = deadline(launchTime, { limitHours: hours }).getTime();
      const minute = scheduleMinute(new Date(due)).getTime();
      for (const fired of [minute, minute + 59_999]) {
        cases++;
        overshootMaxMs = Math.max(overshootMaxMs, fired - due);
        undershootMinMs = Math.min(undershootMinMs, due - fired);
        undershootMaxMs = Math.max(undershootMaxMs, due - fired);
      }
    }
  }
  return { cases, overshootMaxMs: Math.max(0, overshootMaxMs), undershootMinMs, undershootMaxMs };
}
