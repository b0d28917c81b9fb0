import { Template } from 'aws-cdk-lib/assertions';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { EVENT_RULES, SCHEDULED_EVENT, SCHEDULE_SOURCE, WATCHDOG_SCHEDULE, type EventRule } from '../../domain/event-rules';
import { BOT_SOURCE, DETAIL_TYPES, EC2_SOURCE, RUNNER_SOURCE } from '../../domain/events';
import { createApp } from '../../infra/app';
import { matchesEventPattern } from '../../stand-ins/event-pattern';

// domain/event-rules.ts is what the stack deploys and what the sandbox routes by: each rule takes
// the events of its kind, as AWS delivers them, and no other; and the synthesized template's
// rules are exactly that data, so the stack and the sandbox cannot drift apart.

process.env.CDK_VALIDATION = 'false';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const BUILD_ID = 'build-20260301-101500-ab12';
const INSTANCE_ID = 'i-0abcdef1234567890';

const envelope = (source: string, detailType: string, detail: unknown, resources: string[] = []) => ({
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': detailType,
  source,
  account: ACCOUNT,
  time: '2026-03-01T10:15:00Z',
  region: REGION,
  resources,
  detail,
});

const phaseDetail = {
  buildId: BUILD_ID,
  instanceId: INSTANCE_ID,
  eventToken: 'a'.repeat(64),
  phase: 'building',
  at: '2026-03-01T10:20:00.123Z',
};

const completedPhase = envelope(RUNNER_SOURCE, DETAIL_TYPES.phase, {
  ...phaseDetail,
  phase: 'completed',
  artifact: { bucket: 'hedgehog-lab-artifacts', key: `builds/${BUILD_ID}/hedgehog-lab-prewarmed-1.2.3.ova`, sha256: 'f'.repeat(64), bytes: 123456 },
  durationSeconds: 1800,
});

/**
 * Sample events of each rule's kind, keyed by the rule's name; the third element names the
 * other rules that take the same event (a completed phase goes to build-phase and release).
 */
const SAMPLES: Record<string, Array<[string, ReturnType<typeof envelope>, string[]?]>> = {
  'labapp-metal-build-approved': [['Build Approved from the bot', envelope(BOT_SOURCE, DETAIL_TYPES.approved, { buildId: BUILD_ID })]],
  'labapp-metal-build-cancel-requested': [
    ['Build Cancel Requested from the bot', envelope(BOT_SOURCE, DETAIL_TYPES.cancelRequested, { buildId: BUILD_ID, by: 'U0123ABCD' })],
  ],
  'labapp-metal-build-extended': [
    ['Build Extended from the bot', envelope(BOT_SOURCE, DETAIL_TYPES.extended, { buildId: BUILD_ID, by: 'U0123ABCD', hours: 1 })],
  ],
  'labapp-metal-build-phase': [
    ['Build Phase from the runner', envelope(RUNNER_SOURCE, DETAIL_TYPES.phase, phaseDetail)],
    ['a failed Build Phase', envelope(RUNNER_SOURCE, DETAIL_TYPES.phase, { ...phaseDetail, phase: 'failed', message: 'packer failed' })],
    ['a completed Build Phase with its artifact', completedPhase, ['labapp-metal-build-release']],
  ],
  'labapp-metal-build-release': [['a completed Build Phase from the runner', completedPhase, ['labapp-metal-build-phase']]],
  'labapp-metal-build-instance-state': (['pending', 'running', 'shutting-down', 'terminated'] as const).map((state) => [
    `EC2 ${state}`,
    // As AWS puts it on the default bus (EventBridge user guide, "EC2 Instance State-change Notification").
    envelope(EC2_SOURCE, DETAIL_TYPES.ec2State, { 'instance-id': INSTANCE_ID, state }, [`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${INSTANCE_ID}`]),
  ]),
};

const SCHEDULED = envelope(SCHEDULE_SOURCE, SCHEDULED_EVENT, {}, [`arn:aws:events:${REGION}:${ACCOUNT}:rule/${WATCHDOG_SCHEDULE.name}`]);

const rules: readonly EventRule[] = EVENT_RULES;
const matching = (event: unknown) => rules.filter((rule) => matchesEventPattern(rule.pattern, event)).map((rule) => rule.name);

