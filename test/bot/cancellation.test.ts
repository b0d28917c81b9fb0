import { describe, expect, it } from 'vitest';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import { useWorld } from '../support/bot-world';

const world = useWorld();

const STRANGER = 'U0STRANGER';

describe('cancel_build and /metal-build cancel', () => {
  it('before approval: cancelled by the requester, the thread is told', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('cancel_build', id, REQUESTER);

    expect(await world().build(id)).toMatchObject({ Status: 'cancelled', CancelledBy: REQUESTER, NotifiedStatus: 'cancelled' });
    expect(await world().thread(id)).toEqual([expect.stringContaining(`Cancelled by <@${REQUESTER}>`)]);
    expect(world().ephemerals(REQUESTER)).toEqual([`Cancelled ${id}.`]);
    expect(world().bus()).toEqual([]);
  });

  it('after approval, before launch: cancelled; the slot stays until the watchdog sees no machine (a launch may be under way)', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('approve_build', id, APPROVER);
    expect(await world().slots()).toEqual([id]);

    const answer = await bot.command(`cancel ${id}`, { user: APPROVER });
    expect(answer).toEqual({
      statusCode: 200,
      responseType: 'ephemeral',
      text: `Cancelled ${id}. Its slot is free again within about 5 minutes, once the watchdog has seen that no machine was started.`,
    });
    expect(await world().build(id)).toMatchObject({ Status: 'cancelled', CancelledBy: APPROVER });
    expect(await world().slots()).toEqual([id]);
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    expect(await world().thread(id)).toEqual([expect.stringContaining('Approved by'), expect.stringContaining('Cancelled by')]);
  });

  it('after launch: asks the cancel handler through the bus; the status stays until it acts', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('approve_build', id, APPROVER);
    await world().launch(id);

    const answer = await bot.command(`cancel ${id}`, { user: REQUESTER });
    expect(answer.text).toBe(`Terminating ${id}… the thread says when the machine is gone.`);
    expect(await world().build(id)).toMatchObject({ Status: 'launching' });
    expect(await world().slots()).toEqual([id]);
    expect(world().bus()).toEqual([
      ['Build Approved', { buildId: id }],
      ['Build Cancel Requested', { buildId: id, by: REQUESTER }],
    ]);
  });

  it('the cancel button on a running build does the same, answering ephemerally', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('approve_build', id, APPROVER);
    await world().launch(id);
    await bot.click('cancel_build', id, APPROVER);
    expect(world().ephemerals(APPROVER)).toEqual([`Terminating ${id}… the thread says when the machine is gone.`]);
    expect(world().bus().at(-1)).toEqual(['Build Cancel Requested', { buildId: id, by: APPROVER }]);
  });

  it('on a final build: "already …", nothing put', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('cancel_build', id, REQUESTER);
    const answer = await bot.command(`cancel ${id}`, { user: REQUESTER });
    expect(answer.text).toBe(`${id} is already cancelled by <@${REQUESTER}>.`);
    expect(world().bus()).toEqual([]);
  });

  it('by someone who is neither requester nor approver: refused, nothing changes', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('approve_build', id, APPROVER);
    const answer = await bot.command(`cancel ${id}`, { user: STRANGER });
    expect(answer.text).toContain('Only the requester');
    expect(await world().build(id)).toMatchObject({ Status: 'approved' });
    expect(await world().slots()).toEqual([id]);
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
  });

  it('of an unknown build answers so', async () => {
    const answer = await world().bot().command('cancel build-20260101-000000-zzzz');
    expect(answer.text).toBe('There is no build build-20260101-000000-zzzz.');
    expect(world().bus()).toEqual([]);
  });

  it('when the cancel request cannot be put, the person is told it did not go through', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('approve_build', id, APPROVER);
    await world().launch(id);
    world().events.failNext(1);
    const answer = await bot.command(`cancel ${id}`, { user: REQUESTER });
    expect(answer.text).toContain('did not go through');
    expect(await world().build(id)).toMatchObject({ Status: 'launching' });
    expect(world().log.lines.find((l) => l.level === 'ERROR')).toMatchObject({ buildId: id });
  });
});
