import { EC2Client } from '@aws-sdk/client-ec2';
import type { QueryParams } from '../../stand-ins/ec2-query';
import { values } from '../../stand-ins/ec2-query';
import type { Ec2Instance, Ec2InstanceSeed, Ec2StandIn, RefusalRule, StateName } from '../../stand-ins/ec2';
import { startEc2StandIn } from '../../stand-ins/ec2';

// EC2 for the events handlers' tests: the EC2 stand-in on loopback (stand-ins/ec2.ts) reached
// by a real EC2Client, and what the tests ask of it, read from the decoded Query requests
// that reached it. Machines move only when a test says so (no `after`, no runPending).

export type { Ec2Instance } from '../../stand-ins/ec2';

export interface Ec2WorldOptions {
  clock: { now(): Date };
  subnets: Record<string, string>;
  launchTemplateId: string;
  region: string;
}

/** A DescribeInstances request: its Query parameters, and its filters as the SDK input spelled them. */
export interface DescribeRequest {
  params: QueryParams;
  Filters: Array<{ Name: string; Values: string[] }>;
  MaxResults: number | undefined;
}

export class Ec2World {
  /** The real client the handlers' Ec2Compute sends through (no retries: one request per call). */
  readonly client: EC2Client;
  /**
   * Runs after EC2 has answered a RunInstances that started a machine, before the handler sees
   * the answer: what happens while EC2 is starting it. A client middleware, since the wire has
   * no such moment the stand-in could offer.
   */
  afterLaunch: ((instanceId: string) => Promise<void>) | undefined;
  private lifts: Array<() => void> = [];

  private constructor(
    readonly standIn: Ec2StandIn,
    region: string,
  ) {
    this.client = new EC2Client({
      region,
      endpoint: standIn.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const out = result.output as { Instances?: Array<{ InstanceId?: string }> };
        const id = out.Instances?.[0]?.InstanceId;
        if (context.commandName === 'RunInstancesCommand' && id && this.afterLaunch) await this.afterLaunch(id);
        return result;
      },
      { step: 'initialize', name: 'afterLaunchHook' },
    );
  }

  static async start(options: Ec2WorldOptions): Promise<Ec2World> {
    const standIn = await startEc2StandIn({
      clock: options.clock,
      subnets: options.subnets,
      launchTemplateId: options.launchTemplateId,
      region: options.region,
    });
    return new Ec2World(standIn, options.region);
  }

  reset(): void {
    this.standIn.reset();
    this.afterLaunch = undefined;
    this.lifts = [];
  }

  close(): Promise<void> {
    this.client.destroy();
    return this.standIn.close();
  }

  /**
   * For test/model/money-safety.test.ts (not migrated in this change): the machines as a map of
   * live views whose `state` reads and writes the stand-in's machine.
   */
  get instances(): ReadonlyMap<string, { readonly id: string; state: StateName; readonly launchTime: string; readonly tags: Record<string, string> }> {
    const standIn = this.standIn;
    return new Map(
      this.all().map((i) => [
        i.instanceId,
        {
          id: i.instanceId,
          launchTime: i.launchTime.toISOString(),
          tags: i.tags,
          get state() {
            return standIn.get(i.instanceId)!.state;
          },
          set state(state: StateName) {
            standIn.set(i.instanceId, { state });
          },
        },
      ]),
    );
  }

  /** Every request, decoded. */
  get requests() {
    return this.standIn.requests;
  }

  /** A machine that already exists (launched by an earlier step or by someone else); running, c5n.metal, in us-east-1a unless told. */
  add(seed: { id: string; type?: string; zone?: string; state?: StateName; launchTime?: string; tags?: Record<string, string> }): Ec2Instance {
    const full: Ec2InstanceSeed = {
      instanceId: seed.id,
      instanceType: seed.type ?? 'c5n.metal',
      availabilityZone: seed.zone ?? 'us-east-1a',
      state: seed.state ?? 'running',
      tags: seed.tags ?? {},
      ...(seed.launchTime ? { launchTime: new Date(seed.launchTime) } : {}),
    };
    return this.standIn.add(full);
  }

