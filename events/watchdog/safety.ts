import type { Build } from '../../domain/build';
import { isFinal, isRunning } from '../../domain/build';
import { costOf } from '../../domain/build-cost';
import { limitsOf } from '../../domain/build-choice';
import { buildDeadline } from '../../domain/build-facts';
import type { EventsEvent } from '../../domain/event-sides';
import {
  STUCK_MINUTES,
  ageMs,
  didNotShutDown,
  endedByDeadline,
  isApprovalStale,
  isOrphan,
  isStuckWithoutLaunch,
  isStuckWithoutMachine,
  lifeStart,
  machineVerdict,
  outlivedTermination,
  pastItsDeadline,
} from '../../domain/lifetime';
import type { Machine } from '../../domain/ports';
import { machineEndUnrecorded, slotMayBeGivenBack } from '../../domain/slot-holding';
import type { StrayReason } from '../../views/notifications';
import { applyRow, dequeueBy } from '../apply-step';
import { freeSlot } from '../../use-cases/slot-queue';
import { keepQueueMoving } from './queue-care';
import { keepDeadline, wantedSchedule } from '../deadline-schedule';
import { countFinalCost } from '../month-spend';
import type { Snapshot, Unaccounted, WatchdogRun } from './snapshot';

// The safety phase (docs/design.md "Safety before bookkeeping"): everything that stops or limits
// spending, decided from the snapshot, with no Slack call and nothing told. Builds past their
// limits, stuck or stale are ended (the status table's rows and their effects: terminate, free
// the slot); machines nobody accounts for are terminated; deadline schedules are repaired; then,
// once every due termination has been requested, slots are reconciled and loose disks deleted.
// What this phase changed is returned for the telling phase; if that phase does not get to it,
// the notice protocol's catch-up tells it on a later run.

/** EC2 deletes a DeleteOnTermination volume within minutes of the termination. */
export const LOOSE_VOLUME_GRACE_MINUTES = 60;

/** A machine terminated by the watchdog's machine rules, to be told to the operators and the thread. */
export interface Stray {
  machine: Machine;
  build: Build | undefined;
  reason: StrayReason;
}

export interface ToTell {
  /** Builds the watchdog's rows applied to (changed now, or by an overlapping run): told like any status change. */
  ended: Build[];
  strays: Stray[];
}

export async function keepSafe(run: WatchdogRun, snap: Snapshot): Promise<ToTell> {
  const told: ToTell = { ended: [], strays: [] };
  const active = snap.active ?? [];
  await run.each(active, (build) => run.step(`check ${build.Status} build`, build.BuildID, () => endBuildIfDue(run, snap, build, told)));
  await run.each(snap.unaccounted, (u) => run.step('check machine', u.machine.tags.BuildID, () => endMachineIfDue(run, u, told)));
  if (snap.active) await repairDeadlines(run, snap, snap.active);
  if (snap.slots && snap.active) await reconcileSlots(run, snap, snap.slots, new Set(snap.active.map((b) => b.BuildID)));
  if (snap.active) told.ended.push(...(await keepQueueMoving(run, snap.active)));
  await deleteLooseVolumes(run);
  return told;
}

// ---- builds -------------------------------------------------------------------------------

/**
 * Stale approvals expire, approved builds without a machine and running builds whose machine is
 * gone are stuck (failed), and a running machine past its limit is force-terminated. Age counts
 * from the record's LaunchTime (the first launch): EC2's own LaunchTime restarts with every stop
 * and start. A stopped machine is in the live list, so it is neither "gone" nor spared its limit.
 */
