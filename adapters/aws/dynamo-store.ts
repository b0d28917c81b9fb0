import { randomUUID } from 'node:crypto';
import type { AttributeValue, DynamoDBClient, QueryCommandInput, UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { convertToAttr, marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Build, Status } from '../../domain/build';
import { ACTIVE_STATUSES, INSTANCE_STATES, STATUSES, instanceStateRank } from '../../domain/build';
import type { BuildStore, ByStatusOptions, SlotSet, SlotTake, UpdateResult } from '../../domain/ports';
import type { Guard } from '../../domain/transition';
import { INSTANCE_INDEX, PARTITION_KEY, STATUS_INDEX } from './table-schema';
import { isConditionFailure } from './condition-failure';

// The BuildStore on DynamoDB (docs/design.md "Build record — DynamoDB" and "Concurrency"). Every
// write is one conditional single-item write; reads of lists go through StatusIndex, never Scan.
// Errors other than a failed condition (throttling, network) are thrown unchanged: the request
// path answers with an error, the events path is retried by EventBridge.

export const SLOTS_ID = '#slots';
const SLOTS_ATTRIBUTE = 'Active';
/** The builds waiting for a slot, in approval order (docs/design.md "Concurrency", the queue). */
const QUEUE_ATTRIBUTE = 'Queue';
/** Tries of a queue write that lost to another writer; each re-reads the item. */
const QUEUE_WRITE_TRIES = 8;

/**
 * The ids of the writes that landed on an item (a string set, never read outside this file and
 * dynamo-claims.ts).
 * Timeline of the case it exists for: a conditional write lands, its answer is lost (timeout),
 * the SDK sends the same request again, and that retry fails its condition because the first
 * one changed what it checks. Without the id the caller would think it lost a race (an approval
 * that puts no `Build Approved`, an Extend that adds a second hour). With it, the failed retry
 * finds its own id on the item and the write is reported as the caller's own.
 */
export const APPLIED_OPS_ATTRIBUTE = 'AppliedOps';

const marshallOptions = { removeUndefinedValues: true };

/** Collects aliased names and values: `Status` is reserved, so every name is aliased. */
export class Expression {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, AttributeValue> = {};
  private nameIds = new Map<string, string>();
  private valueCount = 0;

  name(attribute: string): string {
    let id = this.nameIds.get(attribute);
    if (!id) {
      id = `#n${this.nameIds.size}`;
      this.nameIds.set(attribute, id);
      this.names[id] = attribute;
    }
    return id;
  }

  value(value: unknown): string {
    const id = `:v${this.valueCount++}`;
    this.values[id] = convertToAttr(value, marshallOptions);
    return id;
  }

  /** The parts of a request; empty maps are left out because DynamoDB rejects them. */
  parts() {
    return {
      ...(this.nameIds.size > 0 ? { ExpressionAttributeNames: this.names } : {}),
      ...(this.valueCount > 0 ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}

export function toBuild(item: Record<string, AttributeValue>): Build {
  const { [APPLIED_OPS_ATTRIBUTE]: _ops, ...rest } = item;
  const build = unmarshall(rest) as Build & { MailSent?: Set<string> | string[]; DirectMessages?: Set<string> | string[] };
  // String sets in the table; sorted lists in the record, like every other field a plain value.
  if (build.MailSent instanceof Set) build.MailSent = [...build.MailSent].sort();
  if (build.DirectMessages instanceof Set) build.DirectMessages = [...build.DirectMessages].sort();
  // A ThreadTs written as a number elsewhere would have lost Slack's precision; keep reads uniform.
  if (build.ThreadTs !== undefined) build.ThreadTs = String(build.ThreadTs);
  return build;
}

function toItem(build: Partial<Build>, op: string): Record<string, AttributeValue> {
  const copy = { ...build };
  if (copy.ThreadTs !== undefined) copy.ThreadTs = String(copy.ThreadTs);
  return { ...marshall(copy, marshallOptions), [APPLIED_OPS_ATTRIBUTE]: { SS: [op] } };
}

/** Did the write with this id land on the item (see APPLIED_OPS_ATTRIBUTE)? */
export function carriesOp(item: Record<string, AttributeValue> | undefined, op: string): boolean {
  return item?.[APPLIED_OPS_ATTRIBUTE]?.SS?.includes(op) ?? false;
}

/** The Guard as a condition expression, plus `attribute_exists(BuildID)` so no write creates an item. */
function guardCondition(guard: Guard, x: Expression): string {
  const parts = [`attribute_exists(${x.name(PARTITION_KEY)})`];
  parts.push(`${x.name('Status')} IN (${guard.status.map((s) => x.value(s)).join(', ')})`);
  for (const attribute of guard.absent ?? []) parts.push(`attribute_not_exists(${x.name(attribute)})`);
  for (const [attribute, value] of Object.entries(guard.equals ?? {})) {
    if (value !== undefined) parts.push(`${x.name(attribute)} = ${x.value(value)}`);
  }
  if (guard.instanceStateBefore !== undefined) {
    const state = x.name('InstanceState');
    const earlier = INSTANCE_STATES.slice(0, instanceStateRank(guard.instanceStateBefore));
    parts.push(
      earlier.length === 0
        ? `attribute_not_exists(${state})`
        : `(attribute_not_exists(${state}) OR ${state} IN (${earlier.map((s) => x.value(s)).join(', ')}))`,
    );
  }
  if (guard.noticeFree !== undefined) {
    const status = x.name('NotifyingStatus');
    const since = x.name('NotifyingSince');
    parts.push(`(attribute_not_exists(${status}) OR ${status} <> ${x.value(guard.noticeFree.status)} OR ${since} < ${x.value(guard.noticeFree.staleBefore)})`);
  }
  return parts.join(' AND ');
}

export type Written = { landed: boolean; item: Record<string, AttributeValue> | undefined };

export async function getItem(client: DynamoDBClient, tableName: string, id: string): Promise<Record<string, AttributeValue> | undefined> {
  const out = await client.send(new GetItemCommand({ TableName: tableName, Key: { [PARTITION_KEY]: { S: id } }, ConsistentRead: true }));
  return out.Item;
}

/**
 * A conditional write that carries the id `op` (APPLIED_OPS_ATTRIBUTE). When its condition
 * fails, the item is read (dynalite ignores ReturnValuesOnConditionCheckFailure); an item
 * carrying `op` means this very write had landed and its answer was lost.
 */
export async function writeOnce(
  client: DynamoDBClient,
  tableName: string,
  id: string,
  op: string,
  send: () => Promise<{ Attributes?: Record<string, AttributeValue> }>,
): Promise<Written> {
  try {
    return { landed: true, item: (await send()).Attributes };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const item = error.Item ?? (await getItem(client, tableName, id));
    return { landed: item !== undefined && carriesOp(item, op), item };
  }
}

/** What a conditional update tells its caller: the stored build either way. */
export async function updateResult(store: Pick<BuildStore, 'get'>, buildId: string, written: Written): Promise<UpdateResult> {
  if (!written.landed) return { ok: false, current: written.item ? toBuild(written.item) : undefined };
  const build = written.item ? toBuild(written.item) : await store.get(buildId);
  if (!build) throw new Error(`update of ${buildId} succeeded but the item is gone`);
  return { ok: true, build };
}

const newestFirst = (a: Build, b: Build) => (a.CreatedAt < b.CreatedAt ? 1 : a.CreatedAt > b.CreatedAt ? -1 : 0);

export class DynamoBuildStore implements BuildStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    /** One id per write, so a retried write can recognise itself; injectable for replayable tests. */
    private readonly newOpId: () => string = randomUUID,
  ) {}

  private key(id: string): Record<string, AttributeValue> {
    return { [PARTITION_KEY]: { S: id } };
  }

  private getItem(id: string): Promise<Record<string, AttributeValue> | undefined> {
    return getItem(this.client, this.tableName, id);
  }

  private writeOnce(id: string, op: string, send: () => Promise<{ Attributes?: Record<string, AttributeValue> }>): Promise<Written> {
    return writeOnce(this.client, this.tableName, id, op, send);
  }

  private updateResult(buildId: string, written: Written): Promise<UpdateResult> {
    return updateResult(this, buildId, written);
  }

  async create(build: Build): Promise<boolean> {
    const x = new Expression();
    const op = this.newOpId();
    // Our own put whose answer was lost is not a BuildID collision.
    const written = await this.writeOnce(build.BuildID, op, () =>
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: toItem(build, op),
          ConditionExpression: `attribute_not_exists(${x.name(PARTITION_KEY)})`,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...x.parts(),
        }),
      ),
    );
    return written.landed;
  }

  async get(buildId: string): Promise<Build | undefined> {
    const item = await this.getItem(buildId);
    return item ? toBuild(item) : undefined;
  }

  async update(buildId: string, guard: Guard, set: Partial<Build>): Promise<UpdateResult> {
    // No status can match an empty list, and DynamoDB cannot say `IN ()`.
    if (guard.status.length === 0) return { ok: false, current: await this.get(buildId) };
    const x = new Expression();
    const op = this.newOpId();
    const assignments = Object.entries(set)
      .filter(([attribute, value]) => attribute !== PARTITION_KEY && value !== undefined)
      .map(([attribute, value]) => `${x.name(attribute)} = ${x.value(attribute === 'ThreadTs' ? String(value) : value)}`);
    const condition = guardCondition(guard, x);
    const addOp = `ADD ${x.name(APPLIED_OPS_ATTRIBUTE)} ${x.value(new Set([op]))}`;
    const written = await this.writeOnce(buildId, op, () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(buildId),
          UpdateExpression: assignments.length > 0 ? `SET ${assignments.join(', ')} ${addOp}` : addOp,
          ConditionExpression: condition,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ...x.parts(),
        }),
      ),
    );
    return this.updateResult(buildId, written);
  }

  private async query(input: Omit<QueryCommandInput, 'TableName'>, limit?: number): Promise<Build[]> {
    const builds: Build[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          ...input,
          TableName: this.tableName,
          ...(limit !== undefined ? { Limit: limit - builds.length } : {}),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      builds.push(...(out.Items ?? []).map(toBuild));
      start = out.LastEvaluatedKey;
    } while (start && (limit === undefined || builds.length < limit));
    return builds;
  }

  async findByInstance(instanceId: string): Promise<Build | undefined> {
    const x = new Expression();
    const builds = await this.query({
      IndexName: INSTANCE_INDEX.name,
      KeyConditionExpression: `${x.name(INSTANCE_INDEX.partitionKey)} = ${x.value(instanceId)}`,
      ...x.parts(),
    });
    return builds.sort(newestFirst)[0];
  }

  async byStatus(status: Status, options: ByStatusOptions = {}): Promise<Build[]> {
    if (options.limit !== undefined && options.limit <= 0) return [];
    const { createdBefore, createdSince } = options;
    const x = new Expression();
    const createdAt = () => x.name(STATUS_INDEX.sortKey ?? 'CreatedAt');
    let keyCondition = `${x.name(STATUS_INDEX.partitionKey)} = ${x.value(status)}`;
    // A query takes one sort-key condition, so both bounds are one BETWEEN (inclusive). CreatedAt
    // is always toISOString() (millisecond precision): `< before` is `<= before − 1 ms`.
    if (createdSince !== undefined && createdBefore !== undefined)
      keyCondition += ` AND ${createdAt()} BETWEEN ${x.value(createdSince)} AND ${x.value(new Date(Date.parse(createdBefore) - 1).toISOString())}`;
    else if (createdSince !== undefined) keyCondition += ` AND ${createdAt()} >= ${x.value(createdSince)}`;
    else if (createdBefore !== undefined) keyCondition += ` AND ${createdAt()} < ${x.value(createdBefore)}`;
    return this.query({ IndexName: STATUS_INDEX.name, KeyConditionExpression: keyCondition, ScanIndexForward: false, ...x.parts() }, options.limit);
  }

  async active(): Promise<Build[]> {
    const lists = await Promise.all(ACTIVE_STATUSES.map((status) => this.byStatus(status)));
    return lists.flat().sort(newestFirst);
  }

  async recent(limit: number): Promise<Build[]> {
    if (limit <= 0) return [];
    // The newest `limit` overall are among the newest `limit` of each status.
    const lists = await Promise.all(STATUSES.map((status) => this.byStatus(status, { limit })));
    return lists.flat().sort(newestFirst).slice(0, limit);
  }

  async takeSlot(buildId: string, max: number): Promise<SlotTake> {
    const x = new Expression();
    const active = x.name(SLOTS_ATTRIBUTE);
    const queue = x.name(QUEUE_ATTRIBUTE);
    const id = x.value(buildId);
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(SLOTS_ID),
          UpdateExpression: `ADD ${active} ${x.value(new Set([buildId]))}`,
          // Holding a slot already passes: both clicks of a double approval go through. A free
          // slot is taken only while nobody waits for one: first come, first served.
          ConditionExpression:
            `contains(${active}, ${id}) OR ((attribute_not_exists(${queue}) OR size(${queue}) = ${x.value(0)}) AND ` +
            `(attribute_not_exists(${active}) OR size(${active}) < ${x.value(max)}))`,
          // The set as it was: whether this write put the BuildID in, or found it there. A retry
          // after a lost answer finds its own write and says `held`: the slot is then never given
          // back by this caller, which errs towards fewer machines.
          ReturnValues: 'UPDATED_OLD',
          ...x.parts(),
        }),
      );
      const before = out.Attributes ? (unmarshall(out.Attributes)[SLOTS_ATTRIBUTE] as Set<string> | undefined) : undefined;
      return before?.has(buildId) ? 'held' : 'added';
    } catch (error) {
      if (isConditionFailure(error)) return 'full';
      throw error;
    }
  }

  async releaseSlot(buildId: string): Promise<void> {
    const x = new Expression();
    const active = x.name(SLOTS_ATTRIBUTE);
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key(SLOTS_ID),
          UpdateExpression: `DELETE ${active} ${x.value(new Set([buildId]))}`,
          // Only when held: releasing twice (redelivered events) writes nothing the second time.
          ConditionExpression: `contains(${active}, ${x.value(buildId)})`,
          ...x.parts(),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async slots(): Promise<string[]> {
    return (await this.slotSet()).active;
  }

  async slotSet(): Promise<SlotSet> {
    const item = await this.getItem(SLOTS_ID);
    const record = item ? unmarshall(item) : {};
    const active = record[SLOTS_ATTRIBUTE] as Set<string> | undefined;
    const queue = record[QUEUE_ATTRIBUTE] as string[] | undefined;
    return { active: active ? [...active].sort() : [], queue: queue ?? [] };
  }

  async enqueue(buildId: string): Promise<void> {
    const x = new Expression();
    const queue = x.name(QUEUE_ATTRIBUTE);
    const active = x.name(SLOTS_ATTRIBUTE);
    const id = x.value(buildId);
    await this.slotsUpdate({
      UpdateExpression: `SET ${queue} = list_append(if_not_exists(${queue}, ${x.value([])}), ${x.value([buildId])})`,
      // Once: a retried or repeated enqueue, or one for a build already handed a slot, writes nothing.
      ConditionExpression: `(attribute_not_exists(${queue}) OR NOT contains(${queue}, ${id})) AND (attribute_not_exists(${active}) OR NOT contains(${active}, ${id}))`,
      ...x.parts(),
    });
  }

  async leaveQueue(buildId: string): Promise<void> {
    for (let attempt = 0; attempt < QUEUE_WRITE_TRIES; attempt++) {
      const at = (await this.slotSet()).queue.indexOf(buildId);
      if (at < 0) return;
      const x = new Expression();
      const queue = x.name(QUEUE_ATTRIBUTE);
      // By position, checked: another writer may have moved the list since the read.
      if (await this.slotsUpdate({ UpdateExpression: `REMOVE ${queue}[${at}]`, ConditionExpression: `${queue}[${at}] = ${x.value(buildId)}`, ...x.parts() }))
        return;
    }
    throw new Error(`could not take ${buildId} out of the queue: it kept changing`);
  }

  async handOver(buildId: string, max: number): Promise<string | undefined> {
    for (let attempt = 0; attempt < QUEUE_WRITE_TRIES; attempt++) {
      const { active, queue } = await this.slotSet();
      if (!active.includes(buildId)) return undefined;
      // A move whose answer was lost looks like another writer's (the head is in, the set over):
      // the slot is then released below, and the watchdog launches the head it was moved to.
      const head = queue[0];
      // Handed on only when the set is not over (a hand-over half done): the slot then frees one place.
      if (head !== undefined && active.length <= max) {
        const x = new Expression();
        const a = x.name(SLOTS_ATTRIBUTE);
        const q = x.name(QUEUE_ATTRIBUTE);
        // DynamoDB refuses ADD and DELETE on one set in one update ("two document paths overlap"):
        // the head comes in first, the set is one over for a moment, then the old holder goes.
        const moved = await this.slotsUpdate({
          UpdateExpression: `ADD ${a} ${x.value(new Set([head]))} REMOVE ${q}[0]`,
          ConditionExpression: `contains(${a}, ${x.value(buildId)}) AND ${q}[0] = ${x.value(head)} AND size(${a}) <= ${x.value(max)}`,
          ...x.parts(),
        });
        if (!moved) continue;
        await this.releaseSlot(buildId);
        return head;
      }
      const x = new Expression();
      const a = x.name(SLOTS_ATTRIBUTE);
      const q = x.name(QUEUE_ATTRIBUTE);
      const released = await this.slotsUpdate({
        UpdateExpression: `DELETE ${a} ${x.value(new Set([buildId]))}`,
        // Nobody joined the queue since the read, or the set is over and frees no place.
        ConditionExpression: `contains(${a}, ${x.value(buildId)}) AND (attribute_not_exists(${q}) OR size(${q}) = ${x.value(0)} OR size(${a}) > ${x.value(max)})`,
        ...x.parts(),
      });
      if (released) return undefined;
    }
    throw new Error(`could not give back the slot of ${buildId}: the slots kept changing`);
  }

  async fillFreeSlot(max: number): Promise<string | undefined> {
    for (let attempt = 0; attempt < QUEUE_WRITE_TRIES; attempt++) {
      const { active, queue } = await this.slotSet();
      const head = queue[0];
      if (head === undefined || active.length >= max) return undefined;
      const x = new Expression();
      const a = x.name(SLOTS_ATTRIBUTE);
      const q = x.name(QUEUE_ATTRIBUTE);
      const moved = await this.slotsUpdate({
        UpdateExpression: `ADD ${a} ${x.value(new Set([head]))} REMOVE ${q}[0]`,
        ConditionExpression: `(attribute_not_exists(${a}) OR size(${a}) < ${x.value(max)}) AND ${q}[0] = ${x.value(head)}`,
        ...x.parts(),
      });
      if (moved) return head;
    }
    throw new Error('could not hand a free slot to the queue: the slots kept changing');
  }

  /** One conditional update of `#slots`; false when its condition failed. */
  private async slotsUpdate(
    input: Pick<UpdateItemCommandInput, 'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>,
  ): Promise<boolean> {
    try {
      await this.client.send(new UpdateItemCommand({ TableName: this.tableName, Key: this.key(SLOTS_ID), ...input }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
