import { describe, expect, it } from 'vitest';
import type { Build } from '../../core/build';
import type { BuildPhaseDetail } from '../../core/events';
import { PhaseArrivedEarlyError, createHandler } from '../../events/build-phase';
import { INSTANCE_ID, aLaunchedBuild, anApprovedBuild, at } from '../../stand-ins/build-fixture';
import { SHA256, buildPhase } from './event-fixtures';
import { logLines, useWorld } from './world';

const world = useWorld({ minutesAfterT0: 10 });

const phase = (event: unknown) => createHandler(world().deps)(event);
const detail = (build: Build, d: Partial<BuildPhaseDetail> & Pick<BuildPhaseDetail, 'phase' | 'at'>): BuildPhaseDetail => ({
  buildId: build.BuildID,
  instanceId: INSTANCE_ID,
  ...d,
});
const ARTIFACT_KEY = 'builds/build-20261125-170052-a1b2/hedgehog-lab-prewarmed-0.0.0-abc1234.ova';

/** Deliver twice (EventBridge is at-least-once); the second must change nothing. */
async function twice(event: unknown) {
  await phase(event);
  await phase(event);
}

describe('build-phase (Build Phase from the runner)', () => {
  it('cloning in launching → building (Phase, ActualCommit); building then sets BuildStartTime without a new message', async () => {
    const build = await world().seed(aLaunchedBuild('launching'));
    await twice(buildPhase(detail(build, { phase: 'cloning', at: at(4), actualCommit: 'abc1234def5678' })));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'building', Phase: 'cloning', ActualCommit: 'abc1234def5678', NotifiedStatus: 'building' });
    expect((await world().get(build.BuildID))?.BuildStartTime).toBeUndefined();

    await twice(buildPhase(detail(build, { phase: 'building', at: '2026-11-25T17:05:52Z' })));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'building', Phase: 'building', BuildStartTime: at(5) });

    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain('abc1234def5678');
    expect(replies[0]!.text).toContain(`/labapp/metal-builds/${build.BuildID}`);
    // One redraw per change: cloning (with the message) and building.
    expect(world().slack.callsTo('chat.update')).toHaveLength(2);
    expect(world().published()).toEqual([]);
    expect(world().ec2.stub.calls()).toEqual([]);
  });

  it('building in launching (cloning never arrived) → building with BuildStartTime', async () => {
    const build = await world().seed(aLaunchedBuild('launching'));
    await twice(buildPhase(detail(build, { phase: 'building', at: at(6) })));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'building', Phase: 'building', BuildStartTime: at(6) });
    expect(world().replies(build)).toHaveLength(1);
  });

  it('uploading in building → uploading, told once', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    await twice(buildPhase(detail(build, { phase: 'uploading', at: at(70) })));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'uploading', Phase: 'uploading', NotifiedStatus: 'uploading' });
    expect(world().replies(build)).toHaveLength(1);
    expect(world().replies(build)[0]!.text).toContain('uploading');
    expect(world().published()).toEqual([]);
    expect(world().ec2.stub.calls()).toEqual([]);
  });

  it('completed in uploading → completed with artifact, size, sha256, duration and a ready aws s3 cp; broadcast; [OK]', async () => {
    const build = await world().seed(aLaunchedBuild('uploading'));
    world().clock.minutesAfterT0(85);
    await twice(
      buildPhase(
        detail(build, {
          phase: 'completed',
          at: at(84),
          actualCommit: 'abc1234def5678',
          artifact: { bucket: 'hedgehog-lab-artifacts', key: ARTIFACT_KEY, sha256: SHA256, bytes: 21_474_836_480 },
          logKey: `builds/${build.BuildID}/logs/build.log`,
          durationSeconds: 4740,
        }),
      ),
    );
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({
      Status: 'completed',
      Phase: 'completed',
      CompletionTime: at(84),
      ArtifactKey: ARTIFACT_KEY,
      ArtifactSha256: SHA256,
      ArtifactBytes: 21_474_836_480,
      BuildDurationSeconds: 4740,
      LogKey: `builds/${build.BuildID}/logs/build.log`,
      NotifiedStatus: 'completed',
    });
    // The slot follows the machine: freed when EC2 reports it gone.
    expect(await world().slots()).toEqual([build.BuildID]);
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.subtype).toBe('thread_broadcast');
    const shown = JSON.stringify(replies[0]!.blocks);
    expect(replies[0]!.text).toContain('<@U0REQUESTER>');
    expect(shown).toContain(`s3://hedgehog-lab-artifacts/${ARTIFACT_KEY}`);
    expect(shown).toContain(SHA256);
    expect(shown).toContain('21.5 GB');
    expect(shown).toContain(`aws s3 cp s3://hedgehog-lab-artifacts/${ARTIFACT_KEY} .`);
    expect(replies[0]!.text).toContain('1 h 19 min');
    const published = world().published();
    expect(published.map((p) => p.Subject)).toEqual([`[OK] metal-build ${build.BuildID} completed`]);
    expect(published[0]!.Message).toContain(`aws s3 cp s3://hedgehog-lab-artifacts/${ARTIFACT_KEY} .`);
    // The machine powers itself off; nothing here terminates it.
    expect(world().ec2.stub.calls()).toEqual([]);
  });

  it('completed straight from building → completed', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    await twice(buildPhase(detail(build, { phase: 'completed', at: at(80), artifact: { bucket: 'b', key: ARTIFACT_KEY, sha256: SHA256, bytes: 1 } })));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', ArtifactKey: ARTIFACT_KEY });
    expect(world().replies(build)).toHaveLength(1);
  });

  it.each(['launching', 'building', 'uploading'] as const)('failed in %s → failed with ErrorMessage, LogTail, log key and log group; [FAILED]', async (status) => {
    const build = await world().seed(aLaunchedBuild(status));
    const logTail = 'packer: ==> qemu: Error: <!channel> disk full\nBuild failed.';
    await twice(
      buildPhase(
        detail(build, {
          phase: 'failed',
          at: at(40),
          message: 'packer build failed (exit 1)',
          logTail,
          logKey: `builds/${build.BuildID}/logs/build.log`,
        }),
      ),
    );
    expect(await world().get(build.BuildID)).toMatchObject({
      Status: 'failed',
      Phase: 'failed',
      CompletionTime: at(40),
      ErrorMessage: 'packer build failed (exit 1)',
      LogTail: logTail,
      LogKey: `builds/${build.BuildID}/logs/build.log`,
    });
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.subtype).toBe('thread_broadcast');
    const shown = JSON.stringify(replies[0]!.blocks);
    expect(shown).toContain('packer build failed (exit 1)');
    expect(shown).toContain('&lt;!channel&gt; disk full');
    expect(shown).not.toContain('<!channel>');
    expect(shown).toContain(`s3://hedgehog-lab-artifacts/builds/${build.BuildID}/logs/build.log`);
    expect(shown).toContain(`/labapp/metal-builds/${build.BuildID}`);
    expect(world().published().map((p) => p.Subject)).toEqual([`[FAILED] metal-build ${build.BuildID} failed`]);
    expect(world().ec2.stub.calls()).toEqual([]);
    expect(await world().slots()).toEqual([build.BuildID]);
  });

  it('a phase from an instance that is not the build\'s is dropped and logged', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    await phase(buildPhase({ buildId: build.BuildID, instanceId: 'i-0badbadbadbadbad0', phase: 'completed', at: at(30), artifact: { bucket: 'b', key: 'evil.ova', sha256: SHA256, bytes: 1 } }));
    expect(await world().get(build.BuildID)).toEqual(build);
    expect(world().replies(build)).toEqual([]);
    expect(world().published()).toEqual([]);
    expect(world().ec2.stub.calls()).toEqual([]);
    expect(logLines(world(), 'WARN')).toEqual([
      expect.objectContaining({ buildId: build.BuildID, instanceId: 'i-0badbadbadbadbad0', expectedInstanceId: INSTANCE_ID, phase: 'completed' }),
    ]);
  });

  it('completed overtaking the earlier phases (still launching) is refused for a retry, then lands after them', async () => {
    const build = await world().seed(aLaunchedBuild('launching'));
    const completed = buildPhase(detail(build, { phase: 'completed', at: at(80), artifact: { bucket: 'b', key: ARTIFACT_KEY, sha256: SHA256, bytes: 1 } }));
    await expect(phase(completed)).rejects.toThrow(PhaseArrivedEarlyError);
    expect(await world().get(build.BuildID)).toEqual(build);
    expect(world().replies(build)).toEqual([]);
    expect(world().published()).toEqual([]);

    // The delayed events arrive; EventBridge's retry of `completed` then finishes the build.
    await phase(buildPhase(detail(build, { phase: 'building', at: at(6) })));
    await phase(completed);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', ArtifactKey: ARTIFACT_KEY });
    expect(world().replies(build).map((r) => r.text)).toEqual([expect.stringContaining('Building'), expect.stringContaining('completed')]);
  });

  it('a phase before the launch was recorded (approved, no InstanceID) is refused for a retry, nothing changed', async () => {
    const build = await world().seed(anApprovedBuild(), { machine: false });
    await expect(phase(buildPhase(detail(build, { phase: 'cloning', at: at(4) })))).rejects.toThrow(PhaseArrivedEarlyError);
    expect(await world().get(build.BuildID)).toEqual(build);
    expect(world().replies(build)).toEqual([]);
  });

  it('a late phase after the build ended changes nothing', async () => {
    const build = await world().seed(aLaunchedBuild('building', { Status: 'cancelled', CancelledBy: 'U0REQUESTER', TerminationReason: 'cancelled' }), { machine: false });
    await phase(buildPhase(detail(build, { phase: 'failed', at: at(30), message: 'killed' })));
    expect(await world().get(build.BuildID)).toEqual(build);
    expect(world().replies(build)).toEqual([]);
  });

  it('drops malformed phases (bad sha256, unknown phase, extra field, wrong source) with nothing changed', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    const good = buildPhase(detail(build, { phase: 'uploading', at: at(30) }));
    const fields = good.detail as BuildPhaseDetail;
    await phase({ ...good, detail: { ...fields, phase: 'exploding' } });
    await phase({ ...good, detail: { ...fields, artifact: { bucket: 'b', key: 'k', sha256: 'nope', bytes: 1 } } });
    await phase({ ...good, detail: { ...fields, Status: 'completed' } });
    await phase({ ...good, source: 'labapp.metal-build' });
    expect(await world().get(build.BuildID)).toEqual(build);
    expect(world().replies(build)).toEqual([]);
    const drops = logLines(world(), 'WARN').filter((l) => l.message === 'dropped a malformed event');
    expect(drops).toHaveLength(4);
    expect(drops.every((l) => l.buildId === build.BuildID)).toBe(true);
  });

  it('a Slack failure after the transition throws; the redelivery posts once', async () => {
    const build = await world().seed(aLaunchedBuild('uploading'));
    const event = buildPhase(detail(build, { phase: 'completed', at: at(80), artifact: { bucket: 'b', key: ARTIFACT_KEY, sha256: SHA256, bytes: 1 } }));
    world().slack.failNext('chat.postMessage', 'internal_error');
    await expect(phase(event)).rejects.toThrow('internal_error');
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'completed', NotifiedStatus: 'uploading' });
    await twice(event);
    expect(world().replies(build)).toHaveLength(1);
    expect(await world().get(build.BuildID)).toMatchObject({ NotifiedStatus: 'completed' });
  });
});
