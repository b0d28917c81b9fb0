import {
  CreateTagsCommand,
  DeleteVolumeCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  paginateDescribeInstanceTypeOfferings,
  paginateDescribeInstances,
  paginateDescribeVolumes,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ec2Compute } from '../../adapters/aws/ec2-compute';
import type { Ec2StandIn, Ec2StandInOptions, StateChangeEvent } from '../../stand-ins/ec2';
import { DEFAULT_LAUNCH_TEMPLATE_ID, startEc2StandIn } from '../../stand-ins/ec2';

// The EC2 stand-in under the real EC2Client and the real Ec2Compute adapter: what the SDK parses
// out of its XML is what production code would see from EC2.

const SUBNETS = { 'subnet-0aaaaaaaaaaaaaaaa': 'us-east-1a', 'subnet-0bbbbbbbbbbbbbbbb': 'us-east-1b' };
const SUBNET_A = 'subnet-0aaaaaaaaaaaaaaaa';
const SUBNET_B = 'subnet-0bbbbbbbbbbbbbbbb';
const TAGS = { Project: 'labapp', AutoDelete: 'true', LaunchedBy: 'metal-build', BuildID: 'build-20261125-170052-a1b2' };
const START = new Date('2026-11-25T17:00:52.250Z');

let now = START.getTime();
const clock = { now: () => new Date(now) };
let ec2: Ec2StandIn;
let client: EC2Client;
let compute: Ec2Compute;

async function start(options: Partial<Ec2StandInOptions> = {}, maxAttempts = 1): Promise<void> {
  ec2 = await startEc2StandIn({ clock, subnets: SUBNETS, ...options });
  client = new EC2Client({
    region: 'us-east-1',
    endpoint: ec2.endpoint,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts,
  });
  compute = new Ec2Compute(client, DEFAULT_LAUNCH_TEMPLATE_ID);
}

function launchRequest(overrides: Partial<Parameters<Ec2Compute['launch']>[0]> = {}) {
  return {
    buildId: TAGS.BuildID,
    instanceType: 'c5n.metal',
    subnetId: SUBNET_A,
    clientToken: 'build-20261125-170052-a1b2-0123456789abcdef',
    userData: Buffer.from('#cloud-config\n').toString('base64'),
    tags: TAGS,
    ...overrides,
  };
}

async function launched(overrides: Partial<Parameters<Ec2Compute['launch']>[0]> = {}): Promise<string> {
  const result = await compute.launch(launchRequest(overrides));
  if (!result.ok) throw new Error(`refused: ${result.code}`);
  return result.instance.instanceId;
}

async function sdkError(promise: Promise<unknown>): Promise<{ name: string; Code?: string; message: string; $metadata: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as never;
  }
  throw new Error('expected the call to fail');
}

beforeEach(() => {
  now = START.getTime();
});
afterEach(async () => {
  client.destroy();
  await ec2.close();
});

