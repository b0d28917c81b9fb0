import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { artifactKey, releaseFiles } from '../../domain/artifact-layout';
import type { Build } from '../../domain/build';
import type { Artifacts } from '../../domain/ports';
import { createHandler as buildPhaseHandler } from '../../events/build-phase';
import { createHandler as cancelHandler } from '../../events/cancel';
import { createHandler as instanceStateHandler } from '../../events/instance-state';
import { createHandler as launchHandler } from '../../events/launch';
import { createHandler as releaseHandler } from '../../events/release';
import { createHandler as watchdogHandler } from '../../events/watchdog';
import { INSTANCE_ID, aBuild, aLaunchedBuild, anApprovedBuild, at } from '../../stand-ins/build-fixture';
import type { SlackApi, SlackCall } from '../../stand-ins/slack-api';
import { APPROVER, REQUESTER } from '../../stand-ins/slack-api';
import { useWorld as useBotWorld } from '../support/bot-world';
import { buildApproved, buildPhase, cancelRequested, ec2StateChange, scheduled } from '../support/event-fixtures';
import { SUBNETS, useWorld as useEventsWorld } from '../support/events-world';

// Every kind of message the bot sends, made with its longest legal inputs, through the real
// handlers and the strict Slack stand-in (which refuses what Slack refuses, and fails a test on
// any warning): 200-character branches, a 4 KB log tail and a 4,000-character error full of
// mentions, links and backticks, 150 builds, 60 requesters, 210 approvers. Whatever the build
// machine wrote must reach every place it appears (thread, card, `status`, mail) only inert.

const bot = useBotWorld();
const events = useEventsWorld({ minutesAfterT0: 10 });

/** The longest branch the command takes (docs/design.md "Slack contract"). */
const LONG_BRANCH = `feature/${'x'.repeat(192)}`;
/** The longest vX.Y.Z branch: 199 characters, a release like any other. */
const longVersion = (last: string) => `${'9'.repeat(65)}.${'9'.repeat(65)}.${last.padStart(66, '9')}`;
const COMMIT = 'abcdef0123456789abcdef0123456789abcdef01';

/** Machine text at its worst: broadcasts, a mention, a labelled link, fences, inline code and an entity; PWNED marks it. */
const HOSTILE = '@channel <!here> <!channel> <https://evil.example|PWNED click> <@U0EVIL> ```\nPWNED ``` `PWNED` &amp; @everyone\n';
const hostile = (chars: number) => HOSTILE.repeat(Math.ceil(chars / HOSTILE.length)).slice(0, chars);

/** What a reader sees as text: fenced blocks and inline code taken out. */
const outsideCode = (mrkdwn: string) => mrkdwn.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');

/** Shown, but only as code: no broadcast, mention or link can act, and no fence closed early. */
function expectInertMrkdwn(text: string): void {
  expect(text).toContain('PWNED');
  expect(outsideCode(text)).not.toContain('PWNED');
  expect(text).not.toMatch(/<!(here|channel|everyone)>|<https?:|<@U0EVIL>/);
  expect(text).not.toMatch(/@(channel|here|everyone)/i);
}

/** The mail: plain text, with nothing Slack would parse if it were forwarded there. */
function expectInertPlain(text: string): void {
  expect(text).toContain('PWNED');
  expect(text).not.toMatch(/<[!@h]/);
  expect(text).not.toMatch(/@(channel|here|everyone)/i);
}

type TextObject = { text?: string };
type AnyBlock = { text?: TextObject; fields?: TextObject[]; elements?: TextObject[] };
/** The mrkdwn of a message: its text and every block's text, fields and context elements. */
const textsOf = (message: { text?: unknown; blocks?: unknown }): string[] =>
  [
    ...(typeof message.text === 'string' ? [message.text] : []),
    ...((message.blocks as AnyBlock[] | undefined) ?? []).flatMap((b) => [
      b.text?.text,
      ...(b.fields ?? []).map((f) => f.text),
      ...(b.elements ?? []).map((e) => e.text),
    ]),
  ].filter((t): t is string => typeof t === 'string');

