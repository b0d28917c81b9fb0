import { describe, expect, it } from 'vitest';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import { useWorld } from '../support/bot-world';

const world = useWorld();

const STRANGER = 'U0STRANGER';

function lastCardBlocks(): string {
  return JSON.stringify(world().slack.callsTo('chat.update').at(-1)?.args.blocks);
}

describe('deny_build', () => {
  it('an approver denies: rejected, DeniedBy, the thread is told, the card loses its buttons, no event', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('deny_build', id, APPROVER);

    expect(await world().build(id)).toMatchObject({ Status: 'rejected', DeniedBy: APPROVER, NotifiedStatus: 'rejected' });
    expect((await world().build(id))?.ExpirationTime).toBeDefined();
    expect(await world().thread(id)).toEqual([expect.stringContaining(`Denied by <@${APPROVER}>`)]);
    expect(lastCardBlocks()).not.toContain('approve_build');
    expect(lastCardBlocks()).not.toContain('deny_build');
    expect(await world().slots()).toEqual([]);
    expect(world().bus()).toEqual([]);
    expect(world().ephemerals(APPROVER)).toEqual([]);
  });

  it('the requester may withdraw their own request with Deny', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('deny_build', id, REQUESTER);
    expect(await world().build(id)).toMatchObject({ Status: 'rejected', DeniedBy: REQUESTER });
  });

  it('someone who is neither requester nor approver is refused', async () => {
    const bot = world().bot();
    const id = await bot.request('main abc1234', STRANGER);
    await bot.click('deny_build', id, REQUESTER);
    expect(world().ephemerals(REQUESTER)).toEqual([`:no_entry: Only the requester (<@${STRANGER}>) or an approver (<@${APPROVER}>) can deny ${id}.`]);
    expect(await world().build(id)).toMatchObject({ Status: 'awaiting_approval' });
  });

  it('a Deny after the approval changes nothing and says so', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('approve_build', id, APPROVER);
    await bot.click('deny_build', id, APPROVER);
    expect(await world().build(id)).toMatchObject({ Status: 'approved' });
    expect(await world().slots()).toEqual([id]);
    expect(world().ephemerals(APPROVER)).toEqual([`${id} is already approved by <@${APPROVER}>.`]);
  });
});
