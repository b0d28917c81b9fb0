import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/sandbox';
import { PortInUseError, startSandbox } from '../../sandbox/sandbox';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import { slashCommandBody } from '../../stand-ins/slack-request';
import { SandboxClient } from './sandbox-client';

// docs/design.md "Sandbox contract": the sandbox's own endpoints, the page, signatures checked on
// /slack/events, ephemerals only for their person, ports that are taken.

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

interface PageState {
  now: string;
  outcome: string;
  timeline: Array<{ text: string; ephemeral: boolean; user: string }>;
  rows: Array<Record<string, unknown>>;
}

describe('sandbox endpoints', () => {
  it('moves the simulated clock by whole minutes and answers the new time', async () => {
    const before = (await c.get<PageState>('/sandbox/state?user=U0REQUESTER')).json.now;
    const answer = await c.post<{ now: string }>('/sandbox/clock', { advanceMinutes: 10 });
    expect(answer.status).toBe(200);
    expect(Date.parse(answer.json.now) - Date.parse(before)).toBe(10 * 60_000);
    expect((await c.post('/sandbox/clock', { advanceMinutes: -1 })).status).toBe(400);
    expect((await c.post('/sandbox/clock', { minutes: 1 })).status).toBe(400);
  });

  it('changes the outcome and refuses an unknown one', async () => {
    expect(await c.outcome('hang')).toEqual({ status: 200, json: { outcome: 'hang' } });
    const refused = await c.outcome('explode');
    expect(refused.status).toBe(400);
    expect(String(refused.json.error)).toContain('success, failure, hang, no-capacity');
    expect((await c.get<PageState>('/sandbox/state?user=U0REQUESTER')).json.outcome).toBe('hang');
    await c.outcome('success');
  });

  it('serves the page and its script', async () => {
    const page = await fetch(`${sandbox.url}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('id="composer-input"');
    const script = await fetch(`${sandbox.url}/page.js`);
    expect(script.status).toBe(200);
    expect(await script.text()).not.toMatch(/\.innerHTML\s*=|insertAdjacentHTML|outerHTML|document\.write/);
  });

  it('refuses a forged signature at /slack/events and writes nothing', async () => {
    const answer = await c.signed(slashCommandBody({ text: 'main abc1234', user: REQUESTER }), { signature: 'v0=forged' });
    expect(answer.status).toBe(401);
    const rows = (await c.get<PageState>('/sandbox/state?user=U0REQUESTER')).json.rows;
    expect(rows.filter((r) => r.Status !== undefined)).toHaveLength(0);
  });

  it('answers the Slack Web API as Slack does: a wrong token is invalid_auth', async () => {
    expect(await c.slack('conversations.history', { channel: 'C0SANDBOX' }, 'xoxb-wrong')).toMatchObject({ ok: false, error: 'invalid_auth' });
    expect(await c.slack('users.info', { user: APPROVER })).toMatchObject({ ok: true, user: { real_name: 'Avery' } });
  });

  it('shows a slash command reply from the page to its author only', async () => {
    const sent = await c.post('/sandbox/slash', { user: REQUESTER, text: 'help' });
    expect(sent).toMatchObject({ status: 200, json: { status: 200 } });
    const riley = (await c.get<PageState>(`/sandbox/state?user=${REQUESTER}`)).json.timeline.filter((m) => m.ephemeral);
    const avery = (await c.get<PageState>(`/sandbox/state?user=${APPROVER}`)).json.timeline.filter((m) => m.ephemeral);
    expect(riley.length).toBeGreaterThan(0);
    expect(riley.at(-1)?.text).toContain('/metal-build');
    expect(avery).toHaveLength(0);
    expect((await c.post('/sandbox/slash', { user: 'U0SOMEONE', text: 'help' })).status).toBe(400);
  });
});

describe('ports', () => {
  it('names the variable to change when a port is taken', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      await expect(startSandbox({ port, dynamodbPort: 0, speed: 0 })).rejects.toMatchObject({ variable: 'PORT', port });
      const error = await startSandbox({ port: 0, dynamodbPort: port, speed: 0 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PortInUseError);
      expect(error).toMatchObject({ variable: 'DYNAMODB_PORT', port });
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });
});
