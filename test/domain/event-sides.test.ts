import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Build } from '../../domain/build';
import { PHASES, STATUSES, INSTANCE_STATES } from '../../domain/build';
import { BOT_EFFECTS, BOT_EVENT_TYPES, botEffects, EVENTS_EFFECTS, EVENTS_EVENT_TYPES, eventsEffects, ForeignEffectError } from '../../domain/event-sides';
import type { Side } from '../../domain/event-sides';
import type { BuildEvent } from '../../domain/transition';
import { transition } from '../../domain/transition';
import { aBuild, at, INSTANCE_ID } from '../../stand-ins/build-fixture';

// Every row of the status table, reached from any stored status, asks only for effects the side
// that applies its event can carry out: the bot cannot terminate, the events side never asks
// itself to cancel. The samples are keyed by event type, so a new event without one fails to compile.

type Samples = { [T in BuildEvent['type']]: Extract<BuildEvent, { type: T }>[] };

const SAMPLES: Samples = {
  approve: [
    { type: 'approve', by: 'U0APPROVER' },
    { type: 'approve', by: 'U0SECOND', secondOf: 'U0FIRST' },
  ],
  'first-approve': [{ type: 'first-approve', by: 'U0FIRST' }],
  queue: [
    { type: 'queue', by: 'U0APPROVER' },
    { type: 'queue', by: 'U0SECOND', secondOf: 'U0FIRST' },
  ],
  dequeue: [{ type: 'dequeue' }],
  deny: [{ type: 'deny', by: 'U0APPROVER' }],
  cancel: [{ type: 'cancel', by: 'U0REQUESTER' }],
  expire: [{ type: 'expire' }],
  extend: [{ type: 'extend', by: 'U0REQUESTER', hours: 1, maxExtensionHours: 4, limitHours: 8, seen: 0 }],
  launched: [{ type: 'launched', instanceId: INSTANCE_ID, instanceType: 'c5n.metal', availabilityZone: 'us-east-1a', launchTime: at(2), limitHours: 8 }],
  'launch-failed': [{ type: 'launch-failed', message: 'InsufficientInstanceCapacity' }],
  'instance-state': INSTANCE_STATES.map((state) => ({ type: 'instance-state' as const, state, at: at(20), actualCost: 1.2 })),
  phase: PHASES.map((phase) => ({ type: 'phase' as const, detail: { buildId: aBuild().BuildID, instanceId: INSTANCE_ID, phase, at: at(20) } })),
  'cancel-requested': [{ type: 'cancel-requested', by: 'U0REQUESTER' }],
  force: [{ type: 'force' }, { type: 'force', launchTime: at(2), limitHours: 0.1 }],
  stuck: [
    { type: 'stuck', message: 'no machine' },
    { type: 'stuck', message: 'no machine', expectInstanceId: null },
  ],
  warn: [{ type: 'warn' }],
  scheduled: [{ type: 'scheduled', instanceId: INSTANCE_ID, at: at(480) }],
  'warning-posted': [{ type: 'warning-posted', ts: '1764090999.000200' }],
  'final-message-posted': [{ type: 'final-message-posted', status: 'completed', ts: '1764090999.000300' }],
  'did-not-shut-down': [{ type: 'did-not-shut-down', instanceId: INSTANCE_ID }],
};

const allSamples = Object.values(SAMPLES).flat() as BuildEvent[];

const storedBuild: fc.Arbitrary<Build> = fc
  .record({
    Status: fc.constantFrom(...STATUSES),
    machine: fc.boolean(),
    approved: fc.boolean(),
    firstApprover: fc.option(fc.constantFrom('U0FIRST', 'U0SECOND'), { nil: undefined }),
    warned: fc.boolean(),
    terminationReason: fc.option(fc.constantFrom('forced', 'cancelled'), { nil: undefined }),
  })
  .map((r) =>
    aBuild({
      Status: r.Status,
      ...(r.machine ? { InstanceID: INSTANCE_ID, InstanceType: 'c5n.metal', LaunchTime: at(2), DeadlineAt: at(482) } : {}),
      ...(r.approved ? { Approver: 'U0APPROVER', ApprovedAt: at(1) } : {}),
      ...(r.firstApprover ? { FirstApprover: r.firstApprover } : {}),
      ...(r.warned ? { WarnedAt: at(400) } : {}),
      ...(r.terminationReason ? { TerminationReason: r.terminationReason } : {}),
    }),
  );

function sidesOf(event: BuildEvent): Side[] {
  return [
    ...((BOT_EVENT_TYPES as readonly string[]).includes(event.type) ? (['bot'] as const) : []),
    ...((EVENTS_EVENT_TYPES as readonly string[]).includes(event.type) ? (['events'] as const) : []),
  ];
}

function effectsOf(build: Build, event: BuildEvent, now: Date) {
  const decision = transition(build, event, now);
  return decision.kind === 'none' ? [] : decision.effects;
}

describe('the sides of the status table', () => {
  it("each side's events ask only for that side's effects", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(storedBuild, fc.constantFrom(...allSamples), fc.integer({ min: 0, max: 600 }), (build, event, minutes) => {
        const effects = effectsOf(build, event, new Date(at(minutes)));
        for (const side of sidesOf(event)) {
          const own: readonly string[] = side === 'bot' ? BOT_EFFECTS : EVENTS_EFFECTS;
          for (const effect of effects) seen.add(`${side}:${effect}`);
          expect(effects.filter((e) => !own.includes(e))).toEqual([]);
        }
      }),
      { numRuns: 3000 },
    );
    // The property reached every effect each side owns, so it did not pass for want of cases.
    expect([...seen].sort()).toEqual([
      'bot:leave-queue',
      'bot:put-cancel-requested',
      'bot:release-slot',
      'events:count-final-cost',
      'events:drop-deadline',
      'events:leave-queue',
      'events:record-completion',
      'events:release-slot',
      'events:terminate-instance',
    ]);
  });

  it('every event is applied by some side, and only queue, dequeue and expire by both', () => {
    expect(allSamples.filter((event) => sidesOf(event).length === 0)).toEqual([]);
    expect([...new Set([...BOT_EVENT_TYPES, ...EVENTS_EVENT_TYPES])].sort()).toEqual(Object.keys(SAMPLES).sort());
    expect(BOT_EVENT_TYPES.filter((type) => (EVENTS_EVENT_TYPES as readonly string[]).includes(type))).toEqual(['queue', 'dequeue', 'expire']);
  });

  it('narrowing refuses an effect the side cannot carry out', () => {
    expect(botEffects(['release-slot', 'put-cancel-requested'])).toEqual(['release-slot', 'put-cancel-requested']);
    expect(() => botEffects(['terminate-instance'])).toThrow(ForeignEffectError);
    expect(eventsEffects(['terminate-instance', 'release-slot'])).toEqual(['terminate-instance', 'release-slot']);
    expect(() => eventsEffects(['put-cancel-requested'])).toThrow('the events side cannot carry out put-cancel-requested');
  });
});