describe('RunInstances', () => {
  beforeEach(() => start());

  it('launches through Ec2Compute: pending, zone from the subnet, tags on instance and root volume', async () => {
    const result = await compute.launch(launchRequest());
    expect(result).toEqual({
      ok: true,
      instance: {
        instanceId: expect.stringMatching(/^i-[0-9a-f]{17}$/),
        instanceType: 'c5n.metal',
        availabilityZone: 'us-east-1a',
        launchTime: START.toISOString(),
      },
    });
    const [request] = ec2.requests;
    expect(request?.params).toMatchObject({
      Action: 'RunInstances',
      'LaunchTemplate.LaunchTemplateId': DEFAULT_LAUNCH_TEMPLATE_ID,
      'TagSpecification.1.ResourceType': 'instance',
      'TagSpecification.2.ResourceType': 'volume',
    });
    const instance = ec2.all()[0]!;
    expect(instance).toMatchObject({ state: 'pending', subnetId: SUBNET_A, tags: TAGS, userData: launchRequest().userData });
    expect(ec2.volumes()).toEqual([
      expect.objectContaining({
        volumeId: instance.rootVolumeId,
        state: 'in-use',
        tags: TAGS,
        attachment: expect.objectContaining({ instanceId: instance.instanceId, deleteOnTermination: true }),
      }),
    ]);
  });

  it('answers the same token and parameters with the same instance, other parameters with IdempotentParameterMismatch', async () => {
    const first = await launched();
    expect(await launched()).toBe(first);
    expect(ec2.all()).toHaveLength(1);
    const mismatch = await sdkError(compute.launch(launchRequest({ subnetId: SUBNET_B })));
    expect(mismatch).toMatchObject({ name: 'IdempotentParameterMismatch', $metadata: { httpStatusCode: 400 } });
  });

  it('returns refusals as values with EC2 codes, texts and statuses', async () => {
    ec2.refuse({ instanceType: 'c5n.metal', subnetId: SUBNET_A, code: 'InsufficientInstanceCapacity' });
    ec2.refuse({ instanceType: 'm5zn.metal', code: 'VcpuLimitExceeded' });
    expect(await compute.launch(launchRequest())).toEqual({
      ok: false,
      code: 'InsufficientInstanceCapacity',
      message:
        'We currently do not have sufficient c5n.metal capacity in the Availability Zone you requested (us-east-1a). Our system will be working on provisioning additional capacity.',
    });
    expect(await compute.launch(launchRequest({ instanceType: 'm5zn.metal', clientToken: 't2' }))).toMatchObject({ ok: false, code: 'VcpuLimitExceeded' });
    // Another subnet is not refused, and a refusal leaves the token free.
    expect((await compute.launch(launchRequest({ subnetId: SUBNET_B, clientToken: 't3' }))).ok).toBe(true);
    const capacity = await sdkError(client.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1, InstanceType: 'c5n.metal', SubnetId: SUBNET_A })));
    expect(capacity).toMatchObject({ name: 'InsufficientInstanceCapacity', Code: 'InsufficientInstanceCapacity', $metadata: { httpStatusCode: 500 } });
  });

  it('refuses a type its zone does not offer with Unsupported', async () => {
    await ec2.close();
    await start({ offerings: { 'c5n.metal': ['us-east-1a'], 'm5zn.metal': ['us-east-1a', 'us-east-1b'] } });
    expect(await compute.launch(launchRequest({ subnetId: SUBNET_B }))).toEqual({
      ok: false,
      code: 'Unsupported',
      message:
        'Your requested instance type (c5n.metal) is not supported in your requested Availability Zone (us-east-1b). Please retry your request by not specifying an Availability Zone or choosing us-east-1a.',
    });
  });

  it('refuses an unknown subnet and launch template', async () => {
    expect(await compute.launch(launchRequest({ subnetId: 'subnet-0ffffffffffffffff' }))).toMatchObject({ ok: false, code: 'InvalidSubnetID.NotFound' });
    const other = new Ec2Compute(client, 'lt-0ffffffffffffffff');
    expect(await other.launch(launchRequest())).toMatchObject({ ok: false, code: 'InvalidLaunchTemplateId.NotFound' });
  });
});

