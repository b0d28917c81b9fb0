import { describe, expect, it } from 'vitest';
import { TEXT_MAX } from '../../stand-ins/slack-api';
import { APPROVER, REQUESTER, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { INSTANCE_ID } from '../../stand-ins/build-fixture';
import { useWorld } from '../support/bot-world';

// `/metal-build logs <build-id> [lines]` and the Show log button (bot/logs.ts) through the bot's
// handler, the build machine's log in the CloudWatch Logs stand-in as the runner writes it: the
// newest lines, oldest first, inert, within Slack's limits; "no log yet"; a failed read.

const world = useWorld();

const zw = '\u200b';
const STREAM_URL = (id: string) =>
  `https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/$252Flabapp$252Fmetal-builds$252F${id}/log-events/${INSTANCE_ID}`;

/** A build with its machine launched (InstanceID = INSTANCE_ID). */
async function launched(): Promise<string> {
  const bot = world().bot();
  const id = await bot.request();
  await bot.click('approve_build', id, APPROVER);
  await world().launch(id);
  world().slack.reset();
  world().events.clear();
  return id;
}

const numbered = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`);

describe('logs <build-id> [lines]', () => {
  it('answers the newest 40 lines by default, oldest first, with the last line’s time and the console link; reads only', async () => {
    const id = await launched();
    await world().writeLog(id, numbered(50), { lastAt: new Date('2026-11-25T14:05:30Z') });
    world().frozenAt = new Date('2026-11-25T14:06:00Z');
    const before = await world().dynamo.items();

    const answer = await world().bot().command(`logs ${id}`);

    expect(answer.responseType).toBe('ephemeral');
    const [head, ...rest] = answer.text!.split('\n');
    expect(head).toBe(
      `📜 Log of \`${id}\` (\`main\`), machine \`${INSTANCE_ID}\`: the newest 40 lines, the last at 14:05 UTC. Full log: <${STREAM_URL(id)}|open in the AWS console>`,
    );
    expect(rest).toEqual(['```', ...numbered(50).slice(10), '```']);
    expect(world().slack.calls).toEqual([]);
    expect(await world().dynamo.items()).toEqual(before);
  });

  it('answers as many lines as asked, and all there are when fewer', async () => {
    const id = await launched();
    await world().writeLog(id, numbered(12));
    const five = await world().bot().command(`logs ${id} 5`);
    expect(five.text!.split('\n').slice(1)).toEqual(['```', 'line 8', 'line 9', 'line 10', 'line 11', 'line 12', '```']);
    const all = await world().bot().command(`logs ${id} 200`);
    expect(all.text).toContain('the newest 12 lines');
    expect(all.text!.split('\n')).toHaveLength(1 + 12 + 2);
  });

  it('shows hostile lines inert: no mention, broadcast, link or early end of the block', async () => {
    const id = await launched();
    const hostile = [
      '<!channel> deploy now',
      '@here look',
      '<@U0TARGET> <!subteam^S0123|devs>',
      '<https://evil.example/x|the fix>',
      '```',
      'after the fence & done',
    ];
    await world().writeLog(id, hostile);

    const answer = await world().bot().command(`logs ${id}`);

    expect(answer.text!.split('\n').slice(1)).toEqual([
      '```',
      '&lt;!channel&gt; deploy now',
      `@${zw}here look`,
      '&lt;@U0TARGET&gt; &lt;!subteam^S0123|devs&gt;',
      '&lt;https://evil.example/x|the fix&gt;',
      `\`${zw}\`${zw}\``,
      'after the fence &amp; done',
      '```',
    ]);
    const withoutConsoleLink = answer.text!.replace(`<${STREAM_URL(id)}|open in the AWS console>`, '');
    for (const live of ['<!channel>', '<@U0TARGET>', '<!subteam', '<https://', '@here']) expect(withoutConsoleLink).not.toContain(live);
  });

  it('200 long lines: the oldest are left out to fit Slack, and it says how many', async () => {
    const id = await launched();
    // 200 lines of 1,000 characters, each `<` escaped to 4: far beyond Slack's 40,000.
    await world().writeLog(
      id,
      Array.from({ length: 200 }, (_, i) => `${String(i + 1).padStart(3, '0')} ${'<'.repeat(996)}`),
    );

    const answer = await world().bot().command(`logs ${id} 200`);

    const text = answer.text!;
    expect(text.length).toBeLessThanOrEqual(TEXT_MAX);
    const match = /the newest (\d+) lines \((\d+) older lines left out to fit Slack\)/.exec(text);
    expect(match).not.toBeNull();
    const [shown, left] = [Number(match![1]), Number(match![2])];
    expect(shown + left).toBe(200);
    expect(shown).toBeGreaterThan(5);
    const body = text.split('\n').slice(2, -1);
    expect(body).toHaveLength(shown);
    // The newest line is there, whole; the oldest shown is the first one after those left out.
    expect(body.at(-1)).toBe(`200 ${'&lt;'.repeat(996)}`);
    expect(body[0]!.startsWith(`${String(left + 1).padStart(3, '0')} `)).toBe(true);
  });

  it('no machine yet: says there is no log yet', async () => {
    const bot = world().bot();
    const id = await bot.request();
    const answer = await bot.command(`logs ${id}`);
    expect(answer.text).toBe(`No log yet: \`${id}\` has no machine yet (awaiting approval).`);
  });

  it('a machine that has not written its log yet: says so, with the link where it will be', async () => {
    const id = await launched();
    const answer = await world().bot().command(`logs ${id}`);
    expect(answer.text).toBe(
      `No log yet: machine \`${INSTANCE_ID}\` of \`${id}\` has not written a line of it. Its log: <${STREAM_URL(id)}|open in the AWS console>`,
    );
  });

  it('an unknown build: says there is none', async () => {
    const answer = await world().bot().command('logs build-20261125-170052-zzzz');
    expect(answer.text).toBe('There is no build build-20261125-170052-zzzz.');
  });

  it('CloudWatch failing: the person learns it did not go through, the log has the error with the BuildID', async () => {
    const id = await launched();
    await world().writeLog(id, numbered(3));
    for (let i = 0; i < 3; i++) world().logs.failNext('ServiceUnavailableException', 503);
    const answer = await world().bot().command(`logs ${id}`);
    expect(answer.text).toContain('That did not go through');
    expect(world().log.lines).toContainEqual(expect.objectContaining({ level: 'ERROR', message: '/metal-build logs failed', buildId: id }));
  });
});

