import type { ViewContext } from '../views/status-text';
import { buildList, statusDetails } from '../views/status-reply';
import type { BotDeps } from './deps';
import * as replies from '../views/replies';

// `/metal-build status [id]` and `list`: answers for the person who asked (ack body), read from
// StatusIndex (adapters/aws/dynamo-store), never a Scan; the texts are views/status-reply.ts.

export const RECENT_LIMIT = 10;

export async function showStatus(deps: BotDeps, buildId?: string): Promise<string> {
  const ctx: ViewContext = { config: deps.config, now: deps.clock.now() };
  if (buildId !== undefined) {
    const build = await deps.store.get(buildId);
    if (!build) return replies.noBuild(buildId);
    return statusDetails(build, { ...ctx, ...(build.Status === 'queued' ? { queue: (await deps.store.slotSet()).queue } : {}) });
  }
  const active = await deps.store.active();
  if (active.length === 0) return replies.noActiveBuilds();
  // Queued builds say their place: one more read, only when some wait.
  const queue = active.some((b) => b.Status === 'queued') ? (await deps.store.slotSet()).queue : undefined;
  return buildList(`*Active builds* (${active.length})`, active, { ...ctx, ...(queue ? { queue } : {}) });
}

export async function listBuilds(deps: BotDeps): Promise<string> {
  const ctx: ViewContext = { config: deps.config, now: deps.clock.now() };
  const recent = await deps.store.recent(RECENT_LIMIT);
  if (recent.length === 0) return replies.noBuildsYet();
  return buildList('*Recent builds* (newest first)', recent, ctx);
}
