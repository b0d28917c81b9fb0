import type { Build, InstanceState, Status } from './build';
import type { BuildApprovedDetail, BuildExtendedDetail, CancelRequestedDetail } from './events';
import type { Completion } from './expected-duration';
import type { CountedBuild, MonthLedger } from './spend';
import type { Guard } from './transition';

// The ports between the pure core and the world. Adapters: adapters/aws (store, bus, secrets,
// compute, notifier), adapters/slack (chat), sandbox/ (stand-ins).

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

// ---- BuildStore -------------------------------------------------------------------------

export type UpdateResult =
  | { ok: true; build: Build }
  /** The guard did not hold; `current` is the stored item (read back when the server did not return it). */
  | { ok: false; current: Build | undefined };

export interface ByStatusOptions {
  limit?: number;
  createdBefore?: string;
  createdSince?: string;
}

export interface BuildStore {
  /** Insert a new record; false when the BuildID already exists (the caller retries with a new suffix). */
  create(build: Build): Promise<boolean>;
  get(buildId: string): Promise<Build | undefined>;
  /** One conditional write: `set` lands only while `guard` holds. */
  update(buildId: string, guard: Guard, set: Partial<Build>): Promise<UpdateResult>;
  /** One InstanceIndex query. */
  findByInstance(instanceId: string): Promise<Build | undefined>;
  /**
   * Newest first from StatusIndex; `createdBefore` bounds CreatedAt (exclusive) for age queries,
   * `createdSince` (inclusive) keeps old history out of the read: it is part of the key condition.
   */
  byStatus(status: Status, options?: ByStatusOptions): Promise<Build[]>;
  /** Every build in an active status (a handful: bounded by concurrency and approval TTL). */
  active(): Promise<Build[]>;
  /** The newest `limit` builds across statuses, a few per status merged: no Scan. */
  recent(limit: number): Promise<Build[]>;
  /**
   * Concurrency step 1 (docs/design.md "Concurrency"): idempotent for the same BuildID. `added`:
   * this call put the BuildID in (it was absent before the write); `held`: it was there already
   * (another click's, or this call's own write whose answer was lost and retried); `full`: no slot.
   * Only a caller that `added` the slot may ever give it back for a failure of its own.
   */
  takeSlot(buildId: string, max: number): Promise<SlotTake>;
  /** The slot goes, to nobody: only where no build can be waiting (use `handOver` when freeing). */
  releaseSlot(buildId: string): Promise<void>;
  slots(): Promise<string[]>;
  /** `#slots` as one consistent read: the holders and the queue in approval order. */
  slotSet(): Promise<SlotSet>;
  /** Joins the queue's end, once; a build already queued or holding a slot is left as it is. */
  enqueue(buildId: string): Promise<void>;
  /** Leaves the queue (nothing when not in it). */
  leaveQueue(buildId: string): Promise<void>;
  /**
   * Gives `buildId`'s slot back, to the queue's head when one waits and the set is not over: the
   * head's BuildID, now holding a slot. Nothing when `buildId` holds none.
   */
  handOver(buildId: string, max: number): Promise<string | undefined>;
  /** A free slot to the queue's head: its BuildID, or nothing (no slot free, nobody waiting). */
  fillFreeSlot(max: number): Promise<string | undefined>;
}

export type SlotTake = 'added' | 'held' | 'full';

export interface SlotSet {
  active: string[];
  queue: string[];
}

// ---- Claims --------------------------------------------------------------------------------

/**
 * What is done once, and by whom (docs/design.md "Claims: doing a thing once"). Each kind names
 * the stored item and attributes it has always used; `buildId` is the build the claim is for.
 * A new once-only protocol is a new kind here and a case in each Claims adapter.
 */
