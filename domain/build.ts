import type { SelftestCheck } from './selftest-check';
// The build record: docs/design.md "Build record — DynamoDB". Attribute names are the original
// system's so its documented queries keep working.

export const ACTIVE_STATUSES = ['awaiting_approval', 'queued', 'approved', 'launching', 'building', 'uploading'] as const;
export const FINAL_STATUSES = ['completed', 'failed', 'terminated', 'cancelled', 'rejected', 'expired'] as const;
export const STATUSES = [...ACTIVE_STATUSES, ...FINAL_STATUSES] as const;

export type ActiveStatus = (typeof ACTIVE_STATUSES)[number];
export type FinalStatus = (typeof FINAL_STATUSES)[number];
export type Status = ActiveStatus | FinalStatus;

/** Statuses in which a machine may exist (after launch, before an end). */
export const RUNNING_STATUSES = ['launching', 'building', 'uploading'] as const satisfies readonly ActiveStatus[];
export type RunningStatus = (typeof RUNNING_STATUSES)[number];

/** EC2 states in the only order InstanceState may move. */
export const INSTANCE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

export const PHASES = ['cloning', 'building', 'uploading', 'completed', 'failed'] as const;
export type Phase = (typeof PHASES)[number];

export const TERMINATION_REASONS = ['forced', 'cancelled', 'unexpected', 'orphan', 'did-not-shut-down'] as const;
export type TerminationReason = (typeof TERMINATION_REASONS)[number];

export interface Build {
  BuildID: string;
  Status: Status;
  Phase?: Phase;
  /** When Phase was last written (the handler's clock): how long the machine has been in it. */
  PhaseAt?: string;
  BuildBranch: string;
  BuildCommit?: string;
  ActualCommit?: string;
  Requester: string;
  Approver?: string;
  /**
   * The first of two approvers (SECOND_APPROVAL_ABOVE_USD): written while awaiting approval, it
   * takes no slot; the approval by someone else completes it.
   */
  FirstApprover?: string;
  FirstApprovedAt?: string;
  /**
   * Approved while every slot was taken (docs/design.md "Concurrency", the queue): when the build
   * joined the `Queue` of `#slots`, and when a freed slot was handed to it (queued → approved).
   */
  QueuedAt?: string;
  DequeuedAt?: string;
  CancelledBy?: string;
  DeniedBy?: string;
  Channel: string;
  /** The card's `ts`, always a string (a number would lose Slack's precision). */
  ThreadTs: string;
  InstanceID?: string;
  /** `selftest` for `/metal-build selftest` (docs/design.md "Self-test"); absent for a build. */
  Kind?: 'selftest';
  /** The type the request chose (`type=`), tried first; absent = INSTANCE_TYPE. InstanceType is what launched. */
  RequestedType?: string;
  /** The limit the request chose (`hours=`), before extensions; absent = MAX_LIFETIME_HOURS. */
  LimitHours?: number;
  InstanceType?: string;
  AvailabilityZone?: string;
  InstanceState?: InstanceState;
  CreatedAt: string;
  ApprovedAt?: string;
  LaunchTime?: string;
  BuildStartTime?: string;
  CompletionTime?: string;
  TerminatedAt?: string;
  WarnedAt?: string;
  /** When the warning reached the thread (docs/design.md, "Build record"): until then the watchdog retries it. */
  WarningPostedAt?: string;
  /**
   * The warning message's `ts`, written with WarningPostedAt: the warning is edited in place
   * (chat.update) when an extension changes its deadline and when the build ends.
   */
  WarningTs?: string;
  /**
   * The `ts` of the broadcast final message (completed, failed, terminated) when it went out
   * before the cost was final: edited to the final cost when EC2 reports the end (events/final-cost.ts).
   */
  FinalMessageTs?: string;
  CostEstimate: number;
  CostMax: number;
  /**
   * The expected duration the estimate used, and how many completed builds' median it is
   * (0: EXPECTED_BUILD_HOURS, too few builds known). Written with the request.
   */
  ExpectedHours?: number;
  ExpectedFromBuilds?: number;
  /** The build this one repeats (Rebuild): same branch, the commit that was asked for. */
  RebuildOf?: string;
  /** A link to RebuildOf's thread (chat.getPermalink when the rebuild was asked), for its card. */
  RebuildOfLink?: string;
  /**
   * The commit RebuildOf's machine said it built, when that build pinned none. Shown as the
   * machine's word only: the rebuild is pinned to what was asked (the branch head), never to this.
   */
  RebuildOfReportedCommit?: string;
  /**
   * A build GitHub asked for (`Requester` = `github`): the login that pushed the tag. Shown, never
   * taken for a Slack user (docs/design.md "Builds requested by GitHub").
   */
  GithubLogin?: string;
  /** The last commit status set on GitHub (context `metal-build`); only moves forward. */
  GithubStatus?: 'pending' | 'success' | 'failure' | 'error';
  /** Set on a failed, terminated or cancelled build once it was rebuilt: its card then links the new one. */
  RebuiltAs?: string;
  ActualCost?: number;
  /**
   * When the final cost (ActualCost) reached the thread: written with NotifiedStatus when the
   * final status message already carried it, else claimed (written only while absent) by the
   * instance-state handler that then posts the one "Final cost" reply.
   */
  CostToldAt?: string;
  /**
   * The month (YYYY-MM, of LaunchTime) this build's final cost was counted into, and that cost:
   * written together, once, while CountedMonth is absent (docs/design.md "Spend control"). The
   * sparse MonthIndex is what `costs` and the budget sum.
   */
  CountedMonth?: string;
  CountedCost?: number;
  BuildDurationSeconds?: number;
  ForcedTermination?: boolean;
  TerminationReason?: TerminationReason;
  ExtendedHours?: number;
  /** LaunchTime + LimitHours + ExtendedHours, written with the launch and each extension. */
  DeadlineAt?: string;
  /**
   * The `at(…)` minute of the build's Scheduler schedule as last set (domain/lifetime
   * `scheduleMinute`); the watchdog compares it with DeadlineAt to find a schedule to move.
   */
  ScheduleAt?: string;
  ErrorMessage?: string;
  LogTail?: string;
  ArtifactKey?: string;
  ArtifactSha256?: string;
  ArtifactBytes?: number;
  /** The root disk's GB when it is not VOLUME_SIZE_GB: a self-test's, the builder AMI's snapshot size. */
  RootVolumeGb?: number;
  /** A self-test's checks as its runner reported them (docs/design.md "Self-test"); never a build's. */
  SelftestChecks?: SelftestCheck[];
  LogKey?: string;
  /**
   * Hex SHA-256 of the build's event token (docs/design.md "Contract additions"), written with the
   * launch: a `Build Phase` must carry the token that hashes to it. The token itself is never stored.
   */
  EventTokenHash?: string;
  NotifiedStatus?: Status;
  /**
   * A lease on the thread message of one status (docs/design.md, "Build record"): the handler
   * about to post it writes these first, so two handlers that see the same change at once (the
   * watchdog's forced end and EC2's shutting-down) post one message, not two. A lease older
   * than NOTICE_LEASE_SECONDS is free again, so a crash between lease and post delays the
   * message, never loses it.
   */
  NotifyingStatus?: Status;
  NotifyingSince?: string;
  /**
   * The SNS notices (docs/design.md "Delivery semantics"): the one being published (`MailClaim`,
   * a status or `warning`, since `MailClaimedAt`) and those that went out (`MailSent`). A claim
   * never cleared is published again once stale, so a crash loses no mail.
   */
  MailClaim?: string;
  MailClaimedAt?: string;
  MailSent?: string[];
  /** The requester's direct messages sent (`warning`, final statuses), claimed before each is sent. */
  DirectMessages?: string[];
  ExpirationTime?: number;
}

