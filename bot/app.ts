import type { Logger as BoltLogger, LogLevel } from '@slack/bolt';
import { App, AwsLambdaReceiver } from './bolt-modules';
import { parseCommand } from '../domain/command';
import type { ActionId } from '../views/buttons';
import { ACTION_IDS } from '../views/buttons';
import type { Logger } from '../domain/ports';
import { approveBuild } from './approval';
import { cancelBuild } from './cancellation';
import type { BotDeps } from './deps';
import { denyBuild } from './denial';
import { extendBuild } from './extension';
import type { Click } from './interaction';
import { parseClick, parseDialogSubmission, parseHomeButton, parseHomeOpened, parseSlashCommand } from './interaction';
import { mayUseChannel } from './permissions';
import * as replies from '../views/replies';
import { rebuildBuild } from './rebuild';
import { requestBuild } from './request';
import { requestSelftest } from './selftest';
import { showCosts } from './costs';
import { listBuilds, showStatus } from './status';
import { showLog, showLogClick } from './logs';
import { openNewBuild, submitNewBuild } from './new-build';
import { NEW_BUILD_CALLBACK_ID } from '../views/new-build-modal';
import { HOME_ACTIONS } from '../views/home';
import { newBuildFromHome, publishHome, showInModal } from './home';

// Bolt on Lambda (docs/design.md "Bolt on Lambda"): handler.ts has checked Slack's signature
// before Bolt sees a request (the receiver checks it again), a fixed `authorize` hands out the bot
// token (no auth.test, ever), no conversation store. Every listener finishes before the HTTP
// answer, so each one is a few table reads and writes and one Slack call. ALLOWED_CHANNEL_IDS is
// checked here, once for every command and button, before any of them reads the table.

export const COMMAND = '/metal-build';

export type SlackLambdaHandler = ReturnType<AwsLambdaReceiver['toHandler']>;

/** A button's work: the text returned goes to the clicker alone (chat.postEphemeral). */
type ButtonAction = (deps: BotDeps, click: Click) => Promise<string | undefined>;

const BUTTONS: Record<ActionId, ButtonAction> = {
  [ACTION_IDS.approve]: approveBuild,
  [ACTION_IDS.deny]: denyBuild,
  [ACTION_IDS.cancel]: (deps, click) => cancelBuild(deps, click.user, click.buildId, click),
  [ACTION_IDS.extend]: extendBuild,
  [ACTION_IDS.rebuild]: rebuildBuild,
  [ACTION_IDS.showLog]: showLogClick,
};

export function createSlackApp(deps: BotDeps): { app: App; handler: SlackLambdaHandler } {
  const logger = boltLogger(deps.log);
  const receiver = new AwsLambdaReceiver({
    signingSecret: deps.credentials.signingSecret,
    logger,
    // Bolt's default prints the signature header; the fact of the refusal is all that matters.
    // Only a request handler.ts let through gets here (its 5 minutes ran out in between, say).
    invalidRequestSignatureHandler: ({ ts }) => deps.log.warn('Bolt refused a request with an invalid or stale Slack signature', { requestTimestamp: ts }),
  });
  const app = new App({
    receiver,
    logger,
    convoStore: false,
    tokenVerificationEnabled: false,
    authorize: async () => ({ botToken: deps.credentials.botToken }),
  });

  app.command(COMMAND, async ({ body, ack }) => {
    const text = await answerCommand(deps, body);
    // Nothing to say when a dialog opened: the dialog is the answer.
    await (text === undefined ? ack() : ack({ response_type: 'ephemeral', text }));
  });
  app.event('app_home_opened', async ({ event }) => {
    const opened = parseHomeOpened(event);
    if (opened?.tab === 'home') await publishHome(deps, opened.user);
  });
  app.action(HOME_ACTIONS.refresh, async ({ body, ack }) => {
    await ack();
    const click = parseHomeButton(body);
    if (click) await publishHome(deps, click.user);
  });
  app.action(HOME_ACTIONS.newBuild, async ({ body, ack }) => {
    await ack();
    const click = parseHomeButton(body);
    if (click) await newBuildFromHome(deps, click.user, click.triggerId);
  });
  app.view(NEW_BUILD_CALLBACK_ID, async ({ body, ack }) => {
    const submission = parseDialogSubmission(body);
    if (!submission) {
      deps.log.warn('dropped a New build submission without user, fields or channel');
      await ack();
      return;
    }
    // views/ builds the view untyped, where Bolt's ack wants Slack's view schema.
    const answer = ack as (response?: unknown) => Promise<void>;
    await answer(await submitNewBuild(deps, submission));
  });
  for (const [actionId, action] of Object.entries(BUTTONS)) {
    app.action(actionId, async ({ body, ack }) => {
      await ack();
      await answerClick(deps, actionId, body, action);
    });
  }
  return { app, handler: receiver.toHandler() };
}

