import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { InstanceState } from '../../domain/build';
import { APPROVER, REQUESTER, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { ec2StateChange } from '../support/event-fixtures';
import type { ModelWorld } from './world';
import { envelopeOf, startModelWorld } from './world';

// The queue (docs/design.md "Concurrency"), through the real bot and events handlers over one
// table behind the lost-answer proxy, MAX_CONCURRENT_BUILDS=1: a second approval queues, and the
// queued build launches when the first one's machine ends, never beside it.

const LIVE: readonly InstanceState[] = ['pending', 'running', 'stopping', 'stopped'];

let w: ModelWorld;
beforeAll(async () => {
  w = await startModelWorld();
});
afterAll(async () => {
  await w.close();
});
beforeEach(async () => {
  await w.reset();
});

let launched = 0;
/** Every `Build Approved` put since the last call, delivered to the real launch handler. */
async function launchNew(): Promise<void> {
  const approved = w.bus.entries.filter((e) => e.detailType === 'Build Approved');
  for (const entry of approved.slice(launched)) await w.handlers.launch(envelopeOf(entry));
  launched = approved.length;
}

const advanceMinutes = (minutes: number) => w.events.clock.set(new Date(w.events.clock.now().getTime() + minutes * 60_000).toISOString());

const liveMachines = () => [...w.events.ec2.instances.values()].filter((i) => LIVE.includes(i.state));
const approvedFor = (buildId: string) =>
  w.bus.entries.filter((e) => e.detailType === 'Build Approved' && (e.detail as { buildId: string }).buildId === buildId);

/** Two requests, both approved: the first launches, the second queues. */
async function twoApprovals(): Promise<{ first: string; second: string }> {
  launched = 0;
  await w.command('main abc1234', REQUESTER);
  await w.command('release/v2 abc1234', REQUESTER);
  const [first, second] = (await w.builds()).sort((a, b) => (a.CreatedAt < b.CreatedAt ? -1 : a.CreatedAt > b.CreatedAt ? 1 : a.BuildID < b.BuildID ? -1 : 1));
  await w.click('approve_build', first!.BuildID, APPROVER);
  await launchNew();
  await w.click('approve_build', second!.BuildID, APPROVER);
  await launchNew();
  return { first: first!.BuildID, second: second!.BuildID };
}

/** The machine's end as EC2 reports it to the instance-state handler; a delivery that fails is delivered again. */
async function machineEnds(instanceId: string, tries = 5): Promise<void> {
  w.events.ec2.setState(instanceId, 'terminated');
  const event = ec2StateChange(instanceId, 'terminated', w.events.clock.now().toISOString());
  for (let attempt = 1; ; attempt++) {
    try {
      await w.handlers.instanceState(event);
      return;
    } catch (error) {
      if (attempt >= tries) throw error;
    }
  }
}

describe('the queue', () => {
  it('two approvals with one slot: one runs, one is queued; the second launches when the first machine ends, never beside it', async () => {
    const { first, second } = await twoApprovals();

    expect(await w.events.get(first)).toMatchObject({ Status: 'launching' });
    expect(await w.events.get(second)).toMatchObject({ Status: 'queued', Approver: APPROVER, QueuedAt: expect.any(String) });
    expect(await w.deps.store.slotSet()).toEqual({ active: [first], queue: [second] });
    expect(approvedFor(second)).toEqual([]);
    expect(liveMachines().map((m) => m.tags.BuildID)).toEqual([first]);
    expect(w.events.slack.ephemerals(APPROVER).map((e) => e.text)).toContain(
      `:traffic_light: Approved ${second} — queued, next in line. It launches when a slot frees, in approval order.`,
    );
    const card = w.events.slack.messages(SANDBOX_CHANNEL).find((m) => JSON.stringify(m.blocks ?? '').includes(second));
    expect(JSON.stringify(card?.blocks)).toContain('queued: next in line, it launches when a slot frees');

    const machine = liveMachines()[0]!;
    await machineEnds(machine.id);
    expect(await w.events.get(second)).toMatchObject({ Status: 'approved', DequeuedAt: expect.any(String) });
    expect(await w.deps.store.slotSet()).toEqual({ active: [second], queue: [] });
    expect(approvedFor(second)).toHaveLength(1);
    await launchNew();
    expect(await w.events.get(second)).toMatchObject({ Status: 'launching' });
    expect(liveMachines().map((m) => m.tags.BuildID)).toEqual([second]);
  });

  it('the hand-over with DynamoDB answers lost: finished by the redelivery or the next watchdog run; one launch, one machine', async () => {
    const { first, second } = await twoApprovals();
    const machine = liveMachines()[0]!;
    w.proxy.losing = true;
    await machineEnds(machine.id, 10).catch(() => undefined);
    w.proxy.losing = false;
    advanceMinutes(3);
    await w.handlers.watchdog({});
    await launchNew();

    expect(await w.events.get(first)).toMatchObject({ Status: 'terminated' });
    expect(await w.events.get(second)).toMatchObject({ Status: 'launching' });
    expect(await w.deps.store.slotSet()).toEqual({ active: [second], queue: [] });
    expect(liveMachines().map((m) => m.tags.BuildID)).toEqual([second]);
    expect(w.events.ec2.runRequests().filter((r) => r['TagSpecification.1.Tag.3.Value'] === second)).toHaveLength(1);
  });

  it('a queued build cancelled by its requester leaves the queue; the freed slot then goes to nobody', async () => {
    const { first, second } = await twoApprovals();
    await w.click('cancel_build', second, REQUESTER);
    expect(await w.events.get(second)).toMatchObject({ Status: 'cancelled', CancelledBy: REQUESTER });
    expect(await w.deps.store.slotSet()).toEqual({ active: [first], queue: [] });

    await machineEnds(liveMachines()[0]!.id);
    expect(await w.deps.store.slotSet()).toEqual({ active: [], queue: [] });
    expect(approvedFor(second)).toEqual([]);
  });

  it('a queued build waiting more than QUEUE_TTL_HOURS expires, told in its thread, and leaves the queue', async () => {
    const { first, second } = await twoApprovals();
    // The first build's machine is kept alive past its limit by nothing: only the queue's clock matters here.
    advanceMinutes(4 * 60 + 1);
    await w.handlers.watchdog({});

    expect(await w.events.get(second)).toMatchObject({ Status: 'expired' });
    expect((await w.deps.store.slotSet()).queue).toEqual([]);
    const told = w.events.slack.calls.filter((c) => c.method === 'chat.postMessage' && String(c.args.text ?? '').includes(second));
    expect(told.map((c) => String(c.args.text))).toContainEqual(expect.stringContaining('it waited in the queue for a slot more than 4 h'));
    expect(await w.events.get(first)).toBeDefined();
  });
});
