import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/sandbox';
import { startSandbox } from '../../sandbox/sandbox';
import { APPROVER } from '../../stand-ins/slack-api';
import { SandboxClient, buttons } from './sandbox-client';

// The sandbox's "GitHub: push tag" over HTTP: a signed push reaches the bot's /github/webhook,
// the card appears, an approval takes it to completed, and the GitHub stand-in shows the
// statuses the commit received.

let sandbox: Sandbox | undefined;
let client: SandboxClient | undefined;

afterEach(async () => {
  client?.close();
  await sandbox?.close();
  sandbox = undefined;
  client = undefined;
});

describe('GitHub: push tag', { timeout: 120_000 }, () => {
  it('posts a card requested by GitHub; approved, the commit goes pending, then success', async () => {
    sandbox = await startSandbox({ port: 0, dynamodbPort: 0, speed: 0, outcome: 'success', logSink: () => {} });
    const c = (client = new SandboxClient(sandbox.url, sandbox.dynamodbEndpoint));

    const pushed = await c.post<{ status: number; tag: string; commit: string; body: string }>('/sandbox/github/push', {});
    expect(pushed.json).toMatchObject({ status: 201, tag: 'v1.1.0' });
    const card = await c.card();
    expect(JSON.stringify(card.blocks)).toContain('GitHub: tag');
    expect(JSON.stringify(card.blocks)).toContain('pushed by octocat');
    const buildId = buttons(card).find((b) => b.action_id === 'approve_build')!.value!;
    expect(await c.record(buildId)).toMatchObject({ Requester: 'github', GithubLogin: 'octocat', BuildCommit: pushed.json.commit });

    expect(await c.click(APPROVER, card, 'approve_build')).toBe(200);
    await c.advance(100);

    expect(await c.record(buildId)).toMatchObject({ Status: 'completed', GithubStatus: 'success' });
    const { json } = await c.get<{ statuses: Array<{ sha: string; state: string; context: string; targetUrl?: string }> }>('/sandbox/github/statuses');
    expect(json.statuses.map((s) => s.state)).toEqual(['pending', 'success']);
    expect(json.statuses.every((s) => s.sha === pushed.json.commit && s.context === 'metal-build' && s.targetUrl !== undefined)).toBe(true);
  });
});
