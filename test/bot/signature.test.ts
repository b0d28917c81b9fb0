import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createHandler } from '../../bot/handler';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import {
  SANDBOX_SIGNING_SECRET,
  blockActionEvent,
  functionUrlEvent,
  lambdaContext,
  parseLambdaResult,
  signSlackRequest,
  slashCommandBody,
  slashCommandEvent,
} from '../../stand-ins/slack-request';
import type { Answer } from '../support/bot-world';
import { invoke, useWorld } from '../support/bot-world';

// Nothing reaches Bolt unless Slack signed it (bot/handler.ts, bot/slack-signature.ts): garbage
// from anyone answers 401 and never fails the invocation (the bot's error alarm). Every case
// checks what is left afterwards: no new table item, no Slack call, no event, one warn line.

const world = useWorld();

const FORM = 'application/x-www-form-urlencoded';
const REFUSED = 'refused a request with an invalid or stale Slack signature';
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A request to the bot, then the proof it changed nothing: same items, no Slack call, no event. */
async function sendAndExpectNothingDone(event: LambdaFunctionURLEvent): Promise<Answer> {
  const bot = world().bot();
  const itemsBefore = await world().dynamo.items();
  const callsBefore = world().slack.calls.length;
  const eventsBefore = world().bus().length;
  world().log.lines.length = 0;

  const answer = await invoke(bot.handler, event);

  expect(await world().dynamo.items()).toEqual(itemsBefore);
  expect(world().slack.calls).toHaveLength(callsBefore);
  expect(world().bus()).toHaveLength(eventsBefore);
  return answer;
}

/** The one line a refusal leaves: a warning with its reason, never the signature or the body. */
function expectOneRefusalLine(reason: string, event: LambdaFunctionURLEvent) {
  expect(world().log.lines).toEqual([expect.objectContaining({ level: 'WARN', message: REFUSED, reason })]);
  const logged = JSON.stringify(world().log.lines);
  const signature = event.headers['x-slack-signature'];
  if (signature) expect(logged).not.toContain(signature.slice(3));
  if (event.body) expect(logged).not.toContain(event.body);
  expect(logged).not.toContain(SANDBOX_SIGNING_SECRET);
}

/** A body signed as Slack signs it, sent with other headers or another body where a case says. */
function signed(body: string, options: { contentType?: string; base64?: boolean; timestamp?: number; sentBody?: string } = {}) {
  const headers = signSlackRequest(body, SANDBOX_SIGNING_SECRET, options.timestamp ?? nowSeconds());
  if (options.contentType !== undefined) headers['content-type'] = options.contentType;
  return functionUrlEvent({ body: options.sentBody ?? body, headers, base64: options.base64 ?? true });
}

describe('unsigned garbage at the Function URL', () => {
  // Each of these made Bolt's receiver throw: it parses the body before checking the signature.
  const garbage: Array<[string, string, Record<string, string>, boolean]> = [
    ['a form body whose payload is not JSON', 'payload=%7Bnot-json', { 'content-type': FORM }, true],
    ['a text/plain body', 'hello, is this the bot?', { 'content-type': 'text/plain' }, false],
    ['the body }{ as JSON', '}{', { 'content-type': 'application/json' }, false],
    ['the body }{ with no content type', '}{', {}, true],
    ['an empty body', '', {}, false],
    ['a well-formed slash command', slashCommandBody({ text: 'main abc1234' }), { 'content-type': FORM }, true],
  ];

  it.each(garbage)('%s: 401, nothing written, no Slack call, no event, one warn line', async (_name, body, headers, base64) => {
    const event = functionUrlEvent({ body, headers, base64 });
    const answer = await sendAndExpectNothingDone(event);
    expect(answer.statusCode).toBe(401);
    expectOneRefusalLine('no signature', event);
  });

  it('the same after a build exists: the table keeps exactly its items', async () => {
    await world().bot().request();
    const event = functionUrlEvent({ body: 'payload=%7Bnot-json', headers: { 'content-type': FORM } });
    expect((await sendAndExpectNothingDone(event)).statusCode).toBe(401);
    expect(await world().builds()).toHaveLength(1);
  });
});

