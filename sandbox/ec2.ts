import { randomBytes } from 'node:crypto';
import type { InstanceState } from '../core/build';
import { isInstanceEnding } from '../core/build';
import type { Compute, LaunchRequest, LaunchResult, Machine } from '../core/ports';
import type { SimulatedClock } from './clock';

// EC2 behind the Compute port, in simulated time: launch → pending, running a minute later;
// terminate (or the machine powering itself off) → shutting-down, terminated a minute later.
// Every state change is announced as EC2 announces it, through `onStateChange`. The real EC2
// adapter (events/) is not exercised here.

/** How long EC2 takes from pending to running, and from shutting-down to terminated. */
const TRANSITION_MINUTES = 1;
/**
 * EventBridge hands EC2's state-change notifications over seconds after the change, not while
 * the TerminateInstances call that caused it is still returning; delivering them at once would
 * make every terminating handler race the instance-state handler.
 */
const NOTIFICATION_DELAY_MINUTES = 10 / 60;
const LIVE_STATES: readonly InstanceState[] = ['pending', 'running', 'stopping', 'stopped'];

export interface SimInstance extends Machine {
  clientToken: string;
  subnetId: string;
  /** When it reached shutting-down (simulated time), for the page. */
  endedAt?: string;
}

export type StateListener = (instance: SimInstance) => void;

export interface SimulatedEc2Options {
  clock: SimulatedClock;
  region: string;
  /** The configured subnets; the n-th lies in the region's n-th zone (a, b, …). */
  subnetIds: readonly string[];
  /** Instance types EC2 has no capacity for right now (the `no-capacity` outcome). */
  unavailableTypes: () => readonly string[];
}

export class SimulatedEc2 implements Compute {
  private readonly instances = new Map<string, SimInstance>();
  private readonly stateListeners: StateListener[] = [];

  constructor(private readonly options: SimulatedEc2Options) {}

  /** Every state change, pending included, in order, as EventBridge delivers it (a little later). */
  onStateChange(listener: StateListener): void {
    this.stateListeners.push(listener);
  }

  availabilityZone(subnetId: string): string {
    const index = Math.max(0, this.options.subnetIds.indexOf(subnetId));
    return `${this.options.region}${String.fromCharCode(97 + (index % 26))}`;
  }

  async launch(request: LaunchRequest): Promise<LaunchResult> {
    // EC2's idempotency: the same ClientToken returns the instance it already launched.
    const earlier = [...this.instances.values()].find((i) => i.clientToken === request.clientToken);
    if (earlier) return { ok: true, instance: launched(earlier) };

    const availabilityZone = this.availabilityZone(request.subnetId);
    if (this.options.unavailableTypes().includes(request.instanceType)) {
      return {
        ok: false,
        code: 'InsufficientInstanceCapacity',
        message:
          `We currently do not have sufficient ${request.instanceType} capacity in the Availability Zone you requested ` +
          `(${availabilityZone}). Our system will be working on provisioning additional capacity.`,
      };
    }
    const instance: SimInstance = {
      instanceId: `i-0${randomBytes(8).toString('hex')}`,
      instanceType: request.instanceType,
      availabilityZone,
      subnetId: request.subnetId,
      state: 'pending',
      launchTime: this.options.clock.now().toISOString(),
      tags: { ...request.tags },
      clientToken: request.clientToken,
    };
    this.instances.set(instance.instanceId, instance);
    this.announce(instance);
    this.options.clock.after(TRANSITION_MINUTES, () => {
      if (instance.state === 'pending') this.setState(instance, 'running');
    });
    return { ok: true, instance: launched(instance) };
  }

  async terminate(instanceIds: string[]): Promise<void> {
    for (const id of instanceIds) {
      const instance = this.instances.get(id);
      if (instance) this.end(instance);
    }
  }

  async listTagged(): Promise<Machine[]> {
    return [...this.instances.values()]
      .filter((i) => LIVE_STATES.includes(i.state) && i.tags.Project === 'labapp' && i.tags.AutoDelete === 'true')
      .map(machine);
  }

  async liveMachinesOf(buildId: string): Promise<Machine[]> {
    return [...this.instances.values()]
      .filter((i) => LIVE_STATES.includes(i.state) && i.tags.BuildID === buildId && i.tags.Project === 'labapp')
      .map(machine);
  }

  async subnetZones(subnetIds: readonly string[]): Promise<Record<string, string>> {
    return Object.fromEntries(subnetIds.map((id) => [id, this.availabilityZone(id)]));
  }

  async offeredZones(instanceTypes: readonly string[]): Promise<Record<string, string[]>> {
    const zones = this.options.subnetIds.map((id) => this.availabilityZone(id));
    return Object.fromEntries(instanceTypes.map((t) => [t, zones]));
  }

  async vcpusOf(instanceTypes: readonly string[]): Promise<Record<string, number>> {
    return Object.fromEntries(instanceTypes.map((t) => [t, t.endsWith('.metal') ? 72 : 2]));
  }

  async standardVcpusInUse(): Promise<number> {
    return 0;
  }

  /** The machine's own `shutdown -h now`: with shutdown behaviour "terminate" it ends as a terminate does. */
  powerOff(instanceId: string): void {
    const instance = this.instances.get(instanceId);
    if (instance) this.end(instance);
  }

  get(instanceId: string): SimInstance | undefined {
    return this.instances.get(instanceId);
  }

  /** Every instance ever launched here, newest first (for the page). */
  all(): SimInstance[] {
    return [...this.instances.values()].reverse().map((i) => ({ ...i, tags: { ...i.tags } }));
  }

  private end(instance: SimInstance): void {
    if (isInstanceEnding(instance.state)) return;
    instance.endedAt = this.options.clock.now().toISOString();
    this.setState(instance, 'shutting-down');
    this.options.clock.after(TRANSITION_MINUTES, () => this.setState(instance, 'terminated'));
  }

  private setState(instance: SimInstance, state: InstanceState): void {
    instance.state = state;
    this.announce(instance);
  }

  private announce(instance: SimInstance): void {
    const snapshot: SimInstance = { ...instance, tags: { ...instance.tags } };
    this.options.clock.after(NOTIFICATION_DELAY_MINUTES, () => {
      for (const listener of this.stateListeners) listener(snapshot);
    });
  }
}

function launched(i: SimInstance) {
  return { instanceId: i.instanceId, instanceType: i.instanceType, availabilityZone: i.availabilityZone, launchTime: i.launchTime };
}

function machine(i: SimInstance): Machine {
  return {
    instanceId: i.instanceId,
    instanceType: i.instanceType,
    availabilityZone: i.availabilityZone,
    state: i.state,
    launchTime: i.launchTime,
    tags: { ...i.tags },
  };
}