describe('DescribeInstances', () => {
  beforeEach(() => start());

  it('pages: Ec2Compute sees all five machines at page size 2', async () => {
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push(await launched({ clientToken: `token-${n}` }));
    expect((await compute.listTagged()).map((m) => m.instanceId).sort()).toEqual([...ids].sort());
    const describes = ec2.requests.filter((r) => r.action === 'DescribeInstances');
    expect(describes).toHaveLength(3);
    expect(describes[1]?.params.NextToken).toBeTruthy();
  });

  it('filters by tag (values OR, filters AND), state, type and id', async () => {
    const a = await launched({ clientToken: 'a' });
    const b = await launched({ clientToken: 'b', tags: { ...TAGS, BuildID: 'build-other' }, instanceType: 'm5zn.metal' });
    expect((await compute.liveMachinesOf(TAGS.BuildID)).map((m) => m.instanceId)).toEqual([a]);
    const both = async (filters: { Name: string; Values: string[] }[]) => {
      const found: string[] = [];
      for await (const page of paginateDescribeInstances({ client }, { Filters: filters }))
        for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) found.push(i.InstanceId!);
      return found.sort();
    };
    expect(await both([{ Name: 'tag:BuildID', Values: [TAGS.BuildID, 'build-other'] }])).toEqual([a, b].sort());
    expect(
      await both([
        { Name: 'tag:BuildID', Values: [TAGS.BuildID, 'build-other'] },
        { Name: 'instance-type', Values: ['m5zn.metal'] },
      ]),
    ).toEqual([b]);
    expect(
      await both([
        { Name: 'tag-key', Values: ['BuildID'] },
        { Name: 'instance-id', Values: [b] },
      ]),
    ).toEqual([b]);
    expect(await both([{ Name: 'instance-state-name', Values: ['running'] }])).toEqual([]);
  });

  it('parses every field the adapter reads, and the root volume mapping', async () => {
    const id = await launched();
    const out = await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    const instance = out.Reservations?.[0]?.Instances?.[0];
    expect(out.Reservations?.[0]?.OwnerId).toBe('123456789012');
    expect(instance).toMatchObject({
      InstanceId: id,
      InstanceType: 'c5n.metal',
      Placement: { AvailabilityZone: 'us-east-1a' },
      State: { Code: 0, Name: 'pending' },
      LaunchTime: START,
      SubnetId: SUBNET_A,
      Tags: expect.arrayContaining([{ Key: 'BuildID', Value: TAGS.BuildID }]),
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: expect.objectContaining({ VolumeId: ec2.get(id)!.rootVolumeId, DeleteOnTermination: true }) }],
    });
  });

  it('answers an unknown id with EC2 error XML: InvalidInstanceID.NotFound, 400', async () => {
    const error = await sdkError(client.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })));
    expect(error).toMatchObject({
      name: 'InvalidInstanceID.NotFound',
      Code: 'InvalidInstanceID.NotFound',
      message: "The instance ID 'i-0123456789abcdef0' does not exist",
      $metadata: { httpStatusCode: 400, requestId: expect.any(String) },
    });
  });

  it('hides a lagging instance from the next describe only', async () => {
    const id = await launched();
    ec2.lagDescribe(id);
    expect(await compute.liveMachinesOf(TAGS.BuildID)).toEqual([]);
    expect(await compute.liveMachinesOf(TAGS.BuildID)).toHaveLength(1);
  });
});

