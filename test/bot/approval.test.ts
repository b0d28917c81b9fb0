import { describe, expect, it } from 'vitest';
import { APPROVER, REQUESTER, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { aBuild } from '../../stand-ins/build-fixture';
import { useWorld } from '../support/bot-world';

const world = useWorld();

const STRANGER = 'U0STRANGER';

describe('approve_build', () => {
  it('approves: status, slot, one Build Approved, the card says who approved and the thread is told', async () => {
    const bot = world().bot();
    const id = await bot.request();
    const answer = await bot.click('approve_build', id, APPROVER);

    expect(answer.statusCode).toBe(200);
    expect(await world().build(id)).toMatchObject({ Status: 'approved', Approver: APPROVER, NotifiedStatus: 'approved' });
    expect((await world().build(id))?.ApprovedAt).toBeDefined();
    expect(await world().slots()).toEqual([id]);
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    expect(await world().thread(id)).toEqual([expect.stringContaining(`Approved by <@${APPROVER}>`)]);
    const update = world().slack.callsTo('chat.update').at(-1);
    expect(JSON.stringify(update?.args.blocks)).toContain('Approved by');
    expect(JSON.stringify(update?.args.blocks)).not.toContain('approve_build');
    expect(world().ephemerals(APPROVER)).toEqual([]);
  });

  it('two clicks at once by the same approver: exactly one Build Approved, one slot', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await Promise.all([bot.click('approve_build', id, APPROVER), bot.click('approve_build', id, APPROVER)]);

    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    expect(await world().build(id)).toMatchObject({ Status: 'approved', Approver: APPROVER });
    expect(await world().slots()).toEqual([id]);
    expect(world().ephemerals(APPROVER)).toEqual([`${id} is already approved by <@${APPROVER}>.`]);
    expect(await world().thread(id)).toHaveLength(1);
  });

  it('two approvers at once: exactly one Build Approved, the other is told who won', async () => {
    // Requested by someone else, so both sandbox people can approve.
    const bot = world().bot({ APPROVER_IDS: `${APPROVER},${REQUESTER}` });
    const id = await bot.request('main abc1234', STRANGER);
    await Promise.all([bot.click('approve_build', id, APPROVER), bot.click('approve_build', id, REQUESTER)]);

    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    const build = await world().build(id);
    expect(build?.Status).toBe('approved');
    expect(await world().slots()).toEqual([id]);
    const loser = build?.Approver === APPROVER ? REQUESTER : APPROVER;
    expect(world().ephemerals(loser)).toEqual([`${id} is already approved by <@${build?.Approver}>.`]);
  });

  it('two builds racing for one slot: one is approved, the other is queued and its approver is told its place', async () => {
    const bot = world().bot({ MAX_CONCURRENT_BUILDS: '1' });
    const a = await bot.request();
    const b = await bot.request('feature/x');
    await Promise.all([bot.click('approve_build', a, APPROVER), bot.click('approve_build', b, APPROVER)]);

    const [winner, loser] = (await world().build(a))?.Status === 'approved' ? [a, b] : [b, a];
    expect(await world().build(winner)).toMatchObject({ Status: 'approved' });
    expect(await world().build(loser)).toMatchObject({ Status: 'queued', Approver: APPROVER });
    expect(await world().slots()).toEqual([winner]);
    expect(await world().dynamo.store.slotSet()).toEqual({ active: [winner], queue: [loser] });
    expect(world().bus()).toEqual([['Build Approved', { buildId: winner }]]);
    expect(world().ephemerals(APPROVER)).toEqual([expect.stringContaining(`Approved ${loser} — queued, next in line.`)]);
  });

  it('Approve and Deny at once: whichever wins, the slot is held exactly when the build is approved', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await Promise.all([bot.click('approve_build', id, APPROVER), bot.click('deny_build', id, APPROVER)]);

    const build = await world().build(id);
    if (build?.Status === 'approved') {
      expect(await world().slots()).toEqual([id]);
      expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
      expect(world().ephemerals(APPROVER)).toEqual([`${id} is already approved by <@${APPROVER}>.`]);
    } else {
      expect(build).toMatchObject({ Status: 'rejected', DeniedBy: APPROVER });
      expect(await world().slots()).toEqual([]);
      expect(world().bus()).toEqual([]);
      expect(world().ephemerals(APPROVER)).toEqual([`${id} is already rejected by <@${APPROVER}>.`]);
    }
  });

  it('a second slot lets both run when MAX_CONCURRENT_BUILDS is 2', async () => {
    const bot = world().bot({ MAX_CONCURRENT_BUILDS: '2' });
    const a = await bot.request();
    const b = await bot.request('feature/x');
    await Promise.all([bot.click('approve_build', a, APPROVER), bot.click('approve_build', b, APPROVER)]);
    expect((await world().slots()).sort()).toEqual([a, b].sort());
    expect(world().bus()).toHaveLength(2);
  });

  it('someone not in APPROVER_IDS is refused and nothing changes', async () => {
    const bot = world().bot();
    const id = await bot.request('main abc1234', STRANGER);
    const updates = world().slack.callsTo('chat.update').length;
    await bot.click('approve_build', id, REQUESTER);

    expect(world().ephemerals(REQUESTER)).toEqual([`:no_entry: Only approvers can approve builds: <@${APPROVER}>.`]);
    expect(await world().build(id)).toMatchObject({ Status: 'awaiting_approval' });
    expect(await world().slots()).toEqual([]);
    expect(world().bus()).toEqual([]);
    expect(world().slack.callsTo('chat.update')).toHaveLength(updates);
    expect(world().log.lines.find((l) => l.message === 'approval refused')).toMatchObject({ buildId: id, user: REQUESTER });
  });

  it('the requester cannot approve their own build, even as an approver', async () => {
    const bot = world().bot({ APPROVER_IDS: `${APPROVER},${REQUESTER}` });
    const id = await bot.request();
    await bot.click('approve_build', id, REQUESTER);

    expect(world().ephemerals(REQUESTER)).toEqual([
      `:no_entry: You requested ${id}, and here requesters may not approve their own builds, so someone else has to approve it.`,
    ]);
    expect(await world().build(id)).toMatchObject({ Status: 'awaiting_approval' });
    expect(await world().slots()).toEqual([]);
    expect(world().bus()).toEqual([]);
  });

  it('with ALLOW_SELF_APPROVAL the requester may approve their own build', async () => {
    const bot = world().bot({ APPROVER_IDS: `${APPROVER},${REQUESTER}`, ALLOW_SELF_APPROVAL: 'true' });
    const id = await bot.request();
    await bot.click('approve_build', id, REQUESTER);
    expect(await world().build(id)).toMatchObject({ Status: 'approved', Approver: REQUESTER });
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
  });

  it('with APPROVER_IDS empty anyone but the requester approves', async () => {
    const bot = world().bot({ APPROVER_IDS: '' });
    const id = await bot.request();
    await bot.click('approve_build', id, REQUESTER);
    expect(await world().build(id)).toMatchObject({ Status: 'awaiting_approval' });
    await bot.click('approve_build', id, STRANGER);
    expect(await world().build(id)).toMatchObject({ Status: 'approved', Approver: STRANGER });
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
  });

  it('a click after APPROVAL_TTL_MINUTES expires the build instead: no slot, no event, the thread is told', async () => {
    const bot = world().bot({ APPROVAL_TTL_MINUTES: '30' });
    const id = await bot.request();
    world().clockOffsetMinutes = 31;
    await bot.click('approve_build', id, APPROVER);

    expect(await world().build(id)).toMatchObject({ Status: 'expired', NotifiedStatus: 'expired' });
    expect((await world().build(id))?.ExpirationTime).toBeGreaterThan(Date.now() / 1000);
    expect(await world().slots()).toEqual([]);
    expect(world().bus()).toEqual([]);
    expect(world().ephemerals(APPROVER)).toEqual([expect.stringContaining(`${id} expired: it waited more than 30 minutes`)]);
    const thread = await world().thread(id);
    expect(thread).toEqual([expect.stringContaining('*expired*')]);
    // Expiry is one of the endings broadcast to the channel.
    expect(
      world()
        .slack.messages(SANDBOX_CHANNEL)
        .filter((m) => m.subtype === 'thread_broadcast'),
    ).toHaveLength(1);
  });

  it('a click on a build that is no longer awaiting approval says what it is and changes nothing', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('deny_build', id, APPROVER);
    await bot.click('approve_build', id, APPROVER);
    expect(world().ephemerals(APPROVER)).toEqual([`${id} is already rejected by <@${APPROVER}>.`]);
    expect(await world().slots()).toEqual([]);
    expect(world().bus()).toEqual([]);
  });

  it('a click naming an unknown build answers so', async () => {
    const bot = world().bot();
    await bot.click('approve_build', 'build-20260101-000000-zzzz', APPROVER);
    expect(world().ephemerals(APPROVER)).toEqual(['There is no build build-20260101-000000-zzzz.']);
    expect(await world().dynamo.items()).toEqual([]);
  });

  it('when Build Approved cannot be put: stays approved (the watchdog ends it), the approver is told, the error is logged', async () => {
    const bot = world().bot();
    const id = await bot.request();
    world().events.failNext(1, 'InternalFailure');
    await bot.click('approve_build', id, APPROVER);

    expect(await world().build(id)).toMatchObject({ Status: 'approved' });
    expect(await world().slots()).toEqual([id]);
    expect(world().bus()).toEqual([]);
    expect(world().ephemerals(APPROVER)).toEqual([expect.stringContaining(`${id} is approved, but the launch request could not be sent`)]);
    expect(world().log.lines.find((l) => l.level === 'ERROR')).toMatchObject({ buildId: id });
  });

  it('re-quotes at approval when prices changed since the card was posted', async () => {
    const id = await world().bot().request();
    expect(await world().build(id)).toMatchObject({ CostEstimate: 5.91, CostMax: 11.83 });
    await world().bot({ PRICE_OVERRIDES: '{"c5n.metal": 5}' }).click('approve_build', id, APPROVER);
    const build = await world().build(id);
    expect(build).toMatchObject({ Status: 'approved' });
    // 1.5 h × ($5 + 500 GB × $0.08 / 730 h) and 3 h of the same.
    expect(build?.CostEstimate).toBe(7.58);
    expect(build?.CostMax).toBe(15.16);
  });
});

