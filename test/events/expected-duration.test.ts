import { describe, expect, it } from 'vitest';
import { wireBotDeps } from '../../bot/deps';
import { requestBuild } from '../../bot/request';
import { DURATIONS_PREFIX } from '../../adapters/aws/dynamo-durations';
import type { Build } from '../../domain/build';
import { createHandler } from '../../events/build-phase';
import { aLaunchedBuild, at } from '../../stand-ins/build-fixture';
import { REQUESTER, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { buildPhase } from '../support/event-fixtures';
import { logLines, useWorld } from '../support/events-world';

// docs/design.md "Cost model": build-phase adds each completed build's LaunchTime-to-CompletionTime
// (the handlers' clock) to `#durations#<type>`; the next request's card quotes their median.
// Both sides run for real here, on one dynalite: the build-phase handler and the bot's request.

const world = useWorld();

const phase = (event: unknown) => createHandler(world().deps)(event);
const ITEM = `${DURATIONS_PREFIX}c5n.metal`;

/** A build launched `start` minutes after T0, uploading: the n-th of this file. */
async function seedBuild(n: number, start: number, overrides: Partial<Build> = {}): Promise<Build> {
  return world().seed(
    aLaunchedBuild('uploading', {
      BuildID: `build-20261125-17${String(n).padStart(4, '0')}-hist`,
      InstanceID: `i-${n.toString(16).padStart(17, '0')}`,
      LaunchTime: at(start),
      BuildStartTime: at(start + 3),
      ...overrides,
    }),
  );
}

/** The runner says `completed` when the handlers' clock reads `minutes` after T0; what it claims itself is beside the point. */
async function completeAt(build: Build, minutes: number, claims: { at?: string; durationSeconds?: number } = {}) {
  world().clock.minutesAfterT0(minutes);
  await phase(
    buildPhase({
      buildId: build.BuildID,
      instanceId: build.InstanceID!,
      phase: 'completed',
      at: claims.at ?? at(minutes),
      durationSeconds: claims.durationSeconds ?? 1,
    }),
  );
}

/** The history item as stored, without the store's bookkeeping. */
async function history(): Promise<{ Version: number; Completions: Array<{ BuildID: string; Seconds: number; CompletedAt: string }> } | undefined> {
  return (await world().dynamo.get(ITEM)) as never;
}

/** `/metal-build main abc1234` through the bot's request, on this world's table and Slack. */
async function request(): Promise<{ build: Build; card: string }> {
  const { deps } = world();
  // The bot's request over the handlers' own store, ledger, history and Slack (one table, one Slack).
  const botDeps = wireBotDeps(
    { dynamo: world().dynamo.client },
    { config: deps.config, credentials: { signingSecret: 'unused', botToken: 'unused' }, clock: deps.clock, log: deps.log },
    {
      store: deps.store,
      claims: deps.claims,
      ledger: deps.ledger,
      durations: deps.durations,
      chat: deps.chat,
      bus: { put: () => Promise.reject(new Error('a request puts no event')) },
      approvers: { rules: () => Promise.reject(new Error('a request decides no approval')) },
    },
  );
  const before = new Set((await world().builds()).map((b) => b.BuildID));
  await requestBuild(botDeps, {
    user: REQUESTER,
    channel: SANDBOX_CHANNEL,
    triggerId: `trigger-${Date.now()}-${Math.random()}`,
    branch: 'main',
    commit: 'abc1234',
  });
  const build = (await world().builds()).find((b) => !before.has(b.BuildID));
  if (!build) throw new Error('no build requested');
  const [card] = world().slack.replies(SANDBOX_CHANNEL, build.ThreadTs);
  return { build, card: JSON.stringify(card?.blocks) };
}

describe('expected duration from the history of completed builds', () => {
  it(`with fewer than 3 completed builds: EXPECTED_BUILD_HOURS, and the card says it is the default, without the setting's name`, async () => {
    await completeAt(await seedBuild(1, 0), 60);
    await completeAt(await seedBuild(2, 100), 170);
    expect((await history())?.Completions.map((c) => c.Seconds)).toEqual([70 * 60, 60 * 60]);

    const { build, card } = await request();
    expect(build).toMatchObject({ ExpectedHours: 1.5, ExpectedFromBuilds: 0, CostEstimate: 5.91, CostMax: 11.83 });
    expect(card).toContain('*Expected duration*\\n1 h 30 min — the default until 3 builds of this type have finished');
    expect(card).not.toContain('EXPECTED_BUILD_HOURS');
    expect(card).toContain('Expected (1.5 h): *$5.91*');
  });

  it('12 completions: only the newest 10 are kept and count; the card says "median of the last 10 builds"', async () => {
    // Two slow builds first, then ten whose median is 92 min: the slow ones must drop out.
    const minutes = [300, 300, 85, 88, 90, 91, 92, 92, 94, 95, 97, 100];
    const builds: Build[] = [];
    for (const [i, m] of minutes.entries()) {
      const start = i * 400;
      const build = await seedBuild(i + 1, start);
      await completeAt(build, start + m);
      builds.push(build);
    }
    const item = await history();
    expect(item?.Version).toBe(12);
    expect(item?.Completions.map((c) => c.BuildID)).toEqual(
      builds
        .slice(2)
        .map((b) => b.BuildID)
        .reverse(),
    );
    expect(item?.Completions.map((c) => c.Seconds)).toEqual(
      minutes
        .slice(2)
        .map((m) => m * 60)
        .reverse(),
    );

    const { build, card } = await request();
    expect(build).toMatchObject({ ExpectedHours: 92 / 60, ExpectedFromBuilds: 10, CostMax: 11.83 });
    // 92 min × ($3.888 + $0.0548) per hour.
    expect(build.CostEstimate).toBe(6.05);
    expect(card).toContain('*Expected duration*\\n1 h 32 min, median of the last 10 builds');
    expect(card).toContain('Expected (1 h 32 min): *$6.05*');
    // The history is no build: no listing sees it.
    expect((await world().builds()).map((b) => b.BuildID)).not.toContain(ITEM);
    expect(await world().deps.store.recent(50)).not.toContainEqual(expect.objectContaining({ BuildID: ITEM }));
  });

  it('a redelivered completed phase is recorded once', async () => {
    const build = await seedBuild(1, 0);
    await completeAt(build, 92);
    await completeAt(build, 93);
    await completeAt(build, 120);
    expect(await history()).toEqual({
      BuildID: ITEM,
      InstanceType: 'c5n.metal',
      Version: 1,
      Completions: [{ BuildID: build.BuildID, Seconds: 92 * 60, CompletedAt: at(92) }],
    });
  });

  it("by the handlers' clock: what the machine claims (at, durationSeconds) does not change the time", async () => {
    const build = await seedBuild(1, 10);
    await completeAt(build, 102, { at: at(11), durationSeconds: 60 });
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', BuildDurationSeconds: 60, CompletionTime: at(102) });
    expect((await history())?.Completions).toEqual([{ BuildID: build.BuildID, Seconds: 92 * 60, CompletedAt: at(102) }]);
  });

  it("a failed build, and a late finish after an unexpected end (the runner's `at`), are not recorded", async () => {
    const failed = await seedBuild(1, 0);
    world().clock.minutesAfterT0(40);
    await phase(buildPhase({ buildId: failed.BuildID, instanceId: failed.InstanceID!, phase: 'failed', at: at(40), message: 'packer exited 1' }));
    expect(await world().get(failed.BuildID)).toMatchObject({ Status: 'failed' });

    const late = await seedBuild(2, 100, { Status: 'terminated', TerminationReason: 'unexpected', TerminatedAt: at(190), CompletionTime: at(190) });
    await completeAt(late, 195, { at: at(189) });
    expect(await world().get(late.BuildID)).toMatchObject({ Status: 'completed', CompletionTime: at(189) });

    expect(await history()).toBeUndefined();
  });

  it('a self-test (Kind: "selftest") never enters the history', async () => {
    await completeAt(await seedBuild(1, 0, { Kind: 'selftest' }), 10);
    expect(await history()).toBeUndefined();
    await completeAt(await seedBuild(2, 20), 80);
    expect((await history())?.Completions.map((c) => c.BuildID)).toEqual(['build-20261125-170002-hist']);
  });

  it('two builds completing at once are both kept', async () => {
    const [a, b] = [await seedBuild(1, 0), await seedBuild(2, 5)];
    world().clock.minutesAfterT0(95);
    const completed = (build: Build) => buildPhase({ buildId: build.BuildID, instanceId: build.InstanceID!, phase: 'completed', at: at(95) });
    await Promise.all([phase(completed(a)), phase(completed(b))]);
    const item = await history();
    expect(item?.Version).toBe(2);
    expect(item?.Completions.map((c) => [c.BuildID, c.Seconds]).sort()).toEqual([
      [a.BuildID, 95 * 60],
      [b.BuildID, 90 * 60],
    ]);
  });

  it('a history that cannot be written: logged with the BuildID, the completion itself goes through', async () => {
    const build = await seedBuild(1, 0);
    const deps = { ...world().deps, durations: { recent: () => Promise.resolve([]), record: () => Promise.reject(new Error('ThrottlingException')) } };
    world().clock.minutesAfterT0(92);
    await createHandler(deps)(buildPhase({ buildId: build.BuildID, instanceId: build.InstanceID!, phase: 'completed', at: at(92) }));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', NotifiedStatus: 'completed' });
    expect(world().replies(build)).toHaveLength(1);
    expect(logLines(world(), 'ERROR')).toEqual([
      expect.objectContaining({ buildId: build.BuildID, message: 'could not add the build time to the expected duration' }),
    ]);
  });
});