export type ClaimKey =
  /** `#request#<request>` `{ For }`, a day: one build per slash command (`trigger_id`) or per Rebuild (`rebuild-<BuildID>`). */
  | { kind: 'request'; request: string; buildId: string }
  /** `#click#<action_ts>#<user>#<action_id>` `{ For, At }`, a day: a button click applied once (a replay changes nothing). */
  | { kind: 'click'; click: string; buildId: string }
  /** The build's SNS notice `notice` (a status, or `warning`): MailClaim/MailClaimedAt while publishing, MailSent once sent. */
  | { kind: 'mail'; buildId: string; notice: string }
  /** The requester's direct message `message` (`warning`, or a final status): DirectMessages on the record. */
  | { kind: 'direct-message'; buildId: string; message: string }
  /** `#stray#<instanceId>` `{ At }`, 7 days: the operators hear of a stray machine once (`Untold` when given back). */
  | { kind: 'stray'; instanceId: string }
  /** `#release#v<version>` `{ For, ClaimedAt, PublishedAt? }`, for good: one build ever publishes a version (`Free` when given back). */
  | { kind: 'release'; version: string; buildId: string }
  /** BudgetWarnedAt/BudgetWarnedFor on `#month#<month>`: the month's one budget warning. */
  | { kind: 'budget-warning'; month: string; buildId: string }
  /**
   * `#github#<what>#<id>` `{ For, At }`: a GitHub delivery (`X-GitHub-Delivery`, 30 days) or a
   * tag at a commit (`<tag>@<commit>`, for good) posts one card; `For` is the delivery that
   * claimed it, `Free` set when given back. Only the write id recognises a lost answer: a
   * redelivery carries the same delivery id and must not pass for the first.
   */
  | { kind: 'github'; what: 'delivery' | 'tag'; id: string; delivery: string };

export type ClaimKind = ClaimKey['kind'];

export type ClaimOutcome =
  /** This caller holds it: its claim landed, or it already held it (the same build again, or its own write whose answer was lost). `completedAt`: a release the holder already finished. */
  | { claimed: true; completedAt?: string }
  /**
   * Someone else did it, or is doing it. `holder`: the build holding it (request, release);
   * `since`: when it was claimed (stray); `completedAt`: when it was completed (release);
   * `build`: the record as stored (mail: which notice holds the claim, which went out).
   */
  | { claimed: false; holder?: string; since?: string; completedAt?: string; build?: Build };

export interface ClaimOptions {
  /** A claim taken before this time and never completed is free again (mail: a publisher that crashed). */
  staleBefore?: string;
}

/**
 * Claim, complete, give back. Every claim is one conditional write on today's items, and a
 * claim whose write answer was lost recognises its own write (its write id, or its `For`): the
 * retry is still the claim's holder. Errors other than a lost race (throttling, network) throw.
 */
export interface Claims {
  claim(key: ClaimKey, now: Date, options?: ClaimOptions): Promise<ClaimOutcome>;
  /**
   * The claimed thing is done. Mail: the notice joins MailSent and the claim is cleared. Release:
   * PublishedAt is set (the first stays), only while `For` is the holder (else it throws). The
   * other kinds are complete once claimed: nothing is written.
   */
  complete(key: ClaimKey, now: Date): Promise<void>;
  /**
   * Doing it failed: the claim is given back, so a later try may take it. Only the holder's claim
   * is given back; a release already published is kept. Nothing is deleted (no DeleteItem): a
   * marker is set (`Untold`, `Free`) or an attribute removed. Request and click claims are never
   * given back (a retry of the same request or click is the same request or click).
   */
  giveBack(key: ClaimKey): Promise<void>;
}

// ---- CommitStatuses ------------------------------------------------------------------------

/** One commit status as GitHub's `POST repos/{owner}/{repo}/statuses/{sha}` takes it. */
export interface CommitStatus {
  repository: string;
  sha: string;
  state: 'pending' | 'success' | 'failure' | 'error';
  /** At most 140 characters. */
  description: string;
  targetUrl?: string;
  context: string;
}

