import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { choiceFields, choiceProblem, launchTypesOf, limitHoursOf, limitsOf, requestedTypeOf } from '../../domain/build-choice';
import type { Config } from '../../domain/config';
import { parseConfig } from '../../domain/config';
import { deadline, machineVerdict } from '../../domain/lifetime';

// domain/build-choice.ts: what a request chose of its machine (RequestedType, LimitHours), the
// defaults for a record without them, the warning scaled to the chosen limit, the launch's order
// of types and the one-line refusal of a choice the settings do not allow.

const LOCAL = { SLACK_SIGNING_SECRET: 'sandbox-signing-secret', SLACK_BOT_TOKEN: 'xoxb-test-sandbox-token' };
/** The defaults: c5n.metal, fallback m5zn.metal, 3 h limit, warning at 2 h, 2 h of extensions. */
const DEFAULTS: Config = parseConfig(LOCAL);
const HOUR = 3600_000;

describe('requestedTypeOf, limitHoursOf: a record without the fields chose the defaults', () => {
  it('absent fields → INSTANCE_TYPE and MAX_LIFETIME_HOURS', () => {
    expect(requestedTypeOf({}, DEFAULTS)).toBe('c5n.metal');
    expect(limitHoursOf({}, DEFAULTS)).toBe(3);
    const other = parseConfig({ ...LOCAL, INSTANCE_TYPE: 'm5zn.metal', FALLBACK_INSTANCE_TYPES: 'c5n.metal', MAX_LIFETIME_HOURS: '5' });
    expect(requestedTypeOf({}, other)).toBe('m5zn.metal');
    expect(limitHoursOf({}, other)).toBe(5);
  });

  it("the record's own fields win over the settings", () => {
    expect(requestedTypeOf({ RequestedType: 'm5zn.metal' }, DEFAULTS)).toBe('m5zn.metal');
    expect(limitHoursOf({ LimitHours: 1 }, DEFAULTS)).toBe(1);
  });
});

describe('limitsOf', () => {
  it('hours=1 with the defaults: forced at 1 h, warned at 2/3 h (40 min), the extension cap unchanged', () => {
    const limits = limitsOf({ LimitHours: 1 }, DEFAULTS);
    expect(limits).toEqual({ limitHours: 1, warnAfterHours: 2 / 3, maxExtensionHours: 2 });
    expect(limits.warnAfterHours * 60).toBeCloseTo(40, 9);
  });

  it('hours=2: warned at 4/3 h (80 min)', () => {
    expect(limitsOf({ LimitHours: 2 }, DEFAULTS)).toEqual({ limitHours: 2, warnAfterHours: 4 / 3, maxExtensionHours: 2 });
  });

  it('absent LimitHours: the settings as they are (3 h, warning at 2 h)', () => {
    expect(limitsOf({}, DEFAULTS)).toEqual({ limitHours: 3, warnAfterHours: 2, maxExtensionHours: 2 });
    expect(limitsOf({ LimitHours: 3 }, DEFAULTS)).toEqual(limitsOf({}, DEFAULTS));
  });
});

describe('launchTypesOf: the chosen type first, then the fallbacks, each once', () => {
  it('no RequestedType: INSTANCE_TYPE then FALLBACK_INSTANCE_TYPES', () => {
    expect(launchTypesOf({}, DEFAULTS)).toEqual(['c5n.metal', 'm5zn.metal']);
  });

  it('a self-test: its own type only, no fallback', () => {
    expect(launchTypesOf({ Kind: 'selftest', RequestedType: 't3.small' }, DEFAULTS)).toEqual(['t3.small']);
  });

  it('RequestedType first; a fallback equal to it is not tried twice', () => {
    const config = parseConfig({ ...LOCAL, FALLBACK_INSTANCE_TYPES: 'm5zn.metal,c5n.metal' });
    expect(launchTypesOf({ RequestedType: 'm5zn.metal' }, config)).toEqual(['m5zn.metal', 'c5n.metal']);
    expect(launchTypesOf({ RequestedType: 'c5n.metal' }, config)).toEqual(['c5n.metal', 'm5zn.metal']);
    // With the defaults the only fallback is the chosen type itself: one type, once.
    expect(launchTypesOf({ RequestedType: 'm5zn.metal' }, DEFAULTS)).toEqual(['m5zn.metal']);
  });

  it('without fallbacks: the chosen type alone', () => {
    const none = parseConfig({ ...LOCAL, FALLBACK_INSTANCE_TYPES: '', INSTANCE_TYPES: 'c5n.metal,m5zn.metal' });
    expect(launchTypesOf({}, none)).toEqual(['c5n.metal']);
    expect(launchTypesOf({ RequestedType: 'm5zn.metal' }, none)).toEqual(['m5zn.metal']);
  });
});

