import { applyRow, finalMessageRecorder } from '../apply-step';
import type { Build } from '../../domain/build';
import { FINAL_STATUSES, isRunning } from '../../domain/build';
import { ageMs, deadline, lifeStart, machineVerdict } from '../../domain/lifetime';
import { limitsOf } from '../../domain/build-choice';
import { buildDeadline } from '../../domain/build-facts';
import type { Chat, ChatEphemeral, ChatPost, ChatUpdate, Machine, MessageTag } from '../../domain/ports';
import { ChatError } from '../../domain/ports';
import { finalSince } from '../../domain/slot-holding';
import { isPermanentChatError } from '../../adapters/slack/permanent-chat-error';
import { refreshCard } from '../../use-cases/card-refresh';
import { sendOnce } from '../../use-cases/send-once';
import { tellRequester } from '../../use-cases/tell-requester';
import { warningFacts } from '../../use-cases/warning-facts';
import { strayMachineNotice } from '../../views/notifications';
import type { StrayMachineWhy } from '../../views/stray-machine-note';
import { strayMachineNote } from '../../views/stray-machine-note';
import { warningMessage } from '../../views/thread';
import type { EventDeps } from '../deps';
import { tell } from '../effects';
import { mailOnce, resendStaleMail } from '../mail';
import { countFinalCost } from '../month-spend';
import { countedEntry } from '../../domain/spend';
import type { Stray, ToTell } from './safety';
import type { Snapshot, WatchdogRun } from './snapshot';
import { DeferredToNextRun } from './snapshot';
import { commitStatusBehind, reportCommitStatus } from '../../use-cases/commit-status';

// The telling phase (docs/design.md "Safety before bookkeeping"): after every due termination
// was requested, the people are told. The safety phase's ends and terminated machines, the
// warning before a limit (WarnedAt, its mail, its broadcast, the requester's DM), the card
// redraws, mails whose claim went stale, and final statuses whose thread message never went out.
// Mail goes first everywhere: it does not depend on Slack. Every Slack call goes through one
// circuit per run: once Slack refuses (429: rate-limited calls are rejected at once, never slept
// out) or cannot be reached, or the run's time is up, the rest is left to the next run, which the
// notice protocol allows (NotifiedStatus behind, WarnedAt without WarningPostedAt, the catch-up).

/** The card of a running build is redrawn (elapsed time, cost so far) every this many minutes. */
export const CARD_REFRESH_MINUTES = 5;

/** Final builds whose thread message never went out: the newest few of each final status are looked at. */
export const CATCH_UP_PER_STATUS = 5;
/** Leave the handler that made the change time to tell the thread itself (no double message). */
export const CATCH_UP_AFTER_MS = 2 * 60_000;
/** Beyond this, a lost message is left lost. */
export const CATCH_UP_WITHIN_MS = 24 * 3600_000;
/**
 * Only builds created this recently are read. A build is final within hours of its creation
 * (approval TTL, then the machine's limit and extensions, which the watchdog enforces), so two
 * days cover the 24-hour window with a day to spare, and the read stays the same size however
 * long the history grows (`npm run bench` checks it at 10 and 10,000 builds).
 */
export const CATCH_UP_CREATED_WITHIN_MS = 2 * CATCH_UP_WITHIN_MS;

/**
 * No Slack call starts later than this before the Lambda's own timeout: one call may take the
 * background client's whole 10 s timeout (adapters/slack/web-client.ts), and the run still logs
 * its summary and returns.
 */
export const TELLING_MARGIN_MS = 12_000;

export async function tellPeople(run: WatchdogRun, snap: Snapshot, toTell: ToTell, timeLeftMs?: () => number): Promise<void> {
  const circuit = new SlackCircuit(run.deps.chat, timeLeftMs);
  const deps: EventDeps = { ...run.deps, chat: circuit };
  await run.each(toTell.ended, (build) =>
    run.step('tell the end', build.BuildID, () => {
      const log = run.log.child({ buildId: build.BuildID });
      return tell(deps, build, { sns: true, recordFinalMessage: finalMessageRecorder(deps, log) }, log);
    }),
  );
  await run.each(toTell.strays, (stray) =>
    run.step('stray machine notice', stray.build?.BuildID ?? stray.machine.tags.BuildID, () => tellStray(run, deps, stray)),
  );
  const running = (snap.active ?? []).filter((b) => isRunning(b.Status) && !toTell.ended.some((e) => e.BuildID === b.BuildID));
  for (const build of running.filter((b) => commitStatusBehind(deps, b)))
    await run.step('commit status', build.BuildID, () => reportCommitStatus(deps, build, run.log.child({ buildId: build.BuildID })));
  await run.each(running, (build) => run.step('warn or redraw', build.BuildID, () => warnOrRedraw(run, deps, circuit, build, snap.liveMachineOf(build))));
  for (const build of snap.active ?? []) {
    if (build.MailClaim === undefined) continue;
    await run.step('stale notice', build.BuildID, () => resendStaleMail(deps, build, run.log.child({ buildId: build.BuildID })));
  }
  await catchUp(run, deps);
  if (circuit.cause) run.log.warn('Slack calls left to the next run', { deferred: run.deferred, cause: circuit.cause });
}

