import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { Build } from '../../domain/build';
import type { BuildStore } from '../../domain/ports';
import { createHandler } from '../../events/launch';
import { clientToken, launchTags } from '../../events/launch/plan';
import { T0, aLaunchedBuild, anApprovedBuild, at } from '../../stand-ins/build-fixture';
import { buildApproved, eventTokenOf } from '../support/event-fixtures';
import { DEFAULT_IMAGE_ID } from '../../stand-ins/ec2';
import { BASE_ENV, GITHUB_SECRET_ARN, LAUNCH_TEMPLATE_ID, SUBNETS, TOPIC_ARN, logLines, useWorld } from '../support/events-world';

const world = useWorld({ minutesAfterT0: 2 });

const launch = (event: unknown) => createHandler(world().deps)(event);
const approvedEvent = (b: Build) => buildApproved(b.BuildID, at(1));

function decodeUserData(base64: string) {
  const text = Buffer.from(base64, 'base64').toString('utf8');
  const doc = parse(text, { version: '1.1' }) as { write_files: Array<{ path: string; content: string }>; runcmd: unknown[] };
  const file = doc.write_files.find((f) => f.path === '/etc/metal-build/build.json');
  return { text, doc, params: JSON.parse(Buffer.from(file!.content, 'base64').toString('utf8')) as Record<string, unknown> };
}

