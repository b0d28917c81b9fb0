import { describe, expect, it } from 'vitest';
import { extraHoursCost } from '../../domain/build-facts';
import { createHandler as instanceStateHandler } from '../../events/instance-state';
import { createHandler as watchdogHandler } from '../../events/watchdog';
import { INSTANCE_ID, aLaunchedBuild, at } from '../../stand-ins/build-fixture';
import type { SlackMessage } from '../../stand-ins/slack-api';
import { ec2StateChange, scheduled } from '../support/event-fixtures';
import { useWorld } from '../support/events-world';

// What the warning and a forced or unexpected end say of how far the build got (issue 31): the
// phase the machine last reported and for how long, this type's expected remaining time, the log's
// newest lines (machine text, inert), what Extend costs and until when, the Show log button. Seeded
// phases, logs (the CloudWatch Logs stand-in) and history, through the real handlers.

const world = useWorld();
const HOUR = 60;
const zw = '\u200b';

async function watchdogAt(minutes: number) {
  world().clock.minutesAfterT0(minutes);
  await watchdogHandler(world().deps)(scheduled(at(minutes)));
}

type Block = { type: string; text?: { text: string }; elements?: Array<{ type?: string; action_id?: string; value?: string; text?: unknown }> };
const blocksOf = (m: SlackMessage) => (m.blocks ?? []) as Block[];
const sectionTexts = (m: SlackMessage) => blocksOf(m).flatMap((b) => (b.type === 'section' && b.text ? [b.text.text] : []));
const buttons = (m: SlackMessage) => blocksOf(m).flatMap((b) => (b.elements ?? []).filter((e) => e.type === 'button').map((e) => [e.action_id, e.value]));
const contextText = (m: SlackMessage) => JSON.stringify(blocksOf(m).filter((b) => b.type === 'context'));

/** Ten completed builds of c5n.metal of 2 h 30 min each: the expected duration is known. */
async function historyOf2h30() {
  for (let i = 0; i < 10; i++)
    await world().deps.durations.record('c5n.metal', {
      buildId: `build-20261120-10000${i}-hist`,
      seconds: 150 * 60,
      completedAt: `2026-11-2${i % 5}T10:00:00.000Z`,
    });
}

const HOSTILE = ['step 1', 'step 2', 'step 3', '<!channel> deploy', '@here look', '<https://evil.example/x|the fix>', '```', 'packer: waiting for SSH'];

