import { randomBytes, randomUUID } from 'node:crypto';
import { createLogger } from '../adapters/aws/logger';
import { parseConfig } from '../domain/config';
import type { Artifacts, Compute, Deadlines, Notifier, Quotas } from '../domain/ports';
import { wireEventDeps } from '../events/deps';
import { createHandler } from '../events/instance-state';
import type { LocalWorld } from './local-world';
import type { WatchdogTables } from './watchdog';
import { median, percentile, round, timed } from './stats';

// Measurement 5: every EC2 state change of the account reaches instance-state, almost all of
// them for instances that are not ours. Each costs one InstanceIndex query that finds nothing;
// measured per event over the history tables (the index holds every past build's instance).

export interface InstanceStateFigures {
  historical: number;
  events: number;
  itemsReadPerEvent: number;
  requestsPerEvent: number;
  medianMs: number;
  p99Ms: number;
}

const WARMUP = 25;
const STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'] as const;
const silent = createLogger({}, () => {});

/** An EventBridge delivery of EC2's state change for an instance of someone else's. */
export function foreignInstanceEvent(i: number): Record<string, unknown> {
  const instanceId = `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '000000000000',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: [`arn:aws:ec2:us-east-1:000000000000:instance/${instanceId}`],
    detail: { 'instance-id': instanceId, state: STATES[i % STATES.length] },
  };
}

const nothing = (what: string) => () => {
  throw new Error(`bench: instance-state used ${what} for an unknown instance`);
};

export async function measureInstanceState(world: LocalWorld, seeded: WatchdogTables, events: number): Promise<InstanceStateFigures[]> {
  const figures: InstanceStateFigures[] = [];
  const ec2 = nothing('EC2');
  const compute: Compute = {
    launch: ec2,
    terminate: ec2,
    listTagged: ec2,
    liveMachinesOf: ec2,
    subnetZones: ec2,
    offeredZones: ec2,
    vcpusOf: ec2,
    nestedVirtualizationTypes: ec2,
    rootSnapshotSizeGb: ec2,
    standardVcpusInUse: ec2,
    looseVolumes: ec2,
    deleteVolume: ec2,
  };
  const quotas: Quotas = { onDemandStandardVcpus: nothing('Service Quotas') };
  // Events of instances that are not ours never reach the schedules.
  const deadlines: Deadlines = { put: nothing('Scheduler'), remove: nothing('Scheduler'), list: nothing('Scheduler') };
  const notifier: Notifier = { notify: nothing('SNS') };
  const artifacts: Artifacts = { size: nothing('S3'), copy: nothing('S3'), digest: nothing('S3'), write: nothing('S3'), remove: nothing('S3') };
  for (const table of seeded.tables) {
    const deps = wireEventDeps(
      { dynamo: seeded.client, slackBotToken: world.env.SLACK_BOT_TOKEN ?? '' },
      { config: parseConfig({ ...world.env, BUILDS_TABLE: table.tableName }), clock: { now: () => new Date() }, log: silent },
      { compute, quotas, deadlines, notifier, artifacts },
    );
    const handler = createHandler(deps);
    const times: number[] = [];
    let items = 0;
    let requests = 0;
    for (let i = -WARMUP; i < events; i++) {
      const event = foreignInstanceEvent(i);
      seeded.counter.reset();
      const ms = await timed(() => handler(event));
      if (i < 0) continue;
      times.push(ms);
      items += seeded.counter.items;
      requests += seeded.counter.requests;
    }
    figures.push({
      historical: table.historical,
      events,
      itemsReadPerEvent: round(items / events),
      requestsPerEvent: round(requests / events),
      medianMs: round(median(times)),
      p99Ms: round(percentile(times, 99)),
    });
  }
  return figures;
}