describe('launch (Build Approved)', () => {
  it('approved → launching: one RunInstances with the template, tags on instance and volume, safe user data', async () => {
    const build = await world().seed(anApprovedBuild());
    await launch(approvedEvent(build));

    const [run, ...more] = world().ec2.runRequests();
    expect(more).toHaveLength(0);
    const tags: Array<[string, string]> = [
      ['Project', 'labapp'],
      ['Purpose', 'prewarmed-build'],
      ['BuildID', build.BuildID],
      ['AutoDelete', 'true'],
      ['MaxLifetime', '3hours'],
      ['Requester', 'U0REQUESTER'],
      ['Name', `labapp-metal-build-${build.BuildID}`],
      ['LaunchedBy', 'metal-build'],
    ];
    // The Query parameters EC2 received, every one of them.
    const tagParams = (n: number) =>
      Object.fromEntries(
        tags.flatMap(([key, value], i) => [
          [`TagSpecification.${n}.Tag.${i + 1}.Key`, key],
          [`TagSpecification.${n}.Tag.${i + 1}.Value`, value],
        ]),
      );
    expect(run).toEqual({
      Action: 'RunInstances',
      Version: '2016-11-15',
      'LaunchTemplate.LaunchTemplateId': LAUNCH_TEMPLATE_ID,
      'LaunchTemplate.Version': '$Latest',
      InstanceType: 'c5n.metal',
      SubnetId: SUBNETS[0],
      MinCount: '1',
      MaxCount: '1',
      ClientToken: clientToken(build.BuildID, 'c5n.metal', SUBNETS[0]),
      UserData: expect.any(String),
      'TagSpecification.1.ResourceType': 'instance',
      ...tagParams(1),
      'TagSpecification.2.ResourceType': 'volume',
      ...tagParams(2),
    });
    const { text, params } = decodeUserData(run!.UserData!);
    expect(params).toEqual({
      buildId: build.BuildID,
      branch: 'main',
      commit: 'abc1234',
      repoUrl: 'https://github.com/afewell-hh/labapp.git',
      bucket: 'hedgehog-lab-artifacts',
      eventBusName: 'labapp-metal-builds',
      region: 'us-east-1',
      maxLifetimeMinutes: 300,
      githubSecretArn: GITHUB_SECRET_ARN,
      logGroup: `/labapp/metal-builds/${build.BuildID}`,
      // The build's own credential for its phases (events/event-token.ts), not the key.
      eventToken: eventTokenOf(build.BuildID),
      packerTemplate: 'packer/prewarmed-build.pkr.hcl',
    });
    expect(text).not.toContain(BASE_ENV.EVENT_TOKEN_KEY!);
    // No secret: neither Slack credential, nor any token-looking value; only the ARN.
    for (const secret of [BASE_ENV.SLACK_BOT_TOKEN!, BASE_ENV.SLACK_SIGNING_SECRET!, 'xoxb-', 'ghp_', 'github_pat_']) expect(text).not.toContain(secret);
    expect(text).toContain('shutdown');

    const instance = world().ec2.all()[0]!;
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({
      Status: 'launching',
      InstanceID: instance.instanceId,
      InstanceType: 'c5n.metal',
      AvailabilityZone: 'us-east-1a',
      LaunchTime: at(2),
      NotifiedStatus: 'launching',
    });
    expect(await world().slots()).toEqual([build.BuildID]);

    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain(instance.instanceId);
    expect(replies[0]!.text).toContain('c5n.metal');
    expect(replies[0]!.text).toContain('us-east-1a');
    expect(replies[0]!.subtype).toBeUndefined();
    expect(world().slack.callsTo('chat.update')).toHaveLength(1);

    expect(world().published()).toEqual([
      expect.objectContaining({
        TopicArn: TOPIC_ARN,
        Subject: `[INFO] metal-build ${build.BuildID} started on c5n.metal`,
        MessageAttributes: {
          BuildID: { DataType: 'String', StringValue: build.BuildID },
          Status: { DataType: 'String', StringValue: 'launching' },
        },
      }),
    ]);
  });

  it('keeps hostile branch values inert: they travel only inside the base64 JSON', async () => {
    const hostile = 'main;$(touch /tmp/pwned)`id`\n- [sh, -c, "curl evil"]\'"';
    const build = await world().seed(anApprovedBuild({ BuildBranch: hostile, BuildCommit: undefined }));
    await launch(approvedEvent(build));
    const { text, doc, params } = decodeUserData(world().ec2.runRequests()[0]!.UserData!);
    expect(params.branch).toBe(hostile);
    expect(params).not.toHaveProperty('commit');
    expect(text).not.toContain('touch /tmp/pwned');
    expect(text).not.toContain('curl evil');
    expect(JSON.stringify(doc.runcmd)).not.toContain('pwned');
    expect(doc.write_files.map((f) => f.path)).toEqual(['/etc/metal-build/build.json', '/usr/local/sbin/metal-build-runner']);
  });

  it('a self-test (Kind: "selftest") says "selftest": true in build.json; a build does not', async () => {
    const test = await world().seed(anApprovedBuild({ Kind: 'selftest', BuildBranch: 'HEAD', BuildCommit: undefined }));
    await launch(approvedEvent(test));
    const { params } = decodeUserData(world().ec2.runRequests()[0]!.UserData!);
    expect(params).toMatchObject({ branch: 'HEAD', selftest: true });
  });

  it("a self-test launches its own type with a root disk of the builder AMI's snapshot size, not the template's", async () => {
    world().configure({ BUILDER_IMAGE_ID: DEFAULT_IMAGE_ID });
    const test = await world().seed(
      anApprovedBuild({ Kind: 'selftest', BuildBranch: 'HEAD', BuildCommit: undefined, RequestedType: 't3.small', LimitHours: 0.5 }),
    );
    await launch(approvedEvent(test));
    expect(await world().get(test.BuildID), JSON.stringify(logLines(world(), 'ERROR'))).toMatchObject({ Status: 'launching' });
    const [run, ...more] = world().ec2.runRequests();
    expect(more).toHaveLength(0);
    expect(run).toMatchObject({
      InstanceType: 't3.small',
      'BlockDeviceMapping.1.DeviceName': '/dev/sda1',
      'BlockDeviceMapping.1.Ebs.VolumeSize': '8',
      'BlockDeviceMapping.1.Ebs.VolumeType': 'gp3',
      'BlockDeviceMapping.1.Ebs.Encrypted': 'true',
    });
    expect(decodeUserData(run!.UserData!).params).toMatchObject({ branch: 'HEAD', selftest: true });
    expect(await world().get(test.BuildID)).toMatchObject({ Status: 'launching', InstanceType: 't3.small' });
  });

  it('a self-test whose builder AMI EC2 does not know fails with that reason, and starts nothing', async () => {
    world().configure({ BUILDER_IMAGE_ID: 'ami-0gone000000000000' });
    const test = await world().seed(
      anApprovedBuild({ Kind: 'selftest', BuildBranch: 'HEAD', BuildCommit: undefined, RequestedType: 't3.small', LimitHours: 0.5 }),
    );
    await launch(approvedEvent(test));
    expect(world().ec2.runRequests()).toEqual([]);
    expect(await world().get(test.BuildID)).toMatchObject({ Status: 'failed', ErrorMessage: expect.stringContaining('ami-0gone000000000000') });
  });

  it("a build keeps the launch template's disk: no block-device mapping", async () => {
    world().configure({ BUILDER_IMAGE_ID: DEFAULT_IMAGE_ID });
    const build = await world().seed(anApprovedBuild());
    await launch(approvedEvent(build));
    expect(Object.keys(world().ec2.runRequests()[0]!).filter((k) => k.startsWith('BlockDeviceMapping'))).toEqual([]);
  });

  it('a build has no "selftest" in build.json', async () => {
    const build = await world().seed(anApprovedBuild());
    await launch(approvedEvent(build));
    expect(decodeUserData(world().ec2.runRequests()[0]!.UserData!).params).not.toHaveProperty('selftest');
  });

  it('a redelivery after the launch was recorded changes nothing and calls EC2 no more', async () => {
    const build = await world().seed(anApprovedBuild());
    await launch(approvedEvent(build));
    await launch(approvedEvent(build));
    expect(world().ec2.runRequests()).toHaveLength(1);
    expect(world().ec2.all().length).toBe(1);
    expect(world().replies(build)).toHaveLength(1);
    expect(world().published()).toHaveLength(1);
    expect((await world().get(build.BuildID))?.Status).toBe('launching');
  });

  it('a redelivery after a crash before the write, EC2 not yet listing the machine, repeats the same request and gets the same machine', async () => {
    const build = await world().seed(anApprovedBuild());
    let crashes = 1;
    const store: BuildStore = Object.create(world().deps.store) as BuildStore;
    store.update = async (...args) => {
      if (crashes-- > 0) throw Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' });
      return world().deps.store.update(...args);
    };
    const crashing = createHandler({ ...world().deps, store });
    await expect(crashing(approvedEvent(build))).rejects.toThrow('Service unavailable');
    expect((await world().get(build.BuildID))?.Status).toBe('approved');
    // DescribeInstances lags behind RunInstances: adoption finds nothing, the ClientToken covers it.
    world().ec2.standIn.lagDescribe(world().ec2.all()[0]!.instanceId);

    await crashing(approvedEvent(build));
    const [first, second] = world().ec2.runRequests();
    expect(second).toEqual(first);
    expect(world().ec2.all().length).toBe(1);
    const instance = world().ec2.all()[0]!;
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching', InstanceID: instance.instanceId });
    expect(world().ec2.terminateRequests()).toEqual([]);
    expect(world().replies(build)).toHaveLength(1);
  });

  it('falls back through every subnet, then the fallback type; the thread says what was used and why', async () => {
    world().ec2.refuse('c5n.metal', SUBNETS[0], 'InsufficientInstanceCapacity');
    world().ec2.refuse('c5n.metal', SUBNETS[1], 'InsufficientInstanceCapacity');
    world().ec2.refuse('m5zn.metal', SUBNETS[0], 'Unsupported');
    const build = await world().seed(anApprovedBuild());
    await launch(approvedEvent(build));

    const runs = world().ec2.runRequests();
    expect(runs.map((r) => [r.InstanceType, r.SubnetId, r.ClientToken])).toEqual([
      ['c5n.metal', SUBNETS[0], clientToken(build.BuildID, 'c5n.metal', SUBNETS[0])],
      ['c5n.metal', SUBNETS[1], clientToken(build.BuildID, 'c5n.metal', SUBNETS[1])],
      ['m5zn.metal', SUBNETS[0], clientToken(build.BuildID, 'm5zn.metal', SUBNETS[0])],
      ['m5zn.metal', SUBNETS[1], clientToken(build.BuildID, 'm5zn.metal', SUBNETS[1])],
    ]);
    // The same user data and tags for every attempt.
    expect(new Set(runs.map((r) => r.UserData)).size).toBe(1);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching', InstanceType: 'm5zn.metal', AvailabilityZone: 'us-east-1b' });
    const replies = world()
      .replies(build)
      .map((m) => m.text);
    expect(replies).toHaveLength(2);
    expect(replies[0]).toContain('m5zn.metal');
    expect(replies[0]).toContain('us-east-1b');
    expect(replies[1]).toContain('c5n.metal in subnet-0aaaaaaaaaaaaaaaa (InsufficientInstanceCapacity)');
    expect(replies[1]).toContain('m5zn.metal in subnet-0aaaaaaaaaaaaaaaa (Unsupported)');
    expect(
      world()
        .published()
        .map((p) => p.Subject),
    ).toEqual([`[INFO] metal-build ${build.BuildID} started on m5zn.metal`]);
  });

  it('a fallback type costing more than FALLBACK_MAX_OVERRUN_PERCENT above the approved maximum is not launched: skipped and told', async () => {
    world().configure({ FALLBACK_MAX_OVERRUN_PERCENT: '1' });
    world().ec2.refuse('c5n.metal', undefined, 'InsufficientInstanceCapacity');
    const build = await world().seed(anApprovedBuild({ CostMax: 11.83 }));
    await launch(approvedEvent(build));

    // m5zn.metal's 3 h maximum is $12.06, 1.9 % above $11.83: never asked for.
    expect(
      world()
        .ec2.runRequests()
        .map((r) => r.InstanceType),
    ).toEqual(['c5n.metal', 'c5n.metal']);
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ Status: 'failed' });
    expect(stored?.ErrorMessage).toContain('• skipped m5zn.metal (up to $12.06, more than 1% above the approved maximum of $11.83)');
    expect(world().ec2.all()).toEqual([]);
    expect(await world().slots()).toEqual([]);
  });

  it('capacity and quota refusals everywhere → failed with every reason, the quota named, slot freed, thread and SNS', async () => {
    world().ec2.refuse('c5n.metal', undefined, 'VcpuLimitExceeded');
    world().ec2.refuse('m5zn.metal', undefined, 'InsufficientInstanceCapacity');
    const build = await world().seed(anApprovedBuild());
    await launch(approvedEvent(build));

    // The quota is regional: the second subnet is not tried for c5n.metal.
    expect(
      world()
        .ec2.runRequests()
        .map((r) => [r.InstanceType, r.SubnetId]),
    ).toEqual([
      ['c5n.metal', SUBNETS[0]],
      ['m5zn.metal', SUBNETS[0]],
      ['m5zn.metal', SUBNETS[1]],
    ]);
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ Status: 'failed', NotifiedStatus: 'failed', CompletionTime: at(2) });
    expect(stored?.InstanceID).toBeUndefined();
    expect(stored?.ExpirationTime).toBeGreaterThan(Date.parse(T0) / 1000);
    expect(stored?.ErrorMessage).toContain('c5n.metal in subnet-0aaaaaaaaaaaaaaaa: VcpuLimitExceeded');
    expect(stored?.ErrorMessage).toContain('m5zn.metal in subnet-0bbbbbbbbbbbbbbbb: InsufficientInstanceCapacity');
    expect(stored?.ErrorMessage).toContain('c5n.metal needs 72 vCPUs');
    expect(stored?.ErrorMessage).toContain('Running On-Demand Standard');
    expect(await world().slots()).toEqual([]);

    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.subtype).toBe('thread_broadcast');
    expect(replies[0]!.text).toContain('<@U0REQUESTER>');
    expect(replies[0]!.text).toContain('failed');
    expect(
      world()
        .published()
        .map((p) => p.Subject),
    ).toEqual([`[FAILED] metal-build ${build.BuildID} failed`]);
    expect(world().ec2.all().length).toBe(0);

    // Redelivered: nothing more.
    await launch(approvedEvent(build));
    expect(world().ec2.runRequests()).toHaveLength(3);
    expect(world().replies(build)).toHaveLength(1);
    expect(world().published()).toHaveLength(1);
  });

  it('a build cancelled before the event arrives launches nothing', async () => {
    const build = await world().seed(anApprovedBuild({ Status: 'cancelled', CancelledBy: 'U0REQUESTER' }), { slot: false });
    await launch(approvedEvent(build));
    expect(world().ec2.runRequests()).toEqual([]);
    expect(world().replies(build)).toEqual([]);
    expect(world().published()).toEqual([]);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'cancelled' });
  });

  it('cancel racing the launch: the write loses, the machine just launched is terminated and the thread told', async () => {
    const build = await world().seed(anApprovedBuild());
    world().ec2.afterLaunch = async () => {
      // The bot's cancel lands while EC2 is starting the machine.
      await world().deps.store.update(
        build.BuildID,
        { status: ['approved'] },
        { Status: 'cancelled', CancelledBy: 'U0REQUESTER', NotifiedStatus: 'cancelled' },
      );
      await world().deps.store.releaseSlot(build.BuildID);
    };
    await launch(approvedEvent(build));

    const instance = world().ec2.all()[0]!;
    expect(world().ec2.terminateRequests()).toEqual([[instance.instanceId]]);
    expect(world().ec2.get(instance.instanceId)?.state).toBe('shutting-down');
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ Status: 'cancelled' });
    expect(stored?.InstanceID).toBeUndefined();
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain(instance.instanceId);
    expect(replies[0]!.text).toContain('terminated right away');
    expect(world().published()).toEqual([]);
    expect(await world().slots()).toEqual([]);
  });

  it('a transient EC2 error throws (EventBridge retries) and changes nothing', async () => {
    world().ec2.failNext('RunInstances', 'RequestLimitExceeded', 503, 'Request limit exceeded.');
    const build = await world().seed(anApprovedBuild());
    await expect(launch(approvedEvent(build))).rejects.toThrow('Request limit exceeded.');
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'approved', NotifiedStatus: 'approved' });
    expect(world().replies(build)).toEqual([]);
    expect(world().published()).toEqual([]);
    expect(await world().slots()).toEqual([build.BuildID]);
  });

  it('a Slack post failing after the transition throws; the redelivery posts it once', async () => {
    const build = await world().seed(anApprovedBuild());
    world().slack.failNext('chat.postMessage', 'internal_error');
    await expect(launch(approvedEvent(build))).rejects.toThrow('internal_error');
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching', NotifiedStatus: 'approved' });
    expect(world().replies(build)).toEqual([]);

    await launch(approvedEvent(build));
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching', NotifiedStatus: 'launching' });
    expect(world().replies(build)).toHaveLength(1);
    expect(world().ec2.runRequests()).toHaveLength(1);
    // The mail went out on the first delivery and is marked sent: the retry does not repeat it.
    expect(
      world()
        .published()
        .map((p) => p.Subject?.slice(0, 6)),
    ).toEqual(['[INFO]']);
    expect(await world().get(build.BuildID)).toMatchObject({ MailSent: ['launching'] });

    await launch(approvedEvent(build));
    expect(world().replies(build)).toHaveLength(1);
    expect(world().published()).toHaveLength(1);
  });

  it('without LAUNCH_TEMPLATE_ID the build fails at once, saying so', async () => {
    world().configure({ LAUNCH_TEMPLATE_ID: '' });
    const build = await world().seed(anApprovedBuild());
    await launch(approvedEvent(build));
    expect(world().ec2.runRequests()).toEqual([]);
    expect((await world().get(build.BuildID))?.ErrorMessage).toContain('LAUNCH_TEMPLATE_ID');
    expect(await world().slots()).toEqual([]);
  });

  it('an approved build outside the slot set, every slot taken: fails saying why, no machine, the holder keeps its slot', async () => {
    const running = await world().seed(aLaunchedBuild('building', { BuildID: 'build-20261125-165000-0001' }));
    const build = await world().seed(anApprovedBuild(), { slot: false });
    await launch(approvedEvent(build));

    expect(world().ec2.runRequests()).toEqual([]);
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ Status: 'failed', NotifiedStatus: 'failed' });
    expect(stored?.ErrorMessage).toContain('the one build slot was taken by other builds');
    expect(await world().slots()).toEqual([running.BuildID]);
    expect(
      world()
        .replies(build)
        .map((m) => m.text)
        .join('\n'),
    ).toContain('the one build slot was taken by other builds');
    expect(
      logLines(world(), 'ERROR')
        .filter((l) => l.buildId === build.BuildID)
        .map((l) => l.message),
    ).toContain('the approved build holds no slot and none is free; no machine is launched');
  });

  it('an approved build outside the slot set with a slot free: takes it, then launches', async () => {
    const build = await world().seed(anApprovedBuild(), { slot: false });
    await launch(approvedEvent(build));

    expect(world().ec2.runRequests()).toHaveLength(1);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching' });
    expect(await world().slots()).toEqual([build.BuildID]);
  });

  it('drops a malformed event or one from another source, logging it, with nothing changed', async () => {
    const build = await world().seed(anApprovedBuild());
    await launch({ ...approvedEvent(build), detail: { buildId: build.BuildID, extra: 'x' } });
    await launch({ ...approvedEvent(build), source: 'labapp.metal-build.runner' });
    await launch({ ...approvedEvent(build), detail: { buildId: '../etc/passwd' } });
    await launch('not an event');
    expect(world().ec2.runRequests()).toEqual([]);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'approved' });
    expect(world().replies(build)).toEqual([]);
    const drops = logLines(world(), 'WARN').filter((l) => l.message === 'dropped a malformed event');
    expect(drops).toHaveLength(4);
    expect(drops[0]).toMatchObject({ buildId: build.BuildID, handler: 'launch' });
    expect(drops[2]).not.toHaveProperty('buildId');
  });

  it('drops an event for a build that does not exist', async () => {
    await launch(buildApproved('build-20261125-170052-zzzz', at(1)));
    expect(world().ec2.runRequests()).toEqual([]);
    expect(await world().builds()).toEqual([]);
    expect(logLines(world(), 'WARN')).toEqual([expect.objectContaining({ buildId: 'build-20261125-170052-zzzz', message: 'no such build; event dropped' })]);
  });
});

