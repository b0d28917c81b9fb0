import { describe, expect, it } from 'vitest';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import { blockActionEvent, slashCommandEvent } from '../../stand-ins/slack-request';
import { invoke, useWorld } from './world';

const world = useWorld();

const SIX_MINUTES_AGO = () => Math.floor(Date.now() / 1000) - 6 * 60;

describe('Slack signature verification', () => {
  const refusals: Array<[string, Parameters<typeof slashCommandEvent>[1]]> = [
    ['signed with another secret', { secret: 'not-the-signing-secret' }],
    ['with a made-up signature', { signature: `v0=${'0'.repeat(64)}` }],
    ['with no signature', { signature: '' }],
    ['signed more than 5 minutes ago', { timestamp: SIX_MINUTES_AGO() }],
  ];

  it.each(refusals)('a command %s: 401, nothing written, no Slack call, no event', async (_name, options) => {
    const bot = world().bot();
    const answer = await invoke(bot.handler, slashCommandEvent({ text: 'main abc1234' }, options));
    expect(answer.statusCode).toBe(401);
    expect(await world().dynamo.items()).toEqual([]);
    expect(world().slack.calls).toEqual([]);
    expect(world().bus()).toEqual([]);
    expect(world().log.lines.find((l) => l.message === 'refused a request with an invalid or stale Slack signature')).toBeDefined();
  });

  it.each(refusals)('an Approve click %s: 401, the build stays as it was', async (_name, options) => {
    const bot = world().bot();
    const id = await bot.request();
    const itemsBefore = await world().dynamo.items();
    const callsBefore = world().slack.calls.length;

    const answer = await invoke(bot.handler, blockActionEvent({ actionId: 'approve_build', value: id, user: APPROVER }, options));
    expect(answer.statusCode).toBe(401);
    expect(await world().dynamo.items()).toEqual(itemsBefore);
    expect(world().slack.calls).toHaveLength(callsBefore);
    expect(world().bus()).toEqual([]);
  });

  it('a correctly signed request a few minutes old is still accepted (Slack allows 5)', async () => {
    const bot = world().bot();
    const answer = await invoke(
      bot.handler,
      slashCommandEvent({ text: 'main abc1234', user: REQUESTER }, { timestamp: Math.floor(Date.now() / 1000) - 4 * 60 }),
    );
    expect(answer.statusCode).toBe(200);
    expect(await world().builds()).toHaveLength(1);
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
