import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/sandbox';
import { startSandbox } from '../../sandbox/sandbox';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import type { SlackMessage } from '../../stand-ins/slack-api';
import { SandboxClient, textOf } from './sandbox-client';

// The whole flow through the sandbox, over HTTP only: signed Slack requests to /slack/events,
// Slack's state from /api/<method>, the record from the DynamoDB endpoint, time moved with
// /sandbox/clock (speed 0: nothing moves unless a test moves it).

let sandbox: Sandbox | undefined;
let client: SandboxClient | undefined;

async function start(outcome: 'success' | 'failure' | 'hang' | 'no-capacity'): Promise<SandboxClient> {
  sandbox = await startSandbox({ port: 0, dynamodbPort: 0, speed: 0, outcome, logSink: () => {} });
  client = new SandboxClient(sandbox.url, sandbox.dynamodbEndpoint);
  return client;
}

afterEach(async () => {
  client?.close();
  await sandbox?.close();
  sandbox = undefined;
  client = undefined;
});

/** A simulated minute costs one watchdog run against dynalite (~0.1–0.3 s); a build is 90 of them. */
const FLOW_TIMEOUT_MS = 120_000;

/**
 * `Build Approved` reaches the launch function after the click was answered, as on AWS: the
 * record once it has left `approved` (a bounded wait for the delivery, not a timing assertion).
 */