/** GitHub's commit statuses (docs/design.md "Builds requested by GitHub"). Throws when GitHub did not take it. */
export interface CommitStatuses {
  set(status: CommitStatus): Promise<void>;
}

// ---- SpendLedger ---------------------------------------------------------------------------

/**
 * The month's spend of docs/design.md "Spend control": counted costs on the builds' records (the
 * sparse MonthIndex), holds and the warning on `#month#YYYY-MM`. A read is one GetItem and the
 * index's pages, never a Scan.
 */
export interface SpendLedger {
  /** The month as stored; an empty ledger (version 0) when nothing was written yet. */
  read(month: string): Promise<MonthLedger>;
  /** Only the month item's holds and version (one GetItem, no index pages): what a hold's own upkeep needs. */
  holds(month: string): Promise<Pick<MonthLedger, 'version' | 'holds'>>;
  /**
   * Record a build's final cost on its record, once: written only while CountedMonth is absent,
   * so a redelivered termination (or the watchdog finalising the same build) never adds twice.
   * true when this call counted it.
   */
  count(month: string, entry: CountedBuild): Promise<boolean>;
  /**
   * Reserve `amount` for `buildId` while the month is still at `version` (and bump it): of two
   * budget decisions made on the same read, one lands and the other reads again. false: lost.
   */
  hold(month: string, version: number, buildId: string, amount: number): Promise<boolean>;
  /** Remove the build's hold while it is still `amount` (as read). true when this call removed it. */
  release(month: string, buildId: string, amount: number): Promise<boolean>;
}

// ---- DurationHistory -----------------------------------------------------------------------

/**
 * The newest completed builds' times per instance type (docs/design.md "Cost model"), one small
 * item each, apart from the BuildStore: the request reads it, build-phase adds to it.
 */
export interface DurationHistory {
  /** The newest completions (at most HISTORY_SIZE) of `instanceType`, newest first: one GetItem. */
  recent(instanceType: string): Promise<Completion[]>;
  /** Adds `completion`; the same BuildID again changes nothing. A concurrent writer's change is kept. */
  record(instanceType: string, completion: Completion): Promise<void>;
}

// ---- Chat ----------------------------------------------------------------------------------

/** A Block Kit block; views/ builds them, nothing else looks inside. */
export type Block = Record<string, unknown>;

export interface ChatPost {
  channel: string;
  text: string;
  blocks?: Block[];
  threadTs?: string;
  broadcast?: boolean;
  /** Carried with the message (Slack message metadata), so a later look-up can find it. */
  tag?: MessageTag;
}

/** Which status message of which build a thread reply is: what `hasTagged` looks for. */
export interface MessageTag {
  buildId: string;
  status: string;
}

export interface ChatUpdate {
  channel: string;
  ts: string;
  text: string;
  blocks?: Block[];
}

export interface ChatEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks?: Block[];
  threadTs?: string;
}

export interface Chat {
  post(message: ChatPost): Promise<{ ts: string }>;
  /** Whether the thread already holds a reply posted with this tag (its post may have landed unseen). */
  hasTagged(channel: string, threadTs: string, tag: MessageTag): Promise<boolean>;
  update(message: ChatUpdate): Promise<void>;
  postEphemeral(message: ChatEphemeral): Promise<void>;
  /** A link to a message (chat.getPermalink), for a direct message that points at the thread. */
  permalink(channel: string, ts: string): Promise<string>;
  /**
   * The user IDs in a Slack user group (usergroups.users.list): APPROVER_GROUP_IDS. Slack's
   * refusals (no_such_subteam, missing_scope, plan_upgrade_required, …) are ChatErrors.
   */
  userGroupMembers(groupId: string): Promise<string[]>;
}

/** A Slack view (a modal or the Home tab); views/ builds it, nothing else looks inside. */
export type View = Record<string, unknown>;