describe('each rule takes the events of its kind and no other', () => {
  it('has samples for every rule', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(rules.map((rule) => rule.name).sort());
  });

  for (const [name, samples] of Object.entries(SAMPLES)) {
    it.each(samples)(`${name}: %s matches it (and only the rules named with it)`, (_, event, also = []) => {
      expect([...matching(event)].sort()).toEqual([name, ...also].sort());
    });
  }

  it('the watchdog’s Scheduled Event matches no event rule', () => {
    expect(matching(SCHEDULED)).toEqual([]);
  });

  it('the rules on the stack’s bus take the bot and runner events; the default bus’s, EC2’s', () => {
    const busOf = Object.fromEntries(rules.map((rule) => [rule.name, rule.bus]));
    expect(busOf).toEqual({
      'labapp-metal-build-approved': 'custom',
      'labapp-metal-build-cancel-requested': 'custom',
      'labapp-metal-build-extended': 'custom',
      'labapp-metal-build-phase': 'custom',
      'labapp-metal-build-release': 'custom',
      'labapp-metal-build-instance-state': 'default',
    });
  });

  it.each([
    ['a Build Phase from the bot’s source', envelope(BOT_SOURCE, DETAIL_TYPES.phase, phaseDetail)],
    ['an approval from the runner’s source', envelope(RUNNER_SOURCE, DETAIL_TYPES.approved, { buildId: BUILD_ID })],
    ['a state change from another source', envelope('custom.ec2', DETAIL_TYPES.ec2State, { 'instance-id': INSTANCE_ID, state: 'terminated' })],
    ['a lower-case detail-type', envelope(BOT_SOURCE, DETAIL_TYPES.approved.toLowerCase(), { buildId: BUILD_ID })],
    ['a source that only starts like the bot’s', envelope(`${BOT_SOURCE}.other`, DETAIL_TYPES.approved, { buildId: BUILD_ID })],
  ])('%s matches no rule', (_, event) => {
    expect(matching(event)).toEqual([]);
  });

  it('routes a forged runner event by its source and detail-type, as EventBridge does, not by what it says', () => {
    // A runner's detail put with the bot's source: the pattern is all EventBridge looks at. With
    // the detail-type "Build Phase" it reaches no rule (build-phase takes the runner's source
    // only); with "Build Approved" it reaches launch, whatever its detail. The patterns do not
    // authenticate: the machine's role may put only RUNNER_SOURCE "Build Phase" and the bot's only
    // BOT_SOURCE (infra/build-machine.ts putEventsConditions), and build-phase checks the token.
    expect(matching(envelope(BOT_SOURCE, DETAIL_TYPES.phase, phaseDetail))).toEqual([]);
    expect(matching(envelope(BOT_SOURCE, DETAIL_TYPES.approved, phaseDetail))).toEqual(['labapp-metal-build-approved']);
  });
});

describe('the synthesized stack deploys exactly these rules', () => {
  type RuleProperties = { Name: string; EventPattern?: unknown; EventBusName?: unknown; ScheduleExpression?: string };
  let deployed: Map<string, { logicalId: string; properties: RuleProperties }>;
  let busLogicalId: string;

  beforeAll(() => {
    const { stack } = createApp({ context: {}, code: () => Code.fromInline('exports.handler = async () => {}') });
    const template = Template.fromStack(stack);
    deployed = new Map(
      Object.entries(template.findResources('AWS::Events::Rule')).map(([logicalId, r]) => {
        const properties = (r as { Properties: RuleProperties }).Properties;
        return [properties.Name, { logicalId, properties }];
      }),
    );
    busLogicalId = Object.keys(template.findResources('AWS::Events::EventBus'))[0]!;
  }, 120_000);

  it('has the event rules and the schedule, nothing else', () => {
    expect([...deployed.keys()].sort()).toEqual([...rules.map((rule) => rule.name), WATCHDOG_SCHEDULE.name].sort());
  });

  it.each(rules.map((rule) => [rule.name, rule] as const))('%s: its EventPattern is the data’s, on its bus', (name, rule) => {
    const found = deployed.get(name)!;
    expect(found.properties.EventPattern).toStrictEqual(rule.pattern);
    expect(found.logicalId.startsWith(rule.id)).toBe(true);
    if (rule.bus === 'custom') expect(found.properties.EventBusName).toEqual({ Ref: busLogicalId });
    else expect(found.properties.EventBusName).toBeUndefined();
  });

  it('the watchdog runs on the data’s schedule', () => {
    const found = deployed.get(WATCHDOG_SCHEDULE.name)!;
    expect(found.properties.ScheduleExpression).toBe(WATCHDOG_SCHEDULE.expression);
    expect(found.properties.EventPattern).toBeUndefined();
    expect(found.logicalId.startsWith(WATCHDOG_SCHEDULE.id)).toBe(true);
  });
});
