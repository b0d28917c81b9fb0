import { afterEach, describe, expect, it } from 'vitest';
import { USAGE } from '../../domain/command';
import { handler } from '../../bot/handler';
import { functionUrlEvent, lambdaContext, parseLambdaResult, SANDBOX_SIGNING_SECRET, slashCommandEvent } from '../../stand-ins/slack-request';
import { SANDBOX_BOT_TOKEN } from '../../stand-ins/slack-api';

// The real entry: builds its adapters from the environment on the first invocation, once per
// container, and forgets a failed start so the next invocation tries again.

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

async function help() {
  return parseLambdaResult(await handler(slashCommandEvent({ text: 'help' }), lambdaContext()));
}

describe('bot/handler', () => {
  it('takes exactly (event, context)', () => {
    expect(handler.length).toBe(2);
  });

  it('a bad configuration fails the invocation; once fixed, the next one starts; after that the deps are kept', async () => {
    Object.assign(process.env, {
      SLACK_SIGNING_SECRET: SANDBOX_SIGNING_SECRET,
      SLACK_BOT_TOKEN: SANDBOX_BOT_TOKEN,
      SLACK_API_URL: 'http://127.0.0.1:9/api/',
      VOLUME_SIZE_GB: 'lots',
    });
    await expect(help()).rejects.toThrow(/VOLUME_SIZE_GB/);

    process.env.VOLUME_SIZE_GB = '500';
    const first = await help();
    expect(first.statusCode).toBe(200);
    expect(first.json?.text).toContain(USAGE);

    // Built once per container: the environment is not read again.
    process.env.VOLUME_SIZE_GB = 'lots';
    expect((await help()).statusCode).toBe(200);
  });

  it('answers unsigned garbage with 401, never an invocation error (the bot-errors alarm)', async () => {
    Object.assign(process.env, {
      SLACK_SIGNING_SECRET: SANDBOX_SIGNING_SECRET,
      SLACK_BOT_TOKEN: SANDBOX_BOT_TOKEN,
      SLACK_API_URL: 'http://127.0.0.1:9/api/',
    });
    for (const [body, contentType] of [
      ['payload=%7Bnot-json', 'application/x-www-form-urlencoded'],
      ['hello', 'text/plain'],
      ['}{', 'application/json'],
    ]) {
      const event = functionUrlEvent({ body: body!, headers: { 'content-type': contentType! } });
      const result = parseLambdaResult(await handler(event, lambdaContext()));
      expect({ body, statusCode: result.statusCode }).toEqual({ body, statusCode: 401 });
    }
  });
});
