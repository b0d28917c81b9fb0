import { describe, expect, it } from 'vitest';
import { MAIL_CLAIM_STALE_MS } from '../../events/mail';
import { createHandler as instanceStateHandler } from '../../events/instance-state';
import { createHandler as watchdogHandler } from '../../events/watchdog';
import { INSTANCE_ID, aLaunchedBuild, at } from '../../stand-ins/build-fixture';
import { ec2StateChange, scheduled } from '../support/event-fixtures';
import { useWorld } from '../support/events-world';

// docs/design.md "Delivery semantics", tested exactly: an SNS notice is claimed before it is
// published and marked sent after (never lost; doubled only by a crash between publish and
// mark); a thread reply whose answer was lost is found by its metadata and not posted again; a
// stray machine is told about once however many watchdog runs see it.

const world = useWorld();
const instanceState = (event: unknown) => instanceStateHandler(world().deps)(event);
const watchdogAt = async (minutes: number) => {
  world().clock.minutesAfterT0(minutes);
  await watchdogHandler(world().deps)(scheduled(at(minutes)));
};
const subjects = () =>
  world()
    .published()
    .map((p) => p.Subject);

describe('SNS notices', () => {
  it('a change redelivered while Slack is down mails once, and the thread is told once when Slack is back', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    const event = ec2StateChange(INSTANCE_ID, 'shutting-down', at(40));
    world().clock.minutesAfterT0(40);
    for (let i = 0; i < 4; i++) {
      world().slack.failNext('chat.postMessage', 'internal_error');
      await expect(instanceState(event)).rejects.toThrow('internal_error');
    }
    expect(subjects()).toEqual([`[FAILED] metal-build ${build.BuildID}: machine ended unexpectedly`]);
    expect(world().replies(build)).toEqual([]);

    await instanceState(event);
    await instanceState(event);
    expect(world().replies(build)).toHaveLength(1);
    expect(world().published()).toHaveLength(1);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'terminated', NotifiedStatus: 'terminated', MailSent: ['terminated'] });
  });

  it('a failed publish gives its claim back: the redelivery mails at once', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    world().snsStandIn.failNext('Throttling', 400, 'SNS is throttling');
    const event = ec2StateChange(INSTANCE_ID, 'terminated', at(40));
    await expect(instanceState(event)).rejects.toThrow('throttling');
    expect((await world().get(build.BuildID))?.MailClaim).toBeUndefined();
    expect(world().published()).toEqual([]); // the refused publish is not among what SNS accepted
    await instanceState(event);
    expect(
      world()
        .published()
        .filter((p) => p.Subject?.includes(build.BuildID)),
    ).toHaveLength(1);
    expect(await world().get(build.BuildID)).toMatchObject({ MailSent: ['terminated'] });
    expect(world().replies(build)).toHaveLength(1);
  });

  it('a claim never marked sent (a crash before publish) is published by the watchdog once it is stale, not before', async () => {
    const staleMinutes = MAIL_CLAIM_STALE_MS / 60_000;
    const build = await world().seed(
      aLaunchedBuild('building', { Status: 'failed', ErrorMessage: 'boom', CompletionTime: at(30), MailClaim: 'failed', MailClaimedAt: at(30) }),
      { slot: false, machine: false },
    );
    await watchdogAt(30 + staleMinutes - 1);
    expect(world().published()).toEqual([]);
    await watchdogAt(30 + staleMinutes + 1);
    await watchdogAt(30 + staleMinutes + 2);
    expect(subjects()).toEqual([`[FAILED] metal-build ${build.BuildID} failed`]);
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ MailSent: ['failed'] });
    expect(stored?.MailClaim).toBeUndefined();
  });

  it('two handlers telling one change at once mail once', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    world().clock.minutesAfterT0(40);
    await Promise.all([instanceState(ec2StateChange(INSTANCE_ID, 'shutting-down', at(40))), instanceState(ec2StateChange(INSTANCE_ID, 'terminated', at(40)))]);
    expect(
      world()
        .published()
        .filter((p) => p.Subject?.includes('ended unexpectedly')),
    ).toHaveLength(1);
    expect(world().replies(build)).toHaveLength(1);
  });
});

describe('thread replies', () => {
  it('a reply whose post landed but whose answer was lost is not posted again on the redelivery', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    const event = ec2StateChange(INSTANCE_ID, 'shutting-down', at(40));
    world().slack.loseAnswerOfNext('chat.postMessage');
    await expect(instanceState(event)).rejects.toThrow();
    expect(world().replies(build)).toHaveLength(1);
    expect(await world().get(build.BuildID)).toMatchObject({ NotifiedStatus: 'building' });

    await instanceState(event);
    expect(world().replies(build)).toHaveLength(1);
    expect(world().replies(build)[0]?.metadata).toEqual({
      event_type: 'metal_build_status',
      event_payload: { build_id: build.BuildID, status: 'terminated' },
    });
    expect(await world().get(build.BuildID)).toMatchObject({ NotifiedStatus: 'terminated' });
    expect(world().published()).toHaveLength(1);
  });
});

describe('stray machines', () => {
  it('two watchdog runs at once on one orphan: terminated, mailed and told in the thread once', async () => {
    const build = await world().seed(
      aLaunchedBuild('building', { Status: 'completed', CompletionTime: at(20), ExpirationTime: Math.floor(Date.parse(at(20)) / 1000) + 365 * 86400 }),
      { machine: false, slot: false },
    );
    world().ec2.add({
      id: 'i-0fedcba9876543210',
      state: 'running',
      launchTime: at(3),
      tags: { Project: 'labapp', AutoDelete: 'true', LaunchedBy: 'metal-build', BuildID: build.BuildID },
    });
    world().clock.minutesAfterT0(40);
    const run = () => watchdogHandler(world().deps)(scheduled(at(40)));
    await Promise.all([run(), run()]);

    expect(world().ec2.liveOf(build.BuildID)).toEqual([]);
    expect(
      world()
        .published()
        .filter((p) => p.Subject?.includes('i-0fedcba9876543210')),
    ).toHaveLength(1);
    expect(
      world()
        .replies(build)
        .filter((m) => m.text.includes('i-0fedcba9876543210')),
    ).toHaveLength(1);

    await watchdogAt(41);
    expect(
      world()
        .published()
        .filter((p) => p.Subject?.includes('i-0fedcba9876543210')),
    ).toHaveLength(1);
  });

  it('an orphan whose mail failed is told by the next run, once', async () => {
    world().ec2.add({
      id: 'i-0fedcba9876543210',
      state: 'running',
      launchTime: at(3),
      tags: { Project: 'labapp', AutoDelete: 'true', LaunchedBy: 'metal-build', BuildID: 'build-20261125-170052-zzzz' },
    });
    world().snsStandIn.failNext('Throttling', 400, 'SNS is throttling');
    await expect(watchdogAt(20)).rejects.toThrow();
    expect(world().ec2.terminateRequests()).toEqual([['i-0fedcba9876543210']]);
    const orphanMails = () =>
      world()
        .published()
        .filter((p) => p.Subject?.includes('i-0fedcba9876543210'));
    expect(orphanMails()).toEqual([]); // refused, so not recorded
    world().ec2.setState('i-0fedcba9876543210', 'running'); // the termination did not take
    await watchdogAt(21);
    await watchdogAt(22);
    // The refused attempt is not recorded: one mail went out (at 21), nothing after it.
    expect(orphanMails()).toHaveLength(1);
    expect(world().ec2.terminateRequests().length).toBeGreaterThanOrEqual(2);
  });
});