/** Every call Slack took: none refused (invalid_blocks, msg_too_long, msg_blocks_too_long, …). */
function expectAllAccepted(slack: SlackApi): SlackCall[] {
  expect(slack.calls.filter((c) => c.error !== undefined).map((c) => `${c.method}: ${c.error}`)).toEqual([]);
  return slack.calls;
}

/** A message's first word: its emoji. */
const lead = (text: string) => text.split(' ')[0];

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('longest inputs, events side: every thread message, card redraw, DM and mail is accepted', () => {
  const phase = (event: unknown) => buildPhaseHandler(events().deps)(event);

  /** A build on a 200-character branch whose machine reports failure in the worst words it can. */
  async function failWithHostileText(): Promise<Build> {
    const build = await events().seed(aLaunchedBuild('building', { BuildBranch: LONG_BRANCH, BuildCommit: COMMIT }));
    await phase(buildPhase({ buildId: build.BuildID, instanceId: INSTANCE_ID, phase: 'failed', at: at(10), message: hostile(4000), logTail: hostile(4096) }));
    expectAllAccepted(events().slack);
    return build;
  }

  describe("the machine's words (error, log tail) appear only inert", () => {
    it("in the thread: the reply's text and every block", async () => {
      const build = await failWithHostileText();
      const [failed] = events().replies(build);
      const shown = textsOf(failed!).filter((t) => t.includes('PWNED'));
      // The notification text, the error section and the log tail.
      expect(shown).toHaveLength(3);
      for (const text of shown) expectInertMrkdwn(text);
    });

    it("in the card's failed status line", async () => {
      await failWithHostileText();
      const card = events().slack.callsTo('chat.update').at(-1)!.args;
      expectInertMrkdwn(textsOf(card).find((t) => t.includes('*Failed*'))!);
      expect(textsOf(card).join('\n')).toContain(LONG_BRANCH);
    });

    it("in the requester's DM: not at all (it links the thread)", async () => {
      await failWithHostileText();
      const dms = events().slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === REQUESTER);
      expect(dms).toHaveLength(1);
      expect(JSON.stringify(dms[0]!.args)).not.toContain('PWNED');
    });

    it("in the operators' mail, error and log tail", async () => {
      await failWithHostileText();
      const mail = events()
        .published()
        .find((p) => p.Subject?.startsWith('[FAILED]'));
      expectInertPlain(mail!.Message!);
    });
  });

  it('failed with a 4,000-character hostile error and a 4 KB hostile log tail: thread, card, DM and mail accepted; the final cost follows', async () => {
    const build = await failWithHostileText();
    events().clock.minutesAfterT0(12);
    await instanceStateHandler(events().deps)(ec2StateChange(INSTANCE_ID, 'terminated', at(12)));

    const calls = expectAllAccepted(events().slack);
    expect(
      events()
        .replies(build)
        .map((m) => lead(m.text)),
    ).toEqual(['❌', '💵']);
    expect(calls.filter((c) => c.method === 'chat.update')).not.toHaveLength(0);
    expect(calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === REQUESTER)).toHaveLength(1);
    expect(
      events()
        .published()
        .map((p) => p.Subject?.slice(0, 8)),
    ).toEqual(['[FAILED]']);
  });

  it('completed on a 200-character branch with its artifact, download command and DM', async () => {
    const build = await events().seed(aLaunchedBuild('uploading', { BuildBranch: LONG_BRANCH, BuildCommit: COMMIT, ActualCommit: COMMIT }));
    const key = artifactKey(build.BuildID, `0.0.0-${COMMIT.slice(0, 7)}`);
    await phase(
      buildPhase({
        buildId: build.BuildID,
        instanceId: INSTANCE_ID,
        phase: 'completed',
        at: at(10),
        actualCommit: COMMIT,
        artifact: { bucket: 'hedgehog-lab-artifacts', key, sha256: 'a'.repeat(64), bytes: 32_000_000_000 },
        message: hostile(4000),
      }),
    );
    expectAllAccepted(events().slack);
    expect((await events().get(build.BuildID))?.Status).toBe('completed');
    const [completed] = events().replies(build);
    expect(textsOf(completed!).join('\n')).toContain(key);
    expect(JSON.stringify(completed)).not.toContain('PWNED');
    expect(events().slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.channel === REQUESTER)).toHaveLength(1);
  });

  it('the warning, its Extend and Cancel confirms, then the forced end and the warning closed', async () => {
    const build = await events().seed(aLaunchedBuild('building', { BuildBranch: LONG_BRANCH, BuildCommit: COMMIT }));
    for (const minutes of [2 + 120, 2 + 180]) {
      events().clock.minutesAfterT0(minutes);
      await watchdogHandler(events().deps)(scheduled(at(minutes)));
    }
    expectAllAccepted(events().slack);
    expect((await events().get(build.BuildID))?.Status).toBe('terminated');
    const texts = events()
      .replies(build)
      .map((m) => lead(m.text));
    expect(texts).toEqual(['⚠️', '🛑']);
  });

  it('terminated outside metal-build, cancelled, and expired', async () => {
    const running = await events().seed(aLaunchedBuild('building', { BuildBranch: LONG_BRANCH }));
    await instanceStateHandler(events().deps)(ec2StateChange(INSTANCE_ID, 'shutting-down', at(10)));
    const cancelled = await events().seed(
      aLaunchedBuild('building', { BuildID: 'build-20261125-170052-c0c0', BuildBranch: LONG_BRANCH, InstanceID: 'i-0aaaaaaaaaaaaaaa1' }),
    );
    await cancelHandler(events().deps)(cancelRequested(cancelled.BuildID, REQUESTER, at(10)));
    const waiting = await events().seed(aBuild({ BuildID: 'build-20261125-170052-e0e0', BuildBranch: LONG_BRANCH, BuildCommit: COMMIT }));
    events().clock.minutesAfterT0(45);
    await watchdogHandler(events().deps)(scheduled(at(45)));

    expectAllAccepted(events().slack);
    expect((await events().get(running.BuildID))?.Status).toBe('terminated');
    expect((await events().get(cancelled.BuildID))?.Status).toBe('cancelled');
    expect((await events().get(waiting.BuildID))?.Status).toBe('expired');
  });

  it('a launch that fell back through every subnet and type says so in the thread', async () => {
    for (const subnet of SUBNETS) events().ec2.refuse('c5n.metal', subnet, 'InsufficientInstanceCapacity');
    events().ec2.refuse('m5zn.metal', SUBNETS[0], 'Unsupported');
    const build = await events().seed(anApprovedBuild({ BuildBranch: LONG_BRANCH }));
    await launchHandler(events().deps)(buildApproved(build.BuildID, at(10)));
    expectAllAccepted(events().slack);
    expect(
      events()
        .replies(build)
        .map((m) => lead(m.text)),
    ).toEqual(['🚀', 'ℹ️']);
  });

  it('release messages of a 199-character version: released, refused, withdrawn (and mailed) and missing files', async () => {
    const objects = new Map<string, string>();
    const artifacts: Artifacts = {
      size: async (_bucket, key) => (objects.has(key) ? Buffer.byteLength(objects.get(key)!) : undefined),
      copy: async ({ from, to }) => void objects.set(to, objects.get(from)!),
      digest: async (_bucket, key) => (objects.has(key) ? { bytes: Buffer.byteLength(objects.get(key)!), sha256: sha256(objects.get(key)!) } : undefined),
      write: async (_bucket, key, text) => void objects.set(key, text),
      remove: async (_bucket, key) => void objects.delete(key),
    };
    events().deps = { ...events().deps, artifacts };
    const release = async (suffix: string, version: string, files: 'honest' | 'poisoned' | 'missing'): Promise<Build> => {
      const buildId = `build-20261125-170052-${suffix}`;
      const ova = `the OVA of ${buildId}`;
      const build = await events().seed(
        aLaunchedBuild('uploading', {
          BuildID: buildId,
          BuildBranch: `v${version}`,
          Status: 'completed',
          ActualCommit: COMMIT,
          ArtifactKey: artifactKey(buildId, version),
          ArtifactSha256: sha256(ova),
          ArtifactBytes: Buffer.byteLength(ova),
          CompletionTime: at(9),
        }),
      );
      if (files !== 'missing') for (const f of releaseFiles(buildId, version)) objects.set(f.source, files === 'honest' ? ova : `${ova}, overwritten`);
      const artifact = { bucket: 'hedgehog-lab-artifacts', key: artifactKey(buildId, version), sha256: sha256(ova), bytes: Buffer.byteLength(ova) };
      await releaseHandler(events().deps)(buildPhase({ buildId, instanceId: INSTANCE_ID, phase: 'completed', at: at(9), artifact }));
      return build;
    };
    const released = await release('0a01', longVersion('1'), 'honest');
    const refused = await release('0a02', longVersion('1'), 'honest');
    const withdrawn = await release('0a03', longVersion('2'), 'poisoned');
    const missing = await release('0a04', longVersion('3'), 'missing');

    expectAllAccepted(events().slack);
    expect(
      [released, refused, withdrawn, missing].map((b) =>
        events()
          .replies(b)
          .map((m) => lead(m.text)),
      ),
    ).toEqual([['📦'], ['⚠️'], ['🚫'], ['⚠️']]);
    expect(
      events()
        .published()
        .map((p) => p.Subject?.slice(0, 10)),
    ).toEqual(['[CRITICAL]']);
  });
});