async function endBuildIfDue(run: WatchdogRun, snap: Snapshot, build: Build, told: ToTell): Promise<void> {
  const { now } = run;
  const { config } = run.deps;
  if (build.Status === 'awaiting_approval') {
    if (isApprovalStale(build, config, now)) await end(run, build, { type: 'expire' }, told);
    return;
  }
  if (build.Status === 'approved') {
    if (isStuckWithoutLaunch(build, now))
      await end(
        run,
        build,
        {
          type: 'stuck',
          expectInstanceId: build.InstanceID ?? null,
          message: `Stuck: approved, but no machine was launched within ${STUCK_MINUTES} minutes (the launch never ran or kept failing).`,
        },
        told,
      );
    return;
  }
  if (!isRunning(build.Status) || snap.machines === undefined) return;
  const machine = snap.liveMachineOf(build);
  if (!machine) {
    // Gone at its deadline: the deadline's schedule ended it and EC2's state change is still on
    // its way. That is the forced end the card promised, not a stuck build.
    const due = buildDeadline(build, config);
    if (due && endedByDeadline(due, now.toISOString())) await end(run, build, { type: 'force' }, told);
    else if (isStuckWithoutMachine(build, false, now))
      await end(
        run,
        build,
        {
          type: 'stuck',
          expectInstanceId: build.InstanceID ?? null,
          message:
            `Stuck: EC2 shows no live machine for this build (${build.InstanceID ?? 'none recorded'}), ` +
            `${STUCK_MINUTES} minutes or more after launch, and no end of the build or the machine was reported.`,
        },
        told,
      );
    return;
  }
  const since = lifeStart(build, machine);
  const limits = limitsOf(build, config);
  if (machineVerdict(since, build, limits, now) === 'force') await end(run, build, { type: 'force', launchTime: since, limitHours: limits.limitHours }, told);
}

/**
 * A status change by the watchdog: the row and its effects (the termination, the slot), nothing
 * told yet. The conditional write decides who acts: of two overlapping runs only the winner
 * terminates; both hand the build to their telling phase, which tells it once (NotifiedStatus).
 */
async function end(run: WatchdogRun, build: Build, event: EventsEvent, told: ToTell): Promise<void> {
  const log = run.log.child({ buildId: build.BuildID });
  // A termination that fails throws: the step's failure line names the rule and the BuildID.
  const applied = await applyRow(run.deps, build, event, log, run.now);
  if (applied.outcome === 'changed')
    log.warn('watchdog changed a build', { rule: event.type, from: build.Status, to: applied.build.Status, instanceId: build.InstanceID });
  if (applied.outcome !== 'missing') told.ended.push(applied.build);
}

// ---- machines -----------------------------------------------------------------------------

/**
 * EC2 is the ground truth: a machine nobody accounts for is found here even when every event
 * about it was lost. Orphans (no record, a final record, or a second machine of a build) and
 * machines of finished builds that did not power off are terminated.
 */
async function endMachineIfDue(run: WatchdogRun, { machine, owner: build }: Unaccounted, told: ToTell): Promise<void> {
  const { now } = run;
  const finished = build?.Status === 'completed' || build?.Status === 'failed';
  if (build && pastItsDeadline(build, machine.instanceId, limitsOf(build, run.deps.config), now)) {
    if (finished) await leftover(run, machine, build, told);
    else await stray(run, machine, build, 'orphan', told);
    return;
  }
  if (build && finished) {
    if (!didNotShutDown(build, now)) return;
    if (build.InstanceID === machine.instanceId) await leftover(run, machine, build, told);
    else await stray(run, machine, build, 'orphan', told);
    return;
  }
  if (build && outlivedTermination(build, machine.instanceId, now)) {
    // Already ordered ended, still listed as live: the earlier TerminateInstances failed. No
    // orphan grace for a machine past its limit or cancelled: terminate it at this run.
    await stray(run, machine, build, 'orphan', told);
    return;
  }
  // With a record, not EC2's LaunchTime alone: a stop and start must not restart the grace.
  if (isOrphan(build, lifeStart(build, machine), now, machine.instanceId)) await stray(run, machine, build, 'orphan', told);
}

/**
 * A finished build's machine still up: recorded once as TerminationReason did-not-shut-down
 * (no status change), conditionally, so of two overlapping runs one tells. If it is still
 * listed on a later run, the earlier termination did not take: terminate again, quietly.
 */
