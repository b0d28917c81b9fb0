import type { Build } from '../domain/build';
import { buildDeadline, costSoFar, elapsedMs } from '../domain/build-facts';
import type { Config } from '../domain/config';
import { formatUsd } from '../domain/cost';
import type { Block, View } from '../domain/ports';
import { ACTION_IDS, actions, button } from './buttons';
import { code, formatDuration, formatUtcTime } from './mrkdwn';
import { STATUS_EMOJI, statusLabel } from './status-text';
import { requesterText } from './requester';

// The app's Home tab (docs/user-guide.md "The Home tab"), published with views.publish when a
// person opens it and on Refresh: the running and queued builds with their buttons where that
// person may use them, their own recent builds, the month's spend, New build and Refresh. Lists
// are bounded ("and N more"), so the view stays far inside Slack's 100 blocks.

export const HOME_ACTIONS = { newBuild: 'home_new_build', refresh: 'home_refresh' } as const;

/** At most this many active builds (two blocks each) and recent builds (one each). */
export const HOME_ACTIVE_SHOWN = 20;
export const HOME_RECENT_SHOWN = 10;

export type HomeButton = 'show_log' | 'extend' | 'cancel';

export interface HomeBuild {
  build: Build;
  /** The buttons this person may use on it. */
  buttons: readonly HomeButton[];
}

export interface HomeInput {
  config: Config;
  now: Date;
  user: string;
  /** Running, queued and waiting builds this person may see, newest first. */
  active: readonly HomeBuild[];
  /** This person's recent builds, newest first. */
  mine: readonly Build[];
  /** The month's spend; undefined when unreadable. */
  spent?: number;
  /** Where New build posts; undefined: no New build button. */
  requestChannel?: string;
}

const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const header = (text: string): Block => ({ type: 'header', text: { type: 'plain_text', text, emoji: true } });
const more = (n: number, what: string): Block => ({ type: 'context', elements: [mrkdwn(`…and ${n} more ${what}.`)] });

function buildLine(build: Build, input: Pick<HomeInput, 'config' | 'now'>): string {
  const ctx = { config: input.config, now: input.now };
  const parts = [`${STATUS_EMOJI[build.Status]} *${build.BuildID}*`, code(build.BuildBranch), statusLabel(build)];
  if (build.Phase) parts.push(`phase ${code(build.Phase)}`);
  const elapsed = elapsedMs(build, ctx);
  if (elapsed !== undefined) parts.push(`${formatDuration(elapsed)} elapsed`);
  const cost = costSoFar(build, ctx);
  if (cost !== undefined) parts.push(`${formatUsd(cost)} so far`);
  const deadline = buildDeadline(build, input.config);
  if (deadline) parts.push(`ends by ${formatUtcTime(deadline, input.now)}`);
  parts.push(`by ${requesterText(build)}`);
  return parts.join(' · ');
}

const BUTTON: Record<HomeButton, (buildId: string) => Block> = {
  show_log: (id) => button(ACTION_IDS.showLog, 'Show log', id),
  extend: (id) => button(ACTION_IDS.extend, 'Extend 1 h', id),
  cancel: (id) =>
    button(ACTION_IDS.cancel, 'Cancel', id, {
      style: 'danger',
      confirm: { title: 'Cancel this build?', text: `${id} is stopped and its machine ended.`, confirm: 'Cancel build', deny: 'Keep it' },
    }),
};

export function homeView(input: HomeInput): View {
  const blocks: Block[] = [header('metal-build')];
  const spent = input.spent === undefined ? 'This month’s spend could not be read just now.' : `This month: *${formatUsd(input.spent)}* spent`;
  const budget = input.config.monthlyBudgetUsd !== undefined ? ` of a *${formatUsd(input.config.monthlyBudgetUsd)}* budget` : '';
  blocks.push({ type: 'section', block_id: 'spend', text: mrkdwn(`${spent}${input.spent === undefined ? '' : budget}.`) });
  const top: Block[] = [];
  if (input.requestChannel)
    top.push({
      type: 'button',
      action_id: HOME_ACTIONS.newBuild,
      text: { type: 'plain_text', text: 'New build' },
      value: input.requestChannel,
      style: 'primary',
    });
  top.push({ type: 'button', action_id: HOME_ACTIONS.refresh, text: { type: 'plain_text', text: 'Refresh' }, value: 'refresh' });
  blocks.push({ type: 'actions', block_id: 'home_actions', elements: top });
  if (input.requestChannel) blocks.push({ type: 'context', elements: [mrkdwn(`New build posts its card in <#${input.requestChannel}>.`)] });

  blocks.push({ type: 'divider' }, header('Running and queued'));
  if (input.active.length === 0) blocks.push({ type: 'section', text: mrkdwn('Nothing is running or waiting.') });
  for (const { build, buttons } of input.active.slice(0, HOME_ACTIVE_SHOWN)) {
    blocks.push({ type: 'section', block_id: `active_${build.BuildID}`, text: mrkdwn(buildLine(build, input)) });
    if (buttons.length > 0)
      blocks.push(
        actions(
          `buttons_${build.BuildID}`,
          buttons.map((b) => BUTTON[b](build.BuildID)),
        ),
      );
  }
  if (input.active.length > HOME_ACTIVE_SHOWN) blocks.push(more(input.active.length - HOME_ACTIVE_SHOWN, 'active builds; `/metal-build status` lists them'));

  blocks.push({ type: 'divider' }, header('Your recent builds'));
  if (input.mine.length === 0) blocks.push({ type: 'section', text: mrkdwn('You have requested no build lately.') });
  for (const build of input.mine.slice(0, HOME_RECENT_SHOWN))
    blocks.push({ type: 'section', block_id: `mine_${build.BuildID}`, text: mrkdwn(buildLine(build, input)) });
  if (input.mine.length > HOME_RECENT_SHOWN) blocks.push(more(input.mine.length - HOME_RECENT_SHOWN, 'of yours; `/metal-build list` lists the newest'));
  blocks.push({ type: 'context', elements: [mrkdwn(`As of ${formatUtcTime(input.now, input.now)}; Refresh shows what changed.`)] });
  return { type: 'home', blocks };
}