describe('lifecycle', () => {
  const events: StateChangeEvent[] = [];
  beforeEach(async () => {
    events.length = 0;
    await start();
    ec2.onStateChange((event) => {
      events.push(event);
    });
  });

  it('announces pending, running, shutting-down, terminated as EventBridge delivers them', async () => {
    const id = await launched();
    await ec2.runPending();
    expect(ec2.get(id)?.state).toBe('running');
    const out = await client.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(out.TerminatingInstances).toEqual([
      { InstanceId: id, CurrentState: { Code: 32, Name: 'shutting-down' }, PreviousState: { Code: 16, Name: 'running' } },
    ]);
    await ec2.runPending();
    expect(events.map((e) => e.detail.state)).toEqual(['pending', 'running', 'shutting-down', 'terminated']);
    expect(events[0]).toEqual({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'detail-type': 'EC2 Instance State-change Notification',
      source: 'aws.ec2',
      account: '123456789012',
      time: '2026-11-25T17:00:52Z',
      region: 'us-east-1',
      resources: [`arn:aws:ec2:us-east-1:123456789012:instance/${id}`],
      detail: { 'instance-id': id, state: 'pending' },
    });
    // The root volume went with the instance; the instance stays listed, then EC2 forgets it.
    expect(ec2.volumes()).toEqual([]);
    const again = await client.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(again.TerminatingInstances?.[0]).toMatchObject({ CurrentState: { Name: 'terminated' }, PreviousState: { Name: 'terminated' } });
    now += 61 * 60_000;
    expect(await sdkError(client.send(new DescribeInstancesCommand({ InstanceIds: [id] })))).toMatchObject({ name: 'InvalidInstanceID.NotFound' });
    await expect(compute.terminate([id])).resolves.toBeUndefined();
  });

  it('delivers through an injected scheduler, after the change', async () => {
    await ec2.close();
    const scheduled: { minutes: number; task: () => void | Promise<void> }[] = [];
    await start({ after: (minutes, task) => scheduled.push({ minutes, task }), bootMinutes: 3 });
    await launched();
    expect(scheduled.map((s) => s.minutes)).toEqual([10 / 60, 3]);
  });

  it('powerOff ends the machine as a terminate does; keepVolumes leaves an orphaned volume', async () => {
    await ec2.close();
    await start({ keepVolumes: true });
    const id = await launched();
    await ec2.runPending();
    ec2.powerOff(id);
    await ec2.runPending();
    expect(ec2.get(id)?.state).toBe('terminated');
    expect(ec2.volumes()).toEqual([expect.objectContaining({ state: 'available', attachment: undefined, tags: TAGS })]);
  });

  it('terminating an unknown id fails with NotFound, which Ec2Compute treats as done', async () => {
    await expect(compute.terminate(['i-0123456789abcdef0'])).resolves.toBeUndefined();
    const error = await sdkError(client.send(new TerminateInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })));
    expect(error).toMatchObject({ name: 'InvalidInstanceID.NotFound', $metadata: { httpStatusCode: 400 } });
  });
});