async function leftover(run: WatchdogRun, machine: Machine, build: Build, told: ToTell): Promise<void> {
  const log = run.log.child({ buildId: build.BuildID });
  if (build.TerminationReason) {
    log.warn('machine of a finished build still up after an earlier termination; terminating again', {
      instanceId: machine.instanceId,
      reason: build.TerminationReason,
    });
    await run.deps.compute.terminate([machine.instanceId]);
    return;
  }
  const applied = await applyRow(
    run.deps,
    build,
    { type: 'did-not-shut-down', instanceId: machine.instanceId },
    run.log.child({ buildId: build.BuildID }),
    run.now,
  );
  if (applied.outcome !== 'changed') return;
  await stray(run, machine, applied.build, 'did-not-shut-down', told);
}

/** Every run that still sees it live orders it ended (TerminateInstances is idempotent); the telling phase decides who tells. */
async function stray(run: WatchdogRun, machine: Machine, build: Build | undefined, reason: StrayReason, told: ToTell): Promise<void> {
  const buildId = build?.BuildID ?? machine.tags.BuildID;
  run.log.warn('terminating a machine nothing accounts for', {
    ...(buildId ? { buildId } : {}),
    instanceId: machine.instanceId,
    reason,
    status: build?.Status ?? 'missing',
  });
  await run.deps.compute.terminate([machine.instanceId]);
  told.strays.push({ machine, build, reason });
}

// ---- deadline schedules -------------------------------------------------------------------

/**
 * docs/design.md "Deadlines": a running build whose schedule is missing (a launch that crashed
 * after its record) or stale (a `Build Extended` that was never delivered) gets it set; a
 * schedule whose machine is gone is deleted. One ListSchedules per run; a record is read only
 * for a schedule no active build accounts for.
 */
async function repairDeadlines(run: WatchdogRun, snap: Snapshot, active: readonly Build[]): Promise<void> {
  const { deps } = run;
  const listed = await run.step('list deadline schedules', undefined, () => deps.deadlines.list());
  if (!listed) return;
  const scheduled = new Set(listed);
  const activeIds = new Set(active.map((b) => b.BuildID));

  await run.each(
    active.flatMap((build) => {
      const wanted = wantedSchedule(build, deps.config);
      return wanted && !(scheduled.has(build.BuildID) && build.ScheduleAt === wanted.at) ? [{ build, wanted }] : [];
    }),
    ({ build, wanted }) =>
      run.step('repair deadline schedule', build.BuildID, async () => {
        const log = run.log.child({ buildId: build.BuildID });
        log.warn(scheduled.has(build.BuildID) ? 'deadline schedule is stale; moving it' : 'deadline schedule is missing; setting it', {
          scheduleAt: build.ScheduleAt,
          wanted: wanted.at,
        });
        await keepDeadline(deps, build, log);
      }),
  );

  await run.each(
    listed.filter((buildId) => !activeIds.has(buildId)),
    (buildId) =>
      run.step('remove left-over deadline schedule', buildId, async () => {
        // Read again: the build may have been approved and launched after the active builds were read.
        const build = await deps.store.get(buildId);
        // A finished build's machine may still be powering off: its schedule stays until EC2 says
        // it is gone, by its state change (TerminatedAt) or by no longer listing it (a lost event).
        const gone = build !== undefined && snap.ec2View(buildId, build)?.liveMachine === false;
        if (build && !(isFinal(build.Status) && (build.TerminatedAt || gone))) return;
        run.log.warn('deadline schedule without a live machine; removing it', { buildId, status: build?.Status ?? 'missing' });
        await deps.deadlines.remove(buildId);
      }),
  );
}

// ---- slots --------------------------------------------------------------------------------

/**
 * Concurrency slots whose build is not active (a crash between the bot's two approval writes, a
 * lost EC2 event, a build cancelled while its launch ran) are given back, decided by
 * domain/slot-holding on a consistent read of the build and EC2's machine list: a finished build
 * whose machine is still live keeps it until the machine is gone. A final build's cost is counted
 * on the way; the slot goes whether or not the count lands (docs/design.md "Spend control").
 */
