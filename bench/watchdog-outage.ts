import { performance } from 'node:perf_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { marshall } from '@aws-sdk/util-dynamodb';
import { SLOTS_ID } from '../adapters/aws/dynamo-store';
import { createLogger } from '../adapters/aws/logger';
import { createTableInput } from '../adapters/aws/table-schema';
import type { Build } from '../domain/build';
import { parseConfig } from '../domain/config';
import type { Deadlines, Machine } from '../domain/ports';
import { wantedSchedule } from '../events/deadline-schedule';
import { wireEventDeps } from '../events/deps';
import { createHandler } from '../events/watchdog';
import { WatchdogError } from '../events/watchdog/snapshot';
import { localDynamoClient } from '../stand-ins/dynalite';
import type { Ec2StandIn } from '../stand-ins/ec2';
import { startEc2StandIn } from '../stand-ins/ec2';
import { values } from '../stand-ins/ec2-query';
import { lambdaContext } from '../stand-ins/slack-request';
import { startDelayProxy, type DelayProxy, type ForwardedCall } from './delay-proxy';
import { LATENCY_MS, type CallCounts } from './latency';
import type { LocalWorld } from './local-world';
import { median, round } from './stats';
import { artifacts, CountingNotifier, EC2_PAGE, quotas } from './watchdog';
import { batchWrite, instanceId, iso, MAX_LIFETIME_HOURS, machineOf, minutesUp, MINUTE, runningBuild, seedBuildId } from './watchdog-work';

// Measurement 6b: the latency model while Slack refuses (docs/design.md "Safety before
// bookkeeping"). One watchdog run (the real handler from its factory; the real DynamoDB store on
// dynalite, the real Ec2Compute on the EC2 stand-in, the real background WebClient on the Slack
// stand-in, each behind the latency model's delaying proxy; a Lambda context counting down from
// the function's 60 s) over a world where terminations are due:
//  - 300 running builds with their machines, one in ten due its warning and one in five its card
//    redraw (as in bench/watchdog-work.ts), of which OVERDUE are 20 minutes past their DeadlineAt
//    and their schedule is gone (warned and posted at 2 hours);
//  - 30 tagged live machines nobody accounts for, launched 20 minutes ago (past the orphan
//    grace): a third tagged with a BuildID that has no record, a third untagged with no record,
//    a third of builds completed 30 minutes ago that did not power off.
// Slack answers every call HTTP 429 with Retry-After: 20 (`throttle`), or drops every connection
// (`unreachable`). Timed from the run's start: when the last due TerminateInstances reached the
// EC2 stand-in (the EC2 proxy's forwarding time, after its 300 ms) — the goal is 5 s — and the run's
// end. Each run has a world of its own (a fresh table, the stand-in's machines added again); the
// runs alternate between the two conditions. A run is checked: exactly the due machines were
// ordered ended, each once, and no Slack call took effect.

export type SlackOutage = 'throttled' | 'down';

export const OUTAGE_ACTIVE = 300;
export const OUTAGE_UNACCOUNTED = 30;
/** Running builds past their DeadlineAt (every 60th, from the 30th). */
const OVERDUE = OUTAGE_ACTIVE / 60;
export const OUTAGE_RETRY_AFTER_SECONDS = 20;
/** The watchdog Lambda's timeout (infra/stack.ts): what the context counts down from. */
const WATCHDOG_TIMEOUT_MS = 60_000;
const SUBNET = 'subnet-0bench000000000a';

export interface OutageFigures {
  outage: SlackOutage;
  /** What Slack's 429 said (throttled only). */
  retryAfterSeconds?: number;
  runs: number;
  /** Running builds; of them `overdue` past their DeadlineAt, plus `unaccounted` machines: the TerminateInstances due per run. */
  active: number;
  overdue: number;
  unaccounted: number;
  /** From the run's start until the last due TerminateInstances reached EC2. */
  terminatedMedianMs: number;
  terminatedMaxMs: number;
  /** The first due TerminateInstances, for the spread. */
  firstTerminationMs: number;
  /** From the run's start until the watchdog made its first Slack call (median). */
  firstSlackCallMs: number | undefined;
  /** The first Slack call less the last due termination's arrival, the least of the runs: negative if a termination came after a Slack call. */
  slackAfterTerminationsMs: number | undefined;
  runMedianMs: number;
  runMaxMs: number;
  /** Slack calls the watchdog made per run (all refused), and the calls it left to the next run. */
  slackCalls: number;
  deferred: number;
  /** SNS notices sent per run: mail does not wait on Slack. */
  notices: number;
  /** Steps that failed per run (the run then throws: an alarm). */
  failedSteps: number;
  /** Calls per run, by service and kind. */
  calls: CallCounts;
}

