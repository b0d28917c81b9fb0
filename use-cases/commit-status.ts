import type { Build } from '../domain/build';
import { STATUSES } from '../domain/build';
import type { Config } from '../domain/config';
import { commitStatusTarget, STATUS_CONTEXT } from '../domain/github';
import type { BuildStore, Chat, CommitStatuses, Logger } from '../domain/ports';
import { commitStatusText } from '../views/commit-status';

// The build's state on its commit in GitHub (docs/design.md "Builds requested by GitHub"): set by
// the events side on every delivery that finds it behind (the launch sets `pending`, never the
// bot), then recorded as GithubStatus, which only moves forward. Bookkeeping: a failure is logged
// and left to the build's next event or the watchdog's telling phase; it never changes the build.

export interface CommitStatusDeps {
  config: Pick<Config, 'githubRepository'>;
  store: BuildStore;
  chat: Pick<Chat, 'permalink'>;
  /** Absent without a status token: no status is set. */
  commitStatuses?: CommitStatuses;
}

/** Whether the build's commit is behind what it should show (the watchdog asks before it calls). */
export function commitStatusBehind(deps: Pick<CommitStatusDeps, 'config' | 'commitStatuses'>, build: Build): boolean {
  return deps.commitStatuses !== undefined && commitStatusTarget(build, deps.config) !== undefined;
}

/** Never throws: the build as it is, with GithubStatus when this call recorded one. */
export async function reportCommitStatus(deps: CommitStatusDeps, build: Build, log: Logger): Promise<Build> {
  const statuses = deps.commitStatuses;
  const target = statuses ? commitStatusTarget(build, deps.config) : undefined;
  if (!statuses || !target) return build;
  const link = await deps.chat.permalink(build.Channel, build.ThreadTs).catch((error: unknown) => {
    log.warn('no thread link for the commit status; set without it', { error });
    return undefined;
  });
  try {
    await statuses.set({
      ...target,
      description: commitStatusText(build, target.state),
      context: STATUS_CONTEXT,
      ...(link !== undefined && { targetUrl: link }),
    });
  } catch (error) {
    log.warn('commit status not set; the next event or the watchdog tries again', { state: target.state, sha: target.sha, error });
    return build;
  }
  // Only forward: from nothing, or from pending to a final state, whatever the build's Status is now.
  const guard =
    build.GithubStatus === undefined
      ? { status: STATUSES, absent: ['GithubStatus' as const] }
      : { status: STATUSES, equals: { GithubStatus: build.GithubStatus } };
  try {
    const written = await deps.store.update(build.BuildID, guard, { GithubStatus: target.state });
    if (written.ok) {
      log.info('commit status set', { state: target.state, sha: target.sha });
      return written.build;
    }
    log.info('commit status set; another handler recorded GithubStatus first', { state: target.state, stored: written.current?.GithubStatus });
  } catch (error) {
    log.warn('commit status set but not recorded; it may be set again', { state: target.state, error });
  }
  return build;
}
