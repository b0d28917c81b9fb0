import { FINAL_STATUSES } from '../../domain/build';
import { finalSince } from '../../domain/slot-holding';
import { tell } from '../effects';
import { resendStaleMail } from '../mail';
import type { WatchdogRun } from './run';

// Final builds whose thread message never went out (NotifiedStatus behind): the bot logs a
// Slack failure and moves on, the watchdog's own changes have no redelivery, and an event
// handler's retries can run out. The newest few builds of each final status are checked, so the
// cost does not grow with history.

/** How many of the newest builds per final status are looked at. */
export const CATCH_UP_PER_STATUS = 5;
/** Leave the handler that made the change time to tell the thread itself (no double message). */
export const CATCH_UP_AFTER_MS = 2 * 60_000;
/** Beyond this, a lost message is left lost. */
export const CATCH_UP_WITHIN_MS = 24 * 3600_000;
/**
 * Only builds created this recently are read. A build is final within hours of its creation
 * (approval TTL, then the machine's limit and extensions, which the watchdog enforces), so two
 * days cover the 24-hour window with a day to spare, and the read stays the same size however
 * long the history grows (`npm run bench` checks it at 10 and 10,000 builds).
 */
export const CATCH_UP_CREATED_WITHIN_MS = 2 * CATCH_UP_WITHIN_MS;

export async function catchUp(run: WatchdogRun): Promise<void> {
  const { deps, now } = run;
  const createdSince = new Date(now.getTime() - CATCH_UP_CREATED_WITHIN_MS).toISOString();
  for (const status of FINAL_STATUSES) {
    const builds = await run.step('catch-up query', undefined, () => deps.store.byStatus(status, { limit: CATCH_UP_PER_STATUS, createdSince }));
    for (const build of builds ?? []) {
      if (build.MailClaim !== undefined)
        await run.step('stale notice', build.BuildID, () => resendStaleMail(deps, build, run.log.child({ buildId: build.BuildID })));
      if (build.NotifiedStatus === build.Status) continue;
      const since = finalSince(build);
      if (since === undefined) continue;
      const age = now.getTime() - since;
      if (age < CATCH_UP_AFTER_MS || age > CATCH_UP_WITHIN_MS) continue;
      await run.step('catch-up message', build.BuildID, async () => {
        run.log.info('telling the thread a status it missed', { buildId: build.BuildID, status: build.Status, notified: build.NotifiedStatus });
        // The mail is sent once whoever asks (events/mail.ts): the change's own handler sent or claimed it.
        await tell(deps, build, { sns: true }, run.log.child({ buildId: build.BuildID }));
      });
    }
  }
}
