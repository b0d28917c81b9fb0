import type { Logger, Machine } from '../../domain/ports';
import type { EventDeps } from '../deps';
import { isPermanentChatError } from '../../adapters/slack/permanent-chat-error';

// One watchdog run: the world as read at its start, and the steps that failed. A step that
// fails is logged with its BuildID and the run goes on; every rule is derived from the current
// state of EC2 and the table, so the next minute's run is the retry.

export interface StepFailure {
  step: string;
  buildId?: string;
  error: unknown;
}

export class WatchdogRun {
  readonly failures: StepFailure[] = [];

  constructor(
    readonly deps: EventDeps,
    readonly now: Date,
    readonly log: Logger,
    /** The live tagged machines; undefined when EC2 could not be read (machine rules are skipped). */
    public machines: Machine[] | undefined = undefined,
  ) {}

  /** When the machine list was asked for: a machine launched before this and not listed is gone. */
  listedAt: Date | undefined;

  async step<T>(step: string, buildId: string | undefined, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
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
}

export class WatchdogError extends Error {
  constructor(readonly failures: StepFailure[]) {
    super(`watchdog: ${failures.length} step(s) failed: ` + failures.map((f) => `${f.step}${f.buildId ? ` (${f.buildId})` : ''}`).join(', '));
    this.name = 'WatchdogError';
  }
}
