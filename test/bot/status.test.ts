import { describe, expect, it } from 'vitest';
import { USAGE } from '../../domain/command';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import { aBuild } from '../../stand-ins/build-fixture';
import { useWorld } from '../support/bot-world';

const world = useWorld();

/** Read-only commands: they answer in the ack body and write, post and put nothing. */
function expectNoSideEffects() {
  expect(world().slack.calls).toEqual([]);
  expect(world().bus()).toEqual([]);
}

describe('help', () => {
  it.each([['help'], [''], ['   ']])('%j answers the usage ephemerally', async (text) => {
    const answer = await world().bot().command(text);
    expect(answer.statusCode).toBe(200);
    expect(answer.responseType).toBe('ephemeral');
    expect(answer.text).toContain(USAGE);
    expectNoSideEffects();
    expect(await world().dynamo.items()).toEqual([]);
  });
});

describe('status', () => {
  it('without builds says there are none', async () => {
    const answer = await world().bot().command('status');
    expect(answer).toEqual({ statusCode: 200, responseType: 'ephemeral', text: 'No active builds. `/metal-build list` shows recent ones.' });
    expectNoSideEffects();
  });

  it('queued builds say their place in the queue, in the list and alone', async () => {
    const store = world().dynamo.store;
    await store.create(aBuild({ BuildID: 'build-20261125-170052-q001', Status: 'queued', Approver: APPROVER, QueuedAt: new Date().toISOString() }));
    await store.create(aBuild({ BuildID: 'build-20261125-170052-q002', Status: 'queued', Approver: APPROVER, QueuedAt: new Date().toISOString() }));
    await store.enqueue('build-20261125-170052-q001');
    await store.enqueue('build-20261125-170052-q002');

    const list = await world().bot().command('status');
    expect(list.text).toContain('`build-20261125-170052-q001` · `main` · queued: next in line, it launches when a slot frees');
    expect(list.text).toContain('`build-20261125-170052-q002` · `main` · queued: 1 ahead, it launches when a slot frees');
    const one = await world().bot().command('status build-20261125-170052-q002');
    expect(one.text).toContain('queued: 1 ahead');
    expectNoSideEffects();
  });

  it('without an ID lists the active builds, one line each', async () => {
    const bot = world().bot();
    const waiting = await bot.request();
    const approved = await bot.request('feature/x');
    await bot.click('approve_build', approved, APPROVER);
    const denied = await bot.request('feature/y');
    await bot.click('deny_build', denied, APPROVER);
    world().slack.reset();
    world().events.clear();

    const answer = await bot.command('status');
    const lines = answer.text!.split('\n');
    expect(lines[0]).toBe('*Active builds* (2)');
    expect(lines).toHaveLength(3);
    const waitingLine = lines.find((l) => l.includes(waiting));
    expect(waitingLine).toContain('⏳');
    expect(waitingLine).toContain('`main`');
    expect(waitingLine).toContain('awaiting approval');
    expect(waitingLine).toContain(`<@${REQUESTER}>`);
    expect(waitingLine).toMatch(/\d+ s ago/);
    expect(waitingLine).toContain('est. $5.91');
    expect(lines.find((l) => l.includes(approved))).toContain('approved');
    expect(answer.text).not.toContain(denied);
    expectNoSideEffects();
  });

  it('with 150 open requests on 200-character branches: the first 20 and how many more, a few thousand characters', async () => {
    const bot = world().bot();
    const branch = `feature/${'x'.repeat(192)}`;
    for (let i = 0; i < 150; i++)
      await world().dynamo.store.create(
        aBuild({ BuildID: `build-20261125-1700${String(Math.floor(i / 100)).padStart(2, '0')}-${String(i % 100).padStart(4, '0')}`, BuildBranch: branch }),
      );

    const answer = await bot.command('status');
    const lines = answer.text!.split('\n');
    expect(lines[0]).toBe('*Active builds* (150)');
    expect(lines).toHaveLength(1 + 20 + 1);
    expect(lines.at(-1)).toBe('…and 130 more. `/metal-build status <build-id>` shows one.');
    expect(answer.text!.length).toBeLessThan(8_000);
    expectNoSideEffects();
  });

  it('with an ID shows that build', async () => {
    const bot = world().bot();
    const id = await bot.request();
    await bot.click('approve_build', id, APPROVER);
    await world().launch(id);
    world().slack.reset();
    world().events.clear();

    const answer = await bot.command(`status ${id}`);
    expect(answer.text).toContain(id);
    expect(answer.text).toContain('launching');
    expect(answer.text).toContain('Commit: `abc1234`');
    expect(answer.text).toContain(`Approved by <@${APPROVER}>`);
    expect(answer.text).toContain('Machine: `i-0123456789abcdef0` · c5n.metal');
    expect(answer.text).toContain('Terminated automatically at');
    // The schedule that ends it, named and linked (the default SCHEDULE_GROUP, this region).
    expect(answer.text).toContain(
      ` by the Scheduler schedule \`metal-build-${id}\` · <https://us-east-1.console.aws.amazon.com/scheduler/home?region=us-east-1#schedules/labapp-metal-builds/metal-build-${id}|open in the AWS console>`,
    );
    expect(answer.text).toContain('Maximum cost $11.83');
    expectNoSideEffects();
  });

  it("shows a failed build's error, the machine's words, only inert inside a code block", async () => {
    const bot = world().bot();
    const id = await bot.request();
    await world().dynamo.store.update(
      id,
      { status: ['awaiting_approval'] },
      { Status: 'failed', ErrorMessage: 'packer: <!channel> @here see <https://evil.example|the fix> ```done```' },
    );
    world().slack.reset();

    const answer = await bot.command(`status ${id}`);
    const text = answer.text!;
    const error = text.slice(text.indexOf('Error:\n```') + 'Error:\n'.length);
    expect(error.startsWith('```\n')).toBe(true);
    const block = error.slice(4, error.indexOf('\n```', 4));
    expect(block).toContain('packer: &lt;!channel&gt;');
    expect(block).toContain('&lt;https://evil.example|the fix&gt;');
    // Nothing of the message outside the block, no live broadcast or link anywhere.
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<https://evil');
    expect(text).not.toMatch(/(^|[^\w])@here/);
    expectNoSideEffects();
  });

  it('with an unknown ID says there is no such build', async () => {
    const answer = await world().bot().command('status build-20260101-000000-zzzz');
    expect(answer.text).toBe('There is no build build-20260101-000000-zzzz.');
    expectNoSideEffects();
  });
});

describe('list', () => {
  it('without builds says so', async () => {
    const answer = await world().bot().command('list');
    expect(answer.text).toBe('No builds yet. Request one with `/metal-build <branch> [commit]`.');
  });

  it('shows the newest builds across statuses, newest first, at most ten', async () => {
    const bot = world().bot();
    const ids: string[] = [];
    for (let i = 0; i < 11; i++) {
      world().clockOffsetMinutes = i; // distinct CreatedAt, so the order is defined
      ids.push(await bot.request(`feature/${i}`));
    }
    await bot.click('deny_build', ids[10]!, APPROVER);
    world().slack.reset();

    const answer = await bot.command('list');
    const lines = answer.text!.split('\n');
    expect(lines[0]).toBe('*Recent builds* (newest first)');
    expect(lines.slice(1).map((l) => ids.find((id) => l.includes(id)))).toEqual(ids.slice(1).reverse());
    expect(lines[1]).toContain('👎');
    expect(lines[1]).toContain('denied');
    expect(lines[1]).toContain('`feature/10`');
    expectNoSideEffects();
  });
});
