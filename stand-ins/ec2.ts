import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RefusalRule } from './ec2-catalog';
import { Catalog } from './ec2-catalog';
import type { QueryParams, XmlValue } from './ec2-query';
import { Ec2Error, answerError, answerXml, decodeForm, filters, members, page, tags, values } from './ec2-query';
import type { Ec2Instance, Ec2Volume, StateName } from './ec2-resources';
import { LIVE_STATES, ROOT_DEVICE, instanceMatches, instanceXml, newId, stateXml, volumeMatches, volumeXml } from './ec2-resources';
import { readBody } from './wire';

// EC2 on loopback for the real @aws-sdk/client-ec2 (endpoint or AWS_ENDPOINT_URL_EC2 pointed at
// it): the AWS Query protocol in, EC2's XML out, signatures not checked. Machines move through
// EC2's states on an injected clock and scheduler, and each change is announced the way
// EventBridge delivers EC2's notification, a little after the change.

export type { Ec2Instance, Ec2Volume, StateName } from './ec2-resources';
export type { RefusalRule } from './ec2-catalog';

export const DEFAULT_LAUNCH_TEMPLATE_ID = 'lt-0a1b2c3d4e5f67890';

/** What EventBridge hands over for an EC2 state change (default bus, source aws.ec2). */
export interface StateChangeEvent {
  version: '0';
  id: string;
  'detail-type': 'EC2 Instance State-change Notification';
  source: 'aws.ec2';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: { 'instance-id': string; state: StateName };
}

export type StateChangeListener = (event: StateChangeEvent) => void | Promise<void>;
type Task = () => void | Promise<void>;

/** The stand-in's one image unless `images` says otherwise. */
export const DEFAULT_IMAGE_ID = 'ami-0standin00000000';

export interface Ec2StandInOptions {
  clock: { now(): Date };
  /** Runs `task` `minutes` from now (the sandbox's simulated clock); else `runPending()` does. */
  after?: (minutes: number, task: Task) => unknown;
  region?: string;
  account?: string;
  /** subnet id → Availability Zone. */
  subnets: Record<string, string>;
  launchTemplateId?: string;
  /** instance type → zones offering it; every configured zone offers every type when absent. */
  offerings?: Record<string, string[]>;
  /** instance type → default vCPUs. */
  instanceTypes?: Record<string, number>;
  /** image id → root snapshot GB (DescribeImages); default one image, DEFAULT_IMAGE_ID, of 8 GB. */
  images?: Record<string, number>;
  /** Largest page any Describe answers (default 2), MaxResults or not. */
  pageSize?: number;
  /** Root volumes survive their instance (DeleteOnTermination false). */
  keepVolumes?: boolean;
  /** What the guest's own power-off does (the launch template's setting); default terminate. */
  shutdownBehavior?: 'stop' | 'terminate';
  bootMinutes?: number;
  shutdownMinutes?: number;
  notificationDelayMinutes?: number;
}

export interface DecodedRequest {
  action: string;
  params: QueryParams;
}

export interface Ec2StandIn {
  endpoint: string;
  /** Every request that reached the server, decoded, in order. */
  requests: DecodedRequest[];
  /** Errors thrown by state-change listeners (they never break the stand-in). */
  listenerErrors: unknown[];
  /** Returns a function that removes the listener again. */
  onStateChange(listener: StateChangeListener): () => void;
  /** Refuse launches of this type (in this subnet) until the returned function is called. */
  refuse(rule: RefusalRule): () => void;
  /** The next call of `action` fails with this code and HTTP status (default 503). */
  failNext(action: string, code: string, status?: number, message?: string): void;
  /** The next `times` DescribeInstances calls do not see this instance yet (eventual consistency). */
  lagDescribe(instanceId: string, times?: number): void;
  /** The guest's own `shutdown -h now`. */
  powerOff(instanceId: string): void;
  get(instanceId: string): Ec2Instance | undefined;
  /** Newest first, copies. */
  all(): Ec2Instance[];
  volumes(): Ec2Volume[];
  /** Without `after`: runs every queued task (and those they queue) in due order, ignoring the clock. */
  runPending(): Promise<void>;
  /**
   * Tests: a machine that already exists (launched earlier, or by someone else), with its root
   * volume. Nothing is announced and no boot is scheduled: it stays in `state` until told.
   */
  add(seed: Ec2InstanceSeed): Ec2Instance;
  /**
   * Tests: what happened to a machine outside this API (someone stopped and started it in the
   * console, removed a tag). Nothing is announced; reaching terminated releases its root volume.
   */
  set(instanceId: string, change: { state?: StateName; launchTime?: Date; tags?: Record<string, string> }): void;
  /** Tests: a volume no machine uses (left by a launch whose DeleteOnTermination was off), created at `createTime`. */
  addLooseVolume(seed: { tags: Record<string, string>; createTime: Date; availabilityZone?: string; sizeGiB?: number }): string;
  /** Tests: which zones offer each type from now on (the constructor's default when undefined). */
  setOfferings(offerings: Record<string, string[]> | undefined): void;
  /** Tests: forget every machine, volume, token, request, refusal, failure and queued task. */
  reset(): void;
  close(): Promise<void>;
}