/** Terminated by the safety phase: the operators hear of it once (the `#stray#` marker), and so does the build's thread. */
async function tellStray(run: WatchdogRun, deps: EventDeps, { machine, build, reason }: Stray): Promise<void> {
  const buildId = build?.BuildID ?? machine.tags.BuildID;
  const told = await sendOnce(
    deps.claims,
    { kind: 'stray', instanceId: machine.instanceId },
    run.now,
    () => deps.notifier.notify(strayMachineNotice(machine, build, reason, { config: deps.config, now: run.now })),
    // Given back, so a run that still lists the machine tells (it is already ordered ended).
    { onGiveBackError: () => undefined },
  );
  if (told.outcome === 'taken') {
    run.log.info('stray machine already told about', { ...(buildId ? { buildId } : {}), instanceId: machine.instanceId, since: told.claim.since });
    return;
  }
  if (told.outcome === 'failed') throw told.error;
  if (!build) return;
  await run.step('stray machine thread note', build.BuildID, async () => {
    await deps.chat.post({ channel: build.Channel, threadTs: build.ThreadTs, text: strayMachineNote(machine, strayWhy(machine, build, reason)) });
  });
}

/** Which of the watchdog's rules ended the machine, in the terms the thread is told. */
function strayWhy(machine: Machine, build: Build, reason: Stray['reason']): StrayMachineWhy {
  if (reason === 'did-not-shut-down') return { kind: 'did-not-shut-down' };
  if (build.InstanceID && build.InstanceID !== machine.instanceId) return { kind: 'second-machine', buildMachineId: build.InstanceID };
  if (build.TerminationReason === 'forced' || build.TerminationReason === 'cancelled') return { kind: 'termination-did-not-take', status: build.Status };
  return { kind: 'outlived-build', status: build.Status };
}

/** A running build with its machine: warned once before its limit, the warning posted until it is, the card redrawn now and then. */
async function warnOrRedraw(run: WatchdogRun, deps: EventDeps, circuit: SlackCircuit, build: Build, machine: Machine | undefined): Promise<void> {
  if (!machine) return;
  const { now } = run;
  const since = lifeStart(build, machine);
  const verdict = machineVerdict(since, build, limitsOf(build, deps.config), now);
  if (verdict === 'warn') await warn(run, deps, build, machine);
  else if (build.WarnedAt && !build.WarningPostedAt && ageMs(build.WarnedAt, now) >= 60_000)
    // The warning's post failed on an earlier run: the Extend button must still reach people.
    await postWarning(run, deps, build, machine);
  else if (verdict !== 'force' && Math.floor(ageMs(since, now) / 60_000) % CARD_REFRESH_MINUTES === 0) {
    // A redraw is only news: while Slack is unavailable in this run it waits for the next one.
    if (circuit.cause) run.deferred++;
    else await refreshCard(deps, build, { config: deps.config, now });
  }
}

/** Once per build (WarnedAt is written conditionally): the mail, a broadcast with extend and cancel, the requester's DM. */
async function warn(run: WatchdogRun, deps: EventDeps, build: Build, machine: Machine): Promise<void> {
  const applied = await applyRow(deps, build, { type: 'warn' }, run.log.child({ buildId: build.BuildID }), run.now);
  if (applied.outcome !== 'changed') return;
  const warned = applied.build;
  const log = run.log.child({ buildId: build.BuildID });
  log.warn('machine nears its limit; warned', { instanceId: machine.instanceId });
  // Each on its own: mail still goes out when Slack fails, and the other way round.
  await run.step('warning notification', build.BuildID, () => mailOnce(deps, warned, 'warning', log));
  await postWarning(run, deps, warned, machine);
  await tellRequester(deps, warned, 'warning', { config: deps.config, now: run.now });
}

/**
 * The warning in the thread, then WarningPostedAt with its `ts` (WarningTs) in the same
 * conditional write: the bot edits it after an extension and announce closes it at the end.
 * A failed post is retried by the next run.
 */
