import { scheduledEntry } from './entry';
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

// The input (EventBridge's Scheduled Event) carries nothing the watchdog needs.
export const { createHandler, handler } = scheduledEntry('watchdog', async (deps, log, context) => {
  const run = new WatchdogRun(deps, deps.clock.now(), log);
  const snapshot = await readSnapshot(run);
  const toTell = await keepSafe(run, snapshot);
  await keepMonthBooks(run, snapshot);
  const timeLeftMs = context?.getRemainingTimeInMillis;
  await tellPeople(run, snapshot, toTell, timeLeftMs && (() => timeLeftMs.call(context)));

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
});
