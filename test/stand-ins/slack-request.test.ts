import { App, AwsLambdaReceiver, isValidSlackRequest } from '@slack/bolt';
import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { APPROVER, REQUESTER, SANDBOX_BOT_TOKEN, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { SANDBOX_SIGNING_SECRET, blockActionEvent, lambdaContext, parseLambdaResult, signSlackRequest, slashCommandEvent } from '../../stand-ins/slack-request';

// The request factory signs exactly as Slack does: Bolt's own verifier and Bolt's own Lambda
// receiver accept what it builds, and refuse it under a wrong secret or an old timestamp.

const rawBody = (event: LambdaFunctionURLEvent) => (event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? ''));

const verifies = (event: LambdaFunctionURLEvent, secret = SANDBOX_SIGNING_SECRET) =>
  isValidSlackRequest({
    signingSecret: secret,
    body: rawBody(event),
    headers: {
      'x-slack-signature': event.headers['x-slack-signature'] ?? '',
      'x-slack-request-timestamp': Number(event.headers['x-slack-request-timestamp']),
    },
  });

/** A Bolt app on AwsLambdaReceiver, as the bot runs, recording what its listeners saw. */
function boltApp() {
  const receiver = new AwsLambdaReceiver({ signingSecret: SANDBOX_SIGNING_SECRET, logger: quietLogger() });
  const app = new App({
    receiver,
    // No auth.test: the token comes from here.
    authorize: async () => ({ botToken: SANDBOX_BOT_TOKEN, botId: 'B0BOT', botUserId: 'U0BOT' }),
    logger: quietLogger(),
  });
  const seen: Array<Record<string, unknown>> = [];
  app.command('/metal-build', async ({ command, ack, context }) => {
    seen.push({ ...command, retryNum: context.retryNum, retryReason: context.retryReason });
    await ack({ response_type: 'ephemeral', text: `got ${command.text}` });
  });
  app.action('approve_build', async ({ body, ack }) => {
    seen.push(body as unknown as Record<string, unknown>);
    await ack();
  });
  return { handler: receiver.toHandler(), seen };
}

function quietLogger() {
  const noop = () => undefined;
  return { debug: noop, info: noop, warn: noop, error: noop, setLevel: noop, getLevel: () => 'error' as never, setName: noop };
}

