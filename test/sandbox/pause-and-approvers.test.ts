import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/sandbox';
import { startSandbox } from '../../sandbox/sandbox';
import { APPROVER, REQUESTER, SECOND_APPROVER } from '../../stand-ins/slack-api';
import { SandboxClient } from './sandbox-client';

// The page's Pause, the clock back at 1× the moment a forced end is over, and a second approver
// to pick, so a build over SECOND_APPROVAL_ABOVE_USD can be given its two approvals. Over HTTP.

interface PageState {
  now: string;
  speed: number;
  paused: boolean;
  users: Array<{ id: string; role: string }>;
  instances: Array<{ instanceId: string; state: string }>;
}

let sandbox: Sandbox | undefined;
let c: SandboxClient | undefined;

async function start(options: Parameters<typeof startSandbox>[0]): Promise<SandboxClient> {
  sandbox = await startSandbox({ port: 0, dynamodbPort: 0, logSink: () => {}, ...options });
  c = new SandboxClient(sandbox.url, sandbox.dynamodbEndpoint);
  return c;
}

afterEach(async () => {
  c?.close();
  await sandbox?.close();
  sandbox = undefined;
  c = undefined;
});

const state = async (client: SandboxClient, user = REQUESTER) => (await client.get<PageState>(`/sandbox/state?user=${user}`)).json;

describe('Pause', { timeout: 60_000 }, () => {
  it('stops simulated time while a machine is live, lets +n min still move it, and resumes at the rate it had', async () => {
    const client = await start({ speed: 60, outcome: 'hang' });
    await client.requestAndApprove(REQUESTER, APPROVER);
    // Launched: the world is busy, time runs at 60×.
    await client.advance(2);
    expect((await state(client)).speed).toBe(60);

    expect(await client.post('/sandbox/pause', { paused: true })).toMatchObject({ status: 200, json: { paused: true } });
    const paused = await state(client);
    expect(paused).toMatchObject({ paused: true, speed: 0 });
    // Over two of the clock's steps (250 ms each): not a simulated millisecond passes.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect((await state(client)).now).toBe(paused.now);

    const moved = await client.advance(10);
    expect(Date.parse(moved) - Date.parse(paused.now)).toBe(10 * 60_000);
    expect((await state(client)).paused).toBe(true);

    expect(await client.post('/sandbox/pause', { paused: false })).toMatchObject({ status: 200, json: { paused: false } });
    expect(await state(client)).toMatchObject({ paused: false, speed: 60 });
  });

  it('refuses a body without `paused` and changes nothing', async () => {
    const client = await start({ speed: 60 });
    const answer = await client.post<{ error: string }>('/sandbox/pause', { pause: true });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toContain('paused');
    expect((await state(client)).paused).toBe(false);
  });
});

describe('after a forced end', { timeout: 120_000 }, () => {
  it('runs the clock at 1× again at once: the hung machine is terminated and nothing is due', async () => {
    const client = await start({ speed: 60, outcome: 'hang' });
    await client.requestAndApprove(REQUESTER, APPROVER);
    const lifetime = sandbox?.config.maxLifetimeHours ?? 0;
    // Past the forced termination and the minute shutting-down takes.
    await client.advance(lifetime * 60 + 5);
    const after = await state(client);
    expect(after.instances.length).toBeGreaterThan(0);
    expect(after.instances.every((i) => i.state === 'terminated')).toBe(true);
    expect(after.speed).toBe(1);
  });
});

describe('a second approver', { timeout: 60_000 }, () => {
  it('is one of the people the page acts as, and gives the second of two approvals', async () => {
    const client = await start({ speed: 0, outcome: 'success', env: { SECOND_APPROVAL_ABOVE_USD: '5' } });
    expect(sandbox?.config.approverIds).toEqual([APPROVER, SECOND_APPROVER]);
    expect((await state(client)).users.map((u) => u.id)).toContain(SECOND_APPROVER);

    const { buildId, ts } = await client.requestAndApprove(REQUESTER, APPROVER);
    expect(await client.record(buildId)).toMatchObject({ Status: 'awaiting_approval', FirstApprover: APPROVER });

    // Jordan, picked on the page, presses Approve on the same card.
    const card = await client.card(buildId);
    expect(card.ts).toBe(ts);
    const clicked = await client.post('/sandbox/action', { user: SECOND_APPROVER, messageTs: ts, actionId: 'approve_build', value: buildId, text: 'Approve' });
    expect(clicked).toMatchObject({ status: 200, json: { status: 200 } });
    const record = await client.record(buildId);
    expect(record?.Status).not.toBe('awaiting_approval');
    expect(record).toMatchObject({ FirstApprover: APPROVER });
  });
});
