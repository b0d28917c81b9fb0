import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { InstanceState } from '../../domain/build';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import type { ModelWorld } from '../model/world';
import { SECOND_APPROVER, envelopeOf, startModelWorld } from '../model/world';

// docs/design.md "Safety before bookkeeping": a slot is never freed under a launch. With
// MAX_CONCURRENT_BUILDS=1, Avery's Approve has taken the slot and its budget hold and is about to
// write `approved`; Blake clicks Approve on the same card and his budget step fails (DynamoDB's
// answers lost). Blake's failure must not give back the slot Avery's click took, or Avery's build
// launches with the slot set empty and the next approved build launches a second machine.

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

/** Every `Build Approved` the bot put, delivered to the real launch handler. */
async function launchAll(): Promise<void> {
  for (const entry of w.bus.entries.filter((e) => e.detailType === 'Build Approved')) await w.handlers.launch(envelopeOf(entry));
}

const liveMachines = () => [...w.events.ec2.instances.values()].filter((i) => LIVE.includes(i.state));

describe('a failed approval click and the slot another click holds', () => {
  it('Blake’s budget step failing does not free Avery’s slot: one machine, the next approval is refused', async () => {
    await w.command('main abc1234', REQUESTER);
    const [first] = await w.builds();

    // Avery's click stops just before its `approved` write, slot and budget hold taken.
    let reachedApprove!: () => void;
    const atApprove = new Promise<void>((resolve) => (reachedApprove = resolve));
    let letAveryGo!: () => void;
    const averyMayGo = new Promise<void>((resolve) => (letAveryGo = resolve));
    let averyStopped = false;
    let loseBudgetAnswers = false;
    w.gate.before = async (call) => {
      if (call === 'update' && !averyStopped) {
        averyStopped = true;
        reachedApprove();
        await averyMayGo;
      }
      if (call === 'ledger.hold' && loseBudgetAnswers) {
        loseBudgetAnswers = false;
        throw Object.assign(new Error('connection reset while waiting for DynamoDB'), { name: 'TimeoutError' });
      }
    };
    const avery = w.click('approve_build', first!.BuildID, APPROVER);
    await atApprove;
    expect(await w.events.slots()).toEqual([first!.BuildID]);

    loseBudgetAnswers = true;
    await w.click('approve_build', first!.BuildID, SECOND_APPROVER);
    expect(loseBudgetAnswers).toBe(false);
    // Blake's click found the slot held by Avery's: it is not his to give back.
    expect(await w.events.slots()).toEqual([first!.BuildID]);

    letAveryGo();
    await avery;
    delete w.gate.before;
    expect(await w.events.get(first!.BuildID)).toMatchObject({ Status: 'approved', Approver: APPROVER });

    await w.command('feature/x abc1234', REQUESTER);
    const second = (await w.builds()).find((b) => b.BuildID !== first!.BuildID)!;
    await w.click('approve_build', second.BuildID, APPROVER);
    expect(await w.events.get(second.BuildID)).toMatchObject({ Status: 'queued' });
    expect(
      w.events.slack
        .ephemerals(APPROVER)
        .map((e) => e.text)
        .join('\n'),
    ).toContain(`Approved ${second.BuildID} — queued, next in line.`);

    await launchAll();
    expect(liveMachines().map((m) => m.tags.BuildID)).toEqual([first!.BuildID]);
    expect(await w.events.slots()).toEqual([first!.BuildID]);
  });

  it('a click whose own slot it took gives it back when its budget step fails', async () => {
    await w.command('main abc1234', REQUESTER);
    const [build] = await w.builds();
    w.gate.before = async (call) => {
      if (call === 'ledger.hold') throw Object.assign(new Error('connection reset while waiting for DynamoDB'), { name: 'TimeoutError' });
    };
    await w.click('approve_build', build!.BuildID, APPROVER);
    delete w.gate.before;

    expect(await w.events.get(build!.BuildID)).toMatchObject({ Status: 'awaiting_approval' });
    expect(await w.events.slots()).toEqual([]);
    expect(w.bus.entries).toEqual([]);
  });
});