describe('a request whose signature does not hold', () => {
  const body = () => slashCommandBody({ text: 'main abc1234' });
  const cases: Array<[string, () => LambdaFunctionURLEvent, string]> = [
    ['signed more than 5 minutes ago', () => signed(body(), { timestamp: nowSeconds() - 6 * 60 }), 'stale timestamp'],
    ['signed more than 5 minutes ahead', () => signed(body(), { timestamp: nowSeconds() + 6 * 60 }), 'stale timestamp'],
    ['with a forged signature', () => slashCommandEvent({ text: 'main abc1234' }, { signature: `v0=${'0'.repeat(64)}` }), 'wrong signature'],
    ['signed with another secret', () => slashCommandEvent({ text: 'main abc1234' }, { secret: 'not-the-signing-secret' }), 'wrong signature'],
    ['with a signature over a different body', () => signed(body(), { sentBody: slashCommandBody({ text: 'release/v2' }) }), 'wrong signature'],
    ['with a signature that is not v0 hex', () => slashCommandEvent({ text: 'main abc1234' }, { signature: 'v1=abc' }), 'malformed signature'],
    ['with no signature header', () => withoutHeader(slashCommandEvent({ text: 'main abc1234' }), 'x-slack-signature'), 'no signature'],
    ['with an empty signature', () => slashCommandEvent({ text: 'main abc1234' }, { signature: '' }), 'no signature'],
    ['with no timestamp header', () => withoutHeader(slashCommandEvent({ text: 'main abc1234' }), 'x-slack-request-timestamp'), 'no timestamp'],
    ['with a timestamp that is not a number', () => withHeader(slashCommandEvent({ text: 'x' }), 'x-slack-request-timestamp', 'soon'), 'malformed timestamp'],
    ['with a negative timestamp', () => withHeader(slashCommandEvent({ text: 'x' }), 'x-slack-request-timestamp', '-1'), 'malformed timestamp'],
    [
      'with a fractional timestamp',
      () => withHeader(slashCommandEvent({ text: 'x' }), 'x-slack-request-timestamp', `${nowSeconds()}.5`),
      'malformed timestamp',
    ],
  ];

  it.each(cases)('a command %s: 401, nothing written, no Slack call, no event', async (_name, event, reason) => {
    const e = event();
    const answer = await sendAndExpectNothingDone(e);
    expect(answer.statusCode).toBe(401);
    expectOneRefusalLine(reason, e);
  });

  const clicks: Array<[string, Parameters<typeof blockActionEvent>[1]]> = [
    ['signed with another secret', { secret: 'not-the-signing-secret' }],
    ['with a made-up signature', { signature: `v0=${'0'.repeat(64)}` }],
    ['with no signature', { signature: '' }],
    ['signed more than 5 minutes ago', { timestamp: nowSeconds() - 6 * 60 }],
  ];

  it.each(clicks)('an Approve click %s: 401, the build stays as it was', async (_name, options) => {
    const id = await world().bot().request();
    const answer = await sendAndExpectNothingDone(blockActionEvent({ actionId: 'approve_build', value: id, user: APPROVER }, options));
    expect(answer.statusCode).toBe(401);
    expect(await world().build(id)).toMatchObject({ Status: 'awaiting_approval' });
  });

  it('is checked against the wall clock given to the handler, not the bot clock', async () => {
    const { deps } = world().bot();
    const tenMinutesAhead = { now: () => new Date(Date.now() + 10 * 60_000) };
    const handler = createHandler(deps, { wallClock: tenMinutesAhead });
    const answer = await invoke(handler, slashCommandEvent({ text: 'main abc1234' }));
    expect(answer.statusCode).toBe(401);
    expect(await world().dynamo.items()).toEqual([]);
    expect(world().slack.calls).toEqual([]);
  });
});

