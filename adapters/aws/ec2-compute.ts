import type { EC2Client, Filter, Instance, Tag } from '@aws-sdk/client-ec2';
import {
  DeleteVolumeCommand,
  DescribeImagesCommand,
  DescribeSubnetsCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  paginateDescribeInstanceTypeOfferings,
  paginateDescribeInstanceTypes,
  paginateDescribeInstances,
  paginateDescribeVolumes,
} from '@aws-sdk/client-ec2';
import type { InstanceState } from '../../domain/build';
import { INSTANCE_STATES } from '../../domain/build';
import type { Compute, LaunchRequest, LaunchResult, LooseVolume, Machine } from '../../domain/ports';
import { classifyRefusal } from '../../domain/launch-refusal';
import { LAUNCHED_BY_TAG } from '../../domain/machine-tags';
import { ROOT_DEVICE } from '../../domain/root-device';
import { countsTowardStandardQuota } from '../../domain/launch-capacity';

// The Compute port over EC2. Expected refusals (capacity, unsupported type, quota, a request
// EC2 calls invalid) are values so the launch can try the next subnet or type; anything else
// (throttling, 5xx after the SDK's own retries, network) throws so EventBridge retries.

/** States in which a machine still costs money and may need ending. */
const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped'];

export class Ec2Compute implements Compute {
  // Zones of subnets, offerings and vCPUs of types do not change while a container lives; one
  // adapter per container (events/deps.ts), so these caches are per container.
  private readonly zoneOfSubnet = new Map<string, string>();
  private readonly zonesOfType = new Map<string, string[]>();
  private readonly vcpusOfType = new Map<string, number>();
  private readonly nestedTypes = new Set<string>();

  constructor(
    private readonly client: EC2Client,
    private readonly launchTemplateId: string,
  ) {}

  async launch(request: LaunchRequest): Promise<LaunchResult> {
    const tags: Tag[] = Object.entries(request.tags).map(([Key, Value]) => ({ Key, Value }));
    try {
      const out = await this.client.send(
        new RunInstancesCommand({
          // CloudFormation adds a template version on each stack change but leaves the default at
          // version 1: `$Latest` is the version the stack last wrote.
          LaunchTemplate: { LaunchTemplateId: this.launchTemplateId, Version: '$Latest' },
          InstanceType: request.instanceType as never,
          ...(request.subnetId ? { SubnetId: request.subnetId } : {}),
          MinCount: 1,
          MaxCount: 1,
          ClientToken: request.clientToken,
          UserData: request.userData,
          // Only here: the launch template keeps no CPU options, so a metal type launches as always.
          ...(request.nestedVirtualization ? { CpuOptions: { NestedVirtualization: 'enabled' } } : {}),
          // Replaces the template's root disk (same device), keeping its kind and encryption.
          ...(request.rootVolumeGb !== undefined && {
            BlockDeviceMappings: [
              { DeviceName: ROOT_DEVICE, Ebs: { VolumeSize: request.rootVolumeGb, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } },
            ],
          }),
          TagSpecifications: [
            { ResourceType: 'instance', Tags: tags },
            { ResourceType: 'volume', Tags: tags },
          ],
        }),
      );
      const instance = out.Instances?.[0];
      if (!instance?.InstanceId) throw new Error('RunInstances answered without an instance');
      return {
        ok: true,
        instance: {
          instanceId: instance.InstanceId,
          instanceType: instance.InstanceType ?? request.instanceType,
          availabilityZone: instance.Placement?.AvailabilityZone ?? '',
          launchTime: (instance.LaunchTime ?? new Date()).toISOString(),
        },
      };
    } catch (error) {
      const code = errorCode(error);
      const message = error instanceof Error ? error.message : String(error);
      if (code && classifyRefusal(code, message)) return { ok: false, code, message };
      throw error;
    }
  }

  async terminate(instanceIds: string[]): Promise<void> {
    if (instanceIds.length === 0) return;
    try {
      await this.client.send(new TerminateInstancesCommand({ InstanceIds: instanceIds }));
    } catch (error) {
      // Gone long enough for EC2 to have forgotten it: that is what was asked for.
      if (errorCode(error) === 'InvalidInstanceID.NotFound') return;
      throw error;
    }
  }

