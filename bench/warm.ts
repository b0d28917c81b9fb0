import { newBuildId } from '../core/build-id';
import type { Build } from '../core/build';
import { createLogger } from '../core/aws/logger';
import { createHandler } from '../bot/handler';
import { loadBotDeps, type BotDeps } from '../bot/deps';
import { aBuild } from '../stand-ins/build-fixture';
import { APPROVER, REQUESTER, SANDBOX_CHANNEL } from '../stand-ins/slack-api';
import { blockActionEvent, lambdaContext, parseLambdaResult, slashCommandEvent } from '../stand-ins/slack-request';
import type { LocalWorld } from './local-world';
import { summarize, timed, type Summary } from './stats';

// Measurement 3: a warm container. The bot's factory applied to the real adapters (DynamoDB,
// EventBridge and Slack clients from loadBotDeps, as the Lambda builds them) on loopback, called
// in-process; each request is timed from the call to the answer Bolt hands back to Lambda.
// Everything around a request (seeding a build to approve, expiring the requests made, giving
// the slot back) runs untimed, so each timed request meets the same table.

export interface WarmResult {
  command: Summary;
  approval: Summary;
  warmup: number;
}

/** Requests before timing starts: JIT, keep-alive connections, first-call initialisation. */
export const WARMUP = 25;

const silent = createLogger({}, () => {});

/** The real dependencies; the environment's endpoints point every client at loopback. */
export async function warmBotDeps(world: LocalWorld): Promise<BotDeps> {
  const deps = await loadBotDeps(world.env);
  return { ...deps, log: silent };
}

async function slashCommands(world: LocalWorld, deps: BotDeps, runs: number): Promise<number[]> {
  const handler = createHandler(deps);
  const samples: number[] = [];
  for (let i = -WARMUP; i < runs; i++) {
    const event = slashCommandEvent({ text: 'main abc1234' });
    const context = lambdaContext();
    let result: Awaited<ReturnType<typeof handler>> | undefined;
    const ms = await timed(async () => {
      result = await handler(event, context);
    });
    const answer = parseLambdaResult(result);
    if (answer.statusCode !== 200 || !answer.json?.text?.startsWith('Requested build-'))
      throw new Error(`slash command answered ${answer.statusCode}: ${answer.text.slice(0, 300)}`);
    if (i >= 0) samples.push(ms);
    await world.expireAwaiting();
  }
  return samples;
}

/** A build awaiting approval with a real card in the Slack stand-in, as the command leaves it. */
async function seedAwaiting(deps: BotDeps): Promise<Build> {
  const now = deps.clock.now();
  const { ts } = await deps.chat.post({ channel: SANDBOX_CHANNEL, text: 'metal-build card (bench seed)' });
  for (;;) {
    const build = aBuild({
      BuildID: newBuildId(now, Math.random),
      CreatedAt: now.toISOString(),
      Requester: REQUESTER,
      Channel: SANDBOX_CHANNEL,
      ThreadTs: ts,
      NotifiedStatus: 'awaiting_approval',
    });
    if (await deps.store.create(build)) return build;
  }
}

async function approvals(deps: BotDeps, runs: number): Promise<number[]> {
  const handler = createHandler(deps);
  const samples: number[] = [];
  for (let i = -WARMUP; i < runs; i++) {
    const build = await seedAwaiting(deps);
    const event = blockActionEvent({ actionId: 'approve_build', value: build.BuildID, user: APPROVER, messageTs: build.ThreadTs });
    const context = lambdaContext();
    let result: Awaited<ReturnType<typeof handler>> | undefined;
    const ms = await timed(async () => {
      result = await handler(event, context);
    });
    const answer = parseLambdaResult(result);
    const after = await deps.store.get(build.BuildID);
    if (answer.statusCode !== 200 || after?.Status !== 'approved' || !after.Approver)
      throw new Error(`approve_build of ${build.BuildID} did not succeed: ${answer.statusCode}, status ${after?.Status}`);
    if (i >= 0) samples.push(ms);
    // What launch and the instance's end would do later: the next approval finds a free slot.
    await deps.store.releaseSlot(build.BuildID);
    await deps.store.update(build.BuildID, { status: ['approved'] }, { Status: 'cancelled' });
  }
  return samples;
}

export async function measureWarm(world: LocalWorld, runs: number): Promise<WarmResult> {
  const deps = await warmBotDeps(world);
  const command = summarize(await slashCommands(world, deps, runs));
  const approval = summarize(await approvals(deps, runs));
  world.eventBridge.clear();
  return { command, approval, warmup: WARMUP };
}
