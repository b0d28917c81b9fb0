import type { Logger } from '../domain/ports';
import type { SlackApiHandler } from '../stand-ins/slack-api';
import { SANDBOX_CHANNEL } from '../stand-ins/slack-api';
import type { ChangeFeed } from './change-feed';
import type { SimulatedClock } from './clock';
import type { FunctionUrlHandler } from './function-url';
import type { ModalDesk } from './modal-desk';
import type { GithubControl } from './github-push';
import type { OutcomeSwitch } from './outcome-switch';
import type { SandboxEndpoints, SandboxRoutes } from './server';
import { createSandboxRoutes } from './server';
import { SlackPlatform } from './slack-platform';

// What each of the HTTP port's routes calls: the Slack Web API stand-in, the bot's Function URL,
// Slack's side of a slash command or click, and the sandbox's own controls.

export interface PageEndpoints {
  port: number;
  slack: SlackApiHandler;
  bot: { handler: FunctionUrlHandler; signingSecret: string };
  state: SandboxEndpoints['state'];
  clock: SimulatedClock;
  outcome: OutcomeSwitch;
  changes: ChangeFeed;
  modals: ModalDesk;
  /** The people the page can act as. */
  users: readonly string[];
  log: Logger;
  github?: GithubControl;
}

export function pageRoutes({ port, slack, bot, state, clock, outcome, changes, modals, users, log, github }: PageEndpoints): SandboxRoutes {
  const base = `http://127.0.0.1:${port}`;
  const platform = new SlackPlatform({
    botUrl: () => `${base}/slack/events`,
    responseUrlBase: () => `${base}/sandbox/response/`,
    signingSecret: bot.signingSecret,
    api: slack,
    modals,
    log: log.child({ fn: 'slack' }),
  });
  return createSandboxRoutes({
    slackApi: (req, res) => slack.handle(req, res),
    bot: bot.handler,
    botAnswered: changes.changed,
    users,
    channel: SANDBOX_CHANNEL,
    state,
    advance: (minutes) => clock.advance(minutes),
    outcome: outcome.current,
    setOutcome: (next) => {
      outcome.set(next);
      changes.changed();
    },
    slash: (user, text) => platform.slashCommand(user, text, SANDBOX_CHANNEL),
    click: (click) => platform.click(click),
    respond: (id, body) => platform.respond(id, body),
    openHome: (user, tab) => platform.openHome(user, tab),
    homeClick: (click) => platform.homeClick(click),
    submitView: (user, viewId, values) => platform.submitView(user, viewId, values),
    closeView: (user) => modals.close(user),
    pause: async (paused) => {
      if (paused) clock.pause();
      else clock.resume();
      // A step queued before the pause finishes first, so the time answered is the one that stays.
      await clock.idle();
      return clock.isPaused();
    },
    onChange: changes.onChange,
    ...(github && { github }),
  });
}