  async listTagged(): Promise<Machine[]> {
    return this.describe([
      { Name: 'tag:Project', Values: ['labapp'] },
      { Name: 'tag:AutoDelete', Values: ['true'] },
      { Name: `tag:${LAUNCHED_BY_TAG.key}`, Values: [LAUNCHED_BY_TAG.value] },
      { Name: 'instance-state-name', Values: LIVE_STATES },
    ]);
  }

  async liveMachinesOf(buildId: string): Promise<Machine[]> {
    return this.describe([
      { Name: 'tag:BuildID', Values: [buildId] },
      // Only machines this stack launched: the launch may terminate extras, and its
      // TerminateInstances is allowed on those only (domain/machine-tags.ts).
      { Name: `tag:${LAUNCHED_BY_TAG.key}`, Values: [LAUNCHED_BY_TAG.value] },
      { Name: 'instance-state-name', Values: LIVE_STATES },
    ]);
  }

  async subnetZones(subnetIds: readonly string[]): Promise<Record<string, string>> {
    const missing = subnetIds.filter((id) => id !== '' && !this.zoneOfSubnet.has(id));
    if (missing.length > 0) {
      const out = await this.client.send(new DescribeSubnetsCommand({ SubnetIds: missing }));
      for (const subnet of out.Subnets ?? []) {
        if (subnet.SubnetId && subnet.AvailabilityZone) this.zoneOfSubnet.set(subnet.SubnetId, subnet.AvailabilityZone);
      }
    }
    return pick(this.zoneOfSubnet, subnetIds);
  }

  async offeredZones(instanceTypes: readonly string[]): Promise<Record<string, string[]>> {
    const missing = instanceTypes.filter((t) => !this.zonesOfType.has(t));
    if (missing.length > 0) {
      const found = new Map<string, string[]>(missing.map((t) => [t, []]));
      const pages = paginateDescribeInstanceTypeOfferings(
        { client: this.client },
        { LocationType: 'availability-zone', Filters: [{ Name: 'instance-type', Values: missing }] },
      );
      for await (const page of pages) {
        for (const offering of page.InstanceTypeOfferings ?? []) {
          if (offering.InstanceType && offering.Location) found.get(offering.InstanceType)?.push(offering.Location);
        }
      }
      for (const [type, zones] of found) this.zonesOfType.set(type, zones.sort());
    }
    return pick(this.zonesOfType, instanceTypes);
  }

  async vcpusOf(instanceTypes: readonly string[]): Promise<Record<string, number>> {
    await this.describeTypes(instanceTypes);
    return pick(this.vcpusOfType, instanceTypes);
  }

  async nestedVirtualizationTypes(instanceTypes: readonly string[]): Promise<string[]> {
    await this.describeTypes(instanceTypes);
    return instanceTypes.filter((t) => this.nestedTypes.has(t));
  }

  /** One DescribeInstanceTypes for the types not seen yet in this container; a type's facts never change. */
  private async describeTypes(instanceTypes: readonly string[]): Promise<void> {
    const missing = instanceTypes.filter((t) => !this.vcpusOfType.has(t));
    if (missing.length === 0) return;
    const pages = paginateDescribeInstanceTypes({ client: this.client }, { InstanceTypes: missing as never[] });
    for await (const page of pages) {
      for (const info of page.InstanceTypes ?? []) {
        const vcpus = info.VCpuInfo?.DefaultVCpus;
        if (!info.InstanceType || vcpus === undefined) continue;
        this.vcpusOfType.set(info.InstanceType, vcpus);
        if (info.ProcessorInfo?.SupportedFeatures?.includes('nested-virtualization')) this.nestedTypes.add(info.InstanceType);
      }
    }
  }

  async rootSnapshotSizeGb(imageId: string): Promise<number | undefined> {
    try {
      const out = await this.client.send(new DescribeImagesCommand({ ImageIds: [imageId] }));
      const image = out.Images?.[0];
      const root = image?.BlockDeviceMappings?.find((m) => m.DeviceName === image.RootDeviceName);
      return root?.Ebs?.VolumeSize;
    } catch (error) {
      if ((error as { name?: string }).name === 'InvalidAMIID.NotFound') return undefined;
      throw error;
    }
  }

