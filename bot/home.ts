import type { Build } from '../domain/build';
import { monthOf } from '../domain/spend';
import type { HomeBuild, HomeButton } from '../views/home';
import { homeView } from '../views/home';
import { noticeModal } from '../views/notice-modal';
import type { BotDeps } from './deps';
import { openNewBuild } from './new-build';
import { isApprover, mayStop, maySpend, mayUseChannel } from './permissions';

// The Home tab (docs/design.md "The Home tab"): published for the person who opened it
// (app_home_opened) or pressed Refresh, never after every change. With ALLOWED_CHANNEL_IDS set,
// APPROVER_IDS see every build and others only their own. A button is offered where its click
// would be allowed: judged as if made in the build's channel.

/** How many recent builds are read for "your recent builds". */
const RECENT_READ = 50;

/** Where a request from Home posts its card: the first allowed channel, else HOME_CHANNEL_ID; none: no New build. */
export function homeChannel(config: BotDeps['config']): string | undefined {
  return config.allowedChannelIds[0] ?? config.homeChannelId;
}

export async function publishHome(deps: BotDeps, user: string): Promise<void> {
  const { config, store, clock } = deps;
  const now = clock.now();
  const log = deps.log.child({ user });
  try {
    const [active, recent, rules, spent] = await Promise.all([
      store.active(),
      store.recent(RECENT_READ),
      deps.approvers.rules(log),
      deps.ledger.read(monthOf(now)).then(
        (l) => l.spent,
        (error: unknown) => {
          log.warn('month ledger unreadable; Home goes without the spend', { error });
          return undefined;
        },
      ),
    ]);
    const seesAll = config.allowedChannelIds.length === 0 || config.approverIds.includes(user);
    const visible = (b: Build) => seesAll || b.Requester === user;
    const buttonsOf = (b: Build): HomeButton[] => {
      if (!mayUseChannel(config, user, b.Channel, 'button').ok) return [];
      const buttons: HomeButton[] = [];
      if (b.LaunchTime) buttons.push('show_log');
      if (b.LaunchTime && (b.Status === 'building' || b.Status === 'uploading' || b.Status === 'launching') && maySpend(rules, user, b, 'extend').ok)
        buttons.push('extend');
      if (mayStop(rules, user, b, 'cancel').ok) buttons.push('cancel');
      return buttons;
    };
    const newestFirst = (a: Build, b: Build) => b.CreatedAt.localeCompare(a.CreatedAt);
    const shown: HomeBuild[] = active
      .filter(visible)
      .sort(newestFirst)
      .map((build) => ({ build, buttons: buttonsOf(build) }));
    const mine = recent.filter((b) => b.Requester === user).sort(newestFirst);
    const requestChannel = homeChannel(config);
    await deps.views.publish(
      user,
      homeView({ config, now, user, active: shown, mine, ...(spent !== undefined ? { spent } : {}), ...(requestChannel ? { requestChannel } : {}) }),
    );
    log.info('Home published', { active: shown.length, mine: mine.length, approver: isApprover(rules, user) });
  } catch (error) {
    log.error('could not publish Home', { error });
  }
}

/** Home's New build: the dialog for the Home channel, or why not, in a modal. */
export async function newBuildFromHome(deps: BotDeps, user: string, triggerId: string): Promise<void> {
  const channel = homeChannel(deps.config);
  const refusal = channel
    ? await openNewBuild(deps, { user, channel, triggerId })
    : 'Requests from Home need ALLOWED_CHANNEL_IDS or HOME_CHANNEL_ID; use `/metal-build new` in a channel.';
  if (refusal !== undefined) await showInModal(deps, triggerId, 'New build', refusal);
}

/** An answer to a click in Home (no channel to post it in): a modal opened with the click's trigger_id. */
export async function showInModal(deps: BotDeps, triggerId: string, title: string, text: string): Promise<void> {
  try {
    await deps.views.open(triggerId, noticeModal(title, text));
  } catch (error) {
    deps.log.error('could not show an answer in Home', { error });
  }
}
