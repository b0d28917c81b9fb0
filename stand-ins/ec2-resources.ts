import { randomBytes } from 'node:crypto';
import type { Filter, XmlValue } from './ec2-query';
import { Ec2Error } from './ec2-query';

// The stand-in's instances and volumes, how EC2 filters them and how EC2 writes them in XML.

export type StateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

/** EC2's numeric state codes (the low byte of `instanceState/code`). */
export const STATE_CODES: Readonly<Record<StateName, number>> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export const LIVE_STATES: readonly StateName[] = ['pending', 'running', 'stopping', 'stopped'];

export interface Ec2Instance {
  instanceId: string;
  reservationId: string;
  instanceType: string;
  /** Launched with CpuOptions.NestedVirtualization=enabled. */
  nestedVirtualization?: boolean;
  subnetId: string;
  availabilityZone: string;
  state: StateName;
  launchTime: Date;
  tags: Record<string, string>;
  userData?: string;
  clientToken?: string;
  launchTemplateId?: string;
  shutdownBehavior: 'stop' | 'terminate';
  /** The root volume created with it; it stays named here after the volume is gone. */
  rootVolumeId: string;
  /** When it reached terminated: EC2 keeps listing it for about an hour after. */
  terminatedAt?: Date;
}

export interface Ec2Volume {
  volumeId: string;
  sizeGiB: number;
  availabilityZone: string;
  state: 'in-use' | 'available';
  createTime: Date;
  tags: Record<string, string>;
  attachment?: { instanceId: string; device: string; attachTime: Date; deleteOnTermination: boolean };
}

export const ROOT_DEVICE = '/dev/sda1';

/** EC2's id shape: a prefix and 17 hex digits. */
export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

/** EC2 filter values accept `*` and `?` wildcards. */
function matchesAny(actual: string | undefined, wanted: readonly string[]): boolean {
  if (actual === undefined) return false;
  return wanted.some((pattern) => {
    if (!/[*?]/.test(pattern)) return pattern === actual;
    const source = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    return new RegExp(`^${source}$`).test(actual);
  });
}

type FieldReader<T> = (resource: T) => string | string[] | undefined;

/** Every filter must match (AND); within one filter any value may (OR). */
function matchFilters<T extends { tags: Record<string, string> }>(resource: T, filters: readonly Filter[], fields: Record<string, FieldReader<T>>): boolean {
  return filters.every(({ name, values }) => {
    if (name.startsWith('tag:')) return matchesAny(resource.tags[name.slice(4)], values);
    if (name === 'tag-key') return Object.keys(resource.tags).some((key) => matchesAny(key, values));
    const read = fields[name];
    if (!read) throw new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
    const actual = read(resource);
    return Array.isArray(actual) ? actual.some((a) => matchesAny(a, values)) : matchesAny(actual, values);
  });
}

const INSTANCE_FIELDS: Record<string, FieldReader<Ec2Instance>> = {
  'instance-state-name': (i) => i.state,
  'instance-state-code': (i) => String(STATE_CODES[i.state]),
  'instance-id': (i) => i.instanceId,
  'instance-type': (i) => i.instanceType,
  'availability-zone': (i) => i.availabilityZone,
  'subnet-id': (i) => i.subnetId,
  'client-token': (i) => i.clientToken,
};

const VOLUME_FIELDS: Record<string, FieldReader<Ec2Volume>> = {
  status: (v) => v.state,
  'volume-id': (v) => v.volumeId,
  'availability-zone': (v) => v.availabilityZone,
  'attachment.instance-id': (v) => v.attachment?.instanceId,
  'attachment.delete-on-termination': (v) => (v.attachment ? String(v.attachment.deleteOnTermination) : undefined),
};

export function instanceMatches(instance: Ec2Instance, filters: readonly Filter[]): boolean {
  return matchFilters(instance, filters, INSTANCE_FIELDS);
}

export function volumeMatches(volume: Ec2Volume, filters: readonly Filter[]): boolean {
  return matchFilters(volume, filters, VOLUME_FIELDS);
}

function tagSet(tags: Record<string, string>): XmlValue {
  const items = Object.entries(tags).map(([key, value]) => ({ key, value }));
  // EC2 leaves tagSet out when there are no tags.
  return items.length > 0 ? items : undefined;
}

export function stateXml(state: StateName): XmlValue {
  return { code: STATE_CODES[state], name: state };
}

export function instanceXml(instance: Ec2Instance, volume: Ec2Volume | undefined): XmlValue {
  const attached = volume?.attachment?.instanceId === instance.instanceId ? volume.attachment : undefined;
  return {
    instanceId: instance.instanceId,
    instanceState: stateXml(instance.state),
    instanceType: instance.instanceType,
    launchTime: instance.launchTime,
    placement: { availabilityZone: instance.availabilityZone, tenancy: 'default' },
    subnetId: instance.subnetId,
    clientToken: instance.clientToken,
    rootDeviceType: 'ebs',
    rootDeviceName: ROOT_DEVICE,
    blockDeviceMapping: attached
      ? [
          {
            deviceName: attached.device,
            ebs: {
              volumeId: instance.rootVolumeId,
              status: 'attached',
              attachTime: attached.attachTime,
              deleteOnTermination: attached.deleteOnTermination,
            },
          },
        ]
      : [],
    tagSet: tagSet(instance.tags),
  };
}

export function volumeXml(volume: Ec2Volume): XmlValue {
  const a = volume.attachment;
  return {
    volumeId: volume.volumeId,
    size: volume.sizeGiB,
    snapshotId: '',
    availabilityZone: volume.availabilityZone,
    status: volume.state,
    createTime: volume.createTime,
    attachmentSet: a
      ? [
          {
            volumeId: volume.volumeId,
            instanceId: a.instanceId,
            device: a.device,
            status: 'attached',
            attachTime: a.attachTime,
            deleteOnTermination: a.deleteOnTermination,
          },
        ]
      : [],
    tagSet: tagSet(volume.tags),
    volumeType: 'gp3',
    iops: 3000,
    throughput: 125,
    encrypted: false,
    multiAttachEnabled: false,
  };
}
