import type { Build } from './build';
import { RETENTION_DAYS, isFinal } from './build';

// When a build's concurrency slot may be given back. The slot stands for "a metal machine may be
// running for this build", so it is held from approval until a machine is known not to exist:
// a build that is final and either never got as far as a launch or whose machine EC2 reported
// gone. Every path that gives a slot back (a losing approval click, the bot freeing stale
// holders, the watchdog's reconciliation) decides here.

/**
 * A launch in flight when its build was cancelled still starts a machine (and then terminates
 * it when its `launched` write loses). The launch function runs at most 2 minutes (infra/stack.ts);
 * a minute later nothing of that delivery can still start a machine.
 */
export const LAUNCH_SETTLE_MS = 3 * 60_000;

/** What EC2 said at the watchdog's listing, for the one caller that can ask it. */
export interface Ec2View {
  /** When DescribeInstances was read. */
  listedAt: Date;
  /** A live (pending…stopped) machine carries this build's BuildID tag or is its InstanceID. */
  liveMachine: boolean;
}

/** When the build became final: every final transition sets ExpirationTime to that moment + RETENTION_DAYS. */
export function finalSince(build: Build): number | undefined {
  return build.ExpirationTime === undefined ? undefined : (build.ExpirationTime - RETENTION_DAYS * 24 * 3600) * 1000;
}

export function slotMayBeGivenBack(build: Build | undefined, now: Date, ec2?: Ec2View): boolean {
  // No record, no launch: the launch handler reads the record before it starts anything.
  if (!build) return true;
  if (!isFinal(build.Status)) return false;
  if (ec2?.liveMachine) return false;
  if (build.InstanceID !== undefined) {
    if (build.TerminatedAt !== undefined) return true;
    // Not listed live by EC2, and launched before the list was read: EC2 says it is gone.
    return ec2 !== undefined && build.LaunchTime !== undefined && Date.parse(build.LaunchTime) < ec2.listedAt.getTime();
  }
  // Never approved, or approved into the queue and never handed a slot: no launch was ever asked for.
  if (build.ApprovedAt === undefined) return true;
  if (build.QueuedAt !== undefined && build.DequeuedAt === undefined) return true;
  // Approved, then ended without a recorded machine (cancelled, stuck): a launch may have been
  // in flight. Only EC2's word, after every such launch has settled, frees the slot.
  const since = finalSince(build);
  return ec2 !== undefined && since !== undefined && now.getTime() - since >= LAUNCH_SETTLE_MS;
}

/**
 * EC2's end of the build's machine never reached the table (its state-change event was lost):
 * the build is final, its machine launched before the listing and is not listed live, and no
 * TerminatedAt was recorded. The watchdog then records the end itself, so the slot, the final
 * cost and the month's spend do not wait for an event that will not come.
 */
export function machineEndUnrecorded(build: Build, ec2: Ec2View | undefined): boolean {
  return (
    isFinal(build.Status) &&
    build.InstanceID !== undefined &&
    build.TerminatedAt === undefined &&
    ec2 !== undefined &&
    !ec2.liveMachine &&
    build.LaunchTime !== undefined &&
    Date.parse(build.LaunchTime) < ec2.listedAt.getTime()
  );
}
