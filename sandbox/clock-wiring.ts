import type { Logger } from '../domain/ports';
import type { Ec2StandIn } from '../stand-ins/ec2';
import type { SchedulerStandIn } from '../stand-ins/scheduler';
import type { LocalBus } from './bus';
import { SimulatedClock } from './clock';
import type { Teardown } from './teardown';

// The one simulated clock everything runs on: how fast it goes, what it runs each minute, and
// how it stops.

export interface SandboxClockOptions {
  speed: number;
  settle: () => Promise<void>;
  busy: () => boolean;
  onRateChange: () => void;
  log: Logger;
}

export function createSandboxClock({ speed, settle, busy, onRateChange, log }: SandboxClockOptions): SimulatedClock {
  return new SimulatedClock({
    start: new Date(),
    speed,
    settle,
    // Fast only while a machine is live or a step of one is due; waiting on people is real time.
    idleSpeed: 1,
    busy,
    onRateChange: () => onRateChange(),
    onError: (error, what) => log.error('a simulated task failed', { what, error: error instanceof Error ? error : new Error(String(error)) }),
  });
}

export const anyMachineLive = (ec2: Ec2StandIn) => ec2.all().some((i) => i.state !== 'terminated' && i.state !== 'stopped');

export function tickEveryMinute(clock: SimulatedClock, scheduler: SchedulerStandIn, bus: LocalBus): void {
  clock.everyMinute(async (at) => {
    // EventBridge Scheduler's one-time schedules (each build's deadline) fire before the watchdog's minute.
    await scheduler.fireDue();
    await bus.scheduledWatchdog(at);
  });
}

/** On close: no new step, the current one finished, and every delivery it caused. */
export function stopClockOnClose(clock: SimulatedClock, bus: LocalBus, teardown: Teardown): void {
  teardown.add(async () => {
    clock.stop();
    await clock.idle();
    await bus.settle();
  });
}
