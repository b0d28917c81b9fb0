import type { Build } from '../../domain/build';
import { isRunning } from '../../domain/build';
import type { Logger, Machine } from '../../domain/ports';
import type { Ec2View } from '../../domain/slot-holding';
import { isPermanentChatError } from '../../adapters/slack/permanent-chat-error';
import type { EventDeps } from '../deps';

// One watchdog run: the world as read at its start (one immutable snapshot that both phases
// decide from), and the steps that failed. A step that fails is logged with its BuildID and the
// run goes on; every rule is derived from the current state of EC2 and the table, so the next
// minute's run is the retry.

/**
 * Builds (and machines) worked on at once in a run: each is its own build's conditional writes,
 * so order between builds does not matter, and hundreds of builds fit well inside the minute
 * (`npm run bench`, latency model).
 */
export const CHECKS_IN_FLIGHT = 8;

export interface StepFailure {
  step: string;
  buildId?: string;
  error: unknown;
}

/** A Slack call the telling phase did not make: Slack refused or failed earlier in this run, or the run's time is up. */
export class DeferredToNextRun extends Error {
  constructor(readonly method: string) {
    super(`Slack ${method} left to the next watchdog run`);
    this.name = 'DeferredToNextRun';
  }
}

export class WatchdogRun {
  readonly failures: StepFailure[] = [];
  /** Steps whose Slack call was left to the next run (DeferredToNextRun). */
  deferred = 0;

  constructor(
    readonly deps: EventDeps,
    readonly now: Date,
    readonly log: Logger,
  ) {}

  async step<T>(step: string, buildId: string | undefined, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof DeferredToNextRun) {
        this.deferred++;
        return undefined;
      }
      const fields = { ...(buildId ? { buildId } : {}), step, error };
      if (isPermanentChatError(error)) {
        // Slack will refuse this again next minute too; an alarm every minute would not help.
        this.log.error('watchdog step failed; Slack refused for good', fields);
        return undefined;
      }
      this.log.error('watchdog step failed', fields);
      this.failures.push({ step, ...(buildId ? { buildId } : {}), error });
      return undefined;
    }
  }

  /** `work` for every item, at most CHECKS_IN_FLIGHT at a time; `work` must not throw (wrap it in `step`). */
  async each<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < items.length) await work(items[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(CHECKS_IN_FLIGHT, items.length) }, lane));
  }
}

export class WatchdogError extends Error {
  constructor(readonly failures: StepFailure[]) {
    super(`watchdog: ${failures.length} step(s) failed: ` + failures.map((f) => `${f.step}${f.buildId ? ` (${f.buildId})` : ''}`).join(', '));
    this.name = 'WatchdogError';
  }
}

/** A live tagged machine that is not the machine of a running build, with the record it names. */
export interface Unaccounted {
  machine: Machine;
  /** By its BuildID tag (a record read), else by InstanceIndex; undefined: no record. */
  owner: Build | undefined;
}

export interface Snapshot {
  /** `#slots`, read before the active builds (a build approved in between then shows as active). */
  slots: readonly string[] | undefined;
  /** When DescribeInstances was asked: a machine launched before this and not listed is gone. */
  listedAt: Date;
  /** The live tagged machines; undefined when EC2 could not be read (no machine rule runs). */
  machines: readonly Machine[] | undefined;
  active: readonly Build[] | undefined;
  /** Each running build's own machine (its InstanceID) as listed, computed once. */
  liveMachineOf(build: Build): Machine | undefined;
  /** EC2's word on all machines of a build (by tag or InstanceID); undefined without the list. */
  ec2View(buildId: string, build: Build | undefined): Ec2View | undefined;
  unaccounted: readonly Unaccounted[];
}

/** Slots, then the machine list, then the active builds; then the owner of each machine no running build accounts for. */
export async function readSnapshot(run: WatchdogRun): Promise<Snapshot> {
  const { store, compute } = run.deps;
  const slots = await run.step('read slots', undefined, () => store.slots());
  const listedAt = run.deps.clock.now();
  const machines = await run.step('list machines', undefined, () => compute.listTagged());
  const active = await run.step('read active builds', undefined, () => store.active());

  const byInstance = new Map((machines ?? []).map((m) => [m.instanceId, m]));
  const liveMachineOf = (build: Build) => (build.InstanceID ? byInstance.get(build.InstanceID) : undefined);
  const accounted = new Set((active ?? []).filter((b) => isRunning(b.Status)).flatMap((b) => liveMachineOf(b)?.instanceId ?? []));
  const activeById = new Map((active ?? []).map((b) => [b.BuildID, b]));

  const unaccounted: Unaccounted[] = [];
  await run.each(
    (machines ?? []).filter((m) => !accounted.has(m.instanceId)),
    (machine) =>
      // A machine whose owner could not be read is left for the next run: unknown is not "no record".
      run.step('read machine owner', machine.tags.BuildID, async () => {
        const tagged = machine.tags.BuildID;
        const owner = tagged ? (activeById.get(tagged) ?? (await store.get(tagged))) : await store.findByInstance(machine.instanceId);
        unaccounted.push({ machine, owner });
      }),
  );

  return {
    slots,
    listedAt,
    machines,
    active,
    liveMachineOf,
    ec2View(buildId, build) {
      if (machines === undefined) return undefined;
      const liveMachine = machines.some((m) => m.tags.BuildID === buildId || (build?.InstanceID !== undefined && m.instanceId === build.InstanceID));
      return { listedAt, liveMachine };
    },
    unaccounted,
  };
}
