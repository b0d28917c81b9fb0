import { applyStep } from './apply-step';
import type { BotDeps } from './deps';
import type { Click } from './interaction';
import { permittedBuild } from './permissions';
import * as replies from '../views/replies';

// deny_build: awaiting_approval → rejected. An approver denies; the requester may withdraw
// their own request the same way (docs/user-guide.md "Who may do what").

export async function denyBuild(deps: BotDeps, click: Click): Promise<string | undefined> {
  const now = deps.clock.now();
  const log = deps.log.child({ buildId: click.buildId, user: click.user });
  const target = await permittedBuild(deps, log, click.user, click.buildId, 'deny', click);
  if (!target.ok) return target.reply;
  const { build } = target;

  // A slot taken by an approval that crashed before its transition is given back by the row's effects.
  const applied = await applyStep(deps, build, { type: 'deny', by: click.user }, click.user, now);
  if (applied.outcome === 'missing') return replies.noBuild(click.buildId);
  if (applied.outcome !== 'changed') return replies.already(applied.build);
  log.info('build denied', { requester: build.Requester });
  return undefined;
}
