import type { AttributeValue, DynamoDBClient, WriteRequest } from '@aws-sdk/client-dynamodb';
import { BatchWriteItemCommand, CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Build } from '../domain/build';
import { newBuildId } from '../domain/build-id';
import { SLOTS_ID } from '../adapters/aws/dynamo-store';
import { createLogger } from '../adapters/aws/logger';
import { createTableInput } from '../adapters/aws/table-schema';
import { parseConfig } from '../domain/config';
import { LAUNCHED_BY_TAG } from '../domain/machine-tags';
import type { Chat, Deadlines, Machine } from '../domain/ports';
import { wantedSchedule } from '../events/deadline-schedule';
import { wireEventDeps } from '../events/deps';
import { createHandler } from '../events/watchdog';
import { SANDBOX_CHANNEL } from '../stand-ins/slack-api';
import type { LocalWorld } from './local-world';
import type { ReadCounter } from './read-counter';
import { median, percentile, round, timed } from './stats';
import { artifacts, CountingNotifier, ListingCompute, quotas } from './watchdog';

// Measurement 4b: the watchdog where it has work to do. Two kinds of table, each at 30 and 300:
//  - "active": N running builds with their machines, launched so that at this minute one in ten
//    is due its warning (2 hours up: thread broadcast, WarningPostedAt, SNS notice) and one in
//    five its card redraw (every 5th minute of its life, as for any spread of launch times); the
//    rest is quiet. The warned builds are put back untimed before each run, so every run has
//    the same work.
//  - "machines": N tagged machines nobody accounts for: machines of builds that completed 5
//    minutes ago (inside the shutdown grace, so nothing is terminated), half with a BuildID tag
//    (one GetItem each), half without (one InstanceIndex query each): events/watchdog/machines.ts
//    `ownerOf`, which looks them up OWNER_LOOKUPS_IN_FLIGHT at a time.
// The same tables serve the latency model (bench/latency.ts), through delaying proxies.

export type WorkKind = 'active' | 'machines';

export interface WorkTable {
  kind: WorkKind;
  size: number;
  tableName: string;
  machines: Machine[];
  /** Active build IDs: the deadline schedules the fake Scheduler lists. */
  scheduled: string[];
  /** Items written again before each run (the builds due their warning). */
  reseed: Record<string, AttributeValue>[];
  warnings: number;
  redraws: number;
}

export interface WorkFigures {
  kind: WorkKind;
  size: number;
  runs: number;
  warnings: number;
  redraws: number;
  /** DynamoDB requests per run (constant over the runs; checked). */
  dynamoRequests: number;
  slackCalls: number;
  ec2Calls: number;
  medianMs: number;
  p99Ms: number;
  minMs: number;
}

export const MINUTE = 60_000;
export const iso = (ms: number) => new Date(ms).toISOString();
const silent = createLogger({}, () => {});
/** The stack's defaults (domain/config.ts): warned at 2 hours, ended at 3. */
export const MAX_LIFETIME_HOURS = 3;

export function instanceId(n: number): string {
  return `i-0b${n.toString(16).padStart(15, '0')}`;
}

/** Minutes since launch of the i-th active build: a warning, a redraw or nothing due now. */
export function minutesUp(i: number): { minutes: number; due: 'warning' | 'redraw' | 'none' } {
  if (i % 10 === 0) return { minutes: 121 + (i % 40), due: 'warning' };
  if (i % 10 === 1 || i % 10 === 2) return { minutes: 5 * (1 + (i % 23)), due: 'redraw' };
  return { minutes: 5 * (i % 23) + 2, due: 'none' };
}

export async function batchWrite(client: DynamoDBClient, tableName: string, items: Record<string, AttributeValue>[]): Promise<void> {
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })));
  await Promise.all(
    Array.from({ length: 4 }, async (_, lane) => {
      for (let i = lane; i < batches.length; i += 4) {
        let pending = batches[i]!;
        while (pending.length > 0) {
          const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
          pending = out.UnprocessedItems?.[tableName] ?? [];
        }
      }
    }),
  );
}

export function machineOf(id: string, launch: number, buildId: string | undefined): Machine {
  return {
    instanceId: id,
    instanceType: 'c5n.metal',
    availabilityZone: 'us-east-1a',
    state: 'running',
    launchTime: iso(launch),
    tags: {
      Project: 'labapp',
      Purpose: 'prewarmed-build',
      AutoDelete: 'true',
      [LAUNCHED_BY_TAG.key]: LAUNCHED_BY_TAG.value,
      ...(buildId ? { BuildID: buildId } : {}),
    },
  };
}

