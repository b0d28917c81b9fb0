import type { Build } from '../domain/build';
import type { Machine } from '../domain/ports';
import { isRunning } from '../domain/build';
import type { EventDeps } from './deps';
import { loadEventDeps } from './deps';
import { checkBuild } from './watchdog/builds';
import { catchUp } from './watchdog/catch-up';
import { checkMachine, ownerOf } from './watchdog/machines';
import { WatchdogError, WatchdogRun } from './watchdog/run';
import { reconcileSlots } from './watchdog/slots';
import { forEachBounded } from './watchdog/bounded-parallel';
import { resendStaleMail } from './mail';
import { repairDeadlines } from './watchdog/deadlines';
import { deleteLooseVolumes } from './watchdog/volumes';

// rate(1 minute). EC2 is the ground truth: the live tagged machines (paginated
// DescribeInstances) are joined with the active builds (StatusIndex queries, never a Scan), and
// each machine nobody accounts for costs one record read. Every rule is a conditional write
// derived from what is there now, so runs may overlap or repeat without acting twice.
//
// Each step's failure is logged with its BuildID and the others still run. If any step failed,
// the run throws at the end: the invocation counts as an error (alarm), and the next minute's
// run retries every rule anyway.

/**
 * Builds (and machines) checked at once in a run: each check is its own build's conditional
 * writes and Slack calls, so order between builds does not matter, and 300 running builds with
 * their redraws fit well inside the minute (`npm run bench`, latency model).
 */
export const CHECKS_IN_FLIGHT = 8;

export function createHandler(deps: EventDeps) {
  // The input (EventBridge's Scheduled Event) carries nothing the watchdog needs.
  return async function watchdog(_event?: unknown): Promise<void> {
    const run = new WatchdogRun(deps, deps.clock.now(), deps.log.child({ handler: 'watchdog' }));
    const { store, compute } = deps;

    // Slots before the active builds (see watchdog-slots.ts).
    const slots = await run.step('read slots', undefined, () => store.slots());
    run.listedAt = deps.clock.now();
    run.machines = await run.step('list machines', undefined, () => compute.listTagged());
    const active = await run.step('read active builds', undefined, () => store.active());

    const activeById = new Map<string, Build>((active ?? []).map((b) => [b.BuildID, b]));
    const unaccounted = await checkBuilds(run, active ?? []);
    await forEachBounded(unaccounted, CHECKS_IN_FLIGHT, (machine) =>
      run.step('check machine', machine.tags.BuildID, async () => {
        await checkMachine(run, machine, await ownerOf(run, machine, activeById));
      }),
    );
    for (const build of active ?? []) {
      if (build.MailClaim === undefined) continue;
      await run.step('stale notice', build.BuildID, () => resendStaleMail(run.deps, build, run.log.child({ buildId: build.BuildID })));
    }
    if (active) await repairDeadlines(run, active);
    await deleteLooseVolumes(run);
    if (slots && active) await reconcileSlots(run, slots, new Set(activeById.keys()));
    await catchUp(run);

    run.log.info('watchdog run done', {
      machines: run.machines?.length,
      activeBuilds: active?.length,
      slots: slots?.length,
      failures: run.failures.length,
    });
    if (run.failures.length > 0) throw new WatchdogError(run.failures);
  };
}

/** The rows for each active build; returns the listed machines that are no running build's own. */
async function checkBuilds(run: WatchdogRun, active: readonly Build[]): Promise<Machine[]> {
  const machines = run.machines ?? [];
  const machineOf = new Map(machines.map((m) => [m.instanceId, m]));
  const ownMachineOf = (build: Build) => (build.InstanceID ? machineOf.get(build.InstanceID) : undefined);
  const accounted = new Set(active.filter((b) => isRunning(b.Status)).flatMap((b) => ownMachineOf(b)?.instanceId ?? []));
  await forEachBounded(active, CHECKS_IN_FLIGHT, (build) =>
    run.step(`check ${build.Status} build`, build.BuildID, () => checkBuild(run, build, ownMachineOf(build))),
  );
  return machines.filter((m) => !accounted.has(m.instanceId));
}

export async function handler(event: unknown, _context: unknown): Promise<void> {
  await createHandler(await loadEventDeps())(event);
}
