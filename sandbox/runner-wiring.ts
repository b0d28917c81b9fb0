import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { Config } from '../domain/config';
import { DETAIL_TYPES, RUNNER_SOURCE } from '../domain/events';
import { eventTokenFor } from '../events/event-token';
import type { LocalDynamo } from '../stand-ins/dynalite';
import type { Ec2StandIn } from '../stand-ins/ec2';
import type { SimulatedBucket } from './artifacts';
import type { LocalBus } from './bus';
import type { SimulatedClock } from './clock';
import type { PageJournal } from './page-state';
import type { Outcome } from './runner';
import { SimulatedRunner } from './runner';
import type { RunnerLogWriter } from './runner-log';
import { SANDBOX_EVENT_TOKEN_KEY } from './sandbox-config';

// The simulated machine's inside: the runner that plays packer/runner.sh on each machine that
// comes up, and the machines' state changes on their way to EventBridge's default bus.

export interface RunnerWorld {
  config: Config;
  clock: SimulatedClock;
  ec2: Ec2StandIn;
  dynamo: LocalDynamo;
  bucket: SimulatedBucket;
  eventBridgeClient: EventBridgeClient;
  outcome: () => Outcome;
  /** The machine's CloudWatch log. */
  log: RunnerLogWriter;
}

export function createRunner({ config, clock, ec2, dynamo, bucket, eventBridgeClient, outcome, log }: RunnerWorld): SimulatedRunner {
  return new SimulatedRunner({
    clock,
    log,
    ec2,
    store: dynamo.store,
    // What the launch put in the machine's build.json.
    eventToken: (buildId) => eventTokenFor(SANDBOX_EVENT_TOKEN_KEY, buildId),
    artifactBucket: config.artifactBucket,
    outcome,
    put: async (detail) => {
      // packer/runner.sh uploads the files before it reports `completed`.
      if (detail.artifact) bucket.uploaded(detail.artifact.bucket, detail.artifact.key, detail.artifact.bytes, detail.artifact.sha256);
      // As the instance does: PutEvents on the custom bus, from the runner's own source.
      const out = await eventBridgeClient.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: config.eventBusName,
              Source: RUNNER_SOURCE,
              DetailType: DETAIL_TYPES.phase,
              Detail: JSON.stringify(detail),
              Time: clock.now(),
            },
          ],
        }),
      );
      if ((out.FailedEntryCount ?? 0) > 0) throw new Error(`PutEvents refused the phase ${detail.phase}`);
    },
  });
}

/** Each state change: noted for the page, delivered on the default bus, and a running machine's runner started. */
export function followMachines(ec2: Ec2StandIn, bus: LocalBus, runner: SimulatedRunner, journal: PageJournal, changed: () => void): void {
  ec2.onStateChange((event) => {
    const id = event.detail['instance-id'];
    const { state } = event.detail;
    if (state === 'shutting-down' || state === 'stopping') journal.machineEnding(id);
    bus.deliverDefaultBus(event);
    const machine = ec2.get(id);
    if (state === 'running' && machine) runner.start(machine);
    changed();
  });
}