interface Seeded {
  tableName: string;
  machines: Machine[];
  scheduled: string[];
  due: Set<string>;
}

async function seedOutageTable(client: DynamoDBClient, tableName: string, now: Date): Promise<Seeded> {
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  const t = now.getTime();
  const builds: Build[] = [];
  const machines: Machine[] = [];
  const scheduled: string[] = [];
  const due = new Set<string>();
  const taken = new Set<string>();
  for (let i = 0; i < OUTAGE_ACTIVE; i++) {
    const id = instanceId(i);
    const overdue = i % 60 === 30;
    const minutes = overdue ? MAX_LIFETIME_HOURS * 60 + 20 : minutesUp(i).minutes;
    const launch = t - minutes * MINUTE - 20_000;
    const created = launch - 3 * MINUTE;
    const buildId = seedBuildId(created, taken);
    const build: Build = {
      ...runningBuild(buildId, created, `${Math.floor(created / 1000)}.${String(i).padStart(6, '0')}`, id, launch),
      DeadlineAt: iso(launch + MAX_LIFETIME_HOURS * 60 * MINUTE),
    };
    if (overdue) {
      // Warned and posted at 2 hours; the schedule that should have ended it is gone.
      build.WarnedAt = iso(launch + 120 * MINUTE);
      build.WarningPostedAt = iso(launch + 120 * MINUTE);
      due.add(id);
    } else {
      const wanted = wantedSchedule(build, { maxLifetimeHours: MAX_LIFETIME_HOURS });
      if (wanted) build.ScheduleAt = wanted.at;
      scheduled.push(buildId);
    }
    builds.push(build);
    machines.push(machineOf(id, launch, buildId));
  }
  for (let j = 0; j < OUTAGE_UNACCOUNTED; j++) {
    const id = instanceId(2_000_000 + j);
    due.add(id);
    const launch = t - 20 * MINUTE;
    // A third tagged with a BuildID nobody recorded, a third untagged, a third of completed builds.
    if (j % 3 === 0) machines.push(machineOf(id, launch, seedBuildId(launch - 3 * MINUTE, taken)));
    else if (j % 3 === 1) machines.push(machineOf(id, launch, undefined));
    else {
      const created = t - 3 * 60 * MINUTE;
      const launched = created + 3 * MINUTE;
      const buildId = seedBuildId(created, taken);
      builds.push({
        ...runningBuild(buildId, created, `${Math.floor(created / 1000)}.${String(j).padStart(6, '0')}`, id, launched),
        Status: 'completed',
        NotifiedStatus: 'completed',
        Phase: 'completed',
        DeadlineAt: iso(launched + MAX_LIFETIME_HOURS * 60 * MINUTE),
        CompletionTime: iso(t - 30 * MINUTE),
      });
      // Half found by their BuildID tag, half by InstanceIndex.
      machines.push(machineOf(id, launched, j % 2 === 0 ? buildId : undefined));
    }
  }
  const running = builds.filter((b) => b.Status === 'building').map((b) => b.BuildID);
  const items = builds.map((b) => marshall(b, { removeUndefinedValues: true }));
  items.push(marshall({ BuildID: SLOTS_ID, Active: new Set(running) }));
  await batchWrite(client, tableName, items);
  return { tableName, machines, scheduled, due };
}

function addMachines(ec2: Ec2StandIn, machines: readonly Machine[]): void {
  ec2.reset();
  for (const m of machines)
    ec2.add({ instanceId: m.instanceId, availabilityZone: m.availabilityZone, launchTime: new Date(m.launchTime), tags: m.tags, state: 'running' });
}

