import { BOT_SOURCE, DETAIL_TYPES, EC2_SOURCE, RUNNER_SOURCE } from './event-names';

// docs/design.md "The flow" and "Events": the stack's EventBridge rules as data, defined once.
// infra/stack.ts builds the AWS::Events::Rule resources from it and the sandbox (sandbox/bus.ts)
// routes events by matching these same patterns (stand-ins/event-pattern.ts), so a pattern that
// is wrong is wrong in the tests too. A new rule is one more entry in EVENT_RULES.

/** A value a pattern field compares with: an exact JSON scalar, or one of EventBridge's filters. */
export type PatternMatcher =
  | string
  | number
  | boolean
  | null
  | { readonly prefix: string }
  | { readonly suffix: string }
  | { readonly 'equals-ignore-case': string }
  | { readonly exists: boolean }
  | { readonly numeric: readonly (string | number)[] }
  | { readonly 'anything-but': string | number | readonly (string | number)[] | { readonly prefix: string } | { readonly suffix: string } };

/**
 * An EventBridge event pattern in EventBridge's own JSON shape (`'detail-type'`, not CDK's
 * `detailType`): a field maps to the values it accepts (OR), or to a nested pattern (AND).
 */
export interface EventPattern {
  readonly [field: string]: readonly PatternMatcher[] | EventPattern;
}

/**
 * Which bus a rule listens on: `custom`, the stack's own bus (EVENT_BUS_NAME), or `default`,
 * the account's default bus, where AWS puts EC2 state changes.
 */
export type RuleBus = 'custom' | 'default';

export interface EventRule {
  /** The CDK construct id in infra/stack.ts: it fixes the rule's logical ID in the template. */
  readonly id: string;
  /** The rule's name in AWS (`ruleName`). */
  readonly name: string;
  readonly bus: RuleBus;
  readonly pattern: EventPattern;
  /** The function the rule delivers to (infra/bundling.ts LambdaName). */
  readonly target: string;
}

/** The stack's event-pattern rules. */
export const EVENT_RULES = [
  {
    id: 'BuildApprovedRule',
    name: 'labapp-metal-build-approved',
    bus: 'custom',
    pattern: { source: [BOT_SOURCE], 'detail-type': [DETAIL_TYPES.approved] },
    target: 'launch',
  },
  {
    id: 'CancelRequestedRule',
    name: 'labapp-metal-build-cancel-requested',
    bus: 'custom',
    pattern: { source: [BOT_SOURCE], 'detail-type': [DETAIL_TYPES.cancelRequested] },
    target: 'cancel',
  },
  {
    id: 'BuildExtendedRule',
    name: 'labapp-metal-build-extended',
    bus: 'custom',
    pattern: { source: [BOT_SOURCE], 'detail-type': [DETAIL_TYPES.extended] },
    target: 'deadline',
  },
  {
    id: 'BuildPhaseRule',
    name: 'labapp-metal-build-phase',
    bus: 'custom',
    pattern: { source: [RUNNER_SOURCE], 'detail-type': [DETAIL_TYPES.phase] },
    target: 'build-phase',
  },
  {
    // The same completed phases, a second target: build-phase records them, release publishes
    // a vX.Y.Z build once the record says completed (it throws until then, and is redelivered).
    id: 'ReleaseRule',
    name: 'labapp-metal-build-release',
    bus: 'custom',
    pattern: { source: [RUNNER_SOURCE], 'detail-type': [DETAIL_TYPES.phase], detail: { phase: ['completed'] } },
    target: 'release',
  },
  {
    // AWS sends EC2 state changes to the default bus only.
    id: 'InstanceStateRule',
    name: 'labapp-metal-build-instance-state',
    bus: 'default',
    pattern: { source: [EC2_SOURCE], 'detail-type': [DETAIL_TYPES.ec2State] },
    target: 'instance-state',
  },
] as const satisfies readonly EventRule[];

/** The functions the event-pattern rules deliver to. */
export type RuleTarget = (typeof EVENT_RULES)[number]['target'];

export interface ScheduleRule {
  readonly id: string;
  readonly name: string;
  /** An EventBridge schedule expression. */
  readonly expression: string;
  readonly target: string;
}

/**
 * The watchdog's schedule (on the default bus, as every scheduled rule). EventBridge delivers a
 * schedule's `Scheduled Event` (source `aws.events`, the rule's ARN in `resources`) to that
 * rule's targets only.
 */
export const WATCHDOG_SCHEDULE = {
  id: 'WatchdogSchedule',
  name: 'labapp-metal-build-watchdog',
  expression: 'rate(1 minute)',
  target: 'watchdog',
} as const satisfies ScheduleRule;

export const SCHEDULE_SOURCE = 'aws.events';
export const SCHEDULED_EVENT = 'Scheduled Event';