  async standardVcpusInUse(exceptBuildId: string): Promise<number> {
    const counted: Array<{ type: string; vcpus: number | undefined }> = [];
    const pages = paginateDescribeInstances(
      { client: this.client },
      { Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running'] }], MaxResults: 100 },
    );
    for await (const page of pages) {
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          const type = instance.InstanceType ?? '';
          if (!countsTowardStandardQuota(type, instance.InstanceLifecycle)) continue;
          if (instance.Tags?.some((t) => t.Key === 'BuildID' && t.Value === exceptBuildId)) continue;
          const { CoreCount, ThreadsPerCore } = instance.CpuOptions ?? {};
          counted.push({ type, vcpus: CoreCount !== undefined ? CoreCount * (ThreadsPerCore ?? 1) : undefined });
        }
      }
    }
    const unknown = [...new Set(counted.filter((c) => c.vcpus === undefined).map((c) => c.type))];
    const table = unknown.length > 0 ? await this.vcpusOf(unknown) : {};
    return counted.reduce((sum, c) => sum + (c.vcpus ?? table[c.type] ?? 0), 0);
  }

  async looseVolumes(): Promise<LooseVolume[]> {
    const volumes: LooseVolume[] = [];
    const pages = paginateDescribeVolumes(
      { client: this.client },
      {
        Filters: [
          { Name: 'status', Values: ['available'] },
          { Name: 'tag:Project', Values: ['labapp'] },
          { Name: `tag:${LAUNCHED_BY_TAG.key}`, Values: [LAUNCHED_BY_TAG.value] },
        ],
        MaxResults: 100,
      },
    );
    for await (const page of pages) {
      for (const volume of page.Volumes ?? []) {
        if (!volume.VolumeId) continue;
        const tags: Record<string, string> = {};
        for (const tag of volume.Tags ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
        volumes.push({
          volumeId: volume.VolumeId,
          // EC2 always reports it; if it did not, "now" spares the volume its grace.
          createTime: (volume.CreateTime ?? new Date()).toISOString(),
          sizeGb: volume.Size ?? 0,
          tags,
        });
      }
    }
    return volumes;
  }

  async deleteVolume(volumeId: string): Promise<void> {
    try {
      await this.client.send(new DeleteVolumeCommand({ VolumeId: volumeId }));
    } catch (error) {
      const code = errorCode(error);
      if (code === 'InvalidVolume.NotFound' || code === 'VolumeInUse') return;
      throw error;
    }
  }

  /** Every page: a machine left on a later page would be one nobody ends (or a second launch). */
  private async describe(filters: Filter[]): Promise<Machine[]> {
    const machines: Machine[] = [];
    const pages = paginateDescribeInstances({ client: this.client }, { Filters: filters, MaxResults: 100 });
    for await (const page of pages) {
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          const machine = toMachine(instance);
          if (machine) machines.push(machine);
        }
      }
    }
    return machines;
  }
}

function pick<T>(cache: ReadonlyMap<string, T>, keys: readonly string[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const key of keys) {
    const value = cache.get(key);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function toMachine(instance: Instance): Machine | undefined {
  const state = instance.State?.Name as InstanceState | undefined;
  if (!instance.InstanceId || !state || !(INSTANCE_STATES as readonly string[]).includes(state)) return undefined;
  const tags: Record<string, string> = {};
  for (const tag of instance.Tags ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
  return {
    instanceId: instance.InstanceId,
    instanceType: instance.InstanceType ?? '',
    availabilityZone: instance.Placement?.AvailabilityZone ?? '',
    state,
    // EC2 always reports it; if it ever did not, an old age errs on the side of ending the machine.
    launchTime: (instance.LaunchTime ?? new Date(0)).toISOString(),
    tags,
  };
}

/** The EC2 error code: SDK v3 puts it in `name` (and `Code` for the query protocol). */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { name?: unknown; Code?: unknown };
  if (typeof e.Code === 'string') return e.Code;
  if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
  return undefined;
}