describe('catalogue, volumes, tags and errors', () => {
  beforeEach(() => start());

  it('pages instance type offerings per zone, filtered', async () => {
    const offers: string[] = [];
    const pages = paginateDescribeInstanceTypeOfferings(
      { client },
      { LocationType: 'availability-zone', Filters: [{ Name: 'instance-type', Values: ['c5n.metal', 'm5zn.metal'] }] },
    );
    for await (const page of pages) for (const o of page.InstanceTypeOfferings ?? []) offers.push(`${o.InstanceType}@${o.Location}`);
    expect(offers.sort()).toEqual(['c5n.metal@us-east-1a', 'c5n.metal@us-east-1b', 'm5zn.metal@us-east-1a', 'm5zn.metal@us-east-1b']);
    const one = await client.send(
      new DescribeInstanceTypeOfferingsCommand({
        LocationType: 'availability-zone',
        Filters: [
          { Name: 'location', Values: ['us-east-1b'] },
          { Name: 'instance-type', Values: ['c5n.metal'] },
        ],
      }),
    );
    expect(one.InstanceTypeOfferings).toEqual([{ InstanceType: 'c5n.metal', LocationType: 'availability-zone', Location: 'us-east-1b' }]);
  });

  it('describes instance types with their vCPUs, and refuses unknown ones', async () => {
    const out = await client.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['c5n.metal', 'm5zn.metal'] }));
    expect(out.InstanceTypes?.map((t) => [t.InstanceType, t.VCpuInfo?.DefaultVCpus, t.BareMetal])).toEqual([
      ['c5n.metal', 72, true],
      ['m5zn.metal', 48, true],
    ]);
    const error = await sdkError(client.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['x9.huge' as never] })));
    expect(error).toMatchObject({ name: 'InvalidInstanceType', $metadata: { httpStatusCode: 400 } });
  });

  it('tags, describes and deletes volumes', async () => {
    const id = await launched();
    const volumeId = ec2.get(id)!.rootVolumeId;
    await client.send(new CreateTagsCommand({ Resources: [volumeId, id], Tags: [{ Key: 'Checked', Value: 'yes' }] }));
    expect(ec2.get(id)?.tags.Checked).toBe('yes');
    const found = [];
    for await (const page of paginateDescribeVolumes(
      { client },
      {
        Filters: [
          { Name: 'tag:Checked', Values: ['yes'] },
          { Name: 'status', Values: ['in-use'] },
        ],
      },
    ))
      found.push(...(page.Volumes ?? []));
    expect(found).toEqual([
      expect.objectContaining({
        VolumeId: volumeId,
        Size: 500,
        VolumeType: 'gp3',
        State: 'in-use',
        AvailabilityZone: 'us-east-1a',
        Attachments: [expect.objectContaining({ InstanceId: id, Device: '/dev/sda1', State: 'attached', DeleteOnTermination: true })],
        Tags: expect.arrayContaining([{ Key: 'Checked', Value: 'yes' }]),
      }),
    ]);
    expect(await sdkError(client.send(new DeleteVolumeCommand({ VolumeId: volumeId })))).toMatchObject({
      name: 'VolumeInUse',
      $metadata: { httpStatusCode: 400 },
    });
    expect(await sdkError(client.send(new DeleteVolumeCommand({ VolumeId: 'vol-0123456789abcdef0' })))).toMatchObject({ name: 'InvalidVolume.NotFound' });
    expect(await sdkError(client.send(new CreateTagsCommand({ Resources: ['vol-0123456789abcdef0'], Tags: [] })))).toMatchObject({
      name: 'InvalidVolume.NotFound',
    });
  });

  it('deletes an orphaned volume', async () => {
    await ec2.close();
    await start({ keepVolumes: true });
    const id = await launched();
    await compute.terminate([id]);
    await ec2.runPending();
    const volumeId = ec2.get(id)!.rootVolumeId;
    const out = await client.send(new DescribeVolumesCommand({ Filters: [{ Name: 'status', Values: ['available'] }] }));
    expect(out.Volumes?.map((v) => v.VolumeId)).toEqual([volumeId]);
    await client.send(new DeleteVolumeCommand({ VolumeId: volumeId }));
    expect(ec2.volumes()).toEqual([]);
  });

  it('fails the next call once with an injected error; the SDK retries it', async () => {
    await ec2.close();
    await start({}, 3);
    ec2.failNext('DescribeInstances', 'RequestLimitExceeded');
    await expect(compute.listTagged()).resolves.toEqual([]);
    expect(ec2.requests.map((r) => r.action)).toEqual(['DescribeInstances', 'DescribeInstances']);
  });

  it('answers an action it does not know with InvalidAction', async () => {
    const response = await fetch(ec2.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=StopInstances&Version=2016-11-15&InstanceId.1=i-1',
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>InvalidAction<\/Code><Message>[^<]+<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/,
    );
  });
});

describe('nested virtualization, through Ec2Compute', () => {
  beforeEach(() => start());

  it('names the types listing nested-virtualization, from the same cached DescribeInstanceTypes as the vCPUs', async () => {
    expect(await compute.nestedVirtualizationTypes(['c5n.metal', 'm8i.8xlarge', 'c8i-flex.8xlarge'])).toEqual(['m8i.8xlarge', 'c8i-flex.8xlarge']);
    const asked = ec2.requests.length;
    expect(await compute.vcpusOf(['m8i.8xlarge'])).toEqual({ 'm8i.8xlarge': 32 });
    expect(await compute.nestedVirtualizationTypes(['c5n.metal'])).toEqual([]);
    expect(ec2.requests).toHaveLength(asked);
  });

  it('RunInstances takes CpuOptions.NestedVirtualization for a type with the feature and refuses it (a value, not a throw) for one without', async () => {
    const id = await launched({ instanceType: 'm8i.8xlarge', subnetId: SUBNET_A, nestedVirtualization: true });
    expect(ec2.get(id)).toMatchObject({ instanceType: 'm8i.8xlarge', nestedVirtualization: true });
    const refused = await compute.launch(launchRequest({ clientToken: 'metal', instanceType: 'c5n.metal', subnetId: SUBNET_A, nestedVirtualization: true }));
    expect(refused).toEqual({ ok: false, code: 'InvalidParameterCombination', message: 'Nested virtualization is not supported for instance type c5n.metal.' });
    expect(ec2.all().map((i) => i.instanceId)).toEqual([id]);
  });
});