describe('longest inputs, bot side: cards, ephemerals and slash-command answers are accepted', () => {
  /** APPROVER_IDS with 210 people, Avery first. */
  const APPROVERS = [APPROVER, ...Array.from({ length: 209 }, (_, i) => `U0A${String(i).padStart(8, '0')}`)].join(',');
  const idAt = (i: number) => `build-20261125-17${String(Math.floor(i / 100)).padStart(2, '0')}00-${String(i % 100).padStart(4, '0')}`;

  it('a card with 210 approvers and a 200-character branch, redrawn on approve, deny and cancel; a refusal naming the approvers', async () => {
    const b = bot().bot({ APPROVER_IDS: APPROVERS, MONTHLY_BUDGET_USD: '1000', MAX_CONCURRENT_BUILDS: '20' });
    // Twelve builds already running on the longest branches: the card lists them.
    for (let i = 0; i < 12; i++) {
      const id = idAt(100 + i);
      await bot().dynamo.store.create(aLaunchedBuild('building', { BuildID: id, BuildBranch: LONG_BRANCH, Requester: `U0R${String(i).padStart(8, '0')}` }));
      await bot().dynamo.store.takeSlot(id, 20);
    }
    const approved = await b.request(`${LONG_BRANCH} ${COMMIT}`);
    const card = bot().slack.callsTo('chat.postMessage')[0]!.args;
    expect(textsOf(card).join('\n')).toContain('and 200 more');
    expect(textsOf(card).join('\n')).toContain('12 builds already running');
    await b.click('approve_build', approved, APPROVER);
    const denied = await b.request(`${LONG_BRANCH} ${COMMIT}`);
    await b.click('deny_build', denied, APPROVER);
    const cancelled = await b.request(LONG_BRANCH);
    await b.click('approve_build', cancelled, APPROVER);
    await b.click('cancel_build', cancelled, REQUESTER);
    // Not an approver: the ephemeral names ten approvers, then how many more.
    const other = await b.request(LONG_BRANCH, APPROVER);
    await b.click('approve_build', other, REQUESTER);
    expect(bot().ephemerals(REQUESTER).at(-1)).toContain('and 200 more');

    expectAllAccepted(bot().slack);
    expect(bot().slack.callsTo('chat.update').length).toBeGreaterThanOrEqual(3);
    expect((await bot().build(denied))?.Status).toBe('rejected');
    expect((await bot().build(cancelled))?.Status).toBe('cancelled');
  });

  it('Extend re-renders the warning in place', async () => {
    const b = bot().bot();
    const id = await b.request(`${LONG_BRANCH} ${COMMIT}`);
    await b.click('approve_build', id, APPROVER);
    const launched = await bot().launch(id);
    const warning = await b.deps.chat.post({ channel: launched.Channel, threadTs: launched.ThreadTs, text: 'warning' });
    await bot().dynamo.store.update(id, { status: ['launching'] }, { WarningTs: warning.ts, WarningPostedAt: new Date().toISOString() });
    await b.click('extend_build', id, APPROVER, { threadTs: launched.ThreadTs });

    expectAllAccepted(bot().slack);
    expect(
      bot()
        .slack.callsTo('chat.update')
        .some((c) => c.args.ts === warning.ts),
    ).toBe(true);
  });

  it('status and list with 150 builds on 200-character branches, and `status <id>` of a failed build whose error is hostile', async () => {
    const b = bot().bot();
    for (let i = 0; i < 150; i++) await bot().dynamo.store.create(aBuild({ BuildID: idAt(i), BuildBranch: LONG_BRANCH, BuildCommit: COMMIT }));
    const failed = 'build-20261125-180052-dead';
    await bot().dynamo.store.create(
      aLaunchedBuild('building', {
        BuildID: failed,
        BuildBranch: LONG_BRANCH,
        Status: 'failed',
        ErrorMessage: hostile(4000),
        LogTail: hostile(4096),
        CompletionTime: at(30),
      }),
    );

    const status = await b.command('status');
    const list = await b.command('list');
    const one = await b.command(`status ${failed}`);

    for (const answer of [status, list, one]) expect(answer.statusCode).toBe(200);
    expect(status.text).toContain('…and 130 more');
    expect(list.text).toContain(LONG_BRANCH);
    // The machine's words: only in `status <id>`, and there inert; never in a list line.
    expect(list.text).not.toContain('PWNED');
    expectInertMrkdwn(one.text!);
  });

  it("budget: the card line, an approval refused over the budget, and the month's warning", async () => {
    const b = bot().bot({ MONTHLY_BUDGET_USD: '14', MAX_CONCURRENT_BUILDS: '3', APPROVER_IDS: APPROVERS });
    const first = await b.request(`${LONG_BRANCH} ${COMMIT}`);
    await b.click('approve_build', first, APPROVER);
    const second = await b.request(`${LONG_BRANCH} ${COMMIT}`);
    await b.click('approve_build', second, APPROVER);

    expectAllAccepted(bot().slack);
    expect(JSON.stringify(bot().slack.callsTo('chat.postMessage')[0]!.args.blocks)).toContain('*Budget*');
    expect(bot().ephemerals(APPROVER).at(-1)).toContain('was not approved');
    expect(
      bot()
        .slack.callsTo('chat.postMessage')
        .some((c) => String(c.args.text).startsWith(':money_with_wings:')),
    ).toBe(true);
  });

  it('costs with 60 requesters and 200-character branches', async () => {
    const b = bot().bot({ MONTHLY_BUDGET_USD: '100' });
    bot().frozenAt = new Date('2026-11-28T12:00:00.000Z');
    for (let i = 0; i < 60; i++) {
      const requester = `U0R${String(i).padStart(8, '0')}`;
      const branch = `${LONG_BRANCH.slice(0, 197)}${String(i).padStart(3, '0')}`;
      // The record as the events side leaves a finished build, then its cost counted in its month.
      await bot().dynamo.store.create(
        aLaunchedBuild('building', {
          BuildID: idAt(i),
          Requester: requester,
          BuildBranch: branch,
          Status: 'completed',
          ActualCost: 1 + i,
          CompletionTime: at(60),
        }),
      );
      await bot().dynamo.ledger.count('2026-11', { buildId: idAt(i), cost: 1 + i, requester, branch, status: 'completed' });
    }
    const answer = await b.command('costs');
    expect(answer.statusCode).toBe(200);
    expect(answer.text).toContain('and 55 more');
  });
});
