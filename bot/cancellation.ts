import { isFinal } from '../domain/build';
import { endedAt } from '../domain/build-facts';
import type { BotDeps } from './deps';
import type { Click } from './interaction';
import { applyStep } from './apply-step';
import { permittedBuild } from './permissions';
import * as replies from '../views/replies';

// cancel_build and `/metal-build cancel <id>`, by the requester or an approver. Before launch the
// build ends here and its slot is freed; after launch the bot has no EC2 permission, so it asks
// the cancel handler through the bus and that handler records `cancelled`.

/** `click`: the button's, when it was one (claimed once); a slash command has none. */
export async function cancelBuild(deps: BotDeps, user: string, buildId: string, click?: Click): Promise<string> {
  const now = deps.clock.now();
  const log = deps.log.child({ buildId, user });
  const target = await permittedBuild(deps, log, user, buildId, 'cancel', click);
  if (!target.ok) return target.reply;
  const { build } = target;

  const applied = await applyStep(deps, build, { type: 'cancel', by: user }, user, now);
  switch (applied.outcome) {
    case 'missing':
      return replies.noBuild(buildId);
    case 'unchanged': {
      // A machine ran: say when it ended (a warning's Cancel may still be live).
      const ended = endedAt(applied.build);
      if (isFinal(applied.build.Status) && ended && applied.build.InstanceID) return replies.endedNothingTo(applied.build, 'cancel', ended, now);
      return replies.already(applied.build);
    }
    case 'effects':
      log.info('cancel requested for a running build', { status: applied.build.Status });
      return replies.terminating(buildId);
    case 'changed':
      log.info('build cancelled before launch', { from: applied.before.Status });
      return applied.before.Status === 'approved' ? replies.cancelledAfterApproval(buildId) : replies.cancelled(buildId);
  }
}
