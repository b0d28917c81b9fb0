import { describe, expect, it } from 'vitest';
import type { Build, Status } from '../../domain/build';
import { STATUSES } from '../../domain/build';
import type { PhaseReport } from '../../domain/events';
import type { BuildEvent, Decision } from '../../domain/transition';
import { LATE_PHASE_WINDOW_MINUTES, transition } from '../../domain/transition';
import { aBuild, aLaunchedBuild, anApprovedBuild, aQueuedBuild, at, INSTANCE_ID } from '../../stand-ins/build-fixture';

// docs/design.md "Statuses and what each event does" is the law: one test per row (from `approve`
// on; `request` belongs to the bot). Each row test also pins WHICH statuses the row accepts.

const NOW = new Date(at(30));
const EXPIRES = Math.floor(NOW.getTime() / 1000) + 365 * 24 * 3600;
const SHA = 'a'.repeat(64);

/** A realistic record in each status: what the earlier rows would have left behind. */
function buildIn(status: Status, overrides: Partial<Build> = {}): Build {
  const launched = (s: 'launching' | 'building' | 'uploading') => aLaunchedBuild(s, overrides);
  const ended = { CompletionTime: at(20), ExpirationTime: EXPIRES - 60 };
  switch (status) {
    case 'awaiting_approval':
      return aBuild(overrides);
    case 'queued':
      return aQueuedBuild(overrides);
    case 'approved':
      return anApprovedBuild(overrides);
    case 'launching':
    case 'building':
    case 'uploading':
      return launched(status);
    case 'completed':
      return aLaunchedBuild('uploading', { Status: 'completed', Phase: 'completed', ...ended, ...overrides });
    case 'failed':
      return aLaunchedBuild('building', { Status: 'failed', Phase: 'failed', ErrorMessage: 'make: *** Error 2', ...ended, ...overrides });
    case 'terminated':
      return aLaunchedBuild('building', {
        Status: 'terminated',
        ForcedTermination: true,
        TerminationReason: 'forced',
        ...ended,
        ...overrides,
      });
    case 'cancelled':
      return anApprovedBuild({ Status: 'cancelled', CancelledBy: 'U0REQUESTER', ExpirationTime: EXPIRES - 60, ...overrides });
    case 'rejected':
      return aBuild({ Status: 'rejected', DeniedBy: 'U0APPROVER', ExpirationTime: EXPIRES - 60, ...overrides });
    case 'expired':
      return aBuild({ Status: 'expired', ExpirationTime: EXPIRES - 60, ...overrides });
  }
}

function phaseEvent(phase: PhaseReport['phase'], extra: Partial<PhaseReport> = {}): BuildEvent {
  return {
    type: 'phase',
    detail: { buildId: aBuild().BuildID, instanceId: INSTANCE_ID, phase, at: at(25), ...extra },
  };
}

function ec2(state: Extract<BuildEvent, { type: 'instance-state' }>['state'], atTime = at(28), actualCost?: number): BuildEvent {
  return { type: 'instance-state', state, at: atTime, ...(actualCost === undefined ? {} : { actualCost }) };
}

/** The statuses in which `event` does something (a write or an effect). */
function acceptedBy(event: BuildEvent, make: (s: Status) => Build = (s) => buildIn(s)): Status[] {
  return STATUSES.filter((s) => transition(make(s), event, NOW).kind !== 'none');
}

function asWrite(d: Decision): Extract<Decision, { kind: 'write' }> {
  if (d.kind !== 'write') throw new Error(`expected a write, got ${JSON.stringify(d)}`);
  return d;
}