/** Slack's surfaces beyond messages: a modal opened for a click or command, a person's Home tab. */
export interface Views {
  /** views.open with the interaction's trigger_id (valid for 3 s, once). */
  open(triggerId: string, view: View): Promise<void>;
  /** views.publish: the Home tab of `user`. */
  publish(user: string, view: View): Promise<void>;
}

/** A Slack Web API answer with `ok: false`; `code` is Slack's `error` string. */
export class ChatError extends Error {
  constructor(
    readonly code: string,
    readonly method: string,
    options?: { cause?: unknown },
  ) {
    super(`Slack ${method} failed: ${code}`, options);
    this.name = 'ChatError';
  }
}

// ---- Bus -----------------------------------------------------------------------------------

export type BusEvent =
  | { detailType: 'Build Approved'; detail: BuildApprovedDetail }
  | { detailType: 'Build Cancel Requested'; detail: CancelRequestedDetail }
  | { detailType: 'Build Extended'; detail: BuildExtendedDetail };

export interface Bus {
  /** Throws when EventBridge refuses the entry (FailedEntryCount > 0). */
  put(event: BusEvent): Promise<void>;
}

// ---- Compute -------------------------------------------------------------------------------

export interface LaunchRequest {
  buildId: string;
  instanceType: string;
  subnetId: string;
  /** One per attempt, derived from BuildID, type and subnet: a redelivery gets the same instance. */
  clientToken: string;
  /** Base64 user data (cloud-init), free of secrets. */
  userData: string;
  tags: Record<string, string>;
  /** Launch with CpuOptions.NestedVirtualization=enabled: KVM on a virtual type that lists the feature. */
  nestedVirtualization?: boolean;
  /** The root disk in GB instead of the launch template's (a self-test: the AMI's snapshot size). */
  rootVolumeGb?: number;
}

export interface LaunchedInstance {
  instanceId: string;
  instanceType: string;
  availabilityZone: string;
  launchTime: string;
}

export type LaunchResult =
  | { ok: true; instance: LaunchedInstance }
  /** An expected refusal (capacity, unsupported type, quota): try the next subnet or type. */
  | { ok: false; code: string; message: string };

export interface Machine {
  instanceId: string;
  instanceType: string;
  availabilityZone: string;
  state: InstanceState;
  /**
   * EC2's LaunchTime: the last start, not the first (a stop/start resets it). Lifetime rules
   * count from the record's LaunchTime whenever there is a record (domain/lifetime `lifeStart`).
   */
  launchTime: string;
  tags: Record<string, string>;
}

/** A disk of this stack's launches that no machine uses: it costs money until deleted. */
export interface LooseVolume {
  volumeId: string;
  createTime: string;
  sizeGb: number;
  tags: Record<string, string>;
}

export interface Compute {
  /** Expected refusals are values; transient failures throw. */
  launch(request: LaunchRequest): Promise<LaunchResult>;
  terminate(instanceIds: string[]): Promise<void>;
  /** Every machine tagged Project=labapp and AutoDelete=true in pending, running, stopping or stopped. */
  listTagged(): Promise<Machine[]>;
  /**
   * The build's machines that are still live (pending, running, stopping, stopped), by their
   * BuildID tag: what an earlier delivery of the launch may have started without recording it.
   */
  liveMachinesOf(buildId: string): Promise<Machine[]>;
  /** The zone of each subnet (DescribeSubnets); facts that never change, so cached by the adapter. */
  subnetZones(subnetIds: readonly string[]): Promise<Record<string, string>>;
  /** The zones of the region offering each type (DescribeInstanceTypeOfferings); cached. */
  offeredZones(instanceTypes: readonly string[]): Promise<Record<string, string[]>>;
  /** Each type's default vCPUs (DescribeInstanceTypes); cached. */
  vcpusOf(instanceTypes: readonly string[]): Promise<Record<string, number>>;
  /** The types whose DescribeInstanceTypes lists `nested-virtualization` (the same cached answer as vcpusOf). */
  nestedVirtualizationTypes(instanceTypes: readonly string[]): Promise<string[]>;
  /**
   * The size in GB of an image's root snapshot (DescribeImages): the self-test's root volume, the
   * smallest the builder AMI boots with. Undefined for an image EC2 does not know.
   */
  rootSnapshotSizeGb(imageId: string): Promise<number | undefined>;
  /**
   * vCPUs of the account's pending and running on-demand machines of the families the standard
   * quota counts, except those tagged with `exceptBuildId` (a redelivered launch's own machine).
   */
  standardVcpusInUse(exceptBuildId: string): Promise<number>;
  /** Volumes tagged as this stack's launches (Project=labapp, LaunchedBy=metal-build) in state `available`. */
  looseVolumes(): Promise<LooseVolume[]>;
  /** Deleting one that is gone, or attached again, is fine: nothing to do. */
  deleteVolume(volumeId: string): Promise<void>;
}