async function answerCommand(deps: BotDeps, body: unknown): Promise<string | undefined> {
  const command = parseSlashCommand(body);
  if (!command) {
    deps.log.warn('dropped a slash command without user, channel or trigger_id');
    return replies.help();
  }
  const parsed = parseCommand(command.text);
  if (!parsed.ok) return replies.badArguments(parsed.problem, parsed.usage === true);
  const c = parsed.command;
  if (c.kind === 'help') return replies.help();

  const buildId = 'buildId' in c ? c.buildId : undefined;
  const log = buildId ? deps.log.child({ buildId }) : deps.log;
  const here = mayUseChannel(
    deps.config,
    command.user,
    command.channel,
    c.kind === 'build' || c.kind === 'rebuild' || c.kind === 'new' || c.kind === 'selftest' ? 'request' : c.kind,
  );
  if (!here.ok) {
    log.info('command refused outside the allowed channels', { command: c.kind, user: command.user, channel: command.channel });
    return here.reason;
  }
  try {
    switch (c.kind) {
      case 'build':
        return await requestBuild(deps, {
          ...command,
          branch: c.branch,
          ...(c.commit ? { commit: c.commit } : {}),
          choice: { ...(c.type !== undefined ? { type: c.type } : {}), ...(c.hours !== undefined ? { hours: c.hours } : {}) },
        });
      case 'status':
        return await showStatus(deps, c.buildId);
      case 'logs':
        return await showLog(deps, c.buildId, c.lines);
      case 'list':
        return await listBuilds(deps);
      case 'cancel':
        return await cancelBuild(deps, command.user, c.buildId);
      case 'costs':
        return await showCosts(deps, c.month);
      case 'rebuild':
        return await rebuildBuild(deps, { user: command.user, channel: command.channel, buildId: c.buildId });
      case 'new':
        return await openNewBuild(deps, command);
      case 'selftest':
        return await requestSelftest(deps, command);
    }
  } catch (error) {
    log.error(`/metal-build ${c.kind} failed`, { error, user: command.user });
    return replies.failed(buildId);
  }
}

async function answerClick(deps: BotDeps, actionId: string, body: unknown, action: ButtonAction): Promise<void> {
  const click = parseClick(body);
  if (!click) {
    deps.log.warn('dropped a button click without user or BuildID', { actionId });
    return;
  }
  const log = deps.log.child({ buildId: click.buildId });
  if (click.homeTrigger !== undefined) {
    // A click in Home carries no channel: judged as if made in the build's, answered in a modal.
    const build = await deps.store.get(click.buildId).catch(() => undefined);
    const reply = await runClick(deps, log, actionId, { ...click, ...(build ? { channel: build.Channel } : {}) }, action);
    if (reply !== undefined) await showInModal(deps, click.homeTrigger, 'metal-build', reply);
    return;
  }
  const reply = await runClick(deps, log, actionId, click, action);
  if (reply !== undefined) await tellClicker(deps, log, actionId, click, reply);
}

/** The button's action, unless the card's channel is not one the bot acts in; the reply, if any. */
async function runClick(deps: BotDeps, log: Logger, actionId: string, click: Click, action: ButtonAction): Promise<string | undefined> {
  // A card is only posted in an allowed channel, but the list may have changed since.
  const here = mayUseChannel(deps.config, click.user, click.channel, 'button');
  if (!here.ok) {
    log.info('click refused outside the allowed channels', { actionId, user: click.user, channel: click.channel });
    return here.reason;
  }
  try {
    return await action(deps, click);
  } catch (error) {
    log.error(`${actionId} failed`, { error, user: click.user });
    return replies.failed(click.buildId);
  }
}

async function tellClicker(deps: BotDeps, log: Logger, actionId: string, click: Click, reply: string): Promise<void> {
  if (!click.channel) {
    log.warn('no channel to answer a click in', { actionId, user: click.user, reply });
    return;
  }
  try {
    // Where the click was: in the thread panel for a button on a thread reply.
    await deps.chat.postEphemeral({ channel: click.channel, user: click.user, text: reply, ...(click.threadTs ? { threadTs: click.threadTs } : {}) });
  } catch (error) {
    log.error('could not answer a click', { error, actionId, user: click.user });
  }
}

/** Bolt's own log lines, as structured lines of ours; its debug chatter is dropped. */
function boltLogger(log: Logger): BoltLogger {
  // LogLevel is only a type here: the value would load Bolt's index (bot/bolt-modules.ts).
  let level = 'info' as LogLevel;
  const text = (parts: unknown[]) => parts.map((p) => (p instanceof Error ? p.message : typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
  return {
    debug: () => {},
    info: (...parts: unknown[]) => log.info(text(parts), { source: 'bolt' }),
    warn: (...parts: unknown[]) => log.warn(text(parts), { source: 'bolt' }),
    error: (...parts: unknown[]) => log.error(text(parts), { source: 'bolt' }),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
