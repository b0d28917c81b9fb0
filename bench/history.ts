import type { AttributeValue, DynamoDBClient, WriteRequest } from '@aws-sdk/client-dynamodb';
import { BatchWriteItemCommand, CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Build, FinalStatus, RunningStatus } from '../domain/build';
import { RETENTION_DAYS } from '../domain/build';
import { newBuildId } from '../domain/build-id';
import { SLOTS_ID } from '../adapters/aws/dynamo-store';
import { createTableInput } from '../adapters/aws/table-schema';
import type { Machine } from '../domain/ports';

// A table with a history: `historical` final builds created 3 to 300 days ago (none recent
// enough for any watchdog rule, nor for its catch-up of missed messages), plus three running builds
// whose machines are alive and well inside their limits, holding the three slots. A watchdog
// run over it changes nothing, so every run does the same reads.

export interface SeededTable {
  tableName: string;
  historical: number;
  active: Build[];
  /** The running builds' machines, as EC2 would list them. */
  machines: Machine[];
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** The mix of a year's outcomes; most builds complete. */
const OUTCOMES: FinalStatus[] = [...Array<FinalStatus>(14).fill('completed'), 'failed', 'failed', 'terminated', 'cancelled', 'rejected', 'expired'];

/** Deterministic, so every run of the bench seeds the same table. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

function instanceId(random: () => number): string {
  let hex = '';
  for (let i = 0; i < 17; i++) hex += Math.floor(random() * 16).toString(16);
  return `i-${hex}`;
}

function finalBuild(i: number, historical: number, now: Date, random: () => number): Build {
  const created = now.getTime() - 3 * DAY - Math.floor((i * 297 * DAY) / historical) - Math.floor(random() * 60_000);
  const status = OUTCOMES[i % OUTCOMES.length]!;
  const base: Build = {
    BuildID: newBuildId(new Date(created), random),
    Status: status,
    BuildBranch: i % 7 === 0 ? `release/v1.${i % 50}` : 'main',
    BuildCommit: Math.floor(random() * 0xfffffff)
      .toString(16)
      .padStart(7, '0'),
    Requester: 'U0REQUESTER',
    Channel: 'C0SANDBOX',
    ThreadTs: `${Math.floor(created / 1000)}.000100`,
    CreatedAt: iso(created),
    CostEstimate: 5.91,
    CostMax: 11.83,
    NotifiedStatus: status,
  };
  if (status === 'rejected' || status === 'expired') {
    const end = created + 20 * MINUTE;
    return { ...base, ...(status === 'rejected' ? { DeniedBy: 'U0APPROVER' } : {}), ExpirationTime: Math.floor(end / 1000) + RETENTION_DAYS * 86_400 };
  }
  const launch = created + 3 * MINUTE;
  const end = launch + (status === 'terminated' ? 180 : status === 'cancelled' ? 20 : 85) * MINUTE;
  return {
    ...base,
    Approver: 'U0APPROVER',
    ApprovedAt: iso(created + 2 * MINUTE),
    InstanceID: instanceId(random),
    InstanceType: 'c5n.metal',
    AvailabilityZone: 'us-east-1a',
    InstanceState: 'terminated',
    LaunchTime: iso(launch),
    BuildStartTime: iso(launch + 4 * MINUTE),
    CompletionTime: iso(end),
    TerminatedAt: iso(end + MINUTE),
    ActualCost: 5.7,
    ...(status === 'completed'
      ? {
          Phase: 'completed' as const,
          ArtifactKey: `builds/${base.BuildID}/hedgehog-lab-prewarmed-0.0.0-${base.BuildCommit}.ova`,
          ArtifactBytes: 21_474_836_480,
          BuildDurationSeconds: 5100,
        }
      : {}),
    ...(status === 'failed' ? { Phase: 'failed' as const, ErrorMessage: 'packer build exited 1', LogTail: 'Build failed: step 12 of 40\n'.repeat(40) } : {}),
    ...(status === 'terminated' ? { ForcedTermination: true, TerminationReason: 'forced' as const } : {}),
    ...(status === 'cancelled' ? { CancelledBy: 'U0REQUESTER', TerminationReason: 'cancelled' as const } : {}),
    LogKey: `builds/${base.BuildID}/logs/build.log`,
    ExpirationTime: Math.floor(end / 1000) + RETENTION_DAYS * 86_400,
  };
}

/** Launched 3, 32 and 61 minutes ago: no warning, no limit, no card refresh due (every 5th minute). */
const RUNNING: Array<{ status: RunningStatus; minutesAgo: number }> = [
  { status: 'launching', minutesAgo: 3 },
  { status: 'building', minutesAgo: 32 },
  { status: 'uploading', minutesAgo: 61 },
];

function runningBuild(status: RunningStatus, minutesAgo: number, now: Date, random: () => number): { build: Build; machine: Machine } {
  const launch = now.getTime() - minutesAgo * MINUTE - 20_000;
  const created = launch - 3 * MINUTE;
  const BuildID = newBuildId(new Date(created), random);
  const machine: Machine = {
    instanceId: instanceId(random),
    instanceType: 'c5n.metal',
    availabilityZone: 'us-east-1a',
    state: 'running',
    launchTime: iso(launch),
    tags: { Project: 'labapp', Purpose: 'prewarmed-build', AutoDelete: 'true', BuildID },
  };
  const build: Build = {
    BuildID,
    Status: status,
    BuildBranch: 'main',
    BuildCommit: 'abc1234',
    Requester: 'U0REQUESTER',
    Approver: 'U0APPROVER',
    Channel: 'C0SANDBOX',
    ThreadTs: `${Math.floor(created / 1000)}.000100`,
    CreatedAt: iso(created),
    ApprovedAt: iso(created + MINUTE),
    InstanceID: machine.instanceId,
    InstanceType: machine.instanceType,
    AvailabilityZone: machine.availabilityZone,
    InstanceState: 'running',
    LaunchTime: machine.launchTime,
    ...(status === 'launching'
      ? {}
      : { Phase: status === 'building' ? ('building' as const) : ('uploading' as const), BuildStartTime: iso(launch + 4 * MINUTE) }),
    CostEstimate: 5.91,
    CostMax: 11.83,
    NotifiedStatus: status,
  };
  return { build, machine };
}

async function batchWrite(client: DynamoDBClient, tableName: string, items: Record<string, AttributeValue>[]): Promise<void> {
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })));
  const write = async (batch: WriteRequest[]): Promise<void> => {
    let pending = batch;
    while (pending.length > 0) {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
      pending = out.UnprocessedItems?.[tableName] ?? [];
    }
  };
  // A few batches in flight: dynalite is one process, more would only queue.
  const lanes = 4;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = lane; i < batches.length; i += lanes) await write(batches[i]!);
    }),
  );
}

export async function seedHistoryTable(client: DynamoDBClient, tableName: string, historical: number, now: Date): Promise<SeededTable> {
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  const random = seeded(historical);
  const builds = Array.from({ length: historical }, (_, i) => finalBuild(i, historical, now, random));
  const running = RUNNING.map((r) => runningBuild(r.status, r.minutesAgo, now, random));
  const active = running.map((r) => r.build);
  const slots = { BuildID: SLOTS_ID, Active: new Set(active.map((b) => b.BuildID)) };
  const items = [...builds, ...active].map((b) => marshall(b, { removeUndefinedValues: true }));
  items.push(marshall(slots));
  await batchWrite(client, tableName, items);
  return { tableName, historical, active, machines: running.map((r) => r.machine) };
}