export interface Ec2InstanceSeed {
  instanceId: string;
  instanceType?: string;
  /** The subnet, or else the first configured subnet in `availabilityZone`, or else the first subnet. */
  subnetId?: string;
  availabilityZone?: string;
  state?: StateName;
  /** Default: the clock's now. */
  launchTime?: Date;
  tags?: Record<string, string>;
}

const FORGET_AFTER_MS = 60 * 60_000;
const ROOT_VOLUME_GIB = 500;

/** EventBridge's `time` has whole seconds. */
function eventTime(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}

function notFoundInstances(ids: readonly string[]): Ec2Error {
  return ids.length === 1
    ? new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${ids[0]}' does not exist`)
    : new Ec2Error('InvalidInstanceID.NotFound', `The instance IDs '${ids.join(', ')}' do not exist`);
}

/** The parameters that make two RunInstances calls "the same request" for a ClientToken. */
function fingerprint(params: QueryParams): string {
  const kept = Object.entries(params).filter(([key]) => !['Action', 'Version', 'ClientToken'].includes(key));
  return JSON.stringify(kept.sort(([a], [b]) => a.localeCompare(b)));
}

export async function startEc2StandIn(options: Ec2StandInOptions): Promise<Ec2StandIn> {
  const { clock } = options;
  const region = options.region ?? 'us-east-1';
  const account = options.account ?? '123456789012';
  const launchTemplateId = options.launchTemplateId ?? DEFAULT_LAUNCH_TEMPLATE_ID;
  const pageSize = options.pageSize ?? 2;
  const makeCatalog = (offerings: Record<string, string[]> | undefined) => Catalog.create(Object.values(options.subnets), options.instanceTypes, offerings);
  let catalog = makeCatalog(options.offerings);
  const instances = new Map<string, Ec2Instance>();
  const volumes = new Map<string, Ec2Volume>();
  const tokens = new Map<string, { fingerprint: string; instanceId: string }>();
  const listeners: StateChangeListener[] = [];
  const listenerErrors: unknown[] = [];
  const requests: DecodedRequest[] = [];
  const failures: { action: string; error: Ec2Error }[] = [];
  const lag = new Map<string, number>();
  const queue: { at: number; seq: number; task: Task }[] = [];
  let seq = 0;

  const schedule = (minutes: number, task: Task): void => {
    if (options.after) options.after(minutes, task);
    else queue.push({ at: clock.now().getTime() + minutes * 60_000, seq: seq++, task });
  };

  const announce = (instance: Ec2Instance, at: Date): void => {
    const event: StateChangeEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'EC2 Instance State-change Notification',
      source: 'aws.ec2',
      account,
      time: eventTime(at),
      region,
      resources: [`arn:aws:ec2:${region}:${account}:instance/${instance.instanceId}`],
      detail: { 'instance-id': instance.instanceId, state: instance.state },
    };
    schedule(options.notificationDelayMinutes ?? 10 / 60, async () => {
      for (const listener of [...listeners]) {
        try {
          await listener(event);
        } catch (error) {
          listenerErrors.push(error);
        }
      }
    });
  };

  const setState = (instance: Ec2Instance, state: StateName): void => {
    instance.state = state;
    const at = clock.now();
    if (state === 'terminated') {
      instance.terminatedAt = at;
      releaseVolume(instance);
    }
    announce(instance, at);
  };

  const releaseVolume = (instance: Ec2Instance): void => {
    const volume = volumes.get(instance.rootVolumeId);
    if (volume?.attachment?.instanceId !== instance.instanceId) return;
    if (volume.attachment.deleteOnTermination) volumes.delete(volume.volumeId);
    else Object.assign(volume, { state: 'available', attachment: undefined });
  };

  const shutDown = (instance: Ec2Instance): void => {
    setState(instance, 'shutting-down');
    schedule(options.shutdownMinutes ?? 1, () => {
      if (instance.state === 'shutting-down') setState(instance, 'terminated');
    });
  };

  /** Still known to EC2: terminated machines drop out of every answer an hour later. */
  const visible = (instance: Ec2Instance): boolean => !instance.terminatedAt || clock.now().getTime() - instance.terminatedAt.getTime() < FORGET_AFTER_MS;

  const known = (ids: readonly string[]): Ec2Instance[] => {
    const missing = ids.filter((id) => !instances.has(id) || !visible(instances.get(id)!));
    if (missing.length > 0) throw notFoundInstances(missing);
    return ids.map((id) => instances.get(id)!);
  };

  const reservationXml = (instance: Ec2Instance): Record<string, XmlValue> => ({
    reservationId: instance.reservationId,
    ownerId: account,
    groupSet: [],
    instancesSet: [instanceXml(instance, volumes.get(instance.rootVolumeId))],
  });

  /** The machine's root disk, attached at launch; deleted with it unless `keepVolumes`. */
  const rootVolume = (instance: Ec2Instance, zone: string, at: Date, tags: Record<string, string>, sizeGiB = ROOT_VOLUME_GIB): Ec2Volume => ({
    volumeId: instance.rootVolumeId,
    sizeGiB,
    availabilityZone: zone,
    state: 'in-use',
    createTime: at,
    tags: { ...tags },
    attachment: { instanceId: instance.instanceId, device: ROOT_DEVICE, attachTime: at, deleteOnTermination: !options.keepVolumes },
  });

  /**
   * The root disk a request's block-device mapping gives instead of the template's (a self-test):
   * only the root device, and never smaller than the images' snapshots, as EC2 refuses that.
   */
  const rootDiskOf = (params: QueryParams): number | undefined => {
    const device = params['BlockDeviceMapping.1.DeviceName'];
    if (device === undefined) return undefined;
    if (device !== '/dev/sda1' || params['BlockDeviceMapping.2.DeviceName'] !== undefined)
      throw new Ec2Error('InvalidBlockDeviceMapping', 'This stand-in takes one block-device mapping, of the root device /dev/sda1.');
    const size = Number(params['BlockDeviceMapping.1.Ebs.VolumeSize']);
    const smallest = Math.max(...Object.values(images));
    if (!Number.isInteger(size) || size < smallest)
      throw new Ec2Error('InvalidBlockDeviceMapping', `Volume of size ${String(size)}GB is smaller than snapshot, expect size >= ${smallest}GB`);
    return size;
  };

  const runInstances = (params: QueryParams): Record<string, XmlValue> => {
    if (params.MinCount !== '1' || params.MaxCount !== '1')
      throw new Ec2Error('InvalidParameterValue', 'This stand-in launches exactly one instance per request (MinCount = MaxCount = 1).');
    const token = params.ClientToken;
    if (token) {
      const earlier = tokens.get(token);
      if (earlier && earlier.fingerprint !== fingerprint(params))
        throw new Ec2Error(
          'IdempotentParameterMismatch',
          'The client token you have provided is associated with a resource that is already deleted or has different parameters. Please use a different client token.',
        );
      // EC2 answers a repeated request with the instance it launched the first time, as it is now.
      if (earlier) return reservationXml(instances.get(earlier.instanceId)!);
    }
    const templateId = params['LaunchTemplate.LaunchTemplateId'];
    if (templateId !== undefined && templateId !== launchTemplateId)
      throw new Ec2Error('InvalidLaunchTemplateId.NotFound', `The specified launch template, with template ID ${templateId}, does not exist.`);
    const instanceType = params.InstanceType;
    if (!instanceType) throw new Ec2Error('MissingParameter', 'The request must contain the parameter InstanceType');
    const subnetId =
      params.SubnetId ??
      Object.keys(options.subnets).find((id) => catalog.zonesOffering(instanceType).includes(options.subnets[id]!)) ??
      Object.keys(options.subnets)[0];
    const zone = subnetId === undefined ? undefined : options.subnets[subnetId];
    if (subnetId === undefined || zone === undefined) throw new Ec2Error('InvalidSubnetID.NotFound', `The subnet ID '${subnetId ?? ''}' does not exist`);
    const nested = params['CpuOptions.NestedVirtualization'];
    if (nested !== undefined && nested !== 'enabled' && nested !== 'disabled')
      throw new Ec2Error('InvalidParameterValue', `Invalid value '${nested}' for CpuOptions.NestedVirtualization.`);
    catalog.checkLaunch(instanceType, subnetId, zone, nested === 'enabled');

    const specs = members(params, 'TagSpecification');
    const tagsFor = (type: string) => tags(specs.find((s) => s.ResourceType === type) ?? {}, 'Tag');
    const now = clock.now();
    const behavior = params.InstanceInitiatedShutdownBehavior ?? options.shutdownBehavior ?? 'terminate';
    const instance: Ec2Instance = {
      instanceId: newId('i'),
      reservationId: newId('r'),
      instanceType,
      ...(nested === 'enabled' ? { nestedVirtualization: true } : {}),
      subnetId,
      availabilityZone: zone,
      state: 'pending',
      launchTime: now,
      tags: tagsFor('instance'),
      userData: params.UserData,
      clientToken: token,
      launchTemplateId: templateId,
      shutdownBehavior: behavior === 'stop' ? 'stop' : 'terminate',
      rootVolumeId: newId('vol'),
    };
    volumes.set(instance.rootVolumeId, rootVolume(instance, zone, now, tagsFor('volume'), rootDiskOf(params)));
    instances.set(instance.instanceId, instance);
    if (token) tokens.set(token, { fingerprint: fingerprint(params), instanceId: instance.instanceId });
    announce(instance, now);
    schedule(options.bootMinutes ?? 1, () => {
      if (instance.state === 'pending') setState(instance, 'running');
    });
    return reservationXml(instance);
  };

  const describeInstances = (params: QueryParams): Record<string, XmlValue> => {
    const ids = values(params, 'InstanceId');
    if (ids.length > 0 && params.MaxResults !== undefined)
      throw new Ec2Error('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
    const lagging = (instance: Ec2Instance): boolean => (lag.get(instance.instanceId) ?? 0) > 0;
    const requested = ids.length > 0 ? known(ids) : [...instances.values()].filter(visible);
    if (ids.length > 0 && requested.some(lagging)) throw notFoundInstances(requested.filter(lagging).map((i) => i.instanceId));
    const wanted = filters(params);
    const matching = requested.filter((instance) => !lagging(instance) && instanceMatches(instance, wanted));
    for (const [id, times] of lag) {
      if (times <= 1) lag.delete(id);
      else lag.set(id, times - 1);
    }
    const { items, nextToken } = page(params, 'DescribeInstances', matching, pageSize);
    return { reservationSet: items.map(reservationXml), nextToken };
  };

  const terminateInstances = (params: QueryParams): Record<string, XmlValue> => {
    const changes = known(values(params, 'InstanceId')).map((instance) => {
      const previous = instance.state;
      if (LIVE_STATES.includes(previous)) shutDown(instance);
      return { instanceId: instance.instanceId, currentState: stateXml(instance.state), previousState: stateXml(previous) };
    });
    return { instancesSet: changes };
  };

  const volumeOf = (volumeId: string): Ec2Volume => {
    const volume = volumes.get(volumeId);
    if (!volume) throw new Ec2Error('InvalidVolume.NotFound', `The volume '${volumeId}' does not exist.`);
    return volume;
  };

  const describeVolumes = (params: QueryParams): Record<string, XmlValue> => {
    const ids = values(params, 'VolumeId');
    const wanted = filters(params);
    const chosen = (ids.length > 0 ? ids.map(volumeOf) : [...volumes.values()]).filter((v) => volumeMatches(v, wanted));
    const { items, nextToken } = page(params, 'DescribeVolumes', chosen, pageSize);
    return { volumeSet: items.map(volumeXml), nextToken };
  };

  const deleteVolume = (params: QueryParams): Record<string, XmlValue> => {
    const volume = volumeOf(params.VolumeId ?? '');
    if (volume.attachment) throw new Ec2Error('VolumeInUse', `Volume ${volume.volumeId} is currently attached to ${volume.attachment.instanceId}`);
    volumes.delete(volume.volumeId);
    return { return: true };
  };

  const createTags = (params: QueryParams): Record<string, XmlValue> => {
    const added = tags(params);
    const targets = values(params, 'ResourceId').map((id): { tags: Record<string, string> } => {
      if (id.startsWith('i-')) return known([id])[0]!;
      if (id.startsWith('vol-')) return volumeOf(id);
      throw new Ec2Error('InvalidID', `The ID '${id}' is not valid`);
    });
    for (const target of targets) Object.assign(target.tags, added);
    return { return: true };
  };

  // The launch asks which zone each configured subnet is in (adapters/aws/ec2-compute.ts subnetZones).
  const describeSubnets = (params: QueryParams): Record<string, XmlValue> => {
    const ids = values(params, 'SubnetId');
    const unknown = ids.filter((id) => options.subnets[id] === undefined);
    if (unknown.length > 0) throw new Ec2Error('InvalidSubnetID.NotFound', `The subnet ID '${unknown.join("', '")}' does not exist`);
    const chosen = ids.length > 0 ? ids : Object.keys(options.subnets);
    return {
      subnetSet: chosen.map((subnetId) => ({ subnetId, availabilityZone: options.subnets[subnetId]!, state: 'available', vpcId: 'vpc-0standin0000000' })),
    };
  };

  // The self-test's launch reads the builder AMI's root snapshot size (adapters/aws/ec2-compute.ts rootSnapshotSizeGb).
  const images = options.images ?? { [DEFAULT_IMAGE_ID]: 8 };
  const describeImages = (params: QueryParams): Record<string, XmlValue> => {
    const ids = values(params, 'ImageId');
    const unknown = ids.filter((id) => images[id] === undefined);
    if (unknown.length > 0) throw new Ec2Error('InvalidAMIID.NotFound', `The image id '[${unknown.join(', ')}]' does not exist`);
    return {
      imagesSet: ids.map((imageId) => ({
        imageId,
        rootDeviceName: '/dev/sda1',
        blockDeviceMapping: [{ deviceName: '/dev/sda1', ebs: { volumeSize: images[imageId]!, volumeType: 'gp3' } }],
      })),
    };
  };

  const actions: Record<string, (params: QueryParams) => Record<string, XmlValue>> = {
    DescribeImages: describeImages,
    DescribeSubnets: describeSubnets,
    RunInstances: runInstances,
    DescribeInstances: describeInstances,
    TerminateInstances: terminateInstances,
    DescribeInstanceTypeOfferings: (params) => catalog.describeOfferings(params, region, pageSize),
    DescribeInstanceTypes: (params) => catalog.describeTypes(params, pageSize),
    DescribeVolumes: describeVolumes,
    DeleteVolume: deleteVolume,
    CreateTags: createTags,
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const params = decodeForm(await readBody(req));
      const action = params.Action ?? '';
      requests.push({ action, params });
      const failure = failures.findIndex((f) => f.action === action);
      if (failure >= 0) throw failures.splice(failure, 1)[0]!.error;
      const run = req.method === 'POST' ? actions[action] : undefined;
      if (!run) throw new Ec2Error('InvalidAction', `The action ${action} is not valid for this web service.`);
      answerXml(res, action, run(params));
    } catch (error) {
      answerError(res, error instanceof Ec2Error ? error : new Ec2Error('InternalError', String(error), 500));
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const copy = (instance: Ec2Instance): Ec2Instance => ({ ...instance, tags: { ...instance.tags } });

  const addInstance = (seed: Ec2InstanceSeed): Ec2Instance => {
    if (instances.has(seed.instanceId)) throw new Error(`the EC2 stand-in already holds ${seed.instanceId}`);
    const subnetId =
      seed.subnetId ??
      Object.keys(options.subnets).find((id) => seed.availabilityZone === undefined || options.subnets[id] === seed.availabilityZone) ??
      Object.keys(options.subnets)[0];
    const zone = seed.availabilityZone ?? (subnetId === undefined ? undefined : options.subnets[subnetId]);
    if (subnetId === undefined || zone === undefined) throw new Error(`the EC2 stand-in has no subnet for ${seed.instanceId}`);
    const launchTime = seed.launchTime ?? clock.now();
    const instance: Ec2Instance = {
      instanceId: seed.instanceId,
      reservationId: newId('r'),
      instanceType: seed.instanceType ?? 'c5n.metal',
      subnetId,
      availabilityZone: zone,
      state: seed.state ?? 'running',
      launchTime,
      tags: { ...seed.tags },
      launchTemplateId,
      shutdownBehavior: options.shutdownBehavior ?? 'terminate',
      rootVolumeId: newId('vol'),
    };
    volumes.set(instance.rootVolumeId, rootVolume(instance, zone, launchTime, seed.tags ?? {}));
    instances.set(instance.instanceId, instance);
    if (instance.state === 'terminated') {
      instance.terminatedAt = clock.now();
      releaseVolume(instance);
    }
    return copy(instance);
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    listenerErrors,
    onStateChange(listener) {
      listeners.push(listener);
      return () => {
        const at = listeners.indexOf(listener);
        if (at >= 0) listeners.splice(at, 1);
      };
    },
    refuse: (rule) => catalog.refuse(rule),
    failNext(action, code, status = 503, message = `Injected ${code} for ${action}.`) {
      failures.push({ action, error: new Ec2Error(code, message, status) });
    },
    lagDescribe(instanceId, times = 1) {
      lag.set(instanceId, times);
    },
    powerOff(instanceId) {
      const instance = instances.get(instanceId);
      if (!instance || (instance.state !== 'running' && instance.state !== 'pending')) return;
      if (instance.shutdownBehavior === 'terminate') return shutDown(instance);
      setState(instance, 'stopping');
      schedule(options.shutdownMinutes ?? 1, () => {
        if (instance.state === 'stopping') setState(instance, 'stopped');
      });
    },
    get: (instanceId) => {
      const instance = instances.get(instanceId);
      return instance && copy(instance);
    },
    all: () => [...instances.values()].reverse().map(copy),
    volumes: () => [...volumes.values()].map((v) => ({ ...v, tags: { ...v.tags }, attachment: v.attachment && { ...v.attachment } })),
    async runPending() {
      for (;;) {
        queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
        const next = queue.shift();
        if (!next) return;
        await next.task();
      }
    },
    add: addInstance,
    addLooseVolume: (seed) => {
      const volumeId = newId('vol');
      volumes.set(volumeId, {
        volumeId,
        sizeGiB: seed.sizeGiB ?? ROOT_VOLUME_GIB,
        availabilityZone: seed.availabilityZone ?? Object.values(options.subnets)[0] ?? `${region}a`,
        state: 'available',
        createTime: seed.createTime,
        tags: { ...seed.tags },
      });
      return volumeId;
    },
    set(instanceId, change) {
      const instance = instances.get(instanceId);
      if (!instance) throw new Error(`the EC2 stand-in holds no ${instanceId}`);
      if (change.launchTime) instance.launchTime = change.launchTime;
      if (change.tags) instance.tags = { ...change.tags };
      if (change.state && change.state !== instance.state) {
        instance.state = change.state;
        if (change.state === 'terminated') {
          instance.terminatedAt = clock.now();
          releaseVolume(instance);
        }
      }
    },
    setOfferings(offerings) {
      catalog = makeCatalog(offerings ?? options.offerings);
    },
    reset() {
      instances.clear();
      volumes.clear();
      tokens.clear();
      requests.length = 0;
      listenerErrors.length = 0;
      failures.length = 0;
      lag.clear();
      queue.length = 0;
      catalog = makeCatalog(options.offerings);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