/**
 * A BuildID not yet taken in this seed. Many seeded builds share their creation second, and a
 * repeated ID would overwrite a record: its machine would then be an orphan the watchdog ends.
 */
export function seedBuildId(created: number, taken: Set<string>): string {
  for (;;) {
    const id = newBuildId(new Date(created), Math.random);
    if (taken.has(id)) continue;
    taken.add(id);
    return id;
  }
}

export function baseBuild(buildId: string, created: number, threadTs: string): Build {
  return {
    BuildID: buildId,
    Status: 'building',
    BuildBranch: 'main',
    BuildCommit: 'abc1234',
    Requester: 'U0REQUESTER',
    Approver: 'U0APPROVER',
    Channel: SANDBOX_CHANNEL,
    ThreadTs: threadTs,
    CreatedAt: iso(created),
    ApprovedAt: iso(created + MINUTE),
    CostEstimate: 5.91,
    CostMax: 11.83,
    NotifiedStatus: 'building',
  };
}

/** A build running since `launch` on machine `instanceId`, as the launch and build-phase leave it. */
export function runningBuild(buildId: string, created: number, threadTs: string, instanceId: string, launch: number): Build {
  return {
    ...baseBuild(buildId, created, threadTs),
    InstanceID: instanceId,
    InstanceType: 'c5n.metal',
    AvailabilityZone: 'us-east-1a',
    InstanceState: 'running',
    LaunchTime: iso(launch),
    Phase: 'building',
    BuildStartTime: iso(launch + 4 * MINUTE),
  };
}

export async function seedWorkTable(client: DynamoDBClient, chat: Chat, kind: WorkKind, size: number, now: Date): Promise<WorkTable> {
  const tableName = `metal-builds-work-${kind}-${size}`;
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  const builds: Build[] = [];
  const machines: Machine[] = [];
  const reseed: Build[] = [];
  const taken = new Set<string>();
  let warnings = 0;
  let redraws = 0;
  for (let i = 0; i < size; i++) {
    const id = instanceId(i + (kind === 'active' ? 0 : 1_000_000));
    if (kind === 'active') {
      const { minutes, due } = minutesUp(i);
      const launch = now.getTime() - minutes * MINUTE - 20_000;
      const created = launch - 3 * MINUTE;
      const buildId = seedBuildId(created, taken);
      // A real card to redraw and a real thread to warn in.
      const { ts } = await chat.post({ channel: SANDBOX_CHANNEL, text: `metal-build card (bench seed ${i})` });
      const build = runningBuild(buildId, created, ts, id, launch);
      const wanted = wantedSchedule(build, { maxLifetimeHours: MAX_LIFETIME_HOURS });
      if (wanted) build.ScheduleAt = wanted.at;
      builds.push(build);
      machines.push(machineOf(id, launch, buildId));
      if (due === 'warning') {
        warnings++;
        reseed.push(build);
      }
      if (due === 'redraw') redraws++;
    } else {
      const created = now.getTime() - 3 * 60 * MINUTE;
      const launch = created + 3 * MINUTE;
      const buildId = seedBuildId(created, taken);
      builds.push({
        ...runningBuild(buildId, created, `${Math.floor(created / 1000)}.000100`, id, launch),
        Status: 'completed',
        NotifiedStatus: 'completed',
        Phase: 'completed',
        CompletionTime: iso(now.getTime() - 5 * MINUTE),
      });
      machines.push(machineOf(id, launch, i % 2 === 0 ? buildId : undefined));
    }
  }
  const active = kind === 'active' ? builds.map((b) => b.BuildID) : [];
  const items = builds.map((b) => marshall(b, { removeUndefinedValues: true }));
  if (active.length > 0) items.push(marshall({ BuildID: SLOTS_ID, Active: new Set(active) }));
  await batchWrite(client, tableName, items);
  return {
    kind,
    size,
    tableName,
    machines,
    scheduled: active,
    reseed: reseed.map((b) => marshall(b, { removeUndefinedValues: true })),
    warnings,
    redraws,
  };
}

/** Where a watchdog's calls go: loopback straight, or through the latency model's proxies. */
export interface WorkRoute {
  /** The client the store uses (its requests are counted on `counter` when given). */
  client: DynamoDBClient;
  slackUrl: string;
  ec2DelayMs: number;
}

