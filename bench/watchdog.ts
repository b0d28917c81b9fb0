import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoBuildStore } from '../adapters/aws/dynamo-store';
import { createLogger } from '../adapters/aws/logger';
import { parseConfig } from '../domain/config';
import type { Artifacts, BuildStore, Compute, Deadlines, LooseVolume, Machine, Notifier, Quotas } from '../domain/ports';
import { wireEventDeps } from '../events/deps';
import { createHandler } from '../events/watchdog';
import { localDynamoClient } from '../stand-ins/dynalite';
import { seedHistoryTable, type SeededTable } from './history';
import type { LocalWorld } from './local-world';
import { countReads, type ReadCounter } from './read-counter';
import { ScanBuildStore } from './scan-store';
import { median, percentile, round, timed } from './stats';

// Measurement 4: one watchdog run (the real handler from its factory, the real DynamoDB store on
// dynalite) over tables with 10, 1,000 and 10,000 final builds of history and three running
// builds, next to the same watchdog whose store finds the active builds by Scan. EC2 is a fake
// listing the three live machines. Nothing is due, so a run reads and changes nothing else: the
// bench checks that (no termination, notification, Slack call or write happened).

export type StoreVariant = 'query' | 'scan';

export interface WatchdogFigures {
  historical: number;
  variant: StoreVariant;
  runs: number;
  /** Items read per run (constant over the runs; checked). */
  itemsRead: number;
  /** DynamoDB requests per run. */
  requests: number;
  medianMs: number;
  p99Ms: number;
}

export interface WatchdogTables {
  client: DynamoDBClient;
  counter: ReadCounter;
  tables: SeededTable[];
  now: Date;
}

const WARMUP = 5;
const silent = createLogger({}, () => {});

/** EC2's DescribeInstances page size in adapters/aws/ec2-compute.ts (MaxResults). */
export const EC2_PAGE = 100;

/**
 * EC2 as the watchdog sees it: the listed machines, nothing else. With `delayMs` (the latency
 * model) each call EC2 would get takes that long: one DescribeInstances per page of EC2_PAGE
 * machines, one DescribeVolumes; `calls` counts them.
 */
export class ListingCompute implements Compute {
  readonly terminated: string[] = [];
  calls = 0;
  constructor(
    private readonly machines: Machine[],
    private readonly delayMs = 0,
  ) {}
  private async call(): Promise<void> {
    this.calls++;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
  }
  launch(): never {
    throw new Error('bench: the watchdog launched a machine');
  }
  async terminate(instanceIds: string[]): Promise<void> {
    this.terminated.push(...instanceIds);
  }
  async listTagged(): Promise<Machine[]> {
    for (let page = 0; page < Math.max(1, Math.ceil(this.machines.length / EC2_PAGE)); page++) await this.call();
    return this.machines.map((m) => ({ ...m, tags: { ...m.tags } }));
  }
  liveMachinesOf(): never {
    throw new Error('bench: the watchdog looked for a launch to adopt');
  }
  subnetZones(): never {
    throw new Error('bench: the watchdog looked at subnets');
  }
  offeredZones(): never {
    throw new Error('bench: the watchdog looked at instance type offerings');
  }
  vcpusOf(): never {
    throw new Error('bench: the watchdog looked at instance types');
  }
  nestedVirtualizationTypes(): never {
    throw new Error('bench: the watchdog looked at instance types');
  }
  rootSnapshotSizeGb(): never {
    throw new Error('bench: the watchdog looked at images');
  }
  standardVcpusInUse(): never {
    throw new Error('bench: the watchdog counted vCPUs');
  }
  async looseVolumes(): Promise<LooseVolume[]> {
    await this.call();
    return [];
  }
  deleteVolume(): never {
    throw new Error('bench: the watchdog deleted a volume');
  }
}

/** No schedules: each active build's is set once, then only listed (one call per run). */
const deadlines: Deadlines = {
  put: async () => {},
  remove: async () => {},
  list: async () => [],
};

export const quotas: Quotas = {
  onDemandStandardVcpus: () => {
    throw new Error('bench: the watchdog read a quota');
  },
};