async function launchedRecord(c: SandboxClient, buildId: string): Promise<Record<string, unknown> | undefined> {
  for (let i = 0; i < 100; i++) {
    const record = await c.record(buildId);
    if (record?.Status !== 'approved') return record;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return c.record(buildId);
}

const broadcasts = (history: SlackMessage[]) => history.filter((m) => m.subtype === 'thread_broadcast');

describe('the sandbox runs the whole flow', { timeout: FLOW_TIMEOUT_MS }, () => {
  it('takes a build to completed: thread, record, artifact, ActualCost after termination; `costs` counts it against the $50 budget', async () => {
    const c = await start('success');
    const { buildId, ts } = await c.requestAndApprove(REQUESTER, APPROVER);
    expect(await launchedRecord(c, buildId)).toMatchObject({ Status: 'launching' });
    const asked = (await c.record(buildId))?.CostMax;

    await c.advance(100);

    const record = await c.record(buildId);
    expect(record).toMatchObject({
      Status: 'completed',
      Phase: 'completed',
      Approver: APPROVER,
      InstanceType: 'c5n.metal',
      InstanceState: 'terminated',
      ArtifactKey: `builds/${buildId}/hedgehog-lab-prewarmed-0.0.0-abc1234.ova`,
    });
    expect(record?.ArtifactSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(record?.ActualCommit).toMatch(/^abc1234[0-9a-f]{33}$/);
    expect(Date.parse(String(record?.TerminatedAt))).toBeGreaterThan(Date.parse(String(record?.CompletionTime)));
    // About 90 minutes of c5n.metal plus the disk: between the 1.5 h estimate's neighbours.
    expect(record?.ActualCost).toBeGreaterThan(5.5);
    expect(record?.ActualCost).toBeLessThan(6.5);

    const thread = await c.replies(ts);
    expect(thread[0]?.ts).toBe(ts);
    const replies = thread.slice(1).map(textOf);
    expect(replies.some((t) => t.includes('c5n.metal') && t.includes('us-east-1'))).toBe(true);
    // The completion with its artifact, then (when the completion did not carry it) the final cost.
    const done = replies.findIndex((t) => t.includes('completed') && t.includes(String(record?.ArtifactKey)));
    expect(done).toBeGreaterThanOrEqual(0);
    for (const later of replies.slice(done + 1)) expect(later).toContain(`$${Number(record?.ActualCost).toFixed(2)}`);

    const completion = broadcasts(await c.history()).find((m) => m.text.includes('completed'));
    expect(completion?.thread_ts).toBe(ts);
    expect(completion?.text).toContain(`<@${REQUESTER}>`);

    const cost = `$${Number(record?.ActualCost).toFixed(2)}`;
    const costs = await c.command(REQUESTER, 'costs');
    expect(costs.status).toBe(200);
    expect(costs.text).toContain(`*Spent* ${cost} — ${cost} final`);
    expect(costs.text).toContain(`*Budget*: ${cost} of $50.00 used`);
    expect(costs.text).toContain('*Builds* 1: 1 completed');
    expect(costs.text).toContain(`\`${buildId}\` ${cost}`);

    // The next request's card states the month so far and what this one may add.
    await c.command(REQUESTER, 'main def5678');
    const next = await c.card();
    expect(textOf(next)).toContain(`*Budget*: ${cost} of $50.00 used this month, this build up to $${Number(asked).toFixed(2)}`);
  });

  it('publishes a completed v1.2.3 build to releases/ once, through the release handler, and says so in the thread', async () => {
    const c = await start('success');
    const { buildId, ts } = await c.requestAndApprove(REQUESTER, APPROVER, 'v1.2.3');

    await c.advance(100);

    expect(await c.record(buildId)).toMatchObject({ Status: 'completed', ArtifactKey: `builds/${buildId}/hedgehog-lab-prewarmed-1.2.3.ova` });
    expect(await c.record('#release#v1.2.3')).toMatchObject({ For: buildId, PublishedAt: expect.any(String) });
    const released = (await c.replies(ts)).map(textOf).filter((t) => t.startsWith('📦'));
    expect(released).toHaveLength(1);
    expect(released[0]).toContain(`/releases/v1.2.3/hedgehog-lab-prewarmed-1.2.3.ova`);
  });

  it('reports a failed build with its error and log tail, and the machine ends', async () => {
    const c = await start('failure');
    const { buildId, ts } = await c.requestAndApprove(REQUESTER, APPROVER);

    await c.advance(100);

    const record = await c.record(buildId);
    expect(record).toMatchObject({ Status: 'failed', Phase: 'failed', InstanceState: 'terminated' });
    expect(record?.ErrorMessage).toContain('packer build failed');
    expect(record?.LogTail).toContain('timed out waiting for the condition');
    expect(record?.ActualCost).toBeGreaterThan(0);

    const failure = (await c.replies(ts))
      .slice(1)
      .map(textOf)
      .find((t) => t.includes('packer build failed'));
    expect(failure).toContain('timed out waiting for the condition');
    expect(broadcasts(await c.history()).some((m) => textOf(m).includes('packer build failed'))).toBe(true);
  });

  it('falls back to the next instance type when EC2 has no capacity, and says so in the thread', async () => {
    const c = await start('no-capacity');
    const { buildId, ts } = await c.requestAndApprove(REQUESTER, APPROVER);

    await c.advance(4);

    const record = await c.record(buildId);
    expect(record?.InstanceType).toBe('m5zn.metal');
    expect(record?.Status).toBe('building');
    const replies = (await c.replies(ts)).slice(1).map(textOf);
    expect(replies.some((t) => t.includes('m5zn.metal'))).toBe(true);

    await c.advance(100);
    expect((await c.record(buildId))?.Status).toBe('completed');
  });

  it('warns a hanging build at 2 h and force-terminates it at the 3 h limit, broadcast in the channel', async () => {
    const c = await start('hang');
    const { buildId, ts } = await c.requestAndApprove(REQUESTER, APPROVER);
    // The watchdog runs on each whole simulated minute; the machine was launched between two.
    await c.advance(119);
    expect((await c.record(buildId))?.WarnedAt).toBeUndefined();
    expect(broadcasts(await c.history())).toHaveLength(0);

    await c.advance(2);
    const warned = await c.record(buildId);
    expect(warned?.Status).toBe('building');
    expect(warned?.WarnedAt).toBeDefined();
    const warning = broadcasts(await c.history());
    expect(warning).toHaveLength(1);
    expect(warning[0]?.thread_ts).toBe(ts);
    expect(warning[0]?.text).toContain(`<@${REQUESTER}>`);
    expect(JSON.stringify(warning[0]?.blocks ?? [])).toContain('extend_build');

    await c.advance(58);
    expect((await c.record(buildId))?.Status).toBe('building');

    // The deadline's schedule fires in the minute before the limit's minute (the Scheduler
    // stand-in at its worst second, :59), through EC2's TerminateInstances; EC2 then needs a
    // minute to terminate.
    await c.advance(4);
    const forced = await c.record(buildId);
    expect(forced).toMatchObject({
      Status: 'terminated',
      ForcedTermination: true,
      TerminationReason: 'forced',
      InstanceState: 'terminated',
    });
    const limit = Date.parse(String(forced?.LaunchTime)) + 3 * 3600_000;
    expect(forced?.DeadlineAt).toBe(new Date(limit).toISOString());
    // Never after the limit, at most 2 minutes before it, and never above the card's maximum.
    expect(Date.parse(String(forced?.CompletionTime))).toBeLessThan(limit);
    expect(Date.parse(String(forced?.CompletionTime))).toBeGreaterThanOrEqual(limit - 2 * 60_000);
    expect(forced?.ActualCost).toBeGreaterThan(11);
    expect(forced?.ActualCost).toBeLessThanOrEqual(Number(forced?.CostMax));
    expect(sandbox!.standIns.scheduler.fired).toEqual([expect.objectContaining({ name: `metal-build-${buildId}`, ok: true })]);
    expect(sandbox!.standIns.scheduler.schedules()).toEqual([]);
    const after = broadcasts(await c.history());
    expect(after).toHaveLength(2);
    expect(after.map((m) => m.thread_ts)).toEqual([ts, ts]);
  });

  it("sends the page's click on a thread reply's button (the warning's Extend) as Slack would", async () => {
    const c = await start('hang');
    const { buildId, ts } = await c.requestAndApprove(REQUESTER, APPROVER);
    await c.advance(121);
    const warning = (await c.replies(ts)).find((m) => JSON.stringify(m.blocks ?? []).includes('extend_build'));
    if (!warning) throw new Error('no warning in the thread');

    const clicked = await c.post('/sandbox/action', {
      user: APPROVER,
      messageTs: warning.ts,
      actionId: 'extend_build',
      blockId: (warning.blocks as Array<{ type: string; block_id?: string }>).find((b) => b.type === 'actions')?.block_id,
      value: buildId,
      text: 'Extend 1 h',
    });
    expect(clicked).toMatchObject({ status: 200, json: { status: 200 } });
    expect((await c.record(buildId))?.ExtendedHours).toBe(1);

    // The limit moved by the hour: still building past 3 h.
    await c.advance(63);
    expect((await c.record(buildId))?.Status).toBe('building');
  });
});
