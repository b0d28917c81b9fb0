import type { Build, Status } from '../domain/build';
import { isFinal } from '../domain/build';
import type { Chat, Claims, Logger } from '../domain/ports';
import { directMessageText, theirOwnDoing } from '../views/direct-message';
import type { ViewContext } from '../views/status-text';
import { sendOnce } from './send-once';
import { requestedByGithub } from '../views/requester';

// The requester hears of the warning and the end of their build in a direct message too. Each
// key is claimed on the record before it is sent (DirectMessages) and given back when sending
// fails: at most once per key, and again only after a failure. NOTIFY_REQUESTER_DM=false turns
// it off.

export interface DirectMessageDeps {
  claims: Claims;
  chat: Chat;
  log: Logger;
}

/** Send the requester the DM for `key` (the warning, or the build's final status) once. Never throws. */
export async function tellRequester(deps: DirectMessageDeps, build: Build, key: 'warning' | Status, ctx: ViewContext): Promise<void> {
  // GitHub is no Slack user: nobody to message (docs/design.md "Builds requested by GitHub").
  if (!ctx.config.notifyRequesterDm || requestedByGithub(build)) return;
  if (key !== 'warning' && (!isFinal(key) || theirOwnDoing({ ...build, Status: key }))) return;
  const log = deps.log.child({ buildId: build.BuildID, directMessage: key });
  const send = async () => {
    const permalink = await deps.chat.permalink(build.Channel, build.ThreadTs);
    await deps.chat.post({ channel: build.Requester, text: directMessageText(build, key, ctx, permalink) });
  };
  try {
    await sendOnce(deps.claims, { kind: 'direct-message', buildId: build.BuildID, message: key }, ctx.now, send, {
      onFailure: (error) => log.warn('direct message to the requester failed; given back for a later try', { error }),
      onGiveBackError: (error) => log.warn('could not give the direct message back', { error }),
    });
  } catch (error) {
    // Only the claim throws here: sending and giving back are handled above.
    log.warn('could not claim the direct message; not sent', { error });
  }
}