describe('the launch capacity facts, through Ec2Compute', () => {
  beforeEach(() => start({ offerings: { 'c5n.metal': ['us-east-1a'], 'm5zn.metal': ['us-east-1a', 'us-east-1b'] } }));

  it('reads subnet zones, offered zones and vCPUs, each once per adapter', async () => {
    const subnets = [SUBNET_A, SUBNET_B];
    expect(await compute.subnetZones(subnets)).toEqual(SUBNETS);
    expect(await compute.offeredZones(['c5n.metal', 'm5zn.metal'])).toEqual({ 'c5n.metal': ['us-east-1a'], 'm5zn.metal': ['us-east-1a', 'us-east-1b'] });
    expect(await compute.vcpusOf(['c5n.metal', 'm5zn.metal'])).toEqual({ 'c5n.metal': 72, 'm5zn.metal': 48 });
    const asked = ec2.requests.length;
    await compute.subnetZones(subnets);
    await compute.offeredZones(['c5n.metal', 'm5zn.metal']);
    await compute.vcpusOf(['c5n.metal']);
    expect(ec2.requests).toHaveLength(asked);
  });

  it('refuses an unknown subnet with InvalidSubnetID.NotFound', async () => {
    await expect(compute.subnetZones(['subnet-0ffffffffffffffff'])).rejects.toMatchObject({ name: 'InvalidSubnetID.NotFound' });
  });

  it('counts the vCPUs of pending and running machines except the build’s own, over every page', async () => {
    await launched({ clientToken: 'a', tags: { ...TAGS, BuildID: 'other-1' } });
    await launched({ clientToken: 'b', tags: { ...TAGS, BuildID: 'other-2' }, instanceType: 'm5zn.metal' });
    await launched({ clientToken: 'c' });
    const ended = await launched({ clientToken: 'd', tags: { ...TAGS, BuildID: 'other-3' } });
    await compute.terminate([ended]);
    expect(await compute.standardVcpusInUse(TAGS.BuildID)).toBe(72 + 48);
  });
});

