import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/sandbox';
import { startSandbox } from '../../sandbox/sandbox';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import { SandboxClient, textOf } from './sandbox-client';

// `/metal-build selftest` in the sandbox (speed 0): the simulated runner plays runner.sh's
// self-test path, so the loop ends `completed` with its checks in minutes, its machine powered
// off and its slot freed, as on AWS.

describe('a self-test in the sandbox', { timeout: 60_000 }, () => {
  let sandbox: Sandbox;
  let c: SandboxClient;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, dynamodbPort: 0, speed: 0, outcome: 'success', logSink: () => {} });
    c = new SandboxClient(sandbox.url, sandbox.dynamodbEndpoint);
  });
  afterAll(async () => {
    c.close();
    await sandbox.close();
  });

  it('is refused for the requester, with nothing posted', async () => {
    const answer = await c.command(REQUESTER, 'selftest');
    expect(answer.status).toBe(200);
    expect(answer.text).toMatch(/approver/i);
    expect(await c.history()).toEqual([]);
  });

  it("runs an approver's self-test to completed with every check ✓, the machine off and the slot free", async () => {
    const answer = await c.command(APPROVER, 'selftest');
    expect(answer.status).toBe(200);
    const buildId = /build-[0-9]{8}-[0-9]{6}-[a-z0-9]{4}/.exec(answer.text)?.[0];
    if (!buildId) throw new Error(`no BuildID in "${answer.text}"`);
    await c.advance(10);
    const record = await c.record(buildId);
    expect(record).toMatchObject({
      Status: 'completed',
      Kind: 'selftest',
      InstanceType: 't3.small',
      ArtifactKey: `builds/${buildId}/selftest/result.json`,
      RootVolumeGb: 8,
    });
    expect(record?.SelftestChecks).toHaveLength(5);
    const line = (await c.history()).find((m) => m.text.includes(buildId));
    if (!line) throw new Error('no self-test line in the channel');
    const thread = (await c.replies(line.ts)).map(textOf).join('\n');
    expect(thread).toContain('✓');
    expect(thread).not.toContain('✗');
    expect(sandbox.standIns.ec2.all().filter((i) => i.state !== 'terminated')).toEqual([]);
    const slots = await c.record('#slots');
    expect([...((slots?.Active as Set<string> | undefined) ?? [])]).not.toContain(buildId);
  });
});
