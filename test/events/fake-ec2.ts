import type { DescribeInstancesCommandInput, Instance, RunInstancesCommandInput, Tag } from '@aws-sdk/client-ec2';
import {
  DescribeInstancesCommand,
  EC2Client,
  EC2ServiceException,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import type { InstanceState } from '../../core/build';

// EC2 as the real Ec2Compute sees it, through aws-sdk-client-mock: RunInstances honours
// ClientToken (same token and parameters → the same instance; other parameters →
// IdempotentParameterMismatch), refuses what a test says it refuses, TerminateInstances moves
// machines to shutting-down, DescribeInstances filters by tag and state and pages (and can lag
// behind RunInstances, as EC2's does). Every request is kept for exact assertions.

export const SUBNET_ZONES: Readonly<Record<string, string>> = {
  'subnet-0aaaaaaaaaaaaaaaa': 'us-east-1a',
  'subnet-0bbbbbbbbbbbbbbbb': 'us-east-1b',
};

export interface FakeInstance {
  id: string;
  type: string;
  zone: string;
  state: InstanceState;
  launchTime: string;
  tags: Record<string, string>;
  /** RunInstances parameters, for ClientToken idempotency. */
  token?: string;
  params?: string;
  /** Not in DescribeInstances answers yet: EC2 is eventually consistent right after RunInstances. */
  unlisted?: boolean;
}

interface RefusalRule {
  type: string;
  subnet?: string;
  code: string;
  message: string;
}

export function ec2Error(code: string, message: string, fault: 'client' | 'server' = 'client'): EC2ServiceException {
  return new EC2ServiceException({ name: code, $fault: fault, message, $metadata: { httpStatusCode: fault === 'client' ? 400 : 500 } });
}

export const CAPACITY_MESSAGE = (type: string, zone: string) =>
  `We currently do not have sufficient ${type} capacity in the Availability Zone you requested (${zone}). Our system will be working on provisioning additional capacity.`;
export const QUOTA_MESSAGE =
  'You have requested more vCPU capacity than your current vCPU limit of 32 allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.';
export const UNSUPPORTED_MESSAGE = (type: string, zone: string) =>
  `Your requested instance type (${type}) is not supported in your requested Availability Zone (${zone}). Please retry your request by not specifying an Availability Zone or choosing us-east-1c, us-east-1d.`;

export class FakeEc2 {
  readonly client = new EC2Client({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  readonly stub = mockClient(this.client);
  readonly instances = new Map<string, FakeInstance>();
  private refusals: RefusalRule[] = [];
  private nextFailures: Array<{ command: 'run' | 'terminate' | 'describe'; error: Error }> = [];
  private counter = 0;
  /** DescribeInstances page size, small so the paginator is exercised. */
  pageSize = 2;
  /** Runs after a machine is created, before RunInstances answers (what happens meanwhile). */
  afterLaunch: ((instance: FakeInstance) => Promise<void>) | undefined;

  constructor(private readonly now: () => Date) {
    this.install();
  }

  reset(): void {
    this.instances.clear();
    this.refusals = [];
    this.nextFailures = [];
    this.afterLaunch = undefined;
    this.stub.reset();
    this.install();
  }

  /** A machine that already exists (launched by an earlier step or by someone else). */
  add(instance: Partial<FakeInstance> & Pick<FakeInstance, 'id'>): FakeInstance {
    const full: FakeInstance = {
      type: 'c5n.metal',
      zone: 'us-east-1a',
      state: 'running',
      launchTime: this.now().toISOString(),
      tags: {},
      ...instance,
    };
    this.instances.set(full.id, full);
    return full;
  }

  refuse(type: string, subnet: string | undefined, code: string, message: string): void {
    this.refusals.push({ type, ...(subnet ? { subnet } : {}), code, message });
  }

  /** Capacity came back (or the quota was raised): every refusal so far is lifted. */
  refuseNoMore(): void {
    this.refusals = [];
  }

  /** Someone stopped the machine and started it again: EC2 resets LaunchTime to the start. */
  stopAndStart(id: string, startedAt: string): void {
    const instance = this.instances.get(id)!;
    instance.state = 'running';
    instance.launchTime = startedAt;
  }

  /** Live (pending, running, stopping, stopped) machines tagged with this BuildID. */
  liveOf(buildId: string): FakeInstance[] {
    return [...this.instances.values()].filter((i) => i.tags.BuildID === buildId && ['pending', 'running', 'stopping', 'stopped'].includes(i.state));
  }

  /** The next call of that kind throws `error` (a transient failure). */
  failNext(command: 'run' | 'terminate' | 'describe', error: Error): void {
    this.nextFailures.push({ command, error });
  }

  runRequests(): RunInstancesCommandInput[] {
    return this.stub.commandCalls(RunInstancesCommand).map((c) => c.args[0].input);
  }

  /** Instance IDs of every TerminateInstances call, one list per call. */
  terminateRequests(): string[][] {
    return this.stub.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input.InstanceIds ?? []);
  }

  describeRequests(): DescribeInstancesCommandInput[] {
    return this.stub.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input);
  }

  private takeFailure(command: 'run' | 'terminate' | 'describe'): void {
    const i = this.nextFailures.findIndex((f) => f.command === command);
    if (i >= 0) {
      const [failure] = this.nextFailures.splice(i, 1);
      throw failure!.error;
    }
  }

  private install(): void {
    this.stub.on(RunInstancesCommand).callsFake(async (input: RunInstancesCommandInput) => {
      this.takeFailure('run');
      const type = String(input.InstanceType);
      const subnet = input.SubnetId ?? '';
      const zone = SUBNET_ZONES[subnet] ?? 'us-east-1a';
      const params = JSON.stringify({ ...input, ClientToken: undefined });
      const earlier = [...this.instances.values()].find((i) => i.token !== undefined && i.token === input.ClientToken);
      if (earlier) {
        if (earlier.params !== params)
          throw ec2Error('IdempotentParameterMismatch', 'The client token you have provided is associated with a resource that is already created with different parameters.');
        return { Instances: [this.describe(earlier)] };
      }
      const rule = this.refusals.find((r) => r.type === type && (r.subnet === undefined || r.subnet === subnet));
      if (rule) throw ec2Error(rule.code, rule.message, rule.code === 'InsufficientInstanceCapacity' ? 'server' : 'client');
      const tags: Record<string, string> = {};
      for (const spec of input.TagSpecifications ?? [])
        if (spec.ResourceType === 'instance') for (const t of spec.Tags ?? []) tags[t.Key ?? ''] = t.Value ?? '';
      const id = `i-0${(++this.counter).toString(16).padStart(16, '0')}`;
      const instance = this.add({ id, type, zone, state: 'pending', tags, token: input.ClientToken, params });
      await this.afterLaunch?.(instance);
      return { Instances: [this.describe(instance)] };
    });

    this.stub.on(TerminateInstancesCommand).callsFake(async (input: { InstanceIds?: string[] }) => {
      this.takeFailure('terminate');
      const ids = input.InstanceIds ?? [];
      const missing = ids.filter((id) => !this.instances.has(id));
      if (missing.length > 0) throw ec2Error('InvalidInstanceID.NotFound', `The instance IDs '${missing.join(', ')}' do not exist`);
      return {
        TerminatingInstances: ids.map((id) => {
          const instance = this.instances.get(id)!;
          const previous = instance.state;
          if (instance.state !== 'terminated') instance.state = 'shutting-down';
          return { InstanceId: id, PreviousState: { Name: previous }, CurrentState: { Name: instance.state } };
        }),
      };
    });

    this.stub.on(DescribeInstancesCommand).callsFake(async (input: DescribeInstancesCommandInput) => {
      this.takeFailure('describe');
      const matching = [...this.instances.values()].filter((i) => !i.unlisted && (input.Filters ?? []).every((f) => {
        const values = f.Values ?? [];
        if (f.Name === 'instance-state-name') return values.includes(i.state);
        if (f.Name?.startsWith('tag:')) return values.includes(i.tags[f.Name.slice(4)] ?? '\u0000');
        throw ec2Error('InvalidParameterValue', `The filter '${f.Name}' is invalid`);
      }));
      const start = input.NextToken ? Number(input.NextToken) : 0;
      const size = Math.min(input.MaxResults ?? 1000, this.pageSize);
      const page = matching.slice(start, start + size);
      const next = start + size < matching.length ? String(start + size) : undefined;
      return {
        // One reservation per instance, as separate RunInstances calls make them.
        Reservations: page.map((i) => ({ ReservationId: `r-${i.id.slice(2)}`, Instances: [this.describe(i)] })),
        ...(next ? { NextToken: next } : {}),
      };
    });
  }

  private describe(i: FakeInstance): Instance {
    const tags: Tag[] = Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value }));
    return {
      InstanceId: i.id,
      InstanceType: i.type as never,
      Placement: { AvailabilityZone: i.zone },
      State: { Name: i.state as never },
      LaunchTime: new Date(i.launchTime),
      Tags: tags,
    };
  }
}