describe('choiceProblem', () => {
  it('an unknown type is refused naming the allowed list', () => {
    expect(choiceProblem(DEFAULTS, { type: 'x9.metal' })).toBe('type "x9.metal" is not one this bot launches; choose one of c5n.metal, m5zn.metal');
    const three = parseConfig({ ...LOCAL, INSTANCE_TYPES: 'c5n.metal,m5zn.metal,c6i.metal', PRICE_OVERRIDES: '{"c6i.metal": 5.44}' });
    expect(choiceProblem(three, { type: 'x9.metal', hours: 2 })).toBe(
      'type "x9.metal" is not one this bot launches; choose one of c5n.metal, m5zn.metal, c6i.metal',
    );
  });

  it.each([0, 4, 1.5, -1])('hours=%s is refused naming "from 1 to 3"', (hours) => {
    expect(choiceProblem(DEFAULTS, { hours })).toBe(`hours=${hours} is outside the allowed limits; choose a whole number from 1 to 3`);
  });

  it('the range follows MAX_LIFETIME_HOURS', () => {
    const five = parseConfig({ ...LOCAL, MAX_LIFETIME_HOURS: '5' });
    expect(choiceProblem(five, { hours: 5 })).toBeUndefined();
    expect(choiceProblem(five, { hours: 6 })).toBe('hours=6 is outside the allowed limits; choose a whole number from 1 to 5');
  });

  it.each([{}, { type: 'c5n.metal' }, { type: 'm5zn.metal' }, { hours: 1 }, { hours: 2 }, { hours: 3 }, { type: 'm5zn.metal', hours: 1 }])(
    'accepts %j',
    (words) => {
      expect(choiceProblem(DEFAULTS, words)).toBeUndefined();
    },
  );
});

describe('choiceFields', () => {
  it('always both fields: the defaults for what was not given', () => {
    expect(choiceFields(DEFAULTS, {})).toEqual({ RequestedType: 'c5n.metal', LimitHours: 3 });
    expect(choiceFields(DEFAULTS, { type: 'm5zn.metal' })).toEqual({ RequestedType: 'm5zn.metal', LimitHours: 3 });
    expect(choiceFields(DEFAULTS, { hours: 1 })).toEqual({ RequestedType: 'c5n.metal', LimitHours: 1 });
    expect(choiceFields(DEFAULTS, { type: 'm5zn.metal', hours: 2 })).toEqual({ RequestedType: 'm5zn.metal', LimitHours: 2 });
  });
});

describe('the warning before the deadline, for every limit', () => {
  it('for every MAX_LIFETIME_HOURS, WARN_AFTER_HOURS below it, LimitHours 1..MAX and launch time: warned strictly before the deadline, at the same share of it', () => {
    const launches = fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') });
    const settings = fc
      .integer({ min: 1, max: 12 })
      .chain((max) => fc.record({ max: fc.constant(max), warnMinutes: fc.integer({ min: 1, max: max * 60 - 1 }), limit: fc.integer({ min: 1, max }) }));
    fc.assert(
      fc.property(launches, settings, (launch, { max, warnMinutes, limit }) => {
        const config = parseConfig({ ...LOCAL, MAX_LIFETIME_HOURS: String(max), WARN_AFTER_HOURS: String(warnMinutes / 60) });
        expect(choiceProblem(config, { hours: limit })).toBeUndefined();
        const limits = limitsOf({ LimitHours: limit }, config);
        const launchTime = new Date(launch).toISOString();
        const warnAt = launch + limits.warnAfterHours * HOUR;
        const due = deadline(launchTime, limits).getTime();
        expect(due - launch).toBe(limit * HOUR);
        expect(warnAt).toBeGreaterThan(launch);
        expect(warnAt).toBeLessThan(due);
        // Proportional: the warning's share of this limit is WARN_AFTER_HOURS's share of MAX_LIFETIME_HOURS.
        expect((warnAt - launch) / (due - launch)).toBeCloseTo(warnMinutes / 60 / max, 9);
        // The watchdog's verdicts agree: ok before the warning, warn from it, force at the deadline.
        const firstWarnMs = launch + Math.ceil(limits.warnAfterHours * HOUR);
        const verdict = (ms: number, build = {}) => machineVerdict(launchTime, build, limits, new Date(ms));
        expect(verdict(firstWarnMs - 1)).toBe('ok');
        expect(verdict(firstWarnMs)).toBe('warn');
        expect(verdict(due - 1, { WarnedAt: new Date(firstWarnMs).toISOString() })).toBe('ok');
        expect(verdict(due, { WarnedAt: new Date(firstWarnMs).toISOString() })).toBe('force');
      }),
    );
  });
});
