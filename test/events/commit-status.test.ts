import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GithubCommitStatuses } from '../../adapters/github/commit-statuses';
import type { Build } from '../../domain/build';
import { createHandler as buildPhaseHandler } from '../../events/build-phase';
import { createHandler as cancelHandler } from '../../events/cancel';
import { createHandler as instanceStateHandler } from '../../events/instance-state';
import { createHandler as launchHandler } from '../../events/launch';
import { createHandler as watchdogHandler } from '../../events/watchdog';
import { anApprovedBuild, at } from '../../stand-ins/build-fixture';
import type { GithubStandIn } from '../../stand-ins/github';
import { SANDBOX_GITHUB_STATUS_TOKEN, startGithubStandIn } from '../../stand-ins/github';
import { SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { SHA256, buildApproved, buildPhase, cancelRequested, ec2StateChange, scheduled } from '../support/event-fixtures';
import { logLines, useWorld } from '../support/events-world';

// The build's state on its commit in GitHub (docs/design.md "Builds requested by GitHub"): pending
// from the launch, then success, failure or error, through the real handlers and the GitHub
// stand-in; a status GitHub refused is set by the next event or the watchdog, and never changes
// the build.

const world = useWorld({ minutesAfterT0: 2 });
let github: GithubStandIn;

beforeAll(async () => {
  github = await startGithubStandIn();
});
afterAll(async () => {
  await github.close();
});

const COMMIT = '3f786850e387550fdab836ed7e6dc881de23001b';
const REPOSITORY = 'afewell-hh/labapp';

beforeEach(() => {
  github.reset();
  world().configure({ GITHUB_REPOSITORY: REPOSITORY, GITHUB_CHANNEL_ID: SANDBOX_CHANNEL, GITHUB_API_URL: github.url });
  world().deps = { ...world().deps, commitStatuses: new GithubCommitStatuses(github.url, SANDBOX_GITHUB_STATUS_TOKEN) };
});

const states = () => github.statuses(COMMIT).map((s) => s.state);
const deliver = {
  launch: (b: Build) => launchHandler(world().deps)(buildApproved(b.BuildID, at(1))),
  phase: async (b: Build, phase: 'building' | 'uploading' | 'completed' | 'failed', minutes: number) => {
    const instanceId = (await world().get(b.BuildID))!.InstanceID!;
    world().clock.minutesAfterT0(minutes);
    const completed =
      phase === 'completed'
        ? {
            artifact: { bucket: 'hedgehog-lab-artifacts', key: `builds/${b.BuildID}/hedgehog-lab-prewarmed-1.4.0.ova`, sha256: SHA256, bytes: 1024 },
            logKey: `builds/${b.BuildID}/logs/build.log`,
          }
        : {};
    const failed = phase === 'failed' ? { message: 'packer exited with 1' } : {};
    return buildPhaseHandler(world().deps)(buildPhase({ buildId: b.BuildID, instanceId, phase, at: at(minutes), ...completed, ...failed }));
  },
  ended: async (b: Build, minutes: number) => {
    const instanceId = (await world().get(b.BuildID))!.InstanceID!;
    world().clock.minutesAfterT0(minutes);
    return instanceStateHandler(world().deps)(ec2StateChange(instanceId, 'terminated', at(minutes)));
  },
  watchdog: (minutes: number) => {
    world().clock.minutesAfterT0(minutes);
    return watchdogHandler(world().deps)(scheduled(at(minutes)));
  },
};

async function approvedGithubBuild(overrides: Partial<Build> = {}): Promise<Build> {
  return world().seed(anApprovedBuild({ BuildBranch: 'v1.4.0', BuildCommit: COMMIT, Requester: 'github', GithubLogin: 'octocat', ...overrides }));
}

describe('the commit status of a build', () => {
  it('completed: pending from the launch, success at completion, each linked to the thread; nothing more after', async () => {
    const build = await approvedGithubBuild();
    await deliver.launch(build);
    expect(states()).toEqual(['pending']);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching', GithubStatus: 'pending' });

    await deliver.phase(build, 'building', 10);
    await deliver.phase(build, 'uploading', 70);
    await deliver.phase(build, 'completed', 80);
    await deliver.ended(build, 82);
    await deliver.watchdog(83);

    expect(states()).toEqual(['pending', 'success']);
    const [pending, success] = github.statuses(COMMIT);
    for (const status of [pending!, success!]) {
      expect(status).toMatchObject({ repository: REPOSITORY, context: 'metal-build' });
      expect(status.targetUrl).toMatch(new RegExp(`/archives/${SANDBOX_CHANNEL}/p`));
      expect([...status.description!].length).toBeLessThanOrEqual(140);
    }
    expect(pending!.description).toBe(`${build.BuildID}: approved, building on c5n.metal`);
    expect(success!.description).toContain('completed');
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', GithubStatus: 'success' });
  });

  it('failed: pending, then failure with the reason', async () => {
    const build = await approvedGithubBuild();
    await deliver.launch(build);
    await deliver.phase(build, 'failed', 20);
    expect(states()).toEqual(['pending', 'failure']);
    expect(github.statuses(COMMIT)[1]!.description).toBe(`${build.BuildID}: failed: packer exited with 1`);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'failed', GithubStatus: 'failure' });
  });

  it('forced at its limit by the watchdog: pending, then error', async () => {
    const build = await approvedGithubBuild();
    await deliver.launch(build);
    await deliver.phase(build, 'building', 10);
    await deliver.watchdog(2 + 3 * 60);
    await deliver.watchdog(2 + 3 * 60 + 1);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'terminated', TerminationReason: 'forced', GithubStatus: 'error' });
    expect(states()).toEqual(['pending', 'error']);
    expect(github.statuses(COMMIT)[1]!.description).toBe(`${build.BuildID}: terminated (its time limit)`);
  });

  it('cancelled while running: pending, then error', async () => {
    const build = await approvedGithubBuild();
    await deliver.launch(build);
    world().clock.minutesAfterT0(15);
    await cancelHandler(world().deps)(cancelRequested(build.BuildID, 'U0APPROVER', at(15)));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'cancelled', GithubStatus: 'error' });
    expect(states()).toEqual(['pending', 'error']);
    expect(github.statuses(COMMIT)[1]!.description).toBe(`${build.BuildID}: cancelled`);
  });

  it('GitHub failing for a while: each later event tries again, the watchdog sets the last; the build goes on as if nothing failed', async () => {
    const build = await approvedGithubBuild();
    github.failFor(2);
    await deliver.launch(build);
    await deliver.phase(build, 'building', 10);
    expect(states()).toEqual([]);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'building' });
    expect((await world().get(build.BuildID))!.GithubStatus).toBeUndefined();
    expect(logLines(world(), 'WARN').filter((l) => l.message === 'commit status not set; the next event or the watchdog tries again')).toHaveLength(2);

    await deliver.phase(build, 'uploading', 70);
    expect(states()).toEqual(['pending']);

    github.failFor(2);
    await deliver.phase(build, 'completed', 80);
    await deliver.ended(build, 82);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', GithubStatus: 'pending' });
    expect(states()).toEqual(['pending']);

    await deliver.watchdog(83);
    expect(states()).toEqual(['pending', 'success']);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', GithubStatus: 'success' });
    await deliver.watchdog(84);
    expect(states()).toEqual(['pending', 'success']);
  });

  it('a build of a full commit asked in Slack gets statuses too; a short commit, or no token, none', async () => {
    const slack = await world().seed(anApprovedBuild({ BuildCommit: COMMIT }));
    await deliver.launch(slack);
    expect(states()).toEqual(['pending']);

    github.reset();
    const short = await world().seed(anApprovedBuild({ BuildID: 'build-20261125-170052-b2c3', BuildCommit: 'abc1234' }));
    await deliver.launch(short);
    expect(github.statuses()).toEqual([]);

    world().configure({ GITHUB_REPOSITORY: REPOSITORY, GITHUB_CHANNEL_ID: SANDBOX_CHANNEL, GITHUB_API_URL: github.url });
    const untokened = await world().seed(anApprovedBuild({ BuildID: 'build-20261125-170052-c3d4', BuildCommit: COMMIT }));
    await deliver.launch(untokened);
    expect(github.statuses()).toEqual([]);
  });
});