describe('test seeding: add, set, setOfferings, reset', () => {
  beforeEach(() => start());

  it('add puts a machine with its root volume where DescribeInstances and Ec2Compute see it, nothing announced', async () => {
    const events: StateChangeEvent[] = [];
    ec2.onStateChange((e) => void events.push(e));
    const added = ec2.add({
      instanceId: 'i-0aaaaaaaaaaaaaaa1',
      instanceType: 'm5zn.metal',
      availabilityZone: 'us-east-1b',
      state: 'stopped',
      launchTime: new Date('2026-11-25T16:00:00.000Z'),
      tags: TAGS,
    });
    expect(added).toMatchObject({ instanceId: 'i-0aaaaaaaaaaaaaaa1', subnetId: SUBNET_B, availabilityZone: 'us-east-1b', state: 'stopped' });
    expect(await compute.liveMachinesOf(TAGS.BuildID)).toEqual([
      {
        instanceId: 'i-0aaaaaaaaaaaaaaa1',
        instanceType: 'm5zn.metal',
        availabilityZone: 'us-east-1b',
        state: 'stopped',
        launchTime: '2026-11-25T16:00:00.000Z',
        tags: TAGS,
      },
    ]);
    expect(ec2.volumes()).toEqual([
      expect.objectContaining({ state: 'in-use', availabilityZone: 'us-east-1b', attachment: expect.objectContaining({ instanceId: added.instanceId }) }),
    ]);
    // Defaults: c5n.metal, running, now, the first subnet.
    expect(ec2.add({ instanceId: 'i-0aaaaaaaaaaaaaaa2' })).toMatchObject({
      instanceType: 'c5n.metal',
      state: 'running',
      subnetId: SUBNET_A,
      launchTime: START,
      tags: {},
    });
    expect(() => ec2.add({ instanceId: 'i-0aaaaaaaaaaaaaaa2' })).toThrow(/already/);
    expect(await compute.standardVcpusInUse('build-else')).toBe(72);
    await ec2.runPending();
    expect(events).toEqual([]);
  });

  it('a terminated machine added or set releases its volume and is listed for an hour only', async () => {
    ec2.add({ instanceId: 'i-0aaaaaaaaaaaaaaa1', state: 'terminated', tags: TAGS });
    const id = ec2.add({ instanceId: 'i-0aaaaaaaaaaaaaaa2', tags: TAGS }).instanceId;
    ec2.set(id, { state: 'terminated' });
    expect(ec2.volumes()).toEqual([]);
    const listed = await client.send(new DescribeInstancesCommand({ InstanceIds: ['i-0aaaaaaaaaaaaaaa1', id] }));
    expect(listed.Reservations?.map((r) => r.Instances?.[0]?.State?.Name)).toEqual(['terminated', 'terminated']);
    now += 61 * 60_000;
    expect(await compute.listTagged()).toEqual([]);
    const error = await sdkError(client.send(new DescribeInstancesCommand({ InstanceIds: [id] })));
    expect(error.name).toBe('InvalidInstanceID.NotFound');
  });

  it('set changes state, launch time and tags as seen over the wire', async () => {
    const id = ec2.add({ instanceId: 'i-0aaaaaaaaaaaaaaa1', state: 'stopped', tags: TAGS }).instanceId;
    const { BuildID: _gone, ...rest } = TAGS;
    ec2.set(id, { state: 'running', launchTime: new Date('2026-11-25T18:00:00.000Z'), tags: rest });
    const [machine] = await compute.listTagged();
    expect(machine).toMatchObject({ instanceId: id, state: 'running', launchTime: '2026-11-25T18:00:00.000Z', tags: rest });
    expect(() => ec2.set('i-0ffffffffffffffff', { state: 'running' })).toThrow(/no i-0ffffffffffffffff/);
  });

  it('setOfferings changes what is offered where, and what is refused as Unsupported; undefined restores the start', async () => {
    ec2.setOfferings({ 'c5n.metal': ['us-east-1b'] });
    expect(await new Ec2Compute(client, DEFAULT_LAUNCH_TEMPLATE_ID).offeredZones(['c5n.metal', 'm5zn.metal'])).toEqual({
      'c5n.metal': ['us-east-1b'],
      'm5zn.metal': [],
    });
    expect(await compute.launch(launchRequest())).toMatchObject({ ok: false, code: 'Unsupported' });
    ec2.setOfferings(undefined);
    expect(await new Ec2Compute(client, DEFAULT_LAUNCH_TEMPLATE_ID).offeredZones(['c5n.metal'])).toEqual({ 'c5n.metal': ['us-east-1a', 'us-east-1b'] });
  });

  it('reset forgets machines, volumes, tokens, requests, refusals, failures, lags and queued tasks', async () => {
    const events: StateChangeEvent[] = [];
    ec2.onStateChange((e) => void events.push(e));
    const id = await launched();
    ec2.refuse({ instanceType: 'm5zn.metal', code: 'InsufficientInstanceCapacity' });
    ec2.failNext('TerminateInstances', 'InternalError', 500);
    ec2.lagDescribe(id, 5);
    ec2.setOfferings({ 'c5n.metal': [] });
    ec2.reset();
    expect([ec2.all(), ec2.volumes(), ec2.requests]).toEqual([[], [], []]);
    await ec2.runPending();
    expect(events).toEqual([]);
    // The same token launches a new machine; nothing is refused or failed any more; offerings as at start.
    const again = await launched();
    expect(again).not.toBe(id);
    expect(await compute.launch(launchRequest({ instanceType: 'm5zn.metal', clientToken: 'other-token' }))).toMatchObject({ ok: true });
    await expect(compute.terminate([again])).resolves.toBeUndefined();
    expect(ec2.get(again)?.state).toBe('shutting-down');
  });
});