// ---- Deadlines ------------------------------------------------------------------------------

/** A build's one-time Scheduler schedule: at `at` (a whole minute, UTC) it terminates `instanceId`. */
export interface DeadlineSchedule {
  buildId: string;
  instanceId: string;
  at: string;
}

export interface Deadlines {
  /** Create the schedule, or correct it when one exists with another time or machine. */
  put(schedule: DeadlineSchedule): Promise<void>;
  /** Delete it; one that is not there (fired, or never made) is fine. */
  remove(buildId: string): Promise<void>;
  /** The BuildIDs of every schedule in the stack's group (paged through). */
  list(): Promise<string[]>;
}

// ---- Artifacts -----------------------------------------------------------------------------

/** Objects of ARTIFACT_BUCKET, as the release function copies them (adapters/aws/s3-artifacts.ts). */
export interface Artifacts {
  /** The object's size in bytes; undefined when it is not there (or not readable). */
  size(bucket: string, key: string): Promise<number | undefined>;
  /** A server-side copy inside `bucket`; `bytes` (the source's size) chooses a single or a multipart copy. */
  copy(request: { bucket: string; from: string; to: string; bytes: number }): Promise<void>;
  /** The object's length and hex SHA-256, its bytes read as a stream (never held whole); undefined when it is not there. */
  digest(bucket: string, key: string): Promise<{ bytes: number; sha256: string } | undefined>;
  /** A small text object (the release's `.sha256` and `.json` files, written from the record). */
  write(bucket: string, key: string, text: string): Promise<void>;
  remove(bucket: string, key: string): Promise<void>;
}

// ---- BuildLogs -----------------------------------------------------------------------------

/** One line of a build machine's log: when the machine wrote it (ISO) and what (untrusted text). */
export interface LogLine {
  at: string;
  message: string;
}

/**
 * A build machine's CloudWatch log (adapters/aws/cloudwatch-build-logs.ts): the group
 * `logGroupName(buildId)`, the stream the runner names after its machine's instance ID.
 */
export interface BuildLogs {
  /** The newest `count` lines, oldest first; [] when there is no log yet (no group, stream or line). Other failures throw. */
  newest(buildId: string, instanceId: string, count: number): Promise<LogLine[]>;
}

// ---- Quotas --------------------------------------------------------------------------------

export interface Quotas {
  /** The region's vCPU quota for running on-demand standard instances (L-1216C47A). Throws when Service Quotas cannot say. */
  onDemandStandardVcpus(): Promise<number>;
}

// ---- Notifier ------------------------------------------------------------------------------

export type Severity = 'INFO' | 'OK' | 'FAILED' | 'WARNING' | 'CRITICAL';

export interface Notification {
  severity: Severity;
  subject: string;
  message: string;
  buildId: string;
  status: string;
}

export interface Notifier {
  notify(notification: Notification): Promise<void>;
}

// ---- Logger --------------------------------------------------------------------------------

export type LogFields = Record<string, unknown> & { buildId?: string };

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` (above all `buildId`) to every line. */
  child(fields: LogFields): Logger;
}
