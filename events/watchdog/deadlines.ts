import type { Build } from '../../domain/build';
import { isFinal } from '../../domain/build';
import { keepDeadline, wantedSchedule } from '../deadline-schedule';
import type { WatchdogRun } from './run';

// The watchdog's repair of deadline schedules (docs/design.md "Deadlines"): a running build whose
// schedule is missing (a launch that crashed after its record) or stale (a `Build Extended` that
// was never delivered) gets it set; a schedule whose machine is gone is deleted. One
// ListSchedules per run; a record is read only for a schedule no active build accounts for.

/** EC2's list (read before the builds) shows no live machine of the build; unknown without a list. */
function machineGone(run: WatchdogRun, build: Build): boolean {
  if (run.machines === undefined) return false;
  return !run.machines.some((m) => m.tags.BuildID === build.BuildID || (build.InstanceID !== undefined && m.instanceId === build.InstanceID));
}

export async function repairDeadlines(run: WatchdogRun, active: readonly Build[]): Promise<void> {
  const { deps } = run;
  const listed = await run.step('list deadline schedules', undefined, () => deps.deadlines.list());
  if (!listed) return;
  const scheduled = new Set(listed);
  const activeIds = new Set(active.map((b) => b.BuildID));

  for (const build of active) {
    const wanted = wantedSchedule(build, deps.config.maxLifetimeHours);
    if (!wanted || (scheduled.has(build.BuildID) && build.ScheduleAt === wanted.at)) continue;
    await run.step('repair deadline schedule', build.BuildID, async () => {
      const log = run.log.child({ buildId: build.BuildID });
      log.warn(scheduled.has(build.BuildID) ? 'deadline schedule is stale; moving it' : 'deadline schedule is missing; setting it', {
        scheduleAt: build.ScheduleAt,
        wanted: wanted.at,
      });
      await keepDeadline(deps, build, log);
    });
  }

  for (const buildId of listed) {
    if (activeIds.has(buildId)) continue;
    await run.step('remove left-over deadline schedule', buildId, async () => {
      // Read again: the build may have been approved and launched after the active builds were read.
      const build = await deps.store.get(buildId);
      // A finished build's machine may still be powering off: its schedule stays until EC2 says
      // it is gone, by its state change (TerminatedAt) or by no longer listing it (a lost event).
      if (build && !(isFinal(build.Status) && (build.TerminatedAt || machineGone(run, build)))) return;
      run.log.warn('deadline schedule without a live machine; removing it', { buildId, status: build?.Status ?? 'missing' });
      await deps.deadlines.remove(buildId);
    });
  }
}