describe('the status table, row by row', () => {
  it('approve (bot): awaiting_approval → approved with Approver and ApprovedAt; slot and event are the bot’s', () => {
    const event: BuildEvent = { type: 'approve', by: 'U0APPROVER' };
    expect(acceptedBy(event)).toEqual(['awaiting_approval']);
    expect(transition(aBuild(), event, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['awaiting_approval'] },
      set: { Status: 'approved', Approver: 'U0APPROVER', ApprovedAt: NOW.toISOString() },
      to: 'approved',
      // The bot takes the slot before this write and puts `Build Approved` after it.
      effects: [],
    });
  });

  it('first approval of two (bot): awaiting_approval → awaiting_approval with FirstApprover, only while none is recorded', () => {
    const event: BuildEvent = { type: 'first-approve', by: 'U0APPROVER' };
    expect(acceptedBy(event)).toEqual(['awaiting_approval']);
    expect(transition(aBuild(), event, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['awaiting_approval'], absent: ['FirstApprover'] },
      set: { FirstApprover: 'U0APPROVER', FirstApprovedAt: NOW.toISOString() },
      // No status change, no slot: the second approval takes the slot.
      effects: [],
    });
    expect(transition(aBuild({ FirstApprover: 'U0LEAD' }), event, NOW)).toMatchObject({ kind: 'none', reason: 'first approval already given by U0LEAD' });
  });

  it('first approval replacing one whose giver may no longer approve, with a re-quote: conditional on that first approver', () => {
    const event: BuildEvent = { type: 'first-approve', by: 'U0APPROVER', replacing: 'U0GONE', costEstimate: 8.33, costMax: 16.66 };
    expect(transition(aBuild({ FirstApprover: 'U0GONE', FirstApprovedAt: at(1) }), event, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['awaiting_approval'], equals: { FirstApprover: 'U0GONE' } },
      set: { FirstApprover: 'U0APPROVER', FirstApprovedAt: NOW.toISOString(), CostEstimate: 8.33, CostMax: 16.66 },
      effects: [],
    });
    expect(transition(aBuild({ FirstApprover: 'U0LEAD' }), event, NOW)).toMatchObject({ kind: 'none', reason: 'first approval already given by U0LEAD' });
    expect(transition(aBuild(), event, NOW)).toMatchObject({ kind: 'none', reason: 'no first approval by U0GONE to replace' });
  });

  it('second approval (bot): awaiting_approval with FirstApprover → approved, conditional on that first approver, never the same person', () => {
    const first = aBuild({ FirstApprover: 'U0LEAD', FirstApprovedAt: at(1) });
    const event: BuildEvent = { type: 'approve', by: 'U0APPROVER', secondOf: 'U0LEAD' };
    expect(acceptedBy(event, (s) => ({ ...buildIn(s), FirstApprover: 'U0LEAD' }))).toEqual(['awaiting_approval']);
    expect(transition(first, event, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['awaiting_approval'], equals: { FirstApprover: 'U0LEAD' } },
      set: { Status: 'approved', Approver: 'U0APPROVER', ApprovedAt: NOW.toISOString() },
      to: 'approved',
      effects: [],
    });
    expect(transition(first, { type: 'approve', by: 'U0LEAD', secondOf: 'U0LEAD' }, NOW).kind).toBe('none');
    expect(transition(aBuild(), event, NOW).kind).toBe('none');
  });

  it('deny (bot): awaiting_approval → rejected with DeniedBy', () => {
    const event: BuildEvent = { type: 'deny', by: 'U0APPROVER' };
    expect(acceptedBy(event)).toEqual(['awaiting_approval']);
    expect(transition(aBuild(), event, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['awaiting_approval'] },
      set: { Status: 'rejected', DeniedBy: 'U0APPROVER', ExpirationTime: EXPIRES },
      to: 'rejected',
      // Ends before any launch: a slot left by a half-done approval goes back.
      effects: ['release-slot'],
    });
  });

  it('cancel (bot) before launch: awaiting_approval, approved → cancelled with CancelledBy; a never-approved build frees its slot', () => {
    const event: BuildEvent = { type: 'cancel', by: 'U0REQUESTER' };
    for (const from of ['awaiting_approval', 'approved'] as const) {
      expect(transition(buildIn(from), event, NOW)).toEqual({
        kind: 'write',
        guard: { status: [from] },
        set: { Status: 'cancelled', CancelledBy: 'U0REQUESTER', ExpirationTime: EXPIRES },
        to: 'cancelled',
        // An approved build's launch may be starting a machine: the watchdog frees that slot
        // once EC2 shows none (domain/slot-holding).
        effects: from === 'approved' ? [] : ['release-slot'],
      });
    }
  });

  it('cancel (bot) after launch: launching, building, uploading → no write; puts Build Cancel Requested', () => {
    const event: BuildEvent = { type: 'cancel', by: 'U0REQUESTER' };
    expect(acceptedBy(event)).toEqual(['awaiting_approval', 'queued', 'approved', 'launching', 'building', 'uploading']);
    for (const from of ['launching', 'building', 'uploading'] as const) {
      expect(transition(buildIn(from), event, NOW)).toEqual({ kind: 'effects', effects: ['put-cancel-requested'] });
    }
  });

  it('launched (launch): approved → launching with the machine’s attributes, only while no InstanceID is recorded', () => {
    const event: BuildEvent = {
      type: 'launched',
      instanceId: INSTANCE_ID,
      instanceType: 'm5zn.metal',
      availabilityZone: 'us-east-1b',
      launchTime: at(3),
      limitHours: 3,
    };
    expect(acceptedBy(event)).toEqual(['approved']);
    expect(transition(anApprovedBuild(), event, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['approved'], absent: ['InstanceID'] },
      set: {
        Status: 'launching',
        InstanceID: INSTANCE_ID,
        InstanceType: 'm5zn.metal',
        AvailabilityZone: 'us-east-1b',
        LaunchTime: at(3),
        // LaunchTime + MAX_LIFETIME_HOURS (3 h)
        DeadlineAt: at(3 + 180),
      },
      to: 'launching',
      effects: [],
    });
    // Cancelled meanwhile: `none`, which tells the launch handler to terminate what it launched.
    expect(transition(buildIn('cancelled'), event, NOW).kind).toBe('none');
  });

  it('launch impossible (launch): approved → failed with ErrorMessage; slot freed', () => {
    const event: BuildEvent = { type: 'launch-failed', message: 'InsufficientInstanceCapacity in every subnet and type' };
    expect(acceptedBy(event)).toEqual(['approved']);
    expect(transition(anApprovedBuild(), event, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['approved'] },
      set: {
        Status: 'failed',
        ErrorMessage: 'InsufficientInstanceCapacity in every subnet and type',
        CompletionTime: NOW.toISOString(),
        ExpirationTime: EXPIRES,
      },
      to: 'failed',
      effects: ['release-slot'],
    });
  });

  it('EC2 pending / running (instance-state): any status → status unchanged; InstanceState', () => {
    for (const state of ['pending', 'running'] as const) {
      expect(acceptedBy(ec2(state))).toEqual([...STATUSES]);
      for (const from of STATUSES) {
        expect(transition(buildIn(from), ec2(state), NOW)).toEqual({
          kind: 'write',
          guard: { status: [from], instanceStateBefore: state },
          set: { InstanceState: state },
          effects: [],
        });
      }
    }
  });

  it('phase cloning, building (build-phase): launching, building → building; Phase, ActualCommit, BuildStartTime (handler clock) at building', () => {
    const cloning = phaseEvent('cloning', { actualCommit: 'abc1234def' });
    const building = phaseEvent('building');
    const cloningInBuilding = (s: Status) => buildIn(s, s === 'building' ? { Phase: 'cloning', BuildStartTime: undefined } : {});
    expect(acceptedBy(cloning, (s) => buildIn(s, s === 'building' ? { Phase: undefined } : {}))).toEqual(['launching', 'building']);
    expect(acceptedBy(building, cloningInBuilding)).toEqual(['launching', 'building']);

    expect(transition(buildIn('launching'), cloning, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['launching'], equals: { InstanceID: INSTANCE_ID } },
      set: { Status: 'building', Phase: 'cloning', PhaseAt: NOW.toISOString(), ActualCommit: 'abc1234def' },
      to: 'building',
      effects: [],
    });
    expect(transition(cloningInBuilding('building'), building, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['building'], equals: { InstanceID: INSTANCE_ID } },
      set: { Phase: 'building', PhaseAt: NOW.toISOString(), BuildStartTime: NOW.toISOString() },
      effects: [],
    });
    // Cloning's event lost or late: `building` alone moves launching on and starts the clock.
    expect(transition(buildIn('launching'), building, NOW)).toMatchObject({
      set: { Status: 'building', Phase: 'building', BuildStartTime: NOW.toISOString() },
      to: 'building',
    });
    // The machine's `at` is information: a building dated 2036 starts now.
    expect(transition(buildIn('launching'), phaseEvent('building', { at: '2036-01-01T00:00:00.000Z' }), NOW)).toMatchObject({
      set: { BuildStartTime: NOW.toISOString() },
    });
  });

  it('phase uploading: building → uploading', () => {
    const event = phaseEvent('uploading');
    expect(acceptedBy(event)).toEqual(['building']);
    expect(transition(buildIn('building'), event, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['building'], equals: { InstanceID: INSTANCE_ID } },
      set: { Status: 'uploading', Phase: 'uploading', PhaseAt: NOW.toISOString() },
      to: 'uploading',
      effects: [],
    });
  });

  it('phase completed: building, uploading → completed; CompletionTime (handler clock), artifacts, BuildDurationSeconds', () => {
    const event = phaseEvent('completed', {
      artifact: { bucket: 'hedgehog-lab-artifacts', key: 'builds/b/hedgehog-lab-prewarmed-0.0.0-abc1234.ova', sha256: SHA, bytes: 42 },
      durationSeconds: 5100,
      logKey: 'builds/b/logs/build.log',
    });
    expect(acceptedBy(event)).toEqual(['building', 'uploading']);
    for (const from of ['building', 'uploading'] as const) {
      expect(transition(buildIn(from), event, NOW)).toEqual({
        kind: 'write',
        guard: { status: [from], equals: { InstanceID: INSTANCE_ID } },
        set: {
          Status: 'completed',
          Phase: 'completed',
          CompletionTime: NOW.toISOString(),
          ArtifactKey: 'builds/b/hedgehog-lab-prewarmed-0.0.0-abc1234.ova',
          ArtifactSha256: SHA,
          ArtifactBytes: 42,
          BuildDurationSeconds: 5100,
          LogKey: 'builds/b/logs/build.log',
          ExpirationTime: EXPIRES,
        },
        to: 'completed',
        // The runner powers the machine off; its terminated event frees the slot. The build's
        // time joins its instance type's history.
        effects: ['record-completion'],
      });
    }
    // A completed dated 2036 must not move the did-not-shut-down rule (it counts from CompletionTime).
    const future = asWrite(transition(buildIn('uploading'), phaseEvent('completed', { at: '2036-01-01T00:00:00.000Z', durationSeconds: 1e9 }), NOW));
    expect(future.set).toMatchObject({ CompletionTime: NOW.toISOString(), BuildDurationSeconds: 1e9 });
  });

  it('phase failed: launching, building, uploading → failed; CompletionTime (handler clock), ErrorMessage, LogTail, LogKey', () => {
    const event = phaseEvent('failed', { message: 'packer exited 1', logTail: 'line 1\nline 2', logKey: 'builds/b/logs/build.log' });
    expect(acceptedBy(event)).toEqual(['launching', 'building', 'uploading']);
    for (const from of ['launching', 'building', 'uploading'] as const) {
      expect(transition(buildIn(from), event, NOW)).toEqual({
        kind: 'write',
        guard: { status: [from], equals: { InstanceID: INSTANCE_ID } },
        set: {
          Status: 'failed',
          Phase: 'failed',
          CompletionTime: NOW.toISOString(),
          ErrorMessage: 'packer exited 1',
          LogTail: 'line 1\nline 2',
          LogKey: 'builds/b/logs/build.log',
          ExpirationTime: EXPIRES,
        },
        to: 'failed',
        effects: [],
      });
    }
  });

  it('Build Cancel Requested (cancel): launching, building, uploading → cancelled; TerminateInstances; reason cancelled', () => {
    const event: BuildEvent = { type: 'cancel-requested', by: 'U0APPROVER' };
    expect(acceptedBy(event)).toEqual(['launching', 'building', 'uploading']);
    for (const from of ['launching', 'building', 'uploading'] as const) {
      expect(transition(buildIn(from), event, NOW)).toEqual({
        kind: 'write',
        guard: { status: [from] },
        set: {
          Status: 'cancelled',
          CancelledBy: 'U0APPROVER',
          TerminationReason: 'cancelled',
          CompletionTime: NOW.toISOString(),
          ExpirationTime: EXPIRES,
        },
        to: 'cancelled',
        // The slot goes back when EC2 reports the machine terminated.
        effects: ['terminate-instance'],
      });
    }
  });

  it('force (watchdog): launching, building, uploading → terminated; ForcedTermination; reason forced; TerminateInstances', () => {
    const event: BuildEvent = { type: 'force' };
    expect(acceptedBy(event)).toEqual(['launching', 'building', 'uploading']);
    for (const from of ['launching', 'building', 'uploading'] as const) {
      expect(transition(buildIn(from), event, NOW)).toEqual({
        kind: 'write',
        guard: { status: [from] },
        set: {
          Status: 'terminated',
          ForcedTermination: true,
          TerminationReason: 'forced',
          CompletionTime: NOW.toISOString(),
          ExpirationTime: EXPIRES,
        },
        to: 'terminated',
        effects: ['terminate-instance'],
      });
    }
  });

  it('EC2 shutting-down / terminated (instance-state) while active → terminated; reason unexpected', () => {
    for (const state of ['shutting-down', 'terminated'] as const) {
      const ended = STATUSES.filter((s) => asWrite(transition(buildIn(s), ec2(state), NOW)).to === 'terminated');
      expect(ended).toEqual(['awaiting_approval', 'queued', 'approved', 'launching', 'building', 'uploading']);
      expect(transition(buildIn('building', { InstanceState: 'running' }), ec2(state, at(28), 1.94), NOW)).toEqual({
        kind: 'write',
        guard: { status: ['building'], instanceStateBefore: state, absent: ['TerminatedAt'] },
        set: {
          InstanceState: state,
          TerminatedAt: at(28),
          ActualCost: 1.94,
          Status: 'terminated',
          TerminationReason: 'unexpected',
          CompletionTime: at(28),
          ExpirationTime: EXPIRES,
        },
        to: 'terminated',
        // The slot first: the schedule and the count never keep it.
        effects: ['release-slot', 'drop-deadline', 'count-final-cost'],
      });
    }
  });

  it('EC2 shutting-down / terminated at or after DeadlineAt − 2 min while active → terminated; reason forced', () => {
    const deadlineAt = at(182);
    const running = buildIn('building', { InstanceState: 'running', DeadlineAt: deadlineAt });
    // The schedule fires in the minute before the deadline's minute: 1 min 52 s early at the most here.
    for (const endedAt of [at(180), at(181), deadlineAt, at(190)]) {
      const d = asWrite(transition(running, ec2('shutting-down', endedAt), NOW));
      expect(d.set).toMatchObject({ Status: 'terminated', TerminationReason: 'forced', ForcedTermination: true, CompletionTime: endedAt });
    }
    const early = asWrite(transition(running, ec2('shutting-down', '2026-11-25T20:00:51.999Z'), NOW));
    expect(early.set).toMatchObject({ TerminationReason: 'unexpected' });
    expect(early.set).not.toHaveProperty('ForcedTermination');
  });

  it('EC2 shutting-down / terminated in any status → TerminatedAt (first one), ActualCost, slot freed', () => {
    for (const from of STATUSES) {
      const d = asWrite(transition(buildIn(from, { InstanceState: 'running' }), ec2('terminated', at(28), 1.94), NOW));
      expect(d.set).toMatchObject({ InstanceState: 'terminated', TerminatedAt: at(28), ActualCost: 1.94 });
      expect(d.guard.absent).toEqual(['TerminatedAt']);
      expect(d.effects).toEqual(['release-slot', 'drop-deadline', 'count-final-cost']);
    }
    // A final status stays as it is: a forced build remains terminated/forced, a completed one completed.
    const forced = asWrite(transition(buildIn('terminated'), ec2('terminated'), NOW));
    expect(forced.to).toBeUndefined();
    expect(forced.set).not.toHaveProperty('Status');
    expect(forced.set).not.toHaveProperty('TerminationReason');
  });

  it('late completed/failed phase with at ≤ TerminatedAt, arriving within 15 min of it: terminated (unexpected) → completed / failed', () => {
    const unexpected = buildIn('terminated', {
      ForcedTermination: undefined,
      TerminationReason: 'unexpected',
      TerminatedAt: at(28),
      CompletionTime: at(28),
      InstanceState: 'terminated',
    });
    const completed = phaseEvent('completed', { at: at(27), durationSeconds: 1500 });
    expect(transition(unexpected, completed, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['terminated'], equals: { TerminationReason: 'unexpected', InstanceID: INSTANCE_ID } },
      set: { Status: 'completed', Phase: 'completed', CompletionTime: at(27), BuildDurationSeconds: 1500, ExpirationTime: EXPIRES },
      to: 'completed',
      effects: [],
    });
    const failed = asWrite(transition(unexpected, phaseEvent('failed', { at: at(28), message: 'disk full' }), NOW));
    expect(failed.to).toBe('failed');
    expect(failed.set).toMatchObject({ Status: 'failed', ErrorMessage: 'disk full', CompletionTime: at(28) });
    // Only the unexpected end reopens: forced and cancelled builds stay as they are.
    for (const reason of ['forced', 'cancelled', 'orphan', 'did-not-shut-down'] as const) {
      const other = { ...unexpected, TerminationReason: reason };
      expect(transition(other, completed, NOW).kind).toBe('none');
    }
  });

  it("late completed/failed phase: only while it arrives within 15 minutes of TerminatedAt (handler clock); the runner's at kept within the machine's life", () => {
    expect(LATE_PHASE_WINDOW_MINUTES).toBe(15);
    const unexpected = buildIn('terminated', { ForcedTermination: undefined, TerminationReason: 'unexpected', TerminatedAt: at(10), CompletionTime: at(10) });
    const completed = phaseEvent('completed', { at: at(9) });
    expect(asWrite(transition(unexpected, completed, new Date(at(25)))).set).toMatchObject({ Status: 'completed', CompletionTime: at(9) });
    expect(transition(unexpected, completed, new Date(Date.parse(at(25)) + 1))).toMatchObject({ kind: 'none' });
    expect(transition(unexpected, phaseEvent('failed', { at: at(9) }), new Date(at(600)))).toMatchObject({ kind: 'none' });
    // A claim from before the launch is not believed as such: CompletionTime stays within LaunchTime..TerminatedAt.
    const ancient = asWrite(transition(unexpected, phaseEvent('failed', { at: '1999-01-01T00:00:00.000Z' }), new Date(at(12))));
    expect(ancient.set.CompletionTime).toBe(at(2));
  });

  it("launched carries the hash of the build's event token into EventTokenHash, never the token", () => {
    const hash = 'c'.repeat(64);
    const d = asWrite(
      transition(
        anApprovedBuild(),
        {
          type: 'launched',
          instanceId: INSTANCE_ID,
          instanceType: 'c5n.metal',
          availabilityZone: 'us-east-1a',
          launchTime: at(3),
          limitHours: 3,
          eventTokenHash: hash,
        },
        NOW,
      ),
    );
    expect(d.set).toMatchObject({ Status: 'launching', InstanceID: INSTANCE_ID, EventTokenHash: hash });
  });

  it('queue (bot approval, every slot taken): awaiting_approval → queued with the approval recorded and QueuedAt', () => {
    const event: BuildEvent = { type: 'queue', by: 'U0APPROVER', costEstimate: 6, costMax: 12 };
    expect(acceptedBy(event)).toEqual(['awaiting_approval', 'approved']);
    expect(transition(aBuild(), event, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['awaiting_approval'] },
      set: { Status: 'queued', Approver: 'U0APPROVER', ApprovedAt: NOW.toISOString(), QueuedAt: NOW.toISOString(), CostEstimate: 6, CostMax: 12 },
      to: 'queued',
      effects: [],
    });
    // The second of two approvals queues only as the one the first was given with.
    const second: BuildEvent = { type: 'queue', by: 'U0SECOND', secondOf: 'U0FIRST' };
    expect(transition(aBuild({ FirstApprover: 'U0FIRST' }), second, NOW)).toMatchObject({ kind: 'write', guard: { equals: { FirstApprover: 'U0FIRST' } } });
    expect(transition(aBuild({ FirstApprover: 'U0OTHER' }), second, NOW).kind).toBe('none');
  });

  it('queue (launch, no slot held and others waiting): approved → queued, only while no machine is recorded', () => {
    const event: BuildEvent = { type: 'queue', by: 'U0APPROVER' };
    expect(transition(anApprovedBuild(), event, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['approved'], absent: ['InstanceID'] },
      set: { Status: 'queued', QueuedAt: NOW.toISOString() },
      to: 'queued',
      effects: [],
    });
    expect(transition(anApprovedBuild({ InstanceID: INSTANCE_ID }), event, NOW).kind).toBe('none');
  });

  it('dequeue (whoever freed a slot): queued → approved with DequeuedAt', () => {
    const event: BuildEvent = { type: 'dequeue' };
    expect(acceptedBy(event)).toEqual(['queued']);
    expect(transition(aQueuedBuild(), event, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['queued'] },
      set: { Status: 'approved', DequeuedAt: NOW.toISOString() },
      to: 'approved',
      effects: [],
    });
  });

  it('cancel (bot) of a queued build: queued → cancelled; it leaves the queue', () => {
    expect(transition(aQueuedBuild(), { type: 'cancel', by: 'U0REQUESTER' }, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['queued'] },
      set: { Status: 'cancelled', CancelledBy: 'U0REQUESTER', ExpirationTime: EXPIRES },
      to: 'cancelled',
      effects: ['leave-queue'],
    });
  });

  it('stale queue place (watchdog, QUEUE_TTL_HOURS): queued → expired; it leaves the queue', () => {
    expect(transition(aQueuedBuild(), { type: 'expire' }, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['queued'] },
      set: { Status: 'expired', ExpirationTime: EXPIRES },
      to: 'expired',
      effects: ['leave-queue'],
    });
  });

  it('stale approval (watchdog): awaiting_approval → expired', () => {
    const event: BuildEvent = { type: 'expire' };
    expect(acceptedBy(event)).toEqual(['awaiting_approval', 'queued']);
    expect(transition(aBuild(), event, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['awaiting_approval'] },
      set: { Status: 'expired', ExpirationTime: EXPIRES },
      to: 'expired',
      // Ends before any launch: a slot left by a half-done approval goes back.
      effects: ['release-slot'],
    });
  });

  it('stuck (watchdog): approved without launch, or running without machine → failed; ErrorMessage; the slot left to the reconciliation', () => {
    const event: BuildEvent = { type: 'stuck', message: 'approved 10 minutes ago, but no machine was launched' };
    expect(acceptedBy(event)).toEqual(['approved', 'launching', 'building', 'uploading']);
    expect(transition(anApprovedBuild(), event, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['approved'] },
      set: { Status: 'failed', ErrorMessage: event.message, CompletionTime: NOW.toISOString(), ExpirationTime: EXPIRES },
      to: 'failed',
      // A launch may have started a machine the record never learnt of: the watchdog frees the
      // slot once EC2 lists none (domain/slot-holding).
      effects: [],
    });
    // A machine the record names may still be somewhere: it is terminated too.
    const running = asWrite(transition(buildIn('building'), { ...event, message: 'no live machine for 10 minutes' }, NOW));
    expect(running.to).toBe('failed');
    expect(running.set.ErrorMessage).toBe('no live machine for 10 minutes');
    // Its slot, too, waits for the reconciliation, which records the machine's end and its cost first.
    expect(running.effects).toEqual(['terminate-instance']);
  });

  it('an approval carries today’s re-quote: stored with the approval, before Build Approved (the launch judges prices by CostMax)', () => {
    const event: BuildEvent = { type: 'approve', by: 'U0APPROVER', costEstimate: 6.4, costMax: 12.5 };
    expect(transition(aBuild(), event, NOW)).toMatchObject({
      kind: 'write',
      to: 'approved',
      set: { Approver: 'U0APPROVER', ApprovedAt: NOW.toISOString(), CostEstimate: 6.4, CostMax: 12.5 },
    });
    // Without a re-quote the card's figures stay.
    expect(asWrite(transition(aBuild(), { type: 'approve', by: 'U0APPROVER' }, NOW)).set).not.toHaveProperty('CostMax');
  });

  it('warning posted (watchdog): launching, building, uploading → WarningPostedAt and WarningTs, once, whichever running status it is by then', () => {
    const event: BuildEvent = { type: 'warning-posted', ts: '1700000000.000100' };
    expect(acceptedBy(event)).toEqual(['launching', 'building', 'uploading']);
    for (const from of ['launching', 'building', 'uploading'] as const) {
      expect(transition(buildIn(from), event, NOW)).toEqual({
        kind: 'write',
        guard: { status: ['launching', 'building', 'uploading'], absent: ['WarningPostedAt'] },
        set: { WarningPostedAt: NOW.toISOString(), WarningTs: '1700000000.000100' },
        effects: [],
      });
    }
    // Slack refused for good: recorded without a message, so the next run does not post again.
    expect(asWrite(transition(buildIn('building'), { type: 'warning-posted' }, NOW)).set).toEqual({ WarningPostedAt: NOW.toISOString() });
    expect(transition(buildIn('building', { WarningPostedAt: at(20) }), event, NOW)).toEqual({ kind: 'none', reason: 'warning already posted' });
  });

  it('final message posted: completed, failed, terminated → FinalMessageTs, once, only for the status it told', () => {
    const event: BuildEvent = { type: 'final-message-posted', status: 'terminated', ts: '1700000000.000300' };
    expect(acceptedBy(event)).toEqual(['terminated']);
    expect(transition(buildIn('terminated'), event, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['terminated'], absent: ['FinalMessageTs'] },
      set: { FinalMessageTs: '1700000000.000300' },
      effects: [],
    });
    // A late terminated-then-completed build: the terminated message's ts is not the completed one's.
    expect(transition(buildIn('completed'), event, NOW)).toEqual({ kind: 'none', reason: 'final message of terminated in completed' });
    expect(transition(buildIn('terminated', { FinalMessageTs: '1' }), event, NOW)).toEqual({ kind: 'none', reason: 'final message already recorded' });
  });

  it('did not shut down (watchdog): completed, failed with its own machine still up → TerminationReason did-not-shut-down, status kept', () => {
    const event: BuildEvent = { type: 'did-not-shut-down', instanceId: INSTANCE_ID };
    expect(acceptedBy(event)).toEqual(['completed', 'failed']);
    for (const from of ['completed', 'failed'] as const) {
      expect(transition(buildIn(from), event, NOW)).toEqual({
        kind: 'write',
        guard: { status: [from], absent: ['TerminationReason'], equals: { InstanceID: INSTANCE_ID } },
        set: { TerminationReason: 'did-not-shut-down' },
        // The watchdog terminates the machine itself after the write: only the run that wrote tells.
        effects: [],
      });
    }
    expect(transition(buildIn('completed', { TerminationReason: 'did-not-shut-down' }), event, NOW)).toEqual({
      kind: 'none',
      reason: 'termination already recorded as did-not-shut-down',
    });
    expect(transition(buildIn('completed'), { ...event, instanceId: 'i-0fffffffffffffff0' }, NOW).kind).toBe('none');
  });
});

