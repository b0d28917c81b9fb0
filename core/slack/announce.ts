import type { Build } from '../build';
import type { BuildStore, Chat, Logger } from '../ports';
import type { ViewContext } from './build-facts';
import type { CardContext } from './card';
import { buildCard } from './card';
import { threadMessage } from './thread';

// DESIGN.md "At least once per status change": post first, record NotifiedStatus after. A post
// that fails throws, so EventBridge redelivers; the transition is then a no-op, but
// NotifiedStatus is still behind and the message goes out on that delivery. A crash between
// the post and the record may post twice: at least once, never zero times.

export interface AnnounceDeps {
  store: BuildStore;
  chat: Chat;
  log: Logger;
}

/** Update the card in place. A failure is logged, never thrown: the thread carries the news. */
export async function refreshCard(deps: AnnounceDeps, build: Build, ctx: CardContext): Promise<void> {
  try {
    await deps.chat.update({ channel: build.Channel, ts: build.ThreadTs, ...buildCard(build, ctx) });
  } catch (error) {
    deps.log.warn('card update failed', { buildId: build.BuildID, status: build.Status, error });
  }
}

/** Tell the thread about the build's status unless that was already done; returns the stored build. */
export async function announce(deps: AnnounceDeps, build: Build, ctx: ViewContext): Promise<Build> {
  if (build.NotifiedStatus === build.Status) return build;
  const message = threadMessage(build, ctx);
  await deps.chat.post({
    channel: build.Channel,
    threadTs: build.ThreadTs,
    text: message.text,
    ...(message.blocks ? { blocks: message.blocks } : {}),
    broadcast: message.broadcast,
  });
  await refreshCard(deps, build, ctx);
  const result = await deps.store.update(build.BuildID, { status: [build.Status] }, { NotifiedStatus: build.Status });
  if (result.ok) return result.build;
  // The status moved on meanwhile; whoever moved it announces the new one.
  deps.log.info('status changed while announcing', {
    buildId: build.BuildID,
    announced: build.Status,
    current: result.current?.Status,
  });
  return result.current ?? build;
}
