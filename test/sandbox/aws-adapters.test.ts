import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/sandbox';
import { SANDBOX_TOPIC_ARN, startSandbox } from '../../sandbox/sandbox';
import { members, tags } from '../../stand-ins/ec2-query';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import { SandboxClient } from './sandbox-client';

// One build through the sandbox, looked at from the AWS stand-ins behind the real adapters: what
// Ec2Compute sent EC2, what SnsNotifier published, how often the Slack secret was read.

let sandbox: Sandbox | undefined;
let client: SandboxClient | undefined;

afterEach(async () => {
  client?.close();
  await sandbox?.close();
  sandbox = undefined;
  client = undefined;
});

describe('the sandbox runs the real AWS adapters against the stand-ins', { timeout: 120_000 }, () => {
  it('launches through RunInstances, mails through SNS Publish, reads the Slack secret once', async () => {
    sandbox = await startSandbox({ port: 0, dynamodbPort: 0, speed: 0, outcome: 'success', logSink: () => {} });
    client = new SandboxClient(sandbox.url, sandbox.dynamodbEndpoint);
    const { ec2, sns, secretsManager, serviceQuotas } = sandbox.standIns;

    const { buildId } = await client.requestAndApprove(REQUESTER, APPROVER);
    await client.advance(100);
    expect((await client.record(buildId))?.Status).toBe('completed');

    // EC2: one RunInstances with the stack's launch template, the build's user data and its tags.
    const runs = ec2.requests.filter((r) => r.action === 'RunInstances');
    expect(runs).toHaveLength(1);
    const run = runs[0]!.params;
    expect(run['LaunchTemplate.LaunchTemplateId']).toBe(sandbox.config.launchTemplateId);
    expect(run['LaunchTemplate.Version']).toBe('$Latest');
    expect(run.InstanceType).toBe('c5n.metal');
    const userData = Buffer.from(run.UserData ?? '', 'base64').toString('utf8');
    expect(userData).toMatch(/^#cloud-config\n/);
    expect(userData).toContain('/etc/metal-build/build.json');
    const specs = members(run, 'TagSpecification');
    expect(specs.map((s) => s.ResourceType).sort()).toEqual(['instance', 'volume']);
    for (const spec of specs) expect(tags(spec)).toMatchObject({ Project: 'labapp', BuildID: buildId, AutoDelete: 'true', Requester: REQUESTER });
    const [instance] = ec2.all();
    expect(instance).toMatchObject({ launchTemplateId: sandbox.config.launchTemplateId, state: 'terminated', userData: run.UserData });
    expect(instance?.tags.BuildID).toBe(buildId);

    // SNS: the launch mail to the stack's topic, with the attributes subscriptions filter on.
    const launchMail = sns.published.find((p) => p.attributes.Status?.value === 'launching');
    expect(launchMail).toMatchObject({
      topicArn: SANDBOX_TOPIC_ARN,
      attributes: { BuildID: { dataType: 'String', value: buildId }, Status: { dataType: 'String', value: 'launching' } },
    });
    expect(launchMail?.subject).toMatch(/^\[INFO\] .*started on c5n\.metal$/);
    expect(launchMail?.message).toContain(instance!.instanceId);

    // Service Quotas: the launch's vCPU check went through the real adapter.
    expect(serviceQuotas.requests.map((r) => r.operation)).toContain('GetServiceQuota');

    // Secrets Manager: the bot and the events deps share one read of the Slack secret.
    expect(secretsManager.reads).toEqual([{ secretId: sandbox.config.slackSecretArn, found: true }]);

    // The page shows the mails from the SNS stand-in.
    const state = await client.get<{ sns: Array<Record<string, unknown>> }>(`/sandbox/state?user=${REQUESTER}`);
    expect(state.json.sns).toContainEqual(
      expect.objectContaining({ severity: 'INFO', buildId, status: 'launching', subject: expect.stringContaining('started on c5n.metal') }),
    );
  });
});
