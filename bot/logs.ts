import { LOG_LINES_DEFAULT } from '../domain/command';
import type { BotDeps } from './deps';
import type { Click } from './interaction';
import { logReply, noLogYet } from '../views/log-reply';
import * as replies from '../views/replies';
import type { ViewContext } from '../views/status-text';

// `/metal-build logs <build-id> [lines]` and the Show log button: the newest lines of the build
// machine's CloudWatch log, for the person who asked alone. Who may read it is who may see the
// build's status (bot/app.ts checks the channel first, as for `status`); nothing is written.

export async function showLog(deps: BotDeps, buildId: string, lines: number): Promise<string> {
  const build = await deps.store.get(buildId);
  if (!build) return replies.noBuild(buildId);
  const ctx: ViewContext = { config: deps.config, now: deps.clock.now() };
  if (!build.InstanceID) return noLogYet(build, ctx);
  const read = await deps.buildLogs.newest(build.BuildID, build.InstanceID, lines);
  return read.length === 0 ? noLogYet(build, ctx) : logReply(build, read, build.InstanceID, ctx);
}

/** Show log: the button's value is the BuildID; as many lines as the command's default. */
export function showLogClick(deps: BotDeps, click: Click): Promise<string> {
  return showLog(deps, click.buildId, LOG_LINES_DEFAULT);
}
