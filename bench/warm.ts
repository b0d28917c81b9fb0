import { newBuildId } from '../domain/build-id';
import type { Build } from '../domain/build';
import type { Chat } from '../domain/ports';
import { SlackChat } from '../adapters/slack/chat';
import { createSlackWebClient } from '../adapters/slack/web-client';
import { aBuild } from '../stand-ins/build-fixture';
import { APPROVER, REQUESTER, SANDBOX_CHANNEL } from '../stand-ins/slack-api';
import { blockActionEvent, parseLambdaResult, slashCommandEvent } from '../stand-ins/slack-request';
import type { HandlerProcess } from './handler-process';
import type { LocalWorld } from './local-world';
import { summarize, type Summary } from './stats';

// Measurement 3: a warm container. The deployed bundle of the bot (bench/handler-process.ts: its
// own `node` process, CommonJS, as the stack builds it) answers signed requests one at a time;
// dynalite and the stand-ins answer from this process. Each request is timed inside the
// handler's process, with the CPU time that process spent on it. Everything around a request
// (seeding a build to approve, expiring the requests made, giving the slot back) runs untimed
// from here, on the stand-ins directly, so each timed request meets the same table.

export interface WarmFigures {
  /** Wall time of each handler call. */
  wall: Summary;
  /** CPU time of the handler's process for each call. */
  cpu: Summary;
}

export interface WarmResult {
  command: WarmFigures;
  approval: WarmFigures;
  warmup: number;
}

/** Requests before timing starts: JIT, keep-alive connections, first-call initialisation. */
export const WARMUP = 25;

interface Sample {
  ms: number;
  cpuMs: number;
}

const figures = (samples: Sample[]): WarmFigures => ({ wall: summarize(samples.map((s) => s.ms)), cpu: summarize(samples.map((s) => s.cpuMs)) });

/** The chat the bench seeds cards with: straight to the Slack stand-in, never through a delay. */
export function seedingChat(world: LocalWorld): Chat {
  return new SlackChat(createSlackWebClient({ token: world.env.SLACK_BOT_TOKEN ?? '', apiUrl: world.slack.url, profile: 'background' }));
}

async function slashCommands(world: LocalWorld, bot: HandlerProcess, runs: number, warmup: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let i = -warmup; i < runs; i++) {
    const { result, ms, cpuMs } = await bot.invoke(slashCommandEvent({ text: 'main abc1234' }));
    const answer = parseLambdaResult(result as Parameters<typeof parseLambdaResult>[0]);
    if (answer.statusCode !== 200 || !answer.json?.text?.startsWith('Requested build-'))
      throw new Error(`slash command answered ${answer.statusCode}: ${answer.text.slice(0, 300)}`);
    if (i >= 0) samples.push({ ms, cpuMs });
    await world.expireAwaiting();
  }
  return samples;
}

/** A build awaiting approval with a real card in the Slack stand-in, as the command leaves it. */
async function seedAwaiting(world: LocalWorld, chat: Chat): Promise<Build> {
  const now = new Date();
  const { ts } = await chat.post({ channel: SANDBOX_CHANNEL, text: 'metal-build card (bench seed)' });
  for (;;) {
    const build = aBuild({
      BuildID: newBuildId(now, Math.random),
      CreatedAt: now.toISOString(),
      Requester: REQUESTER,
      Channel: SANDBOX_CHANNEL,
      ThreadTs: ts,
      NotifiedStatus: 'awaiting_approval',
    });
    if (await world.dynamo.store.create(build)) return build;
  }
}

async function approvals(world: LocalWorld, bot: HandlerProcess, runs: number, warmup: number): Promise<Sample[]> {
  const chat = seedingChat(world);
  const store = world.dynamo.store;
  const samples: Sample[] = [];
  for (let i = -warmup; i < runs; i++) {
    const build = await seedAwaiting(world, chat);
    const event = blockActionEvent({ actionId: 'approve_build', value: build.BuildID, user: APPROVER, messageTs: build.ThreadTs });
    const { result, ms, cpuMs } = await bot.invoke(event);
    const answer = parseLambdaResult(result as Parameters<typeof parseLambdaResult>[0]);
    const after = await store.get(build.BuildID);
    if (answer.statusCode !== 200 || after?.Status !== 'approved' || !after.Approver)
      throw new Error(`approve_build of ${build.BuildID} did not succeed: ${answer.statusCode}, status ${after?.Status}`);
    if (i >= 0) samples.push({ ms, cpuMs });
    // What launch and the instance's end would do later: the next approval finds a free slot.
    await store.releaseSlot(build.BuildID);
    await store.update(build.BuildID, { status: ['approved'] }, { Status: 'cancelled' });
  }
  return samples;
}

export async function measureCommands(world: LocalWorld, bot: HandlerProcess, runs: number, warmup: number = WARMUP): Promise<WarmFigures> {
  return figures(await slashCommands(world, bot, runs, warmup));
}

export async function measureApprovals(world: LocalWorld, bot: HandlerProcess, runs: number, warmup: number = WARMUP): Promise<WarmFigures> {
  const approval = figures(await approvals(world, bot, runs, warmup));
  world.eventBridge.clear();
  return approval;
}

export async function measureWarm(world: LocalWorld, bot: HandlerProcess, runs: number, warmup: number = WARMUP): Promise<WarmResult> {
  const command = await measureCommands(world, bot, runs, warmup);
  const approval = await measureApprovals(world, bot, runs, warmup);
  return { command, approval, warmup };
}