interface RunFigures {
  terminatedMs: number;
  firstTerminationMs: number;
  firstSlackCallMs: number | undefined;
  runMs: number;
  slackCalls: number;
  deferred: number;
  notices: number;
  failedSteps: number;
}

interface Proxies {
  slack: DelayProxy;
  dynamodb: DelayProxy;
  ec2: DelayProxy;
}

async function outageRun(
  world: LocalWorld,
  ec2: Ec2StandIn,
  proxies: Proxies,
  clients: { dynamo: DynamoDBClient; ec2: EC2Client },
  seeded: Seeded,
  outage: SlackOutage,
  now: Date,
): Promise<RunFigures> {
  addMachines(ec2, seeded.machines);
  const notifier = new CountingNotifier();
  const deadlines: Deadlines = { put: async () => {}, remove: async () => {}, list: async () => [...seeded.scheduled] };
  let summary: { deferred?: number } = {};
  const log = createLogger({}, (line) => {
    if (line.includes('"watchdog run done"')) summary = JSON.parse(line) as typeof summary;
  });
  const config = parseConfig({
    ...world.env,
    SLACK_API_URL: proxies.slack.endpoint,
    BUILDS_TABLE: seeded.tableName,
    MAX_CONCURRENT_BUILDS: String(OUTAGE_ACTIVE),
    MAX_LIFETIME_HOURS: String(MAX_LIFETIME_HOURS),
  });
  const deps = wireEventDeps(
    { dynamo: clients.dynamo, slackBotToken: world.env.SLACK_BOT_TOKEN ?? '', ec2: clients.ec2 },
    { config, clock: { now: () => now }, log },
    { quotas, deadlines, notifier, artifacts },
  );
  const watchdog = createHandler(deps);

  const terminations: number[] = [];
  const slackCalls: number[] = [];
  proxies.ec2.onForward = (call: ForwardedCall) => {
    if (call.kind === 'TerminateInstances') terminations.push(call.forwardedAt);
  };
  proxies.slack.onForward = (call: ForwardedCall) => slackCalls.push(call.receivedAt);
  const slackDone = world.slack.calls.length;
  const refusedBefore = world.slack.refused();
  if (outage === 'throttled') world.slack.throttle(OUTAGE_RETRY_AFTER_SECONDS);
  else world.slack.unreachable(true);
  let failedSteps = 0;
  let started = 0;
  let runMs = 0;
  try {
    const context = lambdaContext('metal-build-watchdog', WATCHDOG_TIMEOUT_MS);
    started = performance.now();
    try {
      await watchdog({}, context);
    } catch (error) {
      if (!(error instanceof WatchdogError)) throw error;
      failedSteps = error.failures.length;
    }
    runMs = performance.now() - started;
  } finally {
    world.slack.throttle(undefined);
    world.slack.unreachable(false);
    proxies.ec2.onForward = undefined;
    proxies.slack.onForward = undefined;
  }

  // The measurement holds only if the run did what it must: every due machine ordered ended once, nothing else, no Slack call landed.
  const ordered = ec2.requests.filter((r) => r.action === 'TerminateInstances').flatMap((r) => values(r.params, 'InstanceId'));
  const wrong = ordered.filter((id) => !seeded.due.has(id));
  const missing = [...seeded.due].filter((id) => !ordered.includes(id));
  if (wrong.length > 0 || missing.length > 0 || ordered.length !== seeded.due.size || terminations.length !== ordered.length)
    throw new Error(
      `bench: on ${seeded.tableName} (Slack ${outage}) the watchdog ordered ${ordered.length} machines ended in ${terminations.length} requests; ` +
        `${missing.length} due ones missing, ${wrong.length} not due`,
    );
  if (world.slack.calls.length !== slackDone) throw new Error(`bench: a Slack call took effect while Slack was ${outage}`);
  const refused = world.slack.refused() - refusedBefore;
  if (refused !== slackCalls.length) throw new Error(`bench: Slack refused ${refused} of the ${slackCalls.length} calls made while it was ${outage}`);
  return {
    terminatedMs: Math.max(...terminations) - started,
    firstTerminationMs: Math.min(...terminations) - started,
    firstSlackCallMs: slackCalls.length > 0 ? Math.min(...slackCalls) - started : undefined,
    runMs,
    slackCalls: slackCalls.length,
    deferred: summary.deferred ?? 0,
    notices: notifier.count,
    failedSteps,
  };
}