describe('a correctly signed request', () => {
  it('a command is answered as always: a card, a record', async () => {
    const answer = await invoke(world().bot().handler, slashCommandEvent({ text: 'main abc1234', user: REQUESTER }));
    expect(answer).toMatchObject({ statusCode: 200, responseType: 'ephemeral', text: expect.stringContaining('waiting for approval') });
    expect(await world().builds()).toHaveLength(1);
    expect(world().slack.callsTo('chat.postMessage')).toHaveLength(1);
  });

  it('a few minutes old is still accepted (Slack allows 5)', async () => {
    const answer = await invoke(world().bot().handler, slashCommandEvent({ text: 'main abc1234' }, { timestamp: nowSeconds() - 4 * 60 }));
    expect(answer.statusCode).toBe(200);
    expect(await world().builds()).toHaveLength(1);
  });

  it('with the body as text rather than base64', async () => {
    const event = slashCommandEvent({ text: 'main abc1234' }, { base64: false });
    expect(event.isBase64Encoded).toBe(false);
    expect((await invoke(world().bot().handler, event)).statusCode).toBe(200);
    expect(await world().builds()).toHaveLength(1);
  });

  it('with header names in any case', async () => {
    const event = slashCommandEvent({ text: 'main abc1234' });
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(event.headers)) if (value !== undefined) headers[key.replace(/(^|-)([a-z])/g, (m) => m.toUpperCase())] = value;
    expect(headers['X-Slack-Signature']).toBeDefined();
    expect((await invoke(world().bot().handler, { ...event, headers })).statusCode).toBe(200);
    expect(await world().builds()).toHaveLength(1);
  });

  it('with bytes outside ASCII (a JSON body, base64-encoded) reaches Bolt as Slack sent it', async () => {
    // Bolt alone decodes base64 as ASCII: its HMAC then disagreed with Slack's and it answered 401.
    const challenge = 'déjà — vu';
    const event = signed(JSON.stringify({ type: 'url_verification', challenge }), { contentType: 'application/json' });
    const result = parseLambdaResult(await world().bot().handler(event, lambdaContext()));
    expect(result).toMatchObject({ statusCode: 200, json: { challenge } });
  });

  it('while the bot clock runs hours ahead (the sandbox after +60 min), Slack still signs with wall time', async () => {
    world().clockOffsetMinutes = 180;
    const answer = await invoke(world().bot().handler, slashCommandEvent({ text: 'main abc1234' }));
    expect(answer.statusCode).toBe(200);
    expect(await world().builds()).toHaveLength(1);
  });

  it('whose body does not parse: 400, never thrown, nothing done', async () => {
    for (const [body, contentType] of [
      ['payload=%7Bnot-json', FORM],
      ['}{', 'text/plain'],
      ['}{', 'application/json'],
    ] as const) {
      const answer = await sendAndExpectNothingDone(signed(body, { contentType }));
      expect({ body, statusCode: answer.statusCode }).toEqual({ body, statusCode: 400 });
      expect(world().log.lines).toEqual([expect.objectContaining({ level: 'WARN', message: 'refused a signed request whose body does not parse' })]);
    }
  });

  it('never logs the signing secret or the bot token', async () => {
    const bot = world().bot();
    await invoke(bot.handler, slashCommandEvent({ text: 'main abc1234' }, { secret: 'forged' }));
    await bot.request();
    const logged = JSON.stringify(world().log.lines);
    expect(logged).not.toContain(bot.deps.credentials.signingSecret);
    expect(logged).not.toContain(bot.deps.credentials.botToken);
  });
});

function withoutHeader(event: LambdaFunctionURLEvent, name: string): LambdaFunctionURLEvent {
  const headers = { ...event.headers };
  delete headers[name];
  return { ...event, headers };
}

function withHeader(event: LambdaFunctionURLEvent, name: string, value: string): LambdaFunctionURLEvent {
  return { ...event, headers: { ...event.headers, [name]: value } };
}