describe("the watchdog's judgement, checked again at the write", () => {
  const launchTime = at(-180); // three and a half hours before NOW (at(30))
  it('force with the deadline it judged by: an extension that landed meanwhile wins', () => {
    const event: BuildEvent = { type: 'force', launchTime, limitHours: 3 };
    const due = asWrite(transition(buildIn('building'), event, NOW));
    expect(due.to).toBe('terminated');
    // Conditional on "no extension yet": an extension landing before the write makes it fail.
    expect(due.guard).toEqual({ status: ['building'], absent: ['ExtendedHours'] });
    expect(transition(buildIn('building', { ExtendedHours: 1 }), event, NOW)).toEqual({
      kind: 'none',
      reason: 'extended meanwhile: the limit is now 4 h',
    });
    const extendedAndDue = asWrite(transition(buildIn('building', { ExtendedHours: 1 }), event, new Date(Date.parse(launchTime) + 4 * 3600_000)));
    expect(extendedAndDue.guard).toEqual({ status: ['building'], equals: { ExtendedHours: 1 } });
  });

  it('stuck with the InstanceID it judged by: a build that got a machine meanwhile is left alone', () => {
    const event: BuildEvent = { type: 'stuck', message: 'no machine', expectInstanceId: null };
    const stuck = asWrite(transition(anApprovedBuild(), event, NOW));
    expect(stuck.guard).toEqual({ status: ['approved'], absent: ['InstanceID'] });
    expect(transition(buildIn('launching'), event, NOW)).toEqual({ kind: 'none', reason: 'the build got a machine meanwhile' });
    const seen = asWrite(transition(buildIn('building'), { ...event, expectInstanceId: INSTANCE_ID }, NOW));
    expect(seen.guard).toEqual({ status: ['building'], equals: { InstanceID: INSTANCE_ID } });
  });
});

