import type { EC2Client, Filter, Instance, Tag } from '@aws-sdk/client-ec2';
import { RunInstancesCommand, TerminateInstancesCommand, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import type { InstanceState } from '../core/build';
import { INSTANCE_STATES } from '../core/build';
import type { Compute, LaunchRequest, LaunchResult, Machine } from '../core/ports';
import { classifyRefusal } from './launch-plan';
import { LAUNCHED_BY_TAG } from '../core/machine-tags';

// The Compute port over EC2. Expected refusals (capacity, unsupported type, quota, a request
// EC2 calls invalid) are values so the launch can try the next subnet or type; anything else
// (throttling, 5xx after the SDK's own retries, network) throws so EventBridge retries.

/** States in which a machine still costs money and may need ending. */
const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped'];

export class Ec2Compute implements Compute {
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
      // TerminateInstances is allowed on those only (core/machine-tags.ts).
      { Name: `tag:${LAUNCHED_BY_TAG.key}`, Values: [LAUNCHED_BY_TAG.value] },
      { Name: 'instance-state-name', Values: LIVE_STATES },
    ]);
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