export type BuildAttribute = keyof Build;

export function isActive(status: Status): status is ActiveStatus {
  return (ACTIVE_STATUSES as readonly string[]).includes(status);
}

export function isFinal(status: Status): status is FinalStatus {
  return (FINAL_STATUSES as readonly string[]).includes(status);
}

export function isRunning(status: Status): status is RunningStatus {
  return (RUNNING_STATUSES as readonly string[]).includes(status);
}

export function instanceStateRank(state: InstanceState): number {
  return INSTANCE_STATES.indexOf(state);
}

/** The instance is gone or going: EC2 bills no more instance time from here. */
export function isInstanceEnding(state: InstanceState): boolean {
  return state === 'shutting-down' || state === 'terminated';
}

/** A final record is kept a year, then DynamoDB's TTL removes it. */
export const RETENTION_DAYS = 365;

export function expirationTime(now: Date): number {
  return Math.floor(now.getTime() / 1000) + RETENTION_DAYS * 24 * 3600;
}

/** LogTail is capped at 4 KB; the end of the log is what matters. */
export const LOG_TAIL_MAX_BYTES = 4096;

const utf8 = new TextEncoder();

export function capLogTail(text: string): string {
  if (utf8.encode(text).length <= LOG_TAIL_MAX_BYTES) return text;
  let out = text.slice(-LOG_TAIL_MAX_BYTES);
  while (utf8.encode(out).length > LOG_TAIL_MAX_BYTES) out = out.slice(1);
  return out;
}

/** The endings a Rebuild is offered for: the build did not deliver, and asking again may. */
export function isRebuildable(status: Status): boolean {
  return status === 'failed' || status === 'terminated' || status === 'cancelled';
}
