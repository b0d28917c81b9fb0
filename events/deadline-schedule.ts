import { applyRow } from './apply-step';
import type { Build } from '../domain/build';
import { isRunning } from '../domain/build';
import { scheduleMinute } from '../domain/lifetime';
import { buildDeadline } from '../domain/build-facts';
import type { Config } from '../domain/config';
import type { Logger } from '../domain/ports';
import type { EventDeps } from './deps';

// Keeping a build's Scheduler schedule at its deadline (docs/design.md "Deadlines"). The launch
// sets it once the machine is recorded, `Build Extended` moves it, the end of the machine
// removes it, and the watchdog repairs whatever a lost event or a crash left behind. Each call
// is idempotent: the schedule is keyed by the BuildID and `put` corrects what it finds.

/** Where the build's schedule should be, or undefined when it should have none. */
export function wantedSchedule(build: Build, config: Pick<Config, 'maxLifetimeHours'>): { instanceId: string; at: string } | undefined {
  if (!isRunning(build.Status) || !build.InstanceID) return undefined;
  const due = buildDeadline(build, config);
  if (!due) return undefined;
  return { instanceId: build.InstanceID, at: scheduleMinute(due).toISOString() };
}

/**
 * Set the schedule to the build's deadline and record its minute (ScheduleAt). A minute already
 * past is not set: Scheduler would fire at once or refuse, and the watchdog's force rule ends
 * the machine within its next run anyway.
 */
export async function keepDeadline(deps: EventDeps, build: Build, log: Logger): Promise<void> {
  const wanted = wantedSchedule(build, deps.config);
  if (!wanted) return;
  if (Date.parse(wanted.at) <= deps.clock.now().getTime()) {
    log.warn('the deadline’s schedule minute has passed; the watchdog ends the machine', { scheduleAt: wanted.at, deadlineAt: build.DeadlineAt });
    return;
  }
  await deps.deadlines.put({ buildId: build.BuildID, ...wanted });
  const applied = await applyRow(deps, build, { type: 'scheduled', ...wanted }, log);
  if (applied.outcome === 'changed') log.info('deadline scheduled', { scheduleAt: wanted.at, deadlineAt: build.DeadlineAt, instanceId: wanted.instanceId });
}