  get(instanceId: string): Ec2Instance | undefined {
    return this.standIn.get(instanceId);
  }

  /** Oldest first. */
  all(): Ec2Instance[] {
    return this.standIn.all().reverse();
  }

  setState(instanceId: string, state: StateName): void {
    this.standIn.set(instanceId, { state });
  }

  /** Someone stopped the machine and started it again: EC2 resets LaunchTime to the start. */
  stopAndStart(instanceId: string, startedAt: string): void {
    this.standIn.set(instanceId, { state: 'running', launchTime: new Date(startedAt) });
  }

  refuse(instanceType: string, subnetId: string | undefined, code: RefusalRule['code'], message?: string): void {
    this.lifts.push(this.standIn.refuse({ instanceType, ...(subnetId ? { subnetId } : {}), code, ...(message ? { message } : {}) }));
  }

  /** Capacity came back (or the quota was raised): every refusal so far is lifted. */
  refuseNoMore(): void {
    for (const lift of this.lifts.splice(0)) lift();
  }

  /** The next call of `action` fails with this code, status and message. */
  failNext(action: string, code: string, status: number, message?: string): void {
    this.standIn.failNext(action, code, status, message);
  }

  /** Live (pending, running, stopping, stopped) machines tagged with this BuildID, oldest first. */
  liveOf(buildId: string): Ec2Instance[] {
    return this.all().filter((i) => i.tags.BuildID === buildId && ['pending', 'running', 'stopping', 'stopped'].includes(i.state));
  }

  private of(action: string): QueryParams[] {
    return this.standIn.requests.filter((r) => r.action === action).map((r) => r.params);
  }

  /** RunInstances Query parameters (`InstanceType`, `SubnetId`, `TagSpecification.1.Tag.1.Key`, …). */
  runRequests(): QueryParams[] {
    return this.of('RunInstances');
  }

  /** Instance IDs of every TerminateInstances call, one list per call. */
  terminateRequests(): string[][] {
    return this.of('TerminateInstances').map((p) => values(p, 'InstanceId'));
  }

  describeRequests(): DescribeRequest[] {
    return this.of('DescribeInstances').map((params) => {
      const Filters: DescribeRequest['Filters'] = [];
      for (let n = 1; params[`Filter.${n}.Name`] !== undefined; n++) {
        const Values: string[] = [];
        for (let v = 1; params[`Filter.${n}.Value.${v}`] !== undefined; v++) Values.push(params[`Filter.${n}.Value.${v}`]!);
        Filters.push({ Name: params[`Filter.${n}.Name`]!, Values });
      }
      return { params, Filters, MaxResults: params.MaxResults === undefined ? undefined : Number(params.MaxResults) };
    });
  }
}

/** RunInstances tags of one TagSpecification as `{ Key, Value }` pairs, in order. */
export function tagSpecification(run: QueryParams, n: number): { resourceType: string | undefined; tags: Array<{ Key: string; Value: string }> } {
  const tags: Array<{ Key: string; Value: string }> = [];
  for (let t = 1; run[`TagSpecification.${n}.Tag.${t}.Key`] !== undefined; t++)
    tags.push({ Key: run[`TagSpecification.${n}.Tag.${t}.Key`]!, Value: run[`TagSpecification.${n}.Tag.${t}.Value`] ?? '' });
  return { resourceType: run[`TagSpecification.${n}.ResourceType`], tags };
}

// EC2's own refusal texts (the stand-in's catalogue sends the same), for the pure classifier tests.
export const CAPACITY_MESSAGE = (type: string, zone: string) =>
  `We currently do not have sufficient ${type} capacity in the Availability Zone you requested (${zone}). Our system will be working on provisioning additional capacity.`;
export const QUOTA_MESSAGE =
  'You have requested more vCPU capacity than your current vCPU limit of 32 allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.';
export const UNSUPPORTED_MESSAGE = (type: string, zone: string) =>
  `Your requested instance type (${type}) is not supported in your requested Availability Zone (${zone}). Please retry your request by not specifying an Availability Zone or choosing us-east-1c, us-east-1d.`;