async function reconcileSlots(run: WatchdogRun, snap: Snapshot, slots: readonly string[], activeIds: ReadonlySet<string>): Promise<void> {
  // The index may be behind; it is only trusted to keep a slot, never to free one.
  for (const buildId of slots.filter((id) => !activeIds.has(id))) {
    await run.step('slot reconciliation', buildId, async () => {
      let build = await run.deps.store.get(buildId);
      const view = snap.ec2View(buildId, build);
      // recordLostEnd counts as it records; neither count keeps the slot when it fails.
      if (build && machineEndUnrecorded(build, view)) build = await recordLostEnd(run, snap, build);
      else if (build) await countOrLeave(run, build);
      if (!slotMayBeGivenBack(build, run.now, view)) return;
      await freeSlot(run.deps, buildId, dequeueBy(run.deps, run.log, true), run.log.child({ buildId }));
      run.log.warn('released a slot whose build is not active', { buildId, status: build?.Status ?? 'missing' });
    });
  }
}

/**
 * The machine's end as the watchdog saw it: gone at the listing. The time is an upper bound (the
 * machine ended since the previous run, or since the build's end), so the cost errs high by at
 * most the watchdog's minute. A late EC2 event finds TerminatedAt set and changes nothing. Not a
 * status change anyone is told of: the build was final and told already.
 */
async function recordLostEnd(run: WatchdogRun, snap: Snapshot, build: Build): Promise<Build> {
  const at = snap.listedAt.toISOString();
  const actualCost = costOf(build, run.deps.config, at);
  const event = { type: 'instance-state', state: 'terminated', at, ...(actualCost !== undefined ? { actualCost } : {}) } as const;
  const log = run.log.child({ buildId: build.BuildID });
  // The row's effects free the slot, drop the schedule and count, as for EC2's own event: the slot
  // first, so a count that fails (a failed step, thrown) keeps nothing; the catch-up counts it.
  const applied = await applyRow(run.deps, build, event, log, run.now);
  if (applied.outcome === 'changed')
    log.warn('EC2 never reported the machine gone; recorded its end from the machine list', { instanceId: build.InstanceID, at, actualCost });
  return applied.outcome === 'missing' ? build : applied.build;
}

/**
 * A count that fails is a failed step of this run (logged, alarmed) but never keeps a slot: the
 * build's hold keeps its money in the month's figures, and the month's books count it next run.
 */
async function countOrLeave(run: WatchdogRun, build: Build): Promise<void> {
  await run.step('count final cost', build.BuildID, () => countFinalCost(run.deps, build, run.log.child({ buildId: build.BuildID })));
}

// ---- volumes ------------------------------------------------------------------------------

/**
 * Disks of this stack's launches that no machine uses (a launch template or an operator set
 * DeleteOnTermination off, or a detach): 500 GB of gp3 costs about $40 a month for nothing. The
 * root volume is `available` only once its machine is gone, so after a grace that covers EC2's
 * own detach-and-delete at termination it is deleted. Only volumes carrying the stack's launch
 * tags are ever listed, and the role may delete only those (infra/build-machine.ts).
 */
async function deleteLooseVolumes(run: WatchdogRun): Promise<void> {
  const volumes = await run.step('list loose volumes', undefined, () => run.deps.compute.looseVolumes());
  for (const volume of volumes ?? []) {
    if (ageMs(volume.createTime, run.now) < LOOSE_VOLUME_GRACE_MINUTES * 60_000) continue;
    const buildId = volume.tags.BuildID;
    await run.step('delete loose volume', buildId, async () => {
      await run.deps.compute.deleteVolume(volume.volumeId);
      run.log.warn('deleted a volume no machine uses', {
        ...(buildId ? { buildId } : {}),
        volumeId: volume.volumeId,
        sizeGb: volume.sizeGb,
        createTime: volume.createTime,
      });
    });
  }
}
