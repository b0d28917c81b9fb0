import { applyEvent } from '../../domain/apply';
import type { Build } from '../../domain/build';
import { isRunning } from '../../domain/build';
import type { Machine } from '../../domain/ports';
import {
  STUCK_MINUTES,
  ageMs,
  deadline,
  deadlineOf,
  endedByDeadline,
  isApprovalStale,
  isStuckWithoutLaunch,
  isStuckWithoutMachine,
  lifeStart,
  machineVerdict,
} from '../../domain/lifetime';
import type { EventsEvent } from '../../domain/event-sides';
import { refreshCard } from '../../use-cases/card-refresh';
import { warningMessage } from '../../views/thread';
import { isPermanentChatError } from '../../adapters/slack/permanent-chat-error';
import { applyStep } from '../apply-step';
import { mailOnce } from '../mail';
import { tellRequester } from '../../use-cases/tell-requester';
import type { WatchdogRun } from './run';

// The watchdog's rules for each active build: stale approvals expire, approved builds without a
// machine and running builds whose machine is gone are stuck (failed), and a running machine is
// warned about once and force-terminated at its limit. Age counts from the record's LaunchTime
// (the first launch): EC2's own LaunchTime restarts with every stop and start. A stopped machine
// is in the live list, so it is neither "gone" (stuck) nor spared its deadline.

/** The card of a running build is redrawn (elapsed time, cost so far) every this many minutes. */
export const CARD_REFRESH_MINUTES = 5;

export async function checkBuild(run: WatchdogRun, build: Build, machine: Machine | undefined): Promise<void> {
  const { deps, now } = run;
  const { config } = deps;
  if (build.Status === 'awaiting_approval') {
    if (isApprovalStale(build, config, now)) await end(run, build, { type: 'expire' });
    return;
  }
  if (build.Status === 'approved') {
    if (isStuckWithoutLaunch(build, now))
      await end(run, build, {
        type: 'stuck',
        expectInstanceId: build.InstanceID ?? null,
        message: `Stuck: approved, but no machine was launched within ${STUCK_MINUTES} minutes (the launch never ran or kept failing).`,
      });
    return;
  }
  if (!isRunning(build.Status) || run.machines === undefined) return;
  if (!machine) {
    // Gone at its deadline: the deadline's schedule ended it and EC2's state change is still on
    // its way. That is the forced end the card promised, not a stuck build.
    const due = deadlineOf(build, config);
    if (due && endedByDeadline(due, now.toISOString())) {
      await end(run, build, { type: 'force' });
      return;
    }
    if (isStuckWithoutMachine(build, false, now))
      await end(run, build, {
        type: 'stuck',
        expectInstanceId: build.InstanceID ?? null,
        message:
          `Stuck: EC2 shows no live machine for this build (${build.InstanceID ?? 'none recorded'}), ` +
          `${STUCK_MINUTES} minutes or more after launch, and no end of the build or the machine was reported.`,
      });
    return;
  }
  const since = lifeStart(build, machine);
  const verdict = machineVerdict(since, build, config, now);
  if (verdict === 'force') await end(run, build, { type: 'force', launchTime: since, maxLifetimeHours: config.maxLifetimeHours });
  else if (verdict === 'warn') await warn(run, build, machine);
  else if (build.WarnedAt && !build.WarningPostedAt && ageMs(build.WarnedAt, now) >= 60_000)
    // The warning's post failed on an earlier run: the Extend button must still reach people.
    await postWarning(run, build, machine);
  else if (Math.floor(ageMs(since, now) / 60_000) % CARD_REFRESH_MINUTES === 0) await refreshCard(deps, build, { config, now });
}

/**
 * A status change by the watchdog. The conditional write decides who acts: of two overlapping
 * runs only the winner terminates and tells; the loser sees the new status and does nothing.
 */
async function end(run: WatchdogRun, build: Build, event: EventsEvent): Promise<void> {
  const log = run.log.child({ buildId: build.BuildID });
  await applyStep(
    run.deps,
    build,
    event,
    {
      sns: true,
      // Before the termination, so a failing one is found under the line that explains it.
      beforeEffects: async (applied) => {
        if (applied.outcome === 'changed')
          log.warn('watchdog changed a build', { rule: event.type, from: build.Status, to: applied.build.Status, instanceId: build.InstanceID });
      },
    },
    log,
  );
}

/** Once per build (WarnedAt is written conditionally): a broadcast with extend and cancel, and SNS. */
async function warn(run: WatchdogRun, build: Build, machine: Machine): Promise<void> {
  const { deps, now } = run;
  const applied = await applyEvent(deps.store, build, { type: 'warn' }, now);
  if (applied.outcome !== 'changed') return;
  const warned = applied.build;
  run.log.warn('machine nears its limit; warned', { buildId: build.BuildID, instanceId: machine.instanceId });
  // Each on its own: mail still goes out when Slack fails, and the other way round.
  await postWarning(run, warned, machine);
  await tellRequester(deps, warned, 'warning', { config: deps.config, now });
  await run.step('warning notification', build.BuildID, () => mailOnce(deps, warned, 'warning', run.log.child({ buildId: build.BuildID })));
}

/**
 * The warning in the thread, then WarningPostedAt with its `ts` (WarningTs) in the same
 * conditional write: the bot edits it after an extension and announce closes it at the end.
 * A failed post is retried by the next run.
 */
async function postWarning(run: WatchdogRun, build: Build, machine: Machine): Promise<void> {
  const { deps, now } = run;
  const { config } = deps;
  const posted = (ts?: string) => applyEvent(deps.store, build, { type: 'warning-posted', ...(ts !== undefined ? { ts } : {}) }, now);
  await run.step('warning message', build.BuildID, async () => {
    // The deadline the schedule keeps (DeadlineAt), as the bot's re-render after an Extend says it.
    const message = warningMessage(build, {
      config,
      now,
      deadline: deadlineOf(build, config) ?? deadline(lifeStart(build, machine), config, build.ExtendedHours),
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
