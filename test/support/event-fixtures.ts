import type { InstanceState } from '../../domain/build';
import type { BuildPhaseDetail } from '../../domain/events';
import { eventTokenFor } from '../../events/event-token';

// Events exactly as EventBridge hands them to a Lambda target. The EC2 one follows AWS's
// documented example of "EC2 Instance State-change Notification" field for field.

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

let sequence = 0;
const eventId = () => `7bf73129-1428-4cd3-a780-${String(++sequence).padStart(12, '0')}`;

export function ec2StateChange(instanceId: string, state: InstanceState, time: string) {
  return {
    version: '0',
    id: eventId(),
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: ACCOUNT,
    // EC2 reports whole seconds.
    time: time.replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: [`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${instanceId}`],
    detail: { 'instance-id': instanceId, state },
  };
}

function custom(source: string, detailType: string, detail: unknown, time: string) {
  return {
    version: '0',
    id: eventId(),
    'detail-type': detailType,
    source,
    account: ACCOUNT,
    time: time.replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: [],
    detail,
  };
}

export function buildApproved(buildId: string, time: string) {
  return custom('labapp.metal-build', 'Build Approved', { buildId }, time);
}

/** The bot's `Build Extended`, put after it wrote ExtendedHours and DeadlineAt. */
export function buildExtended(buildId: string, by: string, hours: number, time: string) {
  return custom('labapp.metal-build', 'Build Extended', { buildId, by, hours }, time);
}

export function cancelRequested(buildId: string, by: string, time: string) {
  return custom('labapp.metal-build', 'Build Cancel Requested', { buildId, by }, time);
}

/** EVENT_TOKEN_KEY of the events handlers' world (test/support/events-world.ts). */
export const TEST_EVENT_TOKEN_KEY = 'test-event-token-key-0123456789abcdef';

/** The event token the launch gives a build's machine under the world's key. */
export const eventTokenOf = (buildId: string) => eventTokenFor(TEST_EVENT_TOKEN_KEY, buildId);

/** A phase as the runner puts it; without an `eventToken`, it carries the build's own. */
export function buildPhase(detail: Omit<BuildPhaseDetail, 'eventToken'> & { eventToken?: string }) {
  return custom('labapp.metal-build.runner', 'Build Phase', { ...detail, eventToken: detail.eventToken ?? eventTokenOf(detail.buildId) }, detail.at);
}

/** What EventBridge's schedule delivers to the watchdog. */
export function scheduled(time: string) {
  return {
    version: '0',
    id: eventId(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT,
    time: time.replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/labapp-metal-build-watchdog`],
    detail: {},
  };
}

export const SHA256 = 'a'.repeat(64);
