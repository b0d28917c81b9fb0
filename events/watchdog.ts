import type { EventDeps } from './deps';
import { loadEventDeps } from './deps';
import { keepSafe } from './watchdog/safety';
import { WatchdogError, WatchdogRun, readSnapshot } from './watchdog/snapshot';
import { tellPeople } from './watchdog/telling';
import { keepMonthBooks } from './watchdog/month-books';

// rate(1 minute). EC2 is the ground truth: the live tagged machines (paginated
// DescribeInstances) are joined with the active builds (StatusIndex queries, never a Scan), and
// each machine nobody accounts for costs one record read. Every rule is a conditional write
// derived from what is there now, so runs may overlap or repeat without acting twice.
//
// A run is two phases over one snapshot (docs/design.md "Safety before bookkeeping"): first
// everything that stops or limits spending, with no Slack call (watchdog/safety.ts); then the
// telling, whose Slack calls give up at once when Slack throttles or is down and stop before the
// Lambda's time does (watchdog/telling.ts). Each step's failure is logged with its BuildID and
// the others still run; if any failed, the run throws at the end (an alarm), and the next
// minute's run retries every rule anyway.

/** What the watchdog reads of its Lambda context: how long it may still run. */
export interface WatchdogContext {
  getRemainingTimeInMillis(): number;
}

export function createHandler(deps: EventDeps) {
  // The input (EventBridge's Scheduled Event) carries nothing the watchdog needs.
  return async function watchdog(_event?: unknown, context?: WatchdogContext): Promise<void> {
    const run = new WatchdogRun(deps, deps.clock.now(), deps.log.child({ handler: 'watchdog' }));
    const snapshot = await readSnapshot(run);
    const toTell = await keepSafe(run, snapshot);
    await keepMonthBooks(run, snapshot);
    await tellPeople(run, snapshot, toTell, context && (() => context.getRemainingTimeInMillis()));

    run.log.info('watchdog run done', {
      machines: snapshot.machines?.length,
      activeBuilds: snapshot.active?.length,
      slots: snapshot.slots?.length,
      ended: toTell.ended.length,
      strays: toTell.strays.length,
      deferred: run.deferred,
      failures: run.failures.length,
    });
    if (run.failures.length > 0) throw new WatchdogError(run.failures);
  };
}

export async function handler(event: unknown, context: WatchdogContext): Promise<void> {
  await createHandler(await loadEventDeps())(event, context);
}
