import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { BusEvent } from '../../domain/ports';
import { parseConfig } from '../../domain/config';
import { selftestKey } from '../../domain/artifact-layout';
import type { BuildPhaseDetail } from '../../domain/events';
import { wireBotDeps } from '../../bot/deps';
import { createHandler as createBotHandler } from '../../bot/handler';
import { createHandler as createLaunchHandler } from '../../events/launch';
import { createHandler as createPhaseHandler } from '../../events/build-phase';
import { createHandler as createInstanceStateHandler } from '../../events/instance-state';
import { createHandler as createReleaseHandler } from '../../events/release';
import { DEFAULT_IMAGE_ID } from '../../stand-ins/ec2';
import { APPROVER, REQUESTER, SANDBOX_BOT_TOKEN, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { SANDBOX_SIGNING_SECRET, slashCommandEvent } from '../../stand-ins/slack-request';
import { at } from '../../stand-ins/build-fixture';
import { invoke } from '../support/bot-world';
import { BASE_ENV, useWorld } from '../support/events-world';
import { buildApproved, buildPhase, ec2StateChange, eventTokenOf } from '../support/event-fixtures';

// `/metal-build selftest` from the command to its end, through the real handlers (the bot's, the
// launch, build-phase, release, instance-state) over the stand-ins: dynalite, Slack, EC2 and
// Scheduler. The runner's part is packer/runner.sh's, tested in test/packer and test/real-cli: here
// its phases arrive as it sends them (docs/design.md "Self-test").

const world = useWorld({ minutesAfterT0: 0 });
const SHA = '0123456789abcdef0123456789abcdef01234567';
const ENV = { BUILDER_IMAGE_ID: DEFAULT_IMAGE_ID, MONTHLY_BUDGET_USD: '50' };

/** The bot over this world's table and Slack; `Build Approved` and the rest go to `puts`. */
function botOf(puts: BusEvent[]) {
  const w = world();
  const config = parseConfig({
    ...BASE_ENV,
    ...ENV,
    SLACK_SIGNING_SECRET: SANDBOX_SIGNING_SECRET,
    APPROVER_IDS: APPROVER,
    SLACK_API_URL: w.slack.url,
    BUILDS_TABLE: w.dynamo.tableName,
  });
  const deps = wireBotDeps(
    { dynamo: w.dynamo.client },
    { config, credentials: { signingSecret: SANDBOX_SIGNING_SECRET, botToken: SANDBOX_BOT_TOKEN }, clock: w.clock, log: w.log },
    {
      store: w.dynamo.store,
      claims: w.dynamo.claims,
      ledger: w.dynamo.ledger,
      bus: {
        put: async (event) => {
          puts.push(event);
        },
      },
    },
  );
  const handler = createBotHandler(deps);
  let trigger = 0;
  return (text: string, user: string) =>
    invoke(handler, slashCommandEvent({ text, user, channel: SANDBOX_CHANNEL, triggerId: `trigger-selftest-${++trigger}` }));
}

function userDataOf(base64: string): Record<string, unknown> {
  const doc = parse(Buffer.from(base64, 'base64').toString('utf8'), { version: '1.1' }) as { write_files: Array<{ path: string; content: string }> };
  const file = doc.write_files.find((f) => f.path === '/etc/metal-build/build.json')!;
  return JSON.parse(Buffer.from(file.content, 'base64').toString('utf8')) as Record<string, unknown>;
}

describe('a self-test from `/metal-build selftest` to its end', () => {
  it('the line, the launch (small type, small disk, selftest in user data), every phase, the ✓ lines, the schedule removed, the slot freed, the costs line', async () => {
    world().configure(ENV);
    const deps = world().deps;
    const puts: BusEvent[] = [];
    const command = botOf(puts);

    // The command: one line in the channel, the record in approved, Build Approved.
    const answer = await command('selftest', APPROVER);
    const [test] = await world().builds();
    expect(answer.text).toBe(`Self-test ${test!.BuildID} started; its thread follows it.`);
    expect(test).toMatchObject({ Kind: 'selftest', Status: 'approved', BuildBranch: 'HEAD', RequestedType: 't3.small', LimitHours: 0.5, Approver: APPROVER });
    expect(puts).toEqual([{ detailType: 'Build Approved', detail: { buildId: test!.BuildID } }]);
    const id = test!.BuildID;

    // The launch: t3.small, a root disk of the AMI's 8 GB, "selftest": true in build.json.
    world().clock.minutesAfterT0(1);
    await createLaunchHandler(deps)(buildApproved(id, at(1)));
    const [run, ...moreRuns] = world().ec2.runRequests();
    expect(moreRuns).toEqual([]);
    expect(run).toMatchObject({ InstanceType: 't3.small', 'BlockDeviceMapping.1.DeviceName': '/dev/sda1', 'BlockDeviceMapping.1.Ebs.VolumeSize': '8' });
    // The machine's own power-off is its limit plus the extensions it may get, as for a build; the schedule ends it at 30 minutes.
    expect(userDataOf(run!.UserData!)).toMatchObject({ buildId: id, branch: 'HEAD', selftest: true, maxLifetimeMinutes: 30 + 120 });
    const launched = (await world().get(id))!;
    expect(launched).toMatchObject({ Status: 'launching', InstanceType: 't3.small', RootVolumeGb: 8 });
    expect(launched.ScheduleAt).toBeDefined();
    expect(
      world()
        .scheduler.schedules()
        .map((s) => s.Name),
    ).toEqual([expect.stringContaining(id)]);
    const instanceId = launched.InstanceID!;

    // The runner's phases, each with the build's event token.
    const phase = (minutes: number, d: Partial<BuildPhaseDetail> & Pick<BuildPhaseDetail, 'phase'>) => {
      world().clock.minutesAfterT0(minutes);
      return createPhaseHandler(deps)(buildPhase({ buildId: id, instanceId, at: at(minutes), eventToken: eventTokenOf(id), ...d }));
    };
    await phase(2, { phase: 'cloning', message: 'self-test on t3.small; no KVM on t3.small' });
    await phase(3, { phase: 'building', actualCommit: SHA });
    await phase(3, { phase: 'uploading' });
    const completed = buildPhase({
      buildId: id,
      instanceId,
      at: at(4),
      eventToken: eventTokenOf(id),
      phase: 'completed',
      artifact: { bucket: 'hedgehog-lab-artifacts', key: selftestKey(id), sha256: 'b'.repeat(64), bytes: 321 },
      actualCommit: SHA,
      logKey: `builds/${id}/logs/build.log`,
      durationSeconds: 150,
      checks: [
        { name: 'kvm', ok: true, detail: 'no KVM on t3.small (not needed here)' },
        { name: 'github-token', ok: true, detail: 'read from Secrets Manager' },
        { name: 'repository', ok: true, detail: `https://github.com/afewell-hh/labapp.git reached; HEAD is ${SHA}` },
        { name: 's3', ok: true, detail: `wrote s3://hedgehog-lab-artifacts/${selftestKey(id)}` },
        { name: 'logs', ok: true, detail: `streaming to /labapp/metal-builds/${id} <!channel>` },
      ],
    });
    world().clock.minutesAfterT0(4);
    await createPhaseHandler(deps)(completed);
    // Never a release, whatever it wrote.
    await createReleaseHandler(deps)(completed);
    const done = (await world().get(id))!;
    expect(done).toMatchObject({ Status: 'completed', ActualCommit: SHA, ArtifactKey: selftestKey(id) });
    expect(done.SelftestChecks).toHaveLength(5);

    const replies = world()
      .replies(done)
      .map((m) => m.text);
    const finished = replies.find((t) => t.includes('self-test') && t.includes('passed'))!;
    expect(finished).toContain(`<@${APPROVER}> self-test \`${id}\` *passed*`);
    for (const label of ['Launch', 'Events', 'Deadline schedule', 'KVM', 'GitHub token', 'Repository', 'S3', 'CloudWatch Logs'])
      expect(finished).toContain(`✓ *${label}* — `);
    expect(finished).not.toContain('✗');
    expect(finished).toContain("the builder AMI's 8 GB disk");
    expect(finished).toContain('Took 2 min');
    expect(finished).toMatch(/cost about 0\.\d\d¢ so far/);
    // The machine's words are inert: no broadcast reaches the channel.
    expect(finished).not.toContain('<!channel>');

    // The machine powers off: the schedule goes, the slot frees, the cost is final, in cents.
    world().clock.minutesAfterT0(5);
    await createInstanceStateHandler(deps)(ec2StateChange(instanceId, 'terminated', at(5)));
    const ended = (await world().get(id))!;
    expect(ended).toMatchObject({ Status: 'completed', InstanceState: 'terminated' });
    expect(ended.ActualCost).toBeLessThan(0.01);
    expect(world().scheduler.schedules()).toEqual([]);
    expect(await world().slots()).toEqual([]);
    const after = world()
      .replies(ended)
      .map((m) => m.text);
    expect(after.at(-1)).toMatch(/^💵 Final cost: 0\.\d\d¢\.$/);

    // The line in the channel is the thread's parent, redrawn: no card, no button.
    const line = world()
      .slack.messages(SANDBOX_CHANNEL)
      .find((m) => m.ts === ended.ThreadTs)!;
    expect(line.text).toContain(`Self-test \`${id}\``);
    expect(line.text).toContain('completed');
    expect(JSON.stringify(line.blocks ?? [])).not.toContain('"button"');

    // Counted into the month as a self-test: its own line in `costs`.
    const costs = await command('costs', APPROVER);
    expect(costs.text).toContain('*selftest* 1 run, $0.00');
    expect(costs.text).toContain('No builds were launched in this month.');
  });

  it('refused for someone who is not an approver: the table, Slack calls and events as before', async () => {
    const puts: BusEvent[] = [];
    const command = botOf(puts);
    const before = await world().dynamo.items();
    const calls = world().slack.calls.length;
    const answer = await command('selftest', REQUESTER);
    expect(answer.text).toContain('Only approvers can run a self-test');
    expect(await world().dynamo.items()).toEqual(before);
    expect(
      world()
        .slack.calls.filter((c) => c.method !== 'auth.test')
        .slice(calls),
    ).toEqual([]);
    expect(puts).toEqual([]);
    expect(world().ec2.runRequests()).toEqual([]);
  });
});
