import { ageMs } from '../../domain/lifetime';
import type { WatchdogRun } from './run';

// Disks of this stack's launches that no machine uses (a launch template or an operator set
// DeleteOnTermination off, or a detach): 500 GB of gp3 costs about $40 a month for nothing.
// The root volume is `available` only once its machine is gone, so after a grace that covers
// EC2's own detach-and-delete at termination it is deleted. Only volumes carrying the stack's
// launch tags are ever listed, and the role may delete only those (infra/build-machine.ts).

/** EC2 deletes a DeleteOnTermination volume within minutes of the termination. */
export const LOOSE_VOLUME_GRACE_MINUTES = 60;

export async function deleteLooseVolumes(run: WatchdogRun): Promise<void> {
  const volumes = await run.step('list loose volumes', undefined, () => run.deps.compute.looseVolumes());
  for (const volume of volumes ?? []) {
    if (ageMs(volume.createTime, run.now) < LOOSE_VOLUME_GRACE_MINUTES * 60_000) continue;
    const buildId = volume.tags.BuildID;
    await run.step('delete loose volume', buildId, async () => {
      await run.deps.compute.deleteVolume(volume.volumeId);
      run.log.warn('deleted a volume no machine uses', {
        ...(buildId ? { buildId } : {}),
        volumeId: volume.volumeId,
        sizeGb: volume.sizeGb,
        createTime: volume.createTime,
      });
    });
  }
}