describe('the warning', () => {
  it('says the phase and for how long, the expected time left from history, the newest 5 log lines inert, what Extend costs and until when', async () => {
    const build = await world().seed(aLaunchedBuild('building', { PhaseAt: at(30) }));
    await historyOf2h30();
    await world().writeLog(build.BuildID, INSTANCE_ID, HOSTILE, new Date(at(121)));

    await watchdogAt(2 + 2 * HOUR);

    const [warning] = world().replies(build);
    expect(warning).toBeDefined();
    const stored = await world().get(build.BuildID);
    const [headline, progress, log] = sectionTexts(warning!);
    expect(headline).toContain('terminated at 20:02 UTC (in 1 h) unless extended');
    expect(progress).toBe(
      '*Now:* phase `building` for 1 h 32 min (since 17:30 UTC). Builds on c5n.metal take 2 h 30 min (median of the last 10): about 30 min more.',
    );
    expect(log).toBe(
      [
        '*Newest log lines* (the last at 19:01 UTC)',
        '```',
        '&lt;!channel&gt; deploy',
        `@${zw}here look`,
        '&lt;https://evil.example/x|the fix&gt;',
        `\`${zw}\`${zw}\``,
        'packer: waiting for SSH',
        '```',
      ].join('\n'),
    );
    const hour = extraHoursCost(stored!, world().config, 1);
    expect(contextText(warning!)).toContain(`Extend adds 1 h for up to $${hour.toFixed(2)}: terminated then at 21:02 UTC. Extensions left: 2 h`);
    expect(buttons(warning!)).toEqual([
      ['extend_build', build.BuildID],
      ['cancel_build', build.BuildID],
      ['show_log', build.BuildID],
    ]);
    // The notification text says how far it got too; nothing the machine wrote can act anywhere.
    expect(warning!.text).toContain('Now: phase `building` for 1 h 32 min');
    const all = JSON.stringify(world().slack.calls.map((c) => c.args));
    for (const live of ['<!channel>', '<https://evil', '@here']) expect(all).not.toContain(live);
  });

  it('without history and before any phase: no guess at the time left, the phase not reported yet', async () => {
    const build = await world().seed(aLaunchedBuild('launching'));
    await watchdogAt(2 + 2 * HOUR);
    const [warning] = world().replies(build);
    const [, progress, log] = sectionTexts(warning!);
    expect(progress).toBe('*Now:* no phase reported yet (the machine started 2 h before).');
    expect(log).toBe('*Newest log lines*: none yet.');
  });

  it('CloudWatch failing: the warning still goes out, on time, saying the log could not be read; the failure is logged with the BuildID', async () => {
    const build = await world().seed(aLaunchedBuild('building'));
    for (let i = 0; i < 3; i++) world().logs.failNext('ThrottlingException', 400, 'Rate exceeded');

    await watchdogAt(2 + 2 * HOUR);

    const [warning] = world().replies(build);
    expect(sectionTexts(warning!)[2]).toBe('*Newest log lines*: the log could not be read just now; *Show log* reads it again.');
    expect(await world().get(build.BuildID)).toMatchObject({ WarnedAt: at(2 + 2 * HOUR), WarningPostedAt: at(2 + 2 * HOUR) });
    expect(world().log.lines).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: 'could not read the build log; the message goes without its lines', buildId: build.BuildID }),
    );
  });
});

describe('a forced or unexpected end', () => {
  it('forced by the watchdog: the phase it was in, the newest 10 log lines inert, Show log; the machine terminated first', async () => {
    const build = await world().seed(aLaunchedBuild('uploading', { WarnedAt: at(2 + 2 * HOUR), PhaseAt: at(150) }));
    await world().writeLog(
      build.BuildID,
      INSTANCE_ID,
      Array.from({ length: 15 }, (_, i) => `upload part ${i + 1} <!here>`),
      new Date(at(181)),
    );

    await watchdogAt(2 + 3 * HOUR);

    expect(world().ec2.terminateRequests()).toEqual([[INSTANCE_ID]]);
    const [end] = world().replies(build);
    const [text, log] = sectionTexts(end!);
    expect(text).toContain('was *terminated*: it reached its limit of 3 h. It was in phase `uploading` for 32 min (since 19:30 UTC).');
    expect(text).not.toContain('so far');
    expect(log).toBe(
      ['*Newest log lines* (the last at 20:01 UTC)', '```', ...Array.from({ length: 10 }, (_, i) => `upload part ${i + 6} &lt;!here&gt;`), '```'].join('\n'),
    );
    expect(buttons(end!)).toEqual([['show_log', build.BuildID]]);
  });

  it('an unexpected end (EC2 reports shutting-down): the phase it was in and the log', async () => {
    const build = await world().seed(aLaunchedBuild('building', { PhaseAt: at(40) }), { instanceState: 'running' });
    await world().writeLog(build.BuildID, INSTANCE_ID, ['compiling', 'kernel: Out of memory: Killed process 4242 (cc1plus)'], new Date(at(91)));
    world().clock.minutesAfterT0(93);

    await instanceStateHandler(world().deps)(ec2StateChange(INSTANCE_ID, 'shutting-down', at(92)));

    const [end] = world().replies(build);
    const [text, log] = sectionTexts(end!);
    expect(text).toContain(
      'shut down or was terminated outside metal-build before the build finished. It was in phase `building` for 52 min (since 17:40 UTC).',
    );
    expect(log).toBe(
      ['*Newest log lines* (the last at 18:31 UTC)', '```', 'compiling', 'kernel: Out of memory: Killed process 4242 (cc1plus)', '```'].join('\n'),
    );
    expect(buttons(end!)).toEqual([['show_log', build.BuildID]]);
  });
});
