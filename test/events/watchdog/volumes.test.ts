import { describe, expect, it } from 'vitest';
import { createHandler } from '../../../events/watchdog';
import { LOOSE_VOLUME_GRACE_MINUTES } from '../../../events/watchdog/safety';
import { at, T0 } from '../../../stand-ins/build-fixture';
import { scheduled } from '../../support/event-fixtures';
import { logLines, useWorld } from '../../support/events-world';

// Disks of this stack's launches that no machine uses are deleted by the watchdog after a
// grace; nobody else's disk is ever touched.

const world = useWorld();
const OURS = { Project: 'labapp', LaunchedBy: 'metal-build', BuildID: 'build-20261125-170052-a1b2', AutoDelete: 'true' };

async function watchdogAt(minutes: number) {
  world().clock.minutesAfterT0(minutes);
  await createHandler(world().deps)(scheduled(at(minutes)));
}

const volumeIds = () =>
  world()
    .ec2.standIn.volumes()
    .map((v) => v.volumeId);

describe('watchdog: volumes no machine uses', () => {
  it(`deletes this stack's loose volume ${LOOSE_VOLUME_GRACE_MINUTES} minutes after it was created, logged with its BuildID`, async () => {
    const loose = world().ec2.standIn.addLooseVolume({ tags: OURS, createTime: new Date(T0) });
    await watchdogAt(LOOSE_VOLUME_GRACE_MINUTES - 1);
    expect(volumeIds()).toEqual([loose]);

    await watchdogAt(LOOSE_VOLUME_GRACE_MINUTES);
    expect(volumeIds()).toEqual([]);
    expect(
      world()
        .ec2.standIn.requests.filter((r) => r.action === 'DeleteVolume')
        .map((r) => r.params.VolumeId),
    ).toEqual([loose]);
    expect(logLines(world(), 'WARN')).toContainEqual(
      expect.objectContaining({ message: 'deleted a volume no machine uses', buildId: OURS.BuildID, volumeId: loose, sizeGb: 500 }),
    );
  });

  it('never lists, so never deletes, a volume without both launch tags, or one a machine uses', async () => {
    const other = world().ec2.standIn.addLooseVolume({ tags: { Project: 'labapp' }, createTime: new Date(T0) });
    const foreign = world().ec2.standIn.addLooseVolume({ tags: { Name: 'production-db' }, createTime: new Date(T0) });
    const machine = world().ec2.standIn.add({
      instanceId: 'i-0aaaaaaaaaaaaaaaa',
      instanceType: 'c5n.metal',
      availabilityZone: 'us-east-1a',
      state: 'running',
      launchTime: new Date(T0),
      tags: OURS,
    });
    await watchdogAt(3 * LOOSE_VOLUME_GRACE_MINUTES);
    expect(volumeIds().sort()).toEqual([other, foreign, machine.rootVolumeId].sort());
    expect(world().ec2.standIn.requests.filter((r) => r.action === 'DeleteVolume')).toEqual([]);
  });

  it('a volume deleted meanwhile (NotFound) or attached again (VolumeInUse) is no failure of the run', async () => {
    world().ec2.standIn.addLooseVolume({ tags: OURS, createTime: new Date(T0) });
    world().ec2.standIn.failNext('DeleteVolume', 'InvalidVolume.NotFound', 400);
    await expect(watchdogAt(LOOSE_VOLUME_GRACE_MINUTES)).resolves.toBeUndefined();
    expect(logLines(world(), 'ERROR')).toEqual([]);
  });
});
