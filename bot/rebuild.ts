import type { Build } from '../domain/build';
import { isRebuildable } from '../domain/build';
import { buildCard } from '../views/card';
import type { BotDeps } from './deps';
import * as replies from '../views/replies';
import { openRequest } from './request';
import { choiceProblem } from '../domain/build-choice';
import { isSelftest } from '../domain/build-kind';
import { selftestNotRebuilt } from '../views/selftest';

// `/metal-build rebuild <build-id>` and the Rebuild button on a failed, terminated or cancelled
// card: a new request for the same branch at the commit that was asked for (the branch head
// when none was), with the same type and limit, through the same approval as any other. The commit the earlier machine
// reported is the untrusted machine's word: shown on the new card as such, never the pin.
//
// Once per earlier build: the claim `#request#rebuild-<BuildID>` makes a double tap, a Slack
// retry or two people at once open one request; the earlier card then says "Rebuilt as …" and
// loses its button. Who may rebuild is who may request: the channel rule of a request.

export interface RebuildRequest {
  user: string;
  /** Where the command was typed or the button clicked; the earlier card's channel when Slack gave none. */
  channel?: string;
  buildId: string;
}

export async function rebuildBuild(deps: BotDeps, request: RebuildRequest): Promise<string> {
  const log = deps.log.child({ buildId: request.buildId });
  const earlier = await deps.store.get(request.buildId);
  if (!earlier) return replies.noBuild(request.buildId);
  if (isSelftest(earlier)) return selftestNotRebuilt(earlier.BuildID);
  if (!isRebuildable(earlier.Status)) return replies.notRebuildable(earlier);
  if (earlier.RebuiltAs) return replies.alreadyRebuilt(earlier.BuildID, earlier.RebuiltAs, await deps.store.get(earlier.RebuiltAs));
  // The same machine and limit as before, unless the settings no longer allow them.
  const choice = {
    ...(earlier.RequestedType !== undefined ? { type: earlier.RequestedType } : {}),
    ...(earlier.LimitHours !== undefined ? { hours: earlier.LimitHours } : {}),
  };
  const problem = choiceProblem(deps.config, choice);
  if (problem) return replies.choiceNoLongerAllowed(earlier, problem);

  const link = await deps.chat.permalink(earlier.Channel, earlier.ThreadTs).catch((error: unknown) => {
    log.warn('no link to the earlier thread; the rebuild card names it only', { error });
    return undefined;
  });
  const opened = await openRequest(
    deps,
    {
      user: request.user,
      channel: request.channel ?? earlier.Channel,
      branch: earlier.BuildBranch,
      ...(earlier.BuildCommit ? { commit: earlier.BuildCommit } : {}),
      choice,
    },
    {
      claimKey: `rebuild-${earlier.BuildID}`,
      claimedBy: (later, build) => replies.alreadyRebuilt(earlier.BuildID, later, build),
      fields: {
        RebuildOf: earlier.BuildID,
        ...(link ? { RebuildOfLink: link } : {}),
        ...(!earlier.BuildCommit && earlier.ActualCommit ? { RebuildOfReportedCommit: earlier.ActualCommit } : {}),
      },
    },
  );
  if (opened.buildId) await markRebuilt(deps, earlier, opened.buildId);
  return opened.reply;
}

/**
 * The earlier card says where its rebuild went and drops the button. Not a status change (the
 * earlier build stays final), so no row of the status table; best effort: the claim already
 * refuses a second rebuild with the same answer if this write or the redraw is lost.
 */
async function markRebuilt(deps: BotDeps, earlier: Build, laterId: string): Promise<void> {
  const log = deps.log.child({ buildId: earlier.BuildID });
  try {
    const written = await deps.store.update(earlier.BuildID, { status: [earlier.Status], absent: ['RebuiltAs'] }, { RebuiltAs: laterId });
    if (!written.ok) return;
    await deps.chat.update({ channel: earlier.Channel, ts: earlier.ThreadTs, ...buildCard(written.build, { config: deps.config, now: deps.clock.now() }) });
    log.info('build rebuilt', { rebuiltAs: laterId });
  } catch (error) {
    log.warn('could not mark the earlier card as rebuilt', { error, rebuiltAs: laterId });
  }
}