/** The watchdog touches no S3 object. */
export const artifacts: Artifacts = {
  size: () => {
    throw new Error('bench: the watchdog read an S3 object');
  },
  copy: () => {
    throw new Error('bench: the watchdog copied an S3 object');
  },
  digest: () => {
    throw new Error('bench: the watchdog read an S3 object');
  },
  write: () => {
    throw new Error('bench: the watchdog wrote an S3 object');
  },
  remove: () => {
    throw new Error('bench: the watchdog deleted an S3 object');
  },
};

export class CountingNotifier implements Notifier {
  count = 0;
  async notify(): Promise<void> {
    this.count++;
  }
}

export async function seedWatchdogTables(world: LocalWorld, sizes: readonly number[], now: Date): Promise<WatchdogTables> {
  const client = localDynamoClient(world.dynamo.endpoint);
  const tables: SeededTable[] = [];
  for (const size of sizes) tables.push(await seedHistoryTable(client, `metal-builds-history-${size}`, size, now));
  // Counting starts after seeding: BatchWriteItem is no read.
  const counter = countReads(client);
  return { client, counter, tables, now };
}

function storeFor(variant: StoreVariant, client: DynamoDBClient, tableName: string): BuildStore {
  return variant === 'query' ? new DynamoBuildStore(client, tableName) : new ScanBuildStore(client, tableName);
}

interface Runner {
  table: SeededTable;
  variant: StoreVariant;
  watchdog: ReturnType<typeof createHandler>;
  compute: ListingCompute;
  notifier: CountingNotifier;
  times: number[];
  items: Set<number>;
  requests: Set<number>;
}

function runner(world: LocalWorld, seeded: WatchdogTables, table: SeededTable, variant: StoreVariant): Runner {
  const compute = new ListingCompute(table.machines);
  const notifier = new CountingNotifier();
  const deps = wireEventDeps(
    { dynamo: seeded.client, slackBotToken: world.env.SLACK_BOT_TOKEN ?? '' },
    {
      config: parseConfig({ ...world.env, BUILDS_TABLE: table.tableName, MAX_CONCURRENT_BUILDS: String(table.active.length) }),
      clock: { now: () => seeded.now },
      log: silent,
    },
    { store: storeFor(variant, seeded.client, table.tableName), compute, quotas, deadlines, notifier, artifacts },
  );
  return { table, variant, watchdog: createHandler(deps), compute, notifier, times: [], items: new Set(), requests: new Set() };
}

function figures(r: Runner): WatchdogFigures {
  if (r.compute.terminated.length > 0 || r.notifier.count > 0)
    throw new Error(`bench: the watchdog acted on ${r.table.tableName} (${r.variant}); the seed is not a quiet table`);
  if (r.items.size !== 1 || r.requests.size !== 1)
    throw new Error(`bench: watchdog reads varied between runs on ${r.table.tableName} (${r.variant}): ${[...r.items].join(', ')}`);
  return {
    historical: r.table.historical,
    variant: r.variant,
    runs: r.times.length,
    itemsRead: [...r.items][0]!,
    requests: [...r.requests][0]!,
    medianMs: round(median(r.times)),
    p99Ms: round(percentile(r.times, 99)),
  };
}

/**
 * Round-robin over the tables (one run on each per round), so a burst of load on the machine
 * falls on every history size alike and the ratio between them stays meaningful. `runs` may
 * differ per variant: a Scan of 10,000 items costs about as much as a hundred Query runs.
 */
export async function measureWatchdog(world: LocalWorld, seeded: WatchdogTables, runs: Record<StoreVariant, number>): Promise<WatchdogFigures[]> {
  const slackCalls = world.slack.calls.length;
  const variants = ['query', 'scan'] as const;
  const runners = variants.flatMap((variant) => seeded.tables.map((table) => runner(world, seeded, table, variant)));
  for (let i = -WARMUP; i < Math.max(runs.query, runs.scan); i++) {
    for (const r of runners) {
      if (i >= runs[r.variant]) continue;
      seeded.counter.reset();
      const ms = await timed(() => r.watchdog({}));
      if (i < 0) continue;
      r.times.push(ms);
      r.items.add(seeded.counter.items);
      r.requests.add(seeded.counter.requests);
    }
  }
  if (world.slack.calls.length !== slackCalls) throw new Error('bench: the watchdog called Slack; the seed is not a quiet table');
  return runners.map(figures);
}