describe('a crash between taking the slot and the transition', () => {
  it('the build keeps its slot; a Deny gives it back, and another build can then be approved', async () => {
    const bot = world().bot({ MAX_CONCURRENT_BUILDS: '1' });
    const crashed = await bot.request();
    const other = await bot.request('feature/x');
    // Step 1 of an approval whose step 2 never happened.
    expect(await world().dynamo.store.takeSlot(crashed, 1)).toBe('added');

    // The slot is not taken away from a build still awaiting approval: the other one queues.
    await bot.click('approve_build', other, APPROVER);
    expect(await world().build(other)).toMatchObject({ Status: 'queued' });
    expect(world().ephemerals(APPROVER)).toEqual([expect.stringContaining(`Approved ${other} — queued, next in line.`)]);
    expect(world().bus()).toEqual([]);

    // The Deny gives the slot back: to the queue's head, which launches.
    await bot.click('deny_build', crashed, APPROVER);
    expect(await world().build(crashed)).toMatchObject({ Status: 'rejected' });
    expect(await world().build(other)).toMatchObject({ Status: 'approved', DequeuedAt: expect.any(String) });
    expect(await world().dynamo.store.slotSet()).toEqual({ active: [other], queue: [] });
    expect(world().bus()).toEqual([['Build Approved', { buildId: other }]]);
  });

  it('approving the crashed build again completes it with the same slot', async () => {
    const bot = world().bot({ MAX_CONCURRENT_BUILDS: '1' });
    const crashed = await bot.request();
    await world().dynamo.store.takeSlot(crashed, 1);
    await bot.click('approve_build', crashed, APPROVER);
    expect(await world().build(crashed)).toMatchObject({ Status: 'approved' });
    expect(await world().slots()).toEqual([crashed]);
    expect(world().bus()).toEqual([['Build Approved', { buildId: crashed }]]);
  });

  it('a slot still held by a build that has ended (or vanished) is reconciled by the next approval', async () => {
    const bot = world().bot({ MAX_CONCURRENT_BUILDS: '2' });
    // An ended build whose release never happened, and a slot whose record is gone.
    const ended = aBuild({ BuildID: 'build-20260101-000000-dead', Status: 'cancelled', CancelledBy: APPROVER });
    await world().dynamo.store.create(ended);
    await world().dynamo.store.takeSlot(ended.BuildID, 2);
    await world().dynamo.store.takeSlot('build-20260101-000000-gone', 2);
    const id = await bot.request();

    await bot.click('approve_build', id, APPROVER);
    expect(await world().build(id)).toMatchObject({ Status: 'approved' });
    expect(await world().slots()).toEqual([id]);
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
    const released = world()
      .log.lines.filter((l) => l.message === 'gave back the slot of a build that has ended')
      .map((l) => l.buildId);
    expect(released.sort()).toEqual(['build-20260101-000000-dead', 'build-20260101-000000-gone']);
  });

  it('a final build whose machine EC2 has not reported gone keeps its slot: no second machine beside it', async () => {
    const bot = world().bot();
    const forced = aBuild({
      BuildID: 'build-20260101-000000-live',
      Status: 'terminated',
      TerminationReason: 'forced',
      InstanceID: 'i-0123456789abcdef0',
    });
    await world().dynamo.store.create(forced);
    await world().dynamo.store.takeSlot(forced.BuildID, 1);
    const id = await bot.request();

    await bot.click('approve_build', id, APPROVER);
    expect(await world().build(id)).toMatchObject({ Status: 'queued' });
    expect(await world().slots()).toEqual([forced.BuildID]);
    expect(world().bus()).toEqual([]);

    // EC2 reports the machine gone (TerminatedAt): the next approval frees that slot on its way,
    // and it goes to the build waiting first; the newer one queues behind.
    await world().dynamo.store.update(forced.BuildID, { status: ['terminated'] }, { TerminatedAt: new Date().toISOString() });
    const later = await bot.request('feature/y');
    await bot.click('approve_build', later, APPROVER);
    expect(await world().build(id)).toMatchObject({ Status: 'approved' });
    expect(await world().build(later)).toMatchObject({ Status: 'queued' });
    expect(await world().dynamo.store.slotSet()).toEqual({ active: [id], queue: [later] });
    expect(world().bus()).toEqual([['Build Approved', { buildId: id }]]);
  });
});
