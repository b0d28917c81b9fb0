import { SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../../stand-ins/memory-logger';
import type { LocalSns } from '../../../stand-ins/sns';
import { startSnsStandIn } from '../../../stand-ins/sns';
import { Ec2Compute } from '../../../adapters/aws/ec2-compute';
import { SUBJECT_MAX, SnsNotifier, snsSubject } from '../../../adapters/aws/sns-notifier';
import { CAPACITY_MESSAGE, Ec2World } from '../../support/ec2-world';
import { SUBNET_ZONES } from '../../support/events-world';
import { DEFAULT_IMAGE_ID } from '../../../stand-ins/ec2';

// The real EC2 adapter over the EC2 stand-in, the real SNS adapter over the SNS stand-in: exact
// requests, error mapping. Every SnsNotifier case here goes over the wire; none needs
// aws-sdk-client-mock.

const NOW = new Date('2026-11-25T17:00:52.000Z');
const TAGS = { Project: 'labapp', AutoDelete: 'true', LaunchedBy: 'metal-build', BuildID: 'build-20261125-170052-a1b2' };

describe('Ec2Compute', () => {
  let ec2: Ec2World;
  let compute: Ec2Compute;
  beforeAll(async () => {
    ec2 = await Ec2World.start({ clock: { now: () => NOW }, subnets: { ...SUBNET_ZONES }, launchTemplateId: 'lt-0123456789abcdef0', region: 'us-east-1' });
  });
  afterAll(() => ec2.close());
  beforeEach(() => {
    ec2.reset();
    compute = new Ec2Compute(ec2.client, 'lt-0123456789abcdef0');
  });

  const request = {
    buildId: 'build-20261125-170052-a1b2',
    instanceType: 'c5n.metal',
    subnetId: 'subnet-0aaaaaaaaaaaaaaaa',
    clientToken: 'build-20261125-170052-a1b2-0123456789abcdef',
    userData: Buffer.from('#cloud-config\n').toString('base64'),
    tags: TAGS,
  };

  it('launches with the template, one machine, the token, user data and tags on instance and volume', async () => {
    const result = await compute.launch(request);
    expect(result).toEqual({
      ok: true,
      instance: {
        instanceId: expect.stringMatching(/^i-[0-9a-f]{17}$/),
        instanceType: 'c5n.metal',
        availabilityZone: 'us-east-1a',
        launchTime: NOW.toISOString(),
      },
    });
    const tags = (n: number) =>
      Object.fromEntries(
        Object.entries(TAGS).flatMap(([key, value], i) => [
          [`TagSpecification.${n}.Tag.${i + 1}.Key`, key],
          [`TagSpecification.${n}.Tag.${i + 1}.Value`, value],
        ]),
      );
    expect(ec2.runRequests()).toEqual([
      {
        Action: 'RunInstances',
        Version: '2016-11-15',
        'LaunchTemplate.LaunchTemplateId': 'lt-0123456789abcdef0',
        'LaunchTemplate.Version': '$Latest',
        InstanceType: 'c5n.metal',
        SubnetId: 'subnet-0aaaaaaaaaaaaaaaa',
        MinCount: '1',
        MaxCount: '1',
        ClientToken: request.clientToken,
        UserData: request.userData,
        'TagSpecification.1.ResourceType': 'instance',
        ...tags(1),
        'TagSpecification.2.ResourceType': 'volume',
        ...tags(2),
      },
    ]);
    expect(ec2.get(result.ok ? result.instance.instanceId : '')).toMatchObject({ state: 'pending', subnetId: 'subnet-0aaaaaaaaaaaaaaaa', tags: TAGS });
  });

  it('reads an image root snapshot size with DescribeImages, and undefined for an unknown image', async () => {
    expect(await compute.rootSnapshotSizeGb(DEFAULT_IMAGE_ID)).toBe(8);
    expect(await compute.rootSnapshotSizeGb('ami-0notthere0000000')).toBeUndefined();
    expect(ec2.requests.filter((r) => r.action === 'DescribeImages').map((r) => r.params['ImageId.1'])).toEqual([DEFAULT_IMAGE_ID, 'ami-0notthere0000000']);
  });

  it('leaves SubnetId out when none is configured', async () => {
    await compute.launch({ ...request, subnetId: '' });
    expect(ec2.runRequests()[0]).not.toHaveProperty('SubnetId');
  });

  it('returns expected refusals as values and throws anything else', async () => {
    ec2.refuse('c5n.metal', undefined, 'InsufficientInstanceCapacity');
    expect(await compute.launch(request)).toEqual({
      ok: false,
      code: 'InsufficientInstanceCapacity',
      message: CAPACITY_MESSAGE('c5n.metal', 'us-east-1a'),
    });
    ec2.failNext('RunInstances', 'RequestLimitExceeded', 503, 'Request limit exceeded.');
    await expect(compute.launch(request)).rejects.toThrow('Request limit exceeded.');
  });

  it('terminates, and takes an instance EC2 no longer knows as already terminated', async () => {
    ec2.add({ id: 'i-0aaaaaaaaaaaaaaa1', tags: TAGS });
    await compute.terminate(['i-0aaaaaaaaaaaaaaa1']);
    await compute.terminate(['i-0ffffffffffffffff']);
    await compute.terminate([]);
    expect(ec2.terminateRequests()).toEqual([['i-0aaaaaaaaaaaaaaa1'], ['i-0ffffffffffffffff']]);
    expect(ec2.get('i-0aaaaaaaaaaaaaaa1')?.state).toBe('shutting-down');
    ec2.failNext('TerminateInstances', 'InternalError', 500, 'An internal error has occurred');
    await expect(compute.terminate(['i-0aaaaaaaaaaaaaaa1'])).rejects.toThrow('internal error');
  });

  it('lists tagged live machines through every page, with the documented filters', async () => {
    for (let i = 1; i <= 5; i++) ec2.add({ id: `i-0aaaaaaaaaaaaaaa${i}`, tags: { ...TAGS, BuildID: `build-20261125-170052-000${i}` } });
    ec2.add({ id: 'i-0bbbbbbbbbbbbbbb1', tags: { Project: 'labapp' } }); // not AutoDelete
    ec2.add({ id: 'i-0bbbbbbbbbbbbbbb2', tags: TAGS, state: 'terminated' });
    ec2.add({ id: 'i-0bbbbbbbbbbbbbbb3', tags: TAGS, state: 'stopped' });
    const machines = await compute.listTagged();
    expect(machines.map((m) => m.instanceId).sort()).toEqual([
      'i-0aaaaaaaaaaaaaaa1',
      'i-0aaaaaaaaaaaaaaa2',
      'i-0aaaaaaaaaaaaaaa3',
      'i-0aaaaaaaaaaaaaaa4',
      'i-0aaaaaaaaaaaaaaa5',
      'i-0bbbbbbbbbbbbbbb3',
    ]);
    expect(machines[0]).toEqual({
      instanceId: 'i-0aaaaaaaaaaaaaaa1',
      instanceType: 'c5n.metal',
      availabilityZone: 'us-east-1a',
      state: 'running',
      launchTime: NOW.toISOString(),
      tags: { ...TAGS, BuildID: 'build-20261125-170052-0001' },
    });
    const describes = ec2.describeRequests();
    expect(describes.length).toBe(3);
    expect(describes[0]?.Filters).toEqual([
      { Name: 'tag:Project', Values: ['labapp'] },
      { Name: 'tag:AutoDelete', Values: ['true'] },
      { Name: 'tag:LaunchedBy', Values: ['metal-build'] },
      { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
    ]);
  });

  it("lists one build's live machines by its BuildID tag, through every page, stopped ones included", async () => {
    const buildId = TAGS.BuildID;
    for (let i = 1; i <= 3; i++) ec2.add({ id: `i-0aaaaaaaaaaaaaaa${i}`, tags: TAGS, launchTime: `2026-11-25T17:0${i}:00.000Z` });
    ec2.add({ id: 'i-0aaaaaaaaaaaaaaa4', tags: TAGS, state: 'stopped' });
    ec2.add({ id: 'i-0bbbbbbbbbbbbbbb1', tags: { ...TAGS, BuildID: 'build-20261125-170052-b2c3' } }); // another build
    ec2.add({ id: 'i-0bbbbbbbbbbbbbbb2', tags: TAGS, state: 'shutting-down' });
    ec2.add({ id: 'i-0bbbbbbbbbbbbbbb3', tags: TAGS, state: 'terminated' });
    ec2.add({ id: 'i-0bbbbbbbbbbbbbbb4', tags: { BuildID: buildId } }); // not this project's: the launch may not terminate it
    const machines = await compute.liveMachinesOf(buildId);
    expect(machines.map((m) => [m.instanceId, m.state]).sort()).toEqual([
      ['i-0aaaaaaaaaaaaaaa1', 'running'],
      ['i-0aaaaaaaaaaaaaaa2', 'running'],
      ['i-0aaaaaaaaaaaaaaa3', 'running'],
      ['i-0aaaaaaaaaaaaaaa4', 'stopped'],
    ]);
    expect(machines.find((m) => m.instanceId === 'i-0aaaaaaaaaaaaaaa2')?.launchTime).toBe('2026-11-25T17:02:00.000Z');
    const describes = ec2.describeRequests();
    expect(describes).toHaveLength(2);
    // The paginator reuses one input object (NextToken set in place): compare what does not page.
    expect(describes[0]).toMatchObject({
      Filters: [
        { Name: 'tag:BuildID', Values: [buildId] },
        { Name: 'tag:LaunchedBy', Values: ['metal-build'] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
      MaxResults: 100,
    });
    expect(describes[0]?.Filters).toHaveLength(3);
    ec2.failNext('DescribeInstances', 'RequestLimitExceeded', 503, 'Request limit exceeded.');
    await expect(compute.liveMachinesOf(buildId)).rejects.toThrow('Request limit exceeded.');
  });
});

describe('SnsNotifier', () => {
  const topic = 'arn:aws:sns:us-east-1:123456789012:labapp-metal-builds';
  let sns: LocalSns;
  let client: SNSClient;
  beforeAll(async () => {
    sns = await startSnsStandIn({ topics: [topic] });
    client = new SNSClient({ region: 'us-east-1', endpoint: sns.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await sns.close();
  });
  beforeEach(() => sns.clear());

  it('publishes with a severity-prefixed subject and BuildID/Status attributes', async () => {
    await new SnsNotifier(client, topic, memoryLogger()).notify({
      severity: 'CRITICAL',
      subject: 'metal-build build-20261125-170052-a1b2 force-terminated',
      message: 'body',
      buildId: 'build-20261125-170052-a1b2',
      status: 'terminated',
    });
    expect(sns.published).toEqual([
      {
        topicArn: topic,
        subject: '[CRITICAL] metal-build build-20261125-170052-a1b2 force-terminated',
        message: 'body',
        attributes: {
          BuildID: { dataType: 'String', value: 'build-20261125-170052-a1b2' },
          Status: { dataType: 'String', value: 'terminated' },
        },
        messageId: expect.any(String),
      },
    ]);
  });

  it('keeps subjects within 100 printable ASCII characters on one line', () => {
    for (const severity of ['INFO', 'OK', 'FAILED', 'WARNING', 'CRITICAL'] as const) {
      const subject = snsSubject({ severity, subject: `Lange Zeile — ünïcode\nmit Umbruch ${'x'.repeat(200)}` });
      expect(subject.startsWith(`[${severity}] `)).toBe(true);
      expect(subject.length).toBeLessThanOrEqual(SUBJECT_MAX);
      expect(subject).toMatch(/^[\x20-\x7e]+$/);
    }
  });

  it('without a topic only logs', async () => {
    const log = memoryLogger();
    await new SnsNotifier(client, undefined, log).notify({ severity: 'INFO', subject: 's', message: 'm', buildId: 'b', status: 'launching' });
    expect(sns.published).toHaveLength(0);
    expect(log.lines).toEqual([expect.objectContaining({ message: 'notification (no SNS topic configured)', buildId: 'b', subject: '[INFO] s' })]);
  });

  it('passes SNS failures on (the handler throws, EventBridge retries)', async () => {
    sns.failNext('Throttling', 400, 'Rate exceeded');
    await expect(
      new SnsNotifier(client, topic, memoryLogger()).notify({ severity: 'OK', subject: 's', message: 'm', buildId: 'b', status: 'completed' }),
    ).rejects.toMatchObject({ name: 'Throttling', message: 'Rate exceeded' });
    expect(sns.published).toEqual([]);
  });
});
