import type { Clock } from '../domain/ports';

// Simulated time. The world (EC2, the runner, the watchdog) only moves when the clock steps, and
// a step runs every task due in it in time order, waiting after each for the deliveries it
// caused. So "advance 90 minutes" gives the same story as 90 real minutes, in order, and an
// HTTP answer to /sandbox/clock is only sent once the world has caught up.

export const MINUTE_MS = 60_000;
/** Wall-clock milliseconds between steps when time runs by itself. */
const TICK_MS = 250;
/**
 * At most this much wall time is made up in one step: a world slower than `speed` (handlers
 * taking longer than a simulated minute lasts) falls behind instead of piling up a backlog.
 */
const MAX_CATCH_UP_MS = 2_000;

type Task = () => void | Promise<void>;

interface Timer {
  at: number;
  seq: number;
  task: Task;
}

export interface SimulatedClockOptions {
  start: Date;
  /**
   * Simulated milliseconds per wall-clock millisecond while the world is busy; 0 = time moves
   * only through `advance`.
   */
  speed: number;
  /**
   * The rate while nothing but people is awaited: no task is due (no machine changing state, no
   * runner step) and `busy` says no. Default 1 (real time), never above `speed`: a request waits
   * for its approver at human pace, a build runs at `speed`.
   */
  idleSpeed?: number;
  /** Whether the world is busy besides the clock's own tasks (a machine is live). */
  busy?: () => boolean;
  /** Called when the rate changes between `idleSpeed` and `speed` (the page extrapolates the clock). */
  onRateChange?: (rate: number) => void;
  /** Resolves when everything the last task set in motion (bus deliveries) has finished. */
  settle?: () => Promise<void>;
  /** Where a failing task is reported; a failure never stops the clock. */
  onError?: (error: unknown, what: string) => void;
}

export class SimulatedClock implements Clock {
  readonly speed: number;
  readonly idleSpeed: number;
  private current: number;
  private lastMinute: number;
  private timers: Timer[] = [];
  private seq = 0;
  private minuteListeners: Array<(at: Date) => void | Promise<void>> = [];
  private queue: Promise<void> = Promise.resolve();
  private stepping = false;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private lastWall = Date.now();
  private readonly settle: () => Promise<void>;
  private readonly onError: (error: unknown, what: string) => void;
  private readonly isBusy: () => boolean;
  private readonly onRateChange: (rate: number) => void;
  private lastRate: number | undefined;
  private paused = false;

  constructor(options: SimulatedClockOptions) {
    this.speed = options.speed;
    this.idleSpeed = Math.min(options.idleSpeed ?? 1, options.speed);
    this.isBusy = options.busy ?? (() => false);
    this.onRateChange = options.onRateChange ?? (() => {});
    this.current = options.start.getTime();
    this.lastMinute = Math.floor(this.current / MINUTE_MS);
    this.settle = options.settle ?? (async () => {});
    this.onError = options.onError ?? (() => {});
  }

  now(): Date {
    return new Date(this.current);
  }

  /** Run `task` once simulated time reaches now + `minutes`. Returns a cancel function. */
  after(minutes: number, task: Task): () => void {
    const timer: Timer = { at: this.current + minutes * MINUTE_MS, seq: this.seq++, task };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Called once for every simulated minute boundary crossed (the watchdog's rate(1 minute)). */
  everyMinute(listener: (at: Date) => void | Promise<void>): void {
    this.minuteListeners.push(listener);
  }

  /** Move simulated time forward by `minutes`, running everything due on the way. */
  advance(minutes: number): Promise<Date> {
    return this.enqueue(() => this.stepTo(this.current + minutes * MINUTE_MS)).then(() => this.now());
  }

  /**
   * Simulated milliseconds per wall-clock millisecond right now, when time runs by itself: `speed`
   * while a task is due (a machine changing state, a runner step) or `busy` holds, else `idleSpeed`.
   */
  rate(): number {
    if (this.speed <= 0 || this.paused) return 0;
    return this.timers.length > 0 || this.isBusy() ? this.speed : this.idleSpeed;
  }

  /** Let time run by itself at `rate()` (no-op for speed 0). */
  start(): void {
    if (this.speed <= 0 || this.ticker) return;
    this.lastWall = Date.now();
    this.lastRate = this.rate();
    this.ticker = setInterval(() => {
      // A step still running (slow handlers) is not overtaken: the next one makes up the time.
      if (this.stepping) return;
      const wall = Date.now();
      const elapsed = Math.min(wall - this.lastWall, MAX_CATCH_UP_MS);
      this.lastWall = wall;
      // The rate of the step is the one at its start: a build approved mid-tick speeds up the next one.
      const rate = this.rate();
      if (rate !== this.lastRate) {
        this.lastRate = rate;
        this.onRateChange(rate);
      }
      // Paused while this step waited behind a slow one: it moves nothing.
      this.enqueue(() => this.stepTo(this.current + (this.paused ? 0 : elapsed * rate))).catch((error: unknown) => this.onError(error, 'step'));
    }, TICK_MS);
    this.ticker.unref();
  }

  /**
   * Time stands still until `resume` (the page's Pause): the ticker steps by nothing, `advance`
   * still moves it. The wall time paused is not made up afterwards.
   */
  pause(): void {
    this.setPaused(true);
  }

  resume(): void {
    this.setPaused(false);
  }

  isPaused(): boolean {
    return this.paused;
  }

  private setPaused(paused: boolean): void {
    if (this.paused === paused) return;
    this.paused = paused;
    this.lastRate = this.rate();
    this.onRateChange(this.lastRate);
  }

  stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** Resolves once the steps queued so far are done. */
  idle(): Promise<void> {
    return this.queue;
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      this.stepping = true;
      try {
        await this.settle();
        await step();
      } finally {
        this.stepping = false;
      }
    });
    this.queue = run.catch(() => {});
    return run;
  }

  private nextTimer(limit: number): Timer | undefined {
    let next: Timer | undefined;
    for (const t of this.timers) {
      if (t.at > limit) continue;
      if (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq)) next = t;
    }
    return next;
  }

  private async stepTo(target: number): Promise<void> {
    for (;;) {
      const minuteAt = (this.lastMinute + 1) * MINUTE_MS;
      // Tasks due at a minute boundary run before that minute's watchdog, as a machine that
      // changed state at 12:00:00 is seen by the 12:00 run.
      const timer = this.nextTimer(Math.min(target, minuteAt));
      if (timer) {
        this.timers = this.timers.filter((t) => t !== timer);
        this.current = Math.max(this.current, timer.at);
        await this.run(timer.task, 'timer');
        continue;
      }
      if (minuteAt > target) break;
      this.current = minuteAt;
      this.lastMinute += 1;
      for (const listener of this.minuteListeners) await this.run(() => listener(new Date(minuteAt)), 'minute');
    }
    this.current = Math.max(this.current, target);
  }

  private async run(task: Task, what: string): Promise<void> {
    try {
      await task();
    } catch (error) {
      this.onError(error, what);
    }
    await this.settle();
  }
}