export interface WorkRunner {
  table: WorkTable;
  run(): Promise<{ ms: number; ec2Calls: number }>;
  notifier: CountingNotifier;
  compute: ListingCompute;
}

export function workRunner(world: LocalWorld, seedClient: DynamoDBClient, table: WorkTable, route: WorkRoute, now: Date): WorkRunner {
  const compute = new ListingCompute(table.machines, route.ec2DelayMs);
  const notifier = new CountingNotifier();
  const deadlines: Deadlines = { put: async () => {}, remove: async () => {}, list: async () => [...table.scheduled] };
  const config = parseConfig({
    ...world.env,
    SLACK_API_URL: route.slackUrl,
    BUILDS_TABLE: table.tableName,
    MAX_CONCURRENT_BUILDS: String(Math.max(1, table.scheduled.length)),
    MAX_LIFETIME_HOURS: String(MAX_LIFETIME_HOURS),
  });
  const deps = wireEventDeps(
    { dynamo: route.client, slackBotToken: world.env.SLACK_BOT_TOKEN ?? '' },
    { config, clock: { now: () => now }, log: silent },
    { compute, quotas, deadlines, notifier, artifacts },
  );
  const watchdog = createHandler(deps);
  return {
    table,
    compute,
    notifier,
    run: async () => {
      // Untimed: the warned builds as they were before their warning.
      if (table.reseed.length > 0) await batchWrite(seedClient, table.tableName, table.reseed);
      const calls = compute.calls;
      const ms = await timed(() => watchdog({}));
      return { ms, ec2Calls: compute.calls - calls };
    },
  };
}

/** Slack calls of one warning: the thread post, and the requester's direct message (permalink, post). */
const SLACK_CALLS_PER_WARNING = 3;

/** What one run must have done: the warnings (post, DM, SNS) and redraws, nothing terminated. */
export function checkWork(r: WorkRunner, slackCalls: number, notices: number): void {
  const t = r.table;
  if (r.compute.terminated.length > 0) throw new Error(`bench: the watchdog terminated a machine on ${t.tableName}`);
  const expected = t.warnings * SLACK_CALLS_PER_WARNING + t.redraws;
  if (slackCalls !== expected || notices !== t.warnings)
    throw new Error(`bench: on ${t.tableName} the watchdog made ${slackCalls} Slack calls and ${notices} notices, expected ${expected} and ${t.warnings}`);
}

/** Loopback: `runs` runs per table, round-robin, after `warmup` untimed rounds. */
export async function measureWatchdogWork(
  world: LocalWorld,
  seedClient: DynamoDBClient,
  counter: ReadCounter,
  storeClient: DynamoDBClient,
  tables: WorkTable[],
  runs: number,
  now: Date,
  warmup = 2,
): Promise<WorkFigures[]> {
  const runners = tables.map((t) => workRunner(world, seedClient, t, { client: storeClient, slackUrl: world.slack.url, ec2DelayMs: 0 }, now));
  const samples = runners.map(() => ({ times: [] as number[], requests: new Set<number>(), slack: 0, ec2: 0 }));
  for (let i = -warmup; i < runs; i++) {
    for (const [k, r] of runners.entries()) {
      const slackBefore = world.slack.calls.length;
      const noticesBefore = r.notifier.count;
      counter.reset();
      const { ms, ec2Calls } = await r.run();
      const slack = world.slack.calls.length - slackBefore;
      checkWork(r, slack, r.notifier.count - noticesBefore);
      if (i < 0) continue;
      const s = samples[k]!;
      s.times.push(ms);
      s.requests.add(counter.requests);
      s.slack = slack;
      s.ec2 = ec2Calls;
    }
  }
  return runners.map((r, k) => {
    const s = samples[k]!;
    if (s.requests.size !== 1) throw new Error(`bench: watchdog requests varied between runs on ${r.table.tableName}: ${[...s.requests].join(', ')}`);
    return {
      kind: r.table.kind,
      size: r.table.size,
      runs: s.times.length,
      warnings: r.table.warnings,
      redraws: r.table.redraws,
      dynamoRequests: [...s.requests][0]!,
      slackCalls: s.slack,
      ec2Calls: s.ec2,
      medianMs: round(median(s.times)),
      p99Ms: round(percentile(s.times, 99)),
      minMs: round(Math.min(...s.times)),
    };
  });
}
