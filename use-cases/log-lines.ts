import type { Build } from '../domain/build';
import type { BuildLogs, LogLine, Logger } from '../domain/ports';

// The newest lines of a build machine's log for a message about it (the warning, a forced or
// unexpected end): best effort. The message is what matters: a log that cannot be read in time
// leaves it without lines (logged with the BuildID), never delays or fails it.

/** The warning shows this many; a forced or unexpected end a few more. */
export const WARNING_LOG_LINES = 5;
export const END_LOG_LINES = 10;

/** How long a message waits for the log before it goes without. */
export const LOG_READ_TIMEOUT_MS = 3_000;

/** The lines, oldest first; [] for no log yet; undefined when the log could not be read. */
export async function newestLogLines(
  deps: { buildLogs: BuildLogs; log: Logger },
  build: Pick<Build, 'BuildID' | 'InstanceID'>,
  count: number,
  timeoutMs = LOG_READ_TIMEOUT_MS,
): Promise<LogLine[] | undefined> {
  if (!build.InstanceID) return [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([deps.buildLogs.newest(build.BuildID, build.InstanceID, count), timeout]);
  } catch (error) {
    deps.log.warn('could not read the build log; the message goes without its lines', { buildId: build.BuildID, error });
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