describe('transition beyond the rows', () => {
  const samples = {
    approve: { type: 'approve', by: 'U0APPROVER' },
    'first-approve': { type: 'first-approve', by: 'U0APPROVER' },
    queue: { type: 'queue', by: 'U0APPROVER' },
    dequeue: { type: 'dequeue' },
    deny: { type: 'deny', by: 'U0APPROVER' },
    cancel: { type: 'cancel', by: 'U0REQUESTER' },
    launched: { type: 'launched', instanceId: INSTANCE_ID, instanceType: 'c5n.metal', availabilityZone: 'us-east-1a', launchTime: at(2), limitHours: 3 },
    'launch-failed': { type: 'launch-failed', message: 'no capacity' },
    'instance-state': { type: 'instance-state', state: 'running', at: at(3) },
    phase: { type: 'phase', detail: { buildId: aBuild().BuildID, instanceId: INSTANCE_ID, phase: 'completed', at: at(25) } },
    'cancel-requested': { type: 'cancel-requested', by: 'U0REQUESTER' },
    force: { type: 'force' },
    expire: { type: 'expire' },
    stuck: { type: 'stuck', message: 'stuck' },
    warn: { type: 'warn' },
    extend: { type: 'extend', by: 'U0APPROVER', hours: 1, maxExtensionHours: 2, limitHours: 3, seen: 0 },
    scheduled: { type: 'scheduled', instanceId: INSTANCE_ID, at: at(179) },
    'warning-posted': { type: 'warning-posted', ts: '1700000000.000100' },
    'final-message-posted': { type: 'final-message-posted', status: 'completed', ts: '1700000000.000300' },
    'did-not-shut-down': { type: 'did-not-shut-down', instanceId: INSTANCE_ID },
  } satisfies { [K in BuildEvent['type']]: Extract<BuildEvent, { type: K }> };

  it('is total: every status × every event type gives a Decision and never throws', () => {
    const kinds = new Set<string>();
    for (const status of STATUSES) {
      for (const event of Object.values(samples)) {
        for (const build of [buildIn(status), aBuild({ Status: status })]) {
          const d = transition(build, event, NOW);
          expect(['write', 'effects', 'none']).toContain(d.kind);
          if (d.kind === 'none') expect(d.reason).not.toBe('');
          kinds.add(d.kind);
        }
      }
    }
    expect([...kinds].sort()).toEqual(['effects', 'none', 'write']);
  });

  it('a duplicate or late event is none once its change has landed', () => {
    const cases: [Build, BuildEvent][] = [
      [anApprovedBuild(), samples.approve],
      [buildIn('rejected'), samples.deny],
      [buildIn('cancelled'), samples.cancel],
      [buildIn('launching'), samples.launched],
      [buildIn('failed'), samples['launch-failed']],
      [buildIn('building', { Phase: 'building' }), phaseEvent('building')],
      [buildIn('building', { Phase: 'building' }), phaseEvent('cloning')],
      [buildIn('uploading'), phaseEvent('uploading')],
      [buildIn('uploading'), phaseEvent('building')],
      [buildIn('completed'), phaseEvent('completed')],
      [buildIn('completed'), phaseEvent('failed')],
      [buildIn('cancelled', { InstanceID: INSTANCE_ID, TerminationReason: 'cancelled' }), samples['cancel-requested']],
      [buildIn('terminated'), samples.force],
      [buildIn('expired'), samples.expire],
      [buildIn('failed'), samples.stuck],
      [buildIn('building', { InstanceState: 'running' }), samples['instance-state']],
      [buildIn('building', { WarningPostedAt: at(20) }), samples['warning-posted']],
      [buildIn('completed', { TerminationReason: 'did-not-shut-down' }), samples['did-not-shut-down']],
      [buildIn('completed', { FinalMessageTs: '1700000000.000300' }), samples['final-message-posted']],
    ];
    for (const [build, event] of cases) expect(transition(build, event, NOW), `${event.type} in ${build.Status}`).toMatchObject({ kind: 'none' });
  });

  it('InstanceState only moves forward', () => {
    const running = buildIn('building', { InstanceState: 'running' });
    expect(transition(running, ec2('pending'), NOW).kind).toBe('none');
    expect(transition(running, ec2('running'), NOW).kind).toBe('none');
    expect(asWrite(transition(running, ec2('stopping'), NOW)).set).toEqual({ InstanceState: 'stopping' });
    const stopped = buildIn('building', { InstanceState: 'stopped' });
    expect(transition(stopped, ec2('running'), NOW).kind).toBe('none');
    const gone = buildIn('terminated', { InstanceState: 'terminated', TerminatedAt: at(28) });
    for (const state of ['pending', 'running', 'stopping', 'stopped'] as const) expect(transition(gone, ec2(state), NOW).kind).toBe('none');
    // An ending state again writes nothing, but its effects are asked again: a schedule removal or
    // a count that failed is retried with every ending delivery; the slot went with the first.
    for (const state of ['shutting-down', 'terminated'] as const)
      expect(transition(gone, ec2(state), NOW)).toEqual({ kind: 'effects', effects: ['drop-deadline', 'count-final-cost'] });
  });

  it('TerminatedAt is written only the first time', () => {
    const shuttingDown = buildIn('terminated', {
      TerminationReason: 'unexpected',
      InstanceState: 'shutting-down',
      TerminatedAt: at(28),
      ActualCost: 1.94,
    });
    const d = asWrite(transition(shuttingDown, ec2('terminated', at(29), 2.0), NOW));
    expect(d.set).toEqual({ InstanceState: 'terminated' });
    expect(d.guard).toEqual({ status: ['terminated'], instanceStateBefore: 'terminated' });
    expect(d.effects).toEqual(['drop-deadline', 'count-final-cost']);
  });

  it('drops a phase from a foreign instance, or before any instance is recorded', () => {
    const foreign = phaseEvent('completed', { instanceId: 'i-0fffffffffffffff0' });
    for (const status of STATUSES) expect(transition(buildIn(status), foreign, NOW).kind).toBe('none');
    expect(transition(anApprovedBuild(), phaseEvent('cloning'), NOW).kind).toBe('none');
  });

  it('a late completed/failed after the unexpected end counts only when at ≤ TerminatedAt', () => {
    const unexpected = buildIn('terminated', { TerminationReason: 'unexpected', TerminatedAt: at(28), ForcedTermination: undefined });
    expect(asWrite(transition(unexpected, phaseEvent('completed', { at: at(28) }), NOW)).to).toBe('completed');
    expect(asWrite(transition(unexpected, phaseEvent('failed', { at: at(27) }), NOW)).to).toBe('failed');
    const later = '2026-11-25T17:28:52.001Z';
    expect(transition(unexpected, phaseEvent('completed', { at: later }), NOW).kind).toBe('none');
    expect(transition(unexpected, phaseEvent('failed', { at: later }), NOW).kind).toBe('none');
    // Once reopened it is final again: a second late event changes nothing.
    const reopened = { ...unexpected, Status: 'completed' as const };
    expect(transition(reopened, phaseEvent('failed', { at: at(27) }), NOW).kind).toBe('none');
  });

  it('sets ExpirationTime (+365 days) whenever a final status is reached, and only then', () => {
    const finals = new Set(['completed', 'failed', 'terminated', 'cancelled', 'rejected', 'expired']);
    const events = [...Object.values(samples), phaseEvent('cloning'), phaseEvent('uploading'), phaseEvent('failed'), ec2('terminated')];
    let reached = 0;
    for (const status of STATUSES) {
      for (const event of events) {
        const d = transition(buildIn(status, { InstanceState: 'running', ExpirationTime: undefined }), event, NOW);
        if (d.kind !== 'write') continue;
        if (d.to !== undefined && finals.has(d.to)) {
          reached++;
          expect(d.set.ExpirationTime, `${event.type} in ${status}`).toBe(EXPIRES);
        } else {
          expect(d.set, `${event.type} in ${status}`).not.toHaveProperty('ExpirationTime');
        }
      }
    }
    expect(reached).toBeGreaterThan(10);
  });

  it('extends in steps up to MAX_EXTENSION_HOURS, guarded on the old value, and refuses beyond', () => {
    const extend = (hours: number, seen = 0): BuildEvent => ({ type: 'extend', by: 'U0APPROVER', hours, maxExtensionHours: 2, limitHours: 3, seen });
    expect(transition(buildIn('building'), extend(1), NOW)).toEqual({
      kind: 'write',
      guard: { status: ['building'], absent: ['ExtendedHours'] },
      // DeadlineAt moves with each hour: LaunchTime (T0 + 2 min in buildIn) + 3 h + ExtendedHours.
      set: { ExtendedHours: 1, DeadlineAt: at(2 + 4 * 60) },
      effects: [],
    });
    expect(transition(buildIn('uploading', { ExtendedHours: 1 }), extend(1, 1), NOW)).toEqual({
      kind: 'write',
      guard: { status: ['uploading'], equals: { ExtendedHours: 1 } },
      set: { ExtendedHours: 2, DeadlineAt: at(2 + 5 * 60) },
      effects: [],
    });
    expect(transition(buildIn('building', { ExtendedHours: 2 }), extend(1, 2), NOW)).toMatchObject({
      kind: 'none',
      reason: 'extension limit of 2 h reached',
    });
    expect(transition(buildIn('building', { ExtendedHours: 1 }), extend(2, 1), NOW).kind).toBe('none');
    // A click decided on an older ExtendedHours (decided again after a lost race): another click extended first.
    expect(transition(buildIn('building', { ExtendedHours: 1 }), extend(1, 0), NOW)).toEqual({ kind: 'none', reason: 'another approver extended it just now' });
    expect(transition(buildIn('building'), extend(0), NOW).kind).toBe('none');
    expect(transition(buildIn('building'), extend(-1), NOW).kind).toBe('none');
    for (const status of ['awaiting_approval', 'approved', 'completed', 'terminated'] as const)
      expect(transition(buildIn(status), extend(1), NOW).kind).toBe('none');
  });

  it('refuses an extension within 3 minutes of the schedule’s minute, and one without a launch time', () => {
    const extend: BuildEvent = { type: 'extend', by: 'U0APPROVER', hours: 1, maxExtensionHours: 2, limitHours: 3, seen: 0 };
    // Deadline 20:03:52 → the schedule is set for 20:02:00; less than 3 minutes before that is too close.
    const building = buildIn('building', { DeadlineAt: '2026-11-25T20:03:52.000Z' });
    expect(transition(building, extend, new Date('2026-11-25T19:59:00.000Z')).kind).toBe('write');
    expect(transition(building, extend, new Date('2026-11-25T19:59:00.001Z'))).toEqual({ kind: 'none', reason: 'too close to the deadline to extend' });
    expect(transition(buildIn('building', { LaunchTime: undefined }), extend, NOW)).toEqual({ kind: 'none', reason: 'the machine has no launch time yet' });
  });

  it('records the schedule’s minute for the build’s own machine while it runs, once', () => {
    const scheduled: BuildEvent = { type: 'scheduled', instanceId: INSTANCE_ID, at: '2026-11-25T20:02:00.000Z' };
    expect(transition(buildIn('building'), scheduled, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['building'], equals: { InstanceID: INSTANCE_ID } },
      set: { ScheduleAt: '2026-11-25T20:02:00.000Z' },
      effects: [],
    });
    expect(transition(buildIn('building', { ScheduleAt: '2026-11-25T20:02:00.000Z' }), scheduled, NOW).kind).toBe('none');
    expect(transition(buildIn('building'), { ...scheduled, instanceId: 'i-0other' }, NOW).kind).toBe('none');
    expect(transition(buildIn('completed'), scheduled, NOW).kind).toBe('none');
  });

  it('warns once, and only a running build', () => {
    expect(transition(buildIn('building'), samples.warn, NOW)).toEqual({
      kind: 'write',
      guard: { status: ['building'], absent: ['WarnedAt'] },
      set: { WarnedAt: NOW.toISOString() },
      effects: [],
    });
    expect(transition(buildIn('building', { WarnedAt: at(20) }), samples.warn, NOW).kind).toBe('none');
    expect(acceptedBy(samples.warn)).toEqual(['launching', 'building', 'uploading']);
  });

  it('caps LogTail at 4 KB, keeping the end', () => {
    const tail = `${'x'.repeat(5000)}THE END`;
    const d = asWrite(transition(buildIn('building'), phaseEvent('failed', { logTail: tail }), NOW));
    expect(d.set.LogTail).toHaveLength(4096);
    expect(d.set.LogTail?.endsWith('THE END')).toBe(true);
    const silent = asWrite(transition(buildIn('building'), phaseEvent('failed'), NOW));
    expect(silent.set.ErrorMessage).toBe('The build failed (the runner gave no message).');
  });
});