describe('the Show log button', () => {
  it('answers the clicker alone, in the thread the button is in, with the newest 40 lines', async () => {
    const id = await launched();
    await world().writeLog(id, ['<!here> hi', ...numbered(44)]);
    const build = await world().build(id);

    const answer = await world().bot().click('show_log', id, REQUESTER, { threadTs: build!.ThreadTs });

    expect(answer.statusCode).toBe(200);
    const calls = world().slack.calls;
    expect(calls.map((c) => c.method)).toEqual(['chat.postEphemeral']);
    expect(calls[0]!.args).toMatchObject({ channel: SANDBOX_CHANNEL, user: REQUESTER, thread_ts: build!.ThreadTs });
    const [text] = world().ephemerals(REQUESTER);
    expect(text).toContain('the newest 40 lines');
    expect(text!.split('\n').slice(1)).toEqual(['```', ...numbered(44).slice(4), '```']);
  });

  it('a second click answers again: nothing is claimed or written', async () => {
    const id = await launched();
    await world().writeLog(id, numbered(2));
    const before = await world().dynamo.items();
    await world().bot().click('show_log', id, APPROVER);
    await world().bot().click('show_log', id, APPROVER);
    expect(world().ephemerals(APPROVER)).toHaveLength(2);
    expect(await world().dynamo.items()).toEqual(before);
  });

  it('the longest log still fits what chat.postEphemeral takes', async () => {
    const id = await launched();
    await world().writeLog(
      id,
      Array.from({ length: 60 }, () => '&'.repeat(5_000)),
    );
    await world().bot().click('show_log', id, REQUESTER);
    const [text] = world().ephemerals(REQUESTER);
    expect(text!.length).toBeLessThanOrEqual(TEXT_MAX);
    expect(text).toMatch(/\(\d+ older lines left out to fit Slack\)/);
  });
});