function callCounts(proxies: Proxies, runs: number): CallCounts {
  const out: CallCounts = {};
  for (const p of Object.values(proxies)) {
    if (p.total() === 0) continue;
    out[p.name] = Object.fromEntries([...p.calls.entries()].sort().map(([k, v]) => [k, round(v / runs)]));
  }
  return out;
}

/** `runs` runs under each outage, alternating, each on a world of its own; seeding is untimed. */
export async function measureSlackOutage(world: LocalWorld, seedClient: DynamoDBClient, runs: number, now: Date): Promise<OutageFigures[]> {
  const ec2 = await startEc2StandIn({ clock: { now: () => now }, subnets: { [SUBNET]: 'us-east-1a' }, pageSize: EC2_PAGE });
  const proxies: Proxies = {
    slack: await startDelayProxy('slack', world.slack.url, LATENCY_MS.slack),
    dynamodb: await startDelayProxy('dynamodb', world.dynamo.endpoint, LATENCY_MS.dynamodb),
    ec2: await startDelayProxy('ec2', ec2.endpoint, LATENCY_MS.ec2),
  };
  const clients = {
    dynamo: localDynamoClient(proxies.dynamodb.endpoint),
    ec2: new EC2Client({ region: 'us-east-1', endpoint: proxies.ec2.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  };
  try {
    const outages = ['throttled', 'down'] as const;
    const results = new Map<SlackOutage, { runs: RunFigures[]; calls: Map<string, CallCounts[string]> }>(
      outages.map((o) => [o, { runs: [], calls: new Map() }]),
    );
    for (let i = 0; i < runs; i++) {
      for (const outage of outages) {
        const seeded = await seedOutageTable(seedClient, `metal-builds-slack-${outage}-${i}`, now);
        for (const p of Object.values(proxies)) p.reset();
        const r = results.get(outage)!;
        r.runs.push(await outageRun(world, ec2, proxies, clients, seeded, outage, now));
        // Summed over the runs; divided below.
        for (const [service, kinds] of Object.entries(callCounts(proxies, 1))) {
          const sum = r.calls.get(service) ?? {};
          for (const [k, v] of Object.entries(kinds)) sum[k] = (sum[k] ?? 0) + v;
          r.calls.set(service, sum);
        }
      }
    }
    return outages.map((outage) => {
      const { runs: done, calls } = results.get(outage)!;
      const last = done[done.length - 1]!;
      const firstSlack = done.flatMap((r) => (r.firstSlackCallMs === undefined ? [] : [r.firstSlackCallMs]));
      return {
        outage,
        ...(outage === 'throttled' ? { retryAfterSeconds: OUTAGE_RETRY_AFTER_SECONDS } : {}),
        runs: done.length,
        active: OUTAGE_ACTIVE,
        overdue: OVERDUE,
        unaccounted: OUTAGE_UNACCOUNTED,
        terminatedMedianMs: round(median(done.map((r) => r.terminatedMs))),
        terminatedMaxMs: round(Math.max(...done.map((r) => r.terminatedMs))),
        firstTerminationMs: round(median(done.map((r) => r.firstTerminationMs))),
        firstSlackCallMs: firstSlack.length > 0 ? round(median(firstSlack)) : undefined,
        slackAfterTerminationsMs:
          firstSlack.length > 0
            ? round(Math.min(...done.flatMap((r) => (r.firstSlackCallMs === undefined ? [] : [r.firstSlackCallMs - r.terminatedMs]))))
            : undefined,
        runMedianMs: round(median(done.map((r) => r.runMs))),
        runMaxMs: round(Math.max(...done.map((r) => r.runMs))),
        slackCalls: last.slackCalls,
        deferred: last.deferred,
        notices: last.notices,
        failedSteps: last.failedSteps,
        calls: Object.fromEntries(
          [...calls.entries()].map(([service, kinds]) => [service, Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, round(v / done.length)]))]),
        ),
      };
    });
  } finally {
    clients.dynamo.destroy();
    clients.ec2.destroy();
    await Promise.all(Object.values(proxies).map((p) => p.close()));
    await ec2.close();
  }
}