/** The store, except that the `launched` write throws once: the handler crashes after RunInstances. */
function crashingOnLaunchedWrite(store: BuildStore): { store: BuildStore; crashed: () => boolean } {
  let crashed = false;
  const wrapped = Object.create(store) as BuildStore;
  wrapped.update = async (buildId, guard, set) => {
    if (!crashed && set.Status === 'launching') {
      crashed = true;
      throw Object.assign(new Error('Task timed out after 120.00 seconds'), { name: 'TimeoutError' });
    }
    return store.update(buildId, guard, set);
  };
  return { store: wrapped, crashed: () => crashed };
}

describe('launch: one machine per build, whatever the deliveries', () => {
  it('capacity refused, then launched, then a crash before the record: the redelivery adopts that machine with no RunInstances', async () => {
    world().ec2.refuse('c5n.metal', SUBNETS[0], 'InsufficientInstanceCapacity');
    const build = await world().seed(anApprovedBuild());
    const crashing = crashingOnLaunchedWrite(world().deps.store);
    await expect(createHandler({ ...world().deps, store: crashing.store })(approvedEvent(build))).rejects.toThrow('Task timed out');
    expect(crashing.crashed()).toBe(true);
    expect(
      world()
        .ec2.runRequests()
        .map((r) => r.SubnetId),
    ).toEqual([SUBNETS[0], SUBNETS[1]]);
    const [machine] = world().ec2.liveOf(build.BuildID);
    expect(machine).toMatchObject({ availabilityZone: 'us-east-1b', state: 'pending' });
    expect((await world().get(build.BuildID))?.Status).toBe('approved');

    // Capacity is back in the first subnet: its ClientToken would now start a second machine.
    world().ec2.refuseNoMore();
    world().ec2.setState(machine!.instanceId, 'running');
    world().clock.minutesAfterT0(3);
    await launch(approvedEvent(build));

    expect(world().ec2.runRequests()).toHaveLength(2);
    expect(
      world()
        .ec2.liveOf(build.BuildID)
        .map((i) => i.instanceId),
    ).toEqual([machine!.instanceId]);
    expect(world().ec2.terminateRequests()).toEqual([]);
    // The adoption look-ups (the vCPU count before RunInstances lists every running machine instead).
    const adoptionLookups = world()
      .ec2.describeRequests()
      .filter((d) => d.Filters?.some((f) => f.Name === 'tag:BuildID'));
    expect(adoptionLookups.map((d) => d.Filters)).toEqual([
      [
        { Name: 'tag:BuildID', Values: [build.BuildID] },
        { Name: 'tag:LaunchedBy', Values: ['metal-build'] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
      [
        { Name: 'tag:BuildID', Values: [build.BuildID] },
        { Name: 'tag:LaunchedBy', Values: ['metal-build'] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
    ]);
    // Recorded as a fresh launch would be, with EC2's LaunchTime (the machine's, not the redelivery's).
    expect(await world().get(build.BuildID)).toMatchObject({
      Status: 'launching',
      InstanceID: machine!.instanceId,
      InstanceType: 'c5n.metal',
      AvailabilityZone: 'us-east-1b',
      LaunchTime: at(2),
      NotifiedStatus: 'launching',
    });
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain(machine!.instanceId);
    expect(
      world()
        .published()
        .map((p) => p.Subject),
    ).toEqual([`[INFO] metal-build ${build.BuildID} started on c5n.metal`]);
    expect(logLines(world(), 'WARN')).toContainEqual(
      expect.objectContaining({
        message: 'found a live machine of this build from an earlier delivery; adopting it instead of launching',
        buildId: build.BuildID,
        instanceId: machine!.instanceId,
        extras: [],
      }),
    );
  });

  it('a redelivery after a fully recorded launch starts nothing and does not even look', async () => {
    world().ec2.refuse('c5n.metal', SUBNETS[0], 'InsufficientInstanceCapacity');
    const build = await world().seed(anApprovedBuild());
    await launch(approvedEvent(build));
    world().ec2.refuseNoMore();
    await launch(approvedEvent(build));
    await launch(approvedEvent(build));

    expect(world().ec2.runRequests()).toHaveLength(2);
    expect(
      world()
        .ec2.describeRequests()
        .filter((d) => d.Filters?.some((f) => f.Name === 'tag:BuildID')),
    ).toHaveLength(1);
    expect(world().ec2.liveOf(build.BuildID)).toHaveLength(1);
    expect(world().ec2.terminateRequests()).toEqual([]);
    expect(world().replies(build)).toHaveLength(2); // launching, and the fallback note
    expect(world().published()).toHaveLength(1);
  });

  it('two live machines tagged with the build: the earliest launched is adopted, the other terminated, the thread told', async () => {
    const build = await world().seed(anApprovedBuild());
    const tags = launchTags(build, world().config.maxLifetimeHours);
    // Listed first, launched later: the order EC2 lists them in decides nothing.
    const later = world().ec2.add({ id: 'i-0000000000000bbbb', zone: 'us-east-1b', launchTime: at(1.5), tags });
    const earliest = world().ec2.add({ id: 'i-0000000000000aaaa', state: 'stopped', launchTime: at(1.25), tags });
    world().ec2.add({ id: 'i-0000000000000cccc', state: 'terminated', launchTime: at(1), tags });
    world().ec2.add({ id: 'i-0000000000000dddd', launchTime: at(1), tags: { ...tags, BuildID: 'build-20261125-170052-b2c3' } });
    await launch(approvedEvent(build));

    expect(world().ec2.runRequests()).toEqual([]);
    expect(world().ec2.terminateRequests()).toEqual([[later.instanceId]]);
    expect(
      world()
        .ec2.liveOf(build.BuildID)
        .map((i) => i.instanceId),
    ).toEqual([earliest.instanceId]);
    expect(await world().get(build.BuildID)).toMatchObject({
      Status: 'launching',
      InstanceID: earliest.instanceId,
      AvailabilityZone: 'us-east-1a',
      LaunchTime: at(1.25),
      NotifiedStatus: 'launching',
    });
    const replies = world()
      .replies(build)
      .map((m) => m.text);
    expect(replies).toHaveLength(2);
    expect(replies[0]).toContain(`\`${earliest.instanceId}\` is kept, \`${later.instanceId}\` terminated`);
    expect(replies[1]).toContain(earliest.instanceId);
    expect(logLines(world(), 'WARN')).toContainEqual(
      expect.objectContaining({ buildId: build.BuildID, instanceId: earliest.instanceId, state: 'stopped', extras: [later.instanceId] }),
    );

    // Redelivered: the extra is shutting down, the build recorded; nothing more.
    await launch(approvedEvent(build));
    expect(world().ec2.terminateRequests()).toHaveLength(1);
    expect(world().replies(build)).toHaveLength(2);
  });

  it('adoption racing a cancel: the write loses, the adopted machine is terminated at once', async () => {
    const build = await world().seed(anApprovedBuild());
    const machine = world().ec2.add({ id: 'i-0000000000000aaaa', launchTime: at(1.5), tags: launchTags(build, world().config.maxLifetimeHours) });
    const store: BuildStore = Object.create(world().deps.store) as BuildStore;
    store.update = async (buildId, guard, set) => {
      if (set.Status === 'launching')
        await world().deps.store.update(buildId, { status: ['approved'] }, { Status: 'cancelled', CancelledBy: 'U0REQUESTER', NotifiedStatus: 'cancelled' });
      return world().deps.store.update(buildId, guard, set);
    };
    await createHandler({ ...world().deps, store })(approvedEvent(build));
    expect(world().ec2.runRequests()).toEqual([]);
    expect(world().ec2.terminateRequests()).toEqual([[machine.instanceId]]);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'cancelled' });
    expect(world().replies(build)[0]!.text).toContain('terminated right away');
  });

  it('DescribeInstances failing throws before any RunInstances (EventBridge retries)', async () => {
    world().ec2.failNext('DescribeInstances', 'RequestLimitExceeded', 503, 'Request limit exceeded.');
    const build = await world().seed(anApprovedBuild());
    await expect(launch(approvedEvent(build))).rejects.toThrow('Request limit exceeded.');
    expect(world().ec2.runRequests()).toEqual([]);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'approved' });
  });
});

