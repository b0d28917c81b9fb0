import { applyEvent } from '../../domain/apply';
import type { Build } from '../../domain/build';
import { didNotShutDown, isOrphan, lifeStart, outlivedTermination } from '../../domain/lifetime';
import type { Machine } from '../../domain/ports';
import type { StrayMachineWhy } from '../../views/stray-machine-note';
import { strayMachineNote } from '../../views/stray-machine-note';
import type { StrayReason } from '../../views/notifications';
import { strayMachineNotice } from '../../views/notifications';
import type { WatchdogRun } from './run';

// The watchdog's rules for tagged machines that are not the machine of a running build: EC2 is
// the ground truth, so a machine nobody accounts for is found here even when every event about
// it was lost. Orphans (no record, a final record, or a second machine of a build) and machines
// of finished builds that did not power off are terminated.

/** The build a machine belongs to: by its BuildID tag (a record read), else by InstanceIndex. */
export async function ownerOf(run: WatchdogRun, machine: Machine, active: ReadonlyMap<string, Build>): Promise<Build | undefined> {
  const tagged = machine.tags.BuildID;
  if (tagged) return active.get(tagged) ?? (await run.deps.store.get(tagged));
  return run.deps.store.findByInstance(machine.instanceId);
}

export async function checkMachine(run: WatchdogRun, machine: Machine, build: Build | undefined): Promise<void> {
  const { now } = run;
  if (build && (build.Status === 'completed' || build.Status === 'failed')) {
    if (!didNotShutDown(build, now)) return;
    if (build.InstanceID === machine.instanceId) await leftover(run, machine, build);
    else await stray(run, machine, build, 'orphan');
    return;
  }
  if (build && outlivedTermination(build, machine.instanceId, now)) {
    // Already ordered ended, still listed as live: the earlier TerminateInstances failed. No
    // orphan grace for a machine past its limit or cancelled: terminate it at this run.
    await stray(run, machine, build, 'orphan');
    return;
  }
  // With a record, not EC2's LaunchTime alone: a stop and start must not restart the grace.
  if (isOrphan(build, lifeStart(build, machine), now, machine.instanceId)) await stray(run, machine, build, 'orphan');
}

/**
 * A finished build's machine still up: recorded once as TerminationReason did-not-shut-down
 * (no status change), conditionally, so of two overlapping runs one tells. If it is still
 * listed on a later run, the earlier termination did not take: terminate again, quietly.
 */
async function leftover(run: WatchdogRun, machine: Machine, build: Build): Promise<void> {
  const { deps } = run;
  const log = run.log.child({ buildId: build.BuildID });
  if (build.TerminationReason) {
    log.warn('machine of a finished build still up after an earlier termination; terminating again', {
      instanceId: machine.instanceId,
      reason: build.TerminationReason,
    });
    await deps.compute.terminate([machine.instanceId]);
    return;
  }
  const applied = await applyEvent(deps.store, build, { type: 'did-not-shut-down', instanceId: machine.instanceId }, run.now);
  if (applied.outcome !== 'changed') return;
  await stray(run, machine, applied.build, 'did-not-shut-down');
}

/** Terminate first (what matters), then tell the operators and, when there is one, the thread. */
async function stray(run: WatchdogRun, machine: Machine, build: Build | undefined, reason: StrayReason): Promise<void> {
  const { deps, now } = run;
  const buildId = build?.BuildID ?? machine.tags.BuildID;
  run.log.warn('terminating a machine nothing accounts for', {
    ...(buildId ? { buildId } : {}),
    instanceId: machine.instanceId,
    reason,
    status: build?.Status ?? 'missing',
  });
  // Every run that still sees it live orders it ended (TerminateInstances is idempotent); of
  // the runs that do, one tells (the marker), however many overlap.
  await deps.compute.terminate([machine.instanceId]);
  const marker = await deps.store.markStray(machine.instanceId, now);
  if (!marker.first) {
    run.log.info('stray machine already told about', { ...(buildId ? { buildId } : {}), instanceId: machine.instanceId, since: marker.since });
    return;
  }
  try {
    await deps.notifier.notify(strayMachineNotice(machine, build, reason, { config: deps.config, now }));
  } catch (error) {
    // Given back, so the next run tells (the machine is already ordered ended).
    await deps.store.releaseStray(machine.instanceId).catch(() => undefined);
    throw error;
  }
  if (!build) return;
  await run.step('stray machine thread note', build.BuildID, async () => {
    await deps.chat.post({ channel: build.Channel, threadTs: build.ThreadTs, text: strayMachineNote(machine, strayWhy(machine, build, reason)) });
  });
}

/** Which of the watchdog's rules ended the machine, in the terms the thread is told. */
function strayWhy(machine: Machine, build: Build, reason: StrayReason): StrayMachineWhy {
  if (reason === 'did-not-shut-down') return { kind: 'did-not-shut-down' };
  if (build.InstanceID && build.InstanceID !== machine.instanceId) return { kind: 'second-machine', buildMachineId: build.InstanceID };
  if (build.TerminationReason === 'forced' || build.TerminationReason === 'cancelled') return { kind: 'termination-did-not-take', status: build.Status };
  return { kind: 'outlived-build', status: build.Status };
}