async function postWarning(run: WatchdogRun, deps: EventDeps, build: Build, machine: Machine): Promise<void> {
  const { now } = run;
  const { config } = deps;
  const posted = (ts?: string) =>
    applyRow(deps, build, { type: 'warning-posted', ...(ts !== undefined ? { ts } : {}) }, run.log.child({ buildId: build.BuildID }), now);
  await run.step('warning message', build.BuildID, async () => {
    const log = run.log.child({ buildId: build.BuildID });
    // How far it got: the log's newest lines and the type's history, best effort.
    const facts = await warningFacts({ ...deps, log }, build);
    // The deadline the schedule keeps (DeadlineAt), as the bot's re-render after an Extend says it.
    const message = warningMessage(build, {
      config,
      now,
      deadline: buildDeadline(build, config) ?? deadline(lifeStart(build, machine), limitsOf(build, config), build.ExtendedHours),
      ...facts,
    });
    let ts: string;
    try {
      ({ ts } = await deps.chat.post({ channel: build.Channel, threadTs: build.ThreadTs, text: message.text, blocks: message.blocks, broadcast: true }));
    } catch (error) {
      // Slack refusing for good (channel archived…) would refuse every minute: give up on it.
      if (isPermanentChatError(error)) await posted();
      throw error;
    }
    await posted(ts);
  });
}

/**
 * Final builds whose thread message never went out (NotifiedStatus behind): the bot logs a Slack
 * failure and moves on, the watchdog's own changes may not have been told in their run, and an
 * event handler's retries can run out. The newest few builds of each final status are checked,
 * so the cost does not grow with history.
 */
async function catchUp(run: WatchdogRun, deps: EventDeps): Promise<void> {
  const { now } = run;
  const createdSince = new Date(now.getTime() - CATCH_UP_CREATED_WITHIN_MS).toISOString();
  for (const status of FINAL_STATUSES) {
    const builds = await run.step('catch-up query', undefined, () => deps.store.byStatus(status, { limit: CATCH_UP_PER_STATUS, createdSince }));
    for (const read of builds ?? []) {
      // The final commit status, when every event's try failed (GitHub down for a while).
      const build = commitStatusBehind(deps, read)
        ? ((await run.step('commit status', read.BuildID, () => reportCommitStatus(deps, read, run.log.child({ buildId: read.BuildID })))) ?? read)
        : read;
      // A count that failed everywhere else (it never kept the slot) is made here.
      if (countedEntry(build) && build.CountedMonth === undefined)
        await run.step('count final cost', build.BuildID, () => countFinalCost(deps, build, run.log.child({ buildId: build.BuildID })));
      if (build.MailClaim !== undefined)
        await run.step('stale notice', build.BuildID, () => resendStaleMail(deps, build, run.log.child({ buildId: build.BuildID })));
      if (build.NotifiedStatus === build.Status) continue;
      const since = finalSince(build);
      if (since === undefined) continue;
      const age = now.getTime() - since;
      if (age < CATCH_UP_AFTER_MS || age > CATCH_UP_WITHIN_MS) continue;
      await run.step('catch-up message', build.BuildID, async () => {
        run.log.info('telling the thread a status it missed', { buildId: build.BuildID, status: build.Status, notified: build.NotifiedStatus });
        // The mail is sent once whoever asks (events/mail.ts): the change's own handler sent or claimed it.
        const log = run.log.child({ buildId: build.BuildID });
        await tell(deps, build, { sns: true, recordFinalMessage: finalMessageRecorder(deps, log) }, log);
      });
    }
  }
}

/**
 * The telling phase's Slack: calls go through until Slack first fails in a way that is not about
 * one channel or message (rate-limited, unreachable, 5xx), or until the run's time is up; after
 * that every call is left to the next run at once (DeferredToNextRun), without a request.
 */
class SlackCircuit implements Chat {
  /** Why Slack calls stopped in this run: Slack's first such failure, or the deadline. */
  cause: string | undefined;

  constructor(
    private readonly chat: Chat,
    private readonly timeLeftMs: (() => number) | undefined,
  ) {}

  private async call<T>(method: string, send: () => Promise<T>): Promise<T> {
    if (this.cause === undefined && this.timeLeftMs !== undefined && this.timeLeftMs() < TELLING_MARGIN_MS) this.cause = 'the run’s time is up';
    if (this.cause !== undefined) throw new DeferredToNextRun(method);
    try {
      return await send();
    } catch (error) {
      if (!isPermanentChatError(error)) this.cause = error instanceof ChatError ? `${error.method}: ${error.code}` : String(error);
      throw error;
    }
  }

  post(message: ChatPost): Promise<{ ts: string }> {
    return this.call('chat.postMessage', () => this.chat.post(message));
  }
  hasTagged(channel: string, threadTs: string, tag: MessageTag): Promise<boolean> {
    return this.call('conversations.replies', () => this.chat.hasTagged(channel, threadTs, tag));
  }
  update(message: ChatUpdate): Promise<void> {
    return this.call('chat.update', () => this.chat.update(message));
  }
  postEphemeral(message: ChatEphemeral): Promise<void> {
    return this.call('chat.postEphemeral', () => this.chat.postEphemeral(message));
  }
  permalink(channel: string, ts: string): Promise<string> {
    return this.call('chat.getPermalink', () => this.chat.permalink(channel, ts));
  }
  userGroupMembers(groupId: string): Promise<string[]> {
    return this.call('usergroups.users.list', () => this.chat.userGroupMembers(groupId));
  }
}
