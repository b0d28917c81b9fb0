import { describe, expect, it } from 'vitest';
import type { Build } from '../../domain/build';
import { createHandler } from '../../events/launch';
import { clientToken } from '../../events/launch/plan';
import { anApprovedBuild, at } from '../../stand-ins/build-fixture';
import { buildApproved } from '../support/event-fixtures';
import { SUBNETS, logLines, useWorld } from '../support/events-world';

// KVM on a virtual type (docs/design.md "Choosing the machine", "Events"): a type whose
// DescribeInstanceTypes lists `nested-virtualization` is launched with the CPU option, a metal
// type without it, and a refusal of the option ends that type's attempts.

const world = useWorld({ minutesAfterT0: 2 });

const launch = (b: Build) => createHandler(world().deps)(buildApproved(b.BuildID, at(1)));
const KVM_TYPES = 'c5n.metal,m5zn.metal,m8i.8xlarge,c8i.4xlarge';

describe('nested virtualization at launch', () => {
  it('a C8i/M8i/R8i type is launched with CpuOptions.NestedVirtualization=enabled, under its own ClientToken', async () => {
    world().configure({ INSTANCE_TYPES: KVM_TYPES });
    const build = await world().seed(anApprovedBuild({ RequestedType: 'm8i.8xlarge', LimitHours: 2, CostMax: 3.6 }));
    await launch(build);

    const [run, ...more] = world().ec2.runRequests();
    expect(more).toEqual([]);
    expect(run).toMatchObject({
      InstanceType: 'm8i.8xlarge',
      'CpuOptions.NestedVirtualization': 'enabled',
      ClientToken: clientToken(build.BuildID, 'm8i.8xlarge', SUBNETS[0], true),
    });
    expect(clientToken(build.BuildID, 'm8i.8xlarge', SUBNETS[0], true)).not.toBe(clientToken(build.BuildID, 'm8i.8xlarge', SUBNETS[0]));
    const [machine] = world().ec2.all();
    expect(machine).toMatchObject({ instanceType: 'm8i.8xlarge', nestedVirtualization: true });
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching', InstanceType: 'm8i.8xlarge', InstanceID: machine!.instanceId });
  });

  it('a metal type is launched exactly as before: no CPU option', async () => {
    world().configure({ INSTANCE_TYPES: KVM_TYPES });
    const build = await world().seed(anApprovedBuild());
    await launch(build);

    const [run] = world().ec2.runRequests();
    expect(run?.InstanceType).toBe('c5n.metal');
    expect(Object.keys(run ?? {}).filter((k) => k.startsWith('CpuOptions'))).toEqual([]);
    expect(world().ec2.all()[0]?.nestedVirtualization).toBeUndefined();
  });

  it('EC2 refusing the option ends that type at once (no other subnet tried): the fallback launches and the thread says why', async () => {
    world().configure({ INSTANCE_TYPES: KVM_TYPES });
    world().ec2.refuse('c8i.4xlarge', undefined, 'InvalidParameterCombination');
    // c8i.4xlarge at 1 h is about $0.80; its fallback m5zn.metal costs far more: allowed here by the overrun setting.
    world().configure({ FALLBACK_MAX_OVERRUN_PERCENT: '1000' });
    const build = await world().seed(anApprovedBuild({ RequestedType: 'c8i.4xlarge', LimitHours: 1, CostMax: 0.81 }));
    await launch(build);

    expect(
      world()
        .ec2.runRequests()
        .map((r) => [r.InstanceType, r.SubnetId, r['CpuOptions.NestedVirtualization']]),
    ).toEqual([
      ['c8i.4xlarge', SUBNETS[0], 'enabled'],
      ['m5zn.metal', SUBNETS[0], undefined],
    ]);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching', InstanceType: 'm5zn.metal' });
    const note = world()
      .replies(build)
      .map((m) => m.text)
      .find((t) => t?.includes('EC2 refused'));
    expect(note).toContain('c8i.4xlarge in subnet-0aaaaaaaaaaaaaaaa (InvalidParameterCombination)');
  });

  it('a parameter refusal without the option still tries the next subnet (only the option makes it final)', async () => {
    world().ec2.refuse('c5n.metal', SUBNETS[0], 'InvalidParameterCombination');
    const build = await world().seed(anApprovedBuild());
    await launch(build);

    expect(
      world()
        .ec2.runRequests()
        .map((r) => [r.InstanceType, r.SubnetId]),
    ).toEqual([
      ['c5n.metal', SUBNETS[0]],
      ['c5n.metal', SUBNETS[1]],
    ]);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching', InstanceType: 'c5n.metal' });
  });

  it('DescribeInstanceTypes failing: logged with the build, the launch goes on without the option (the runner then fails in minute one)', async () => {
    world().configure({ INSTANCE_TYPES: KVM_TYPES });
    world().ec2.failNext('DescribeInstanceTypes', 'UnauthorizedOperation', 403);
    const build = await world().seed(anApprovedBuild({ RequestedType: 'm8i.8xlarge', LimitHours: 2, CostMax: 3.6 }));
    await launch(build);

    const [run] = world().ec2.runRequests();
    expect(run?.InstanceType).toBe('m8i.8xlarge');
    expect(run?.['CpuOptions.NestedVirtualization']).toBeUndefined();
    expect(logLines(world(), 'WARN')).toContainEqual(
      expect.objectContaining({ buildId: build.BuildID, message: 'could not read which types support nested virtualization; launching without the option' }),
    );
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching' });
  });
});