describe('launch: what EC2 and Service Quotas say before RunInstances', () => {
  const QUOTA = 'L-1216C47A';
  /** A c5n.metal (72 vCPUs) of another build, running: it counts against the account's quota. */
  const otherBuildsMachine = () =>
    world().ec2.add({
      id: 'i-0000000000000eeee',
      type: 'c5n.metal',
      launchTime: at(0),
      tags: launchTags(anApprovedBuild({ BuildID: 'build-20261125-170052-b2c3' }), world().config.maxLifetimeHours),
    });
  const runs = () =>
    world()
      .ec2.runRequests()
      .map((r) => [r.InstanceType, r.SubnetId]);

  it('zone skip: a subnet whose zone does not offer c5n.metal is not tried; the machine starts in the other, the thread says why', async () => {
    world().ec2.standIn.setOfferings({ 'c5n.metal': ['us-east-1b'], 'm5zn.metal': ['us-east-1a', 'us-east-1b'] });
    const build = await world().seed(anApprovedBuild());
    await launch(approvedEvent(build));

    expect(runs()).toEqual([['c5n.metal', SUBNETS[1]]]);
    const [machine] = world().ec2.liveOf(build.BuildID);
    expect(machine).toMatchObject({ instanceType: 'c5n.metal', subnetId: SUBNETS[1], availabilityZone: 'us-east-1b' });
    expect(await world().get(build.BuildID)).toMatchObject({
      Status: 'launching',
      InstanceID: machine!.instanceId,
      InstanceType: 'c5n.metal',
      AvailabilityZone: 'us-east-1b',
      NotifiedStatus: 'launching',
    });
    const replies = world()
      .replies(build)
      .map((m) => m.text);
    expect(replies).toHaveLength(2);
    expect(replies[0]).toContain(machine!.instanceId);
    expect(replies[1]).toBe('ℹ️ Launched c5n.metal in us-east-1b; skipped c5n.metal in subnet-0aaaaaaaaaaaaaaaa (us-east-1a does not offer it).');
    expect(logLines(world(), 'WARN')).toEqual([]);
    expect(logLines(world(), 'INFO')).toContainEqual(
      expect.objectContaining({ message: 'launched', buildId: build.BuildID, instanceId: machine!.instanceId, availabilityZone: 'us-east-1b' }),
    );
  });

  it("quota skip: c5n.metal does not fit beside another build's machine, so m5zn.metal is launched and the note names the quota", async () => {
    world().quotas.setQuota('ec2', QUOTA, 130);
    otherBuildsMachine();
    const build = await world().seed(anApprovedBuild());
    await launch(approvedEvent(build));

    expect(runs()).toEqual([['m5zn.metal', SUBNETS[0]]]);
    const [machine] = world().ec2.liveOf(build.BuildID);
    expect(machine).toMatchObject({ instanceType: 'm5zn.metal', availabilityZone: 'us-east-1a' });
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching', InstanceID: machine!.instanceId, InstanceType: 'm5zn.metal' });
    const replies = world()
      .replies(build)
      .map((m) => m.text);
    expect(replies).toHaveLength(2);
    expect(replies[1]).toBe(
      `ℹ️ Launched m5zn.metal in us-east-1a (expected $6.03, maximum $12.06); skipped c5n.metal (needs 72 vCPUs; 58 of the 130-vCPU quota ${QUOTA} are free).`,
    );
    expect(world().quotas.requests).toEqual([{ operation: 'GetServiceQuota', body: { ServiceCode: 'ec2', QuotaCode: QUOTA } }]);
    expect(
      world()
        .published()
        .map((p) => p.Subject),
    ).toEqual([`[INFO] metal-build ${build.BuildID} started on m5zn.metal`]);
    expect(logLines(world(), 'WARN')).toEqual([]);
    expect(logLines(world(), 'INFO')).toContainEqual(expect.objectContaining({ message: 'launched', buildId: build.BuildID, instanceType: 'm5zn.metal' }));
  });

  it('quota: no type fits → failed at once, the quota, the numbers and the command to raise it named; no RunInstances; slot freed', async () => {
    world().quotas.setQuota('ec2', QUOTA, 100);
    otherBuildsMachine();
    const build = await world().seed(anApprovedBuild());
    await launch(approvedEvent(build));

    expect(world().ec2.runRequests()).toEqual([]);
    expect(world().ec2.liveOf(build.BuildID)).toEqual([]);
    const stored = await world().get(build.BuildID);
    expect(stored).toMatchObject({ Status: 'failed', NotifiedStatus: 'failed', CompletionTime: at(2) });
    expect(stored?.InstanceID).toBeUndefined();
    expect(stored?.ExpirationTime).toBeGreaterThan(Date.parse(T0) / 1000);
    expect(stored?.ErrorMessage).toContain(`${QUOTA} ("Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances") is 100 vCPUs in us-east-1`);
    expect(stored?.ErrorMessage).toContain('72 are in use by other machines, and c5n.metal needs 72, m5zn.metal needs 48.');
    expect(stored?.ErrorMessage).toContain(
      `aws service-quotas request-service-quota-increase --service-code ec2 --quota-code ${QUOTA} --desired-value 120 --region us-east-1`,
    );
    expect(await world().slots()).toEqual([]);
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.subtype).toBe('thread_broadcast');
    expect(replies[0]!.text).toContain('<@U0REQUESTER>');
    expect(replies[0]!.text).toContain('failed');
    expect(
      world()
        .published()
        .map((p) => p.Subject),
    ).toEqual([`[FAILED] metal-build ${build.BuildID} failed`]);
    expect(logLines(world(), 'ERROR')).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: 'no machine could be launched',
        reason: stored!.ErrorMessage,
        buildId: build.BuildID,
        handler: 'launch',
      }),
    ]);
  });

  it("the build's own machine (a redelivery, EC2 not yet listing it to the adoption) is not counted against the quota", async () => {
    world().quotas.setQuota('ec2', QUOTA, 100);
    const build = await world().seed(anApprovedBuild());
    const crashing = crashingOnLaunchedWrite(world().deps.store);
    await expect(createHandler({ ...world().deps, store: crashing.store })(approvedEvent(build))).rejects.toThrow('Task timed out');
    const [machine] = world().ec2.liveOf(build.BuildID);
    world().ec2.setState(machine!.instanceId, 'running');
    world().ec2.standIn.lagDescribe(machine!.instanceId);
    await launch(approvedEvent(build));

    // The vCPU count listed the machine (72 of the 100): had it counted, neither type would fit.
    const counts = world()
      .ec2.describeRequests()
      .filter((d) => !d.Filters.some((f) => f.Name === 'tag:BuildID'));
    expect(counts).toHaveLength(2);
    const token = clientToken(build.BuildID, 'c5n.metal', SUBNETS[0]);
    expect(
      world()
        .ec2.runRequests()
        .map((r) => [r.InstanceType, r.SubnetId, r.ClientToken]),
    ).toEqual([
      ['c5n.metal', SUBNETS[0], token],
      ['c5n.metal', SUBNETS[0], token],
    ]);
    expect(
      world()
        .ec2.all()
        .map((i) => i.instanceId),
    ).toEqual([machine!.instanceId]);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching', InstanceID: machine!.instanceId, InstanceType: 'c5n.metal' });
    const replies = world().replies(build);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.text).toContain(machine!.instanceId);
    expect(logLines(world(), 'WARN')).toEqual([]);
    expect(logLines(world(), 'INFO')).toContainEqual(expect.objectContaining({ message: 'launched', buildId: build.BuildID, instanceId: machine!.instanceId }));
  });

  it('Service Quotas failing (AccessDenied) is logged with the build and the launch goes on', async () => {
    world().quotas.failNext('AccessDeniedException', 400, 'User is not authorized to perform: servicequotas:GetServiceQuota');
    const build = await world().seed(anApprovedBuild());
    await launch(approvedEvent(build));

    expect(runs()).toEqual([['c5n.metal', SUBNETS[0]]]);
    const [machine] = world().ec2.liveOf(build.BuildID);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching', InstanceID: machine!.instanceId, AvailabilityZone: 'us-east-1a' });
    expect(world().replies(build)).toHaveLength(1);
    expect(logLines(world(), 'WARN')).toEqual([
      expect.objectContaining({
        message: 'could not read the on-demand vCPU quota; the launch goes on without that check',
        buildId: build.BuildID,
        handler: 'launch',
      }),
    ]);
    expect(JSON.stringify(logLines(world(), 'WARN')[0])).toContain('AccessDeniedException');
    expect(logLines(world(), 'INFO')).toContainEqual(expect.objectContaining({ message: 'launched', buildId: build.BuildID }));
  });

  it('the zones lookup failing is logged and the launch goes on; EC2 then refuses the zone that does not offer the type', async () => {
    world().ec2.standIn.setOfferings({ 'c5n.metal': ['us-east-1b'], 'm5zn.metal': ['us-east-1a', 'us-east-1b'] });
    world().ec2.failNext('DescribeInstanceTypeOfferings', 'UnauthorizedOperation', 403, 'You are not authorized to perform this operation.');
    const build = await world().seed(anApprovedBuild());
    await launch(approvedEvent(build));

    expect(runs()).toEqual([
      ['c5n.metal', SUBNETS[0]],
      ['c5n.metal', SUBNETS[1]],
    ]);
    const [machine] = world().ec2.liveOf(build.BuildID);
    expect(await world().get(build.BuildID)).toMatchObject({ Status: 'launching', InstanceID: machine!.instanceId, AvailabilityZone: 'us-east-1b' });
    const replies = world()
      .replies(build)
      .map((m) => m.text);
    expect(replies).toHaveLength(2);
    expect(replies[1]).toBe('ℹ️ Launched c5n.metal in us-east-1b; EC2 refused c5n.metal in subnet-0aaaaaaaaaaaaaaaa (Unsupported).');
    const warns = logLines(world(), 'WARN');
    expect(warns.map((l) => l.message)).toEqual([
      'could not read which zones offer the instance types; the launch goes on without that check',
      'EC2 refused a launch attempt',
    ]);
    expect(warns[1]!.ec2Message).toBe(
      'Your requested instance type (c5n.metal) is not supported in your requested Availability Zone (us-east-1a). Please retry your request by not specifying an Availability Zone or choosing us-east-1b.',
    );
    expect(warns[0]).toMatchObject({ buildId: build.BuildID, handler: 'launch' });
    expect(JSON.stringify(warns[0])).toContain('UnauthorizedOperation');
    expect(warns[1]).toMatchObject({ buildId: build.BuildID, instanceType: 'c5n.metal', subnetId: SUBNETS[0], code: 'Unsupported' });
  });
});
