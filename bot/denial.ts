import { applyEvent } from '../core/apply';
import type { BotDeps } from './deps';
import { runEffects, tellThread } from './effects';
import type { Click } from './interaction';
import { permittedBuild } from './permissions';
import * as replies from './replies';

// deny_build: awaiting_approval → rejected. An approver denies; the requester may withdraw
// their own request the same way (docs/bot.md).

export async function denyBuild(deps: BotDeps, click: Click): Promise<string | undefined> {
  const { store, clock } = deps;
  const now = clock.now();
  const log = deps.log.child({ buildId: click.buildId, user: click.user });
  const target = await permittedBuild(deps, log, click.user, click.buildId, 'deny');
  if (!target.ok) return target.reply;
  const { build } = target;

  const applied = await applyEvent(store, build, { type: 'deny', by: click.user }, now);
  if (applied.outcome === 'missing') return replies.noBuild(click.buildId);
  if (applied.outcome !== 'changed') return replies.already(applied.build);
  // A slot taken by an approval that crashed before its transition is given back here.
  await runEffects(deps, applied.build, applied.decision.effects, click.user);
  log.info('build denied', { requester: build.Requester });
  await tellThread(deps, applied.build, now);
  return undefined;
}