describe('signed Slack requests', () => {
  it("sign `v0:<timestamp>:<body>` with HMAC-SHA256, as Slack does (checked by Bolt's verifier)", () => {
    const event = slashCommandEvent({ text: 'main abc1234' });
    expect(verifies(event)).toBe(true);
    expect(verifies(event, 'another-secret')).toBe(false);
    const headers = signSlackRequest('a=b', SANDBOX_SIGNING_SECRET, 1_764_090_052);
    expect(headers).toEqual({
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': '1764090052',
      // Pinned with `printf 'v0:1764090052:a=b' | openssl dgst -sha256 -hmac sandbox-signing-secret`.
      'x-slack-signature': 'v0=2420f25e16a34d55342b79b2324dac996fbed2a0acdffa26fd7aa607e7dc396f',
    });
  });

  it("hold a slash command's answer to a message's limits, as Slack refuses it", () => {
    const ack = (body: unknown) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(parseLambdaResult(ack({ response_type: 'ephemeral', text: 'x'.repeat(40_000) })).statusCode).toBe(200);
    expect(() => parseLambdaResult(ack({ response_type: 'ephemeral', text: 'x'.repeat(40_001) }))).toThrow('Slack would refuse this answer: msg_too_long');
    const section = { type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } };
    expect(() => parseLambdaResult(ack({ text: 'card', blocks: [section] }))).toThrow('Slack would refuse this answer: invalid_blocks');
  });

  it('build a slash command body field for field as Slack sends it, escaping &, < and >', () => {
    const event = slashCommandEvent({ text: 'a&b <x>', user: APPROVER, triggerId: '1.2.abc' });
    const form = Object.fromEntries(new URLSearchParams(rawBody(event)));
    expect(Object.keys(form)).toEqual([
      'token',
      'team_id',
      'team_domain',
      'channel_id',
      'channel_name',
      'user_id',
      'user_name',
      'command',
      'text',
      'api_app_id',
      'is_enterprise_install',
      'response_url',
      'trigger_id',
    ]);
    expect(form).toMatchObject({
      channel_id: SANDBOX_CHANNEL,
      channel_name: 'builds',
      user_id: APPROVER,
      user_name: 'avery',
      command: '/metal-build',
      text: 'a&amp;b &lt;x&gt;',
      trigger_id: '1.2.abc',
    });
    expect(event).toMatchObject({ version: '2.0', rawPath: '/slack/events', isBase64Encoded: true, requestContext: { http: { method: 'POST' } } });
  });

  it('build block_actions payloads shaped like Slack’s', () => {
    const event = blockActionEvent({ actionId: 'approve_build', value: 'build-20261125-170052-a1b2', messageTs: '1764090052.000100' });
    const payload = JSON.parse(new URLSearchParams(rawBody(event)).get('payload') ?? '{}') as Record<string, unknown>;
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: REQUESTER, username: 'riley', name: 'riley', team_id: 'T0SANDBOX' },
      container: { type: 'message', message_ts: '1764090052.000100', channel_id: SANDBOX_CHANNEL, is_ephemeral: false },
      channel: { id: SANDBOX_CHANNEL, name: 'builds' },
      message: { ts: '1764090052.000100' },
      actions: [{ action_id: 'approve_build', value: 'build-20261125-170052-a1b2', type: 'button', block_id: 'build_actions' }],
    });
    expect(payload.trigger_id).toEqual(expect.any(String));
    expect(payload.response_url).toEqual(expect.any(String));
  });

  it('are accepted by Bolt on AwsLambdaReceiver: the command reaches its listener and the ack comes back', async () => {
    const { handler, seen } = boltApp();
    const result = parseLambdaResult(await handler(slashCommandEvent({ text: 'main abc1234' }, { retryNum: 1, retryReason: 'http_timeout' }), lambdaContext()));
    expect(result.statusCode).toBe(200);
    expect(result.json).toEqual({ response_type: 'ephemeral', text: 'got main abc1234' });
    expect(seen).toEqual([expect.objectContaining({ text: 'main abc1234', user_id: REQUESTER, retryNum: '1', retryReason: 'http_timeout' })]);

    const action = parseLambdaResult(await handler(blockActionEvent({ actionId: 'approve_build', value: 'build-x', user: APPROVER }), lambdaContext()));
    expect(action).toMatchObject({ statusCode: 200, text: '' });
    expect(seen[1]).toMatchObject({ user: { id: APPROVER }, actions: [{ value: 'build-x' }] });
  });

  it('are refused by Bolt with 401 under a wrong secret, a forged signature or a stale timestamp', async () => {
    const { handler, seen } = boltApp();
    const stale = Math.floor(Date.now() / 1000) - 6 * 60;
    for (const options of [{ secret: 'wrong-secret' }, { signature: 'v0=' + '0'.repeat(64) }, { timestamp: stale }]) {
      const result = parseLambdaResult(await handler(slashCommandEvent({ text: 'help' }, options), lambdaContext()));
      expect({ options, statusCode: result.statusCode }).toEqual({ options, statusCode: 401 });
    }
    expect(seen).toEqual([]);
  });

  it('also work with the body sent as text rather than base64', async () => {
    const { handler, seen } = boltApp();
    const event = slashCommandEvent({ text: 'list' }, { base64: false });
    expect(event.isBase64Encoded).toBe(false);
    expect(parseLambdaResult(await handler(event, lambdaContext())).statusCode).toBe(200);
    expect(seen).toHaveLength(1);
  });
});
