import type { Build } from '../domain/build';
import { isFinal } from '../domain/build';
import type { Chat, Logger } from '../domain/ports';
import type { CardContext } from '../views/card';
import { buildCard } from '../views/card';
import type { ViewContext } from '../views/status-text';
import { warningEndedMessage } from '../views/thread';

// Redrawing what is already in the channel: the card, and the watchdog's warning once the build
// has ended. A failure is logged, never thrown: the thread carries the news.

export interface RedrawDeps {
  chat: Chat;
  log: Logger;
}

/** Update the card in place. */
export async function refreshCard(deps: RedrawDeps, build: Build, ctx: CardContext): Promise<void> {
  try {
    await deps.chat.update({ channel: build.Channel, ts: build.ThreadTs, ...buildCard(build, ctx) });
  } catch (error) {
    deps.log.warn('card update failed', { buildId: build.BuildID, status: build.Status, error });
  }
}

/** The warning, once the build has ended: no button left, one line saying how it ended. Once per final status. */
export async function closeWarning(deps: RedrawDeps, build: Build, ctx: ViewContext): Promise<void> {
  if (!build.WarningTs || !isFinal(build.Status)) return;
  try {
    await deps.chat.update({ channel: build.Channel, ts: build.WarningTs, ...warningEndedMessage(build, ctx) });
  } catch (error) {
    deps.log.warn('warning update failed', { buildId: build.BuildID, status: build.Status, error });
  }
}
