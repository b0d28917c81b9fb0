import type { Build } from '../domain/build';
import { instanceTypeOf } from '../domain/build-facts';
import type { Config } from '../domain/config';
import type { ExpectedDuration } from '../domain/expected-duration';
import { expectedDuration } from '../domain/expected-duration';
import type { BuildLogs, DurationHistory, LogLine, Logger } from '../domain/ports';
import { LOG_READ_TIMEOUT_MS, WARNING_LOG_LINES, newestLogLines } from './log-lines';

// What the warning says of how far the build got beyond its record (docs/design.md "Slack
// contract"): the log's newest lines and this type's history, read side by side, best effort.
// The watchdog's telling phase reads them for the post, the bot for the re-render after an Extend.

export interface WarningFacts {
  logLines?: LogLine[];
  expected?: ExpectedDuration;
}

export async function warningFacts(
  deps: { buildLogs: BuildLogs; durations: DurationHistory; config: Config; log: Logger },
  build: Build,
  timeoutMs = LOG_READ_TIMEOUT_MS,
): Promise<WarningFacts> {
  const [logLines, expected] = await Promise.all([newestLogLines(deps, build, WARNING_LOG_LINES, timeoutMs), typeHistory(deps, build)]);
  return { ...(logLines !== undefined && { logLines }), ...(expected !== undefined && { expected }) };
}

/** The expected duration from the type's history; undefined when it cannot be read (logged) or is too short to say. */
async function typeHistory(deps: { durations: DurationHistory; config: Config; log: Logger }, build: Build): Promise<ExpectedDuration | undefined> {
  try {
    const expected = expectedDuration(await deps.durations.recent(instanceTypeOf(build, deps.config)), deps.config.expectedBuildHours);
    return expected.fromBuilds > 0 ? expected : undefined;
  } catch (error) {
    deps.log.warn('could not read the type history; the warning goes without the expected time', { buildId: build.BuildID, error });
    return undefined;
  }
}
