import type { Build, Status } from '../domain/build';

// Build records for tests. `aBuild` is a fresh request; the `in*` helpers add what the earlier
// steps of the status table would have written, so a test states only what it is about.

export const T0 = '2026-11-25T17:00:52.000Z';
export const INSTANCE_ID = 'i-0123456789abcdef0';

/** A record as the bot writes it on `/metal-build main abc1234`, awaiting approval. */
export function aBuild(overrides: Partial<Build> = {}): Build {
  return {
    BuildID: 'build-20261125-170052-a1b2',
    Status: 'awaiting_approval',
    BuildBranch: 'main',
    BuildCommit: 'abc1234',
    Requester: 'U0REQUESTER',
    Channel: 'C0SANDBOX',
    ThreadTs: '1764090052.000100',
    CreatedAt: T0,
    CostEstimate: 5.91,
    CostMax: 11.83,
    ...overrides,
  };
}

/** Minutes after T0, as an ISO string. */
export function at(minutes: number): string {
  return new Date(Date.parse(T0) + minutes * 60_000).toISOString();
}

/** Approved one minute after the request. */
export function anApprovedBuild(overrides: Partial<Build> = {}): Build {
  return aBuild({ Status: 'approved', Approver: 'U0APPROVER', ApprovedAt: at(1), ...overrides });
}

/** Approved while every slot was taken: waiting in the queue since the approval. */
export function aQueuedBuild(overrides: Partial<Build> = {}): Build {
  return anApprovedBuild({ Status: 'queued', QueuedAt: at(1), ...overrides });
}

/** Launched two minutes after the request: a machine exists from here on. */
export function aLaunchedBuild(status: Extract<Status, 'launching' | 'building' | 'uploading'> = 'launching', overrides: Partial<Build> = {}): Build {
  return anApprovedBuild({
    Status: status,
    InstanceID: INSTANCE_ID,
    InstanceType: 'c5n.metal',
    AvailabilityZone: 'us-east-1a',
    LaunchTime: at(2),
    ...(status === 'launching' ? {} : { Phase: status === 'building' ? 'building' : 'uploading', BuildStartTime: at(5) }),
    ...overrides,
  });
}
