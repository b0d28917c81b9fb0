import { randomUUID } from 'node:crypto';
import { BOT_SOURCE, DETAIL_TYPES, EC2_SOURCE, RUNNER_SOURCE } from '../core/events';
import type { Logger } from '../core/ports';
import type { LocalEventBridge, PutEntry } from '../stand-ins/eventbridge';
import { lambdaContext } from '../stand-ins/slack-request';
import type { SimInstance } from './ec2';

// EventBridge's part, locally: the rules of the stack (bot and runner events on the custom bus,
// EC2 state changes on the default bus, the watchdog's schedule) delivering envelopes shaped as
// AWS delivers them to the real handlers. Entries the real EventBridgeBus puts arrive through
// the EventBridge stand-in. A handler that throws is retried, as EventBridge retries.

export const ACCOUNT = '123456789012';
const ATTEMPTS = 3;
const RETRY_DELAY_MS = 200;

/** A Lambda entry as the events functions export it (any event type). */
export type LambdaHandler = (event: never, context: never) => unknown;

export interface EventHandlers {
  launch: LambdaHandler;
  cancel: LambdaHandler;
  buildPhase: LambdaHandler;
  instanceState: LambdaHandler;
  watchdog: LambdaHandler;
}

export interface Envelope {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface Delivery {
  at: string;
  source: string;
  detailType: string;
  target: keyof EventHandlers;
  buildId?: string;
  outcome: 'ok' | 'retried' | 'failed';
  error?: string;
}

/** EventBridge writes `time` to the second. */
export function eventTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface LocalBusOptions {
  eventBridge: LocalEventBridge;
  handlers: EventHandlers;
  region: string;
  now: () => Date;
  log: Logger;
  /** Every delivery, for the page. */
  onDelivery?: (delivery: Delivery) => void;
}

export class LocalBus {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly options: LocalBusOptions) {
    options.eventBridge.onPut((entry) => this.route(entry));
  }

  /** The default bus's rule for `aws.ec2` state changes. */
  ec2StateChanged(instance: SimInstance): void {
    const { region } = this.options;
    this.track(
      this.deliver('instanceState', {
        version: '0',
        id: randomUUID(),
        'detail-type': DETAIL_TYPES.ec2State,
        source: EC2_SOURCE,
        account: ACCOUNT,
        time: eventTime(this.options.now()),
        region,
        resources: [`arn:aws:ec2:${region}:${ACCOUNT}:instance/${instance.instanceId}`],
        detail: { 'instance-id': instance.instanceId, state: instance.state },
      }),
    );
  }

  /** The watchdog's rate(1 minute) schedule; resolves when the run has finished. */
  async scheduledWatchdog(at: Date): Promise<void> {
    const { region } = this.options;
    await this.track(
      this.deliver('watchdog', {
        version: '0',
        id: randomUUID(),
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: ACCOUNT,
        time: eventTime(at),
        region,
        resources: [`arn:aws:events:${region}:${ACCOUNT}:rule/labapp-metal-builds-watchdog`],
        detail: {},
      }),
    );
  }

  /** Resolves once no delivery is under way, including those the deliveries caused. */
  async settle(): Promise<void> {
    for (;;) {
      await this.options.eventBridge.idle();
      if (this.pending.size === 0) return;
      await Promise.all([...this.pending]);
    }
  }

  private route(entry: PutEntry): Promise<void> | undefined {
    const target = targetOf(entry);
    if (!target) {
      this.options.log.warn('no rule matches the event', { source: entry.source, detailType: entry.detailType });
      return undefined;
    }
    return this.track(
      this.deliver(target, {
        version: '0',
        id: entry.id,
        'detail-type': entry.detailType,
        source: entry.source,
        account: ACCOUNT,
        // EventBridge stamps an entry put without Time when it arrives: in simulated time here.
        time: eventTime(this.options.now()),
        region: this.options.region,
        resources: [],
        detail: entry.detail,
      }),
    );
  }

  private track(delivery: Promise<void>): Promise<void> {
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
    return delivery;
  }

  private async deliver(target: keyof EventHandlers, envelope: Envelope): Promise<void> {
    const handler = this.options.handlers[target];
    const buildId = buildIdOf(envelope.detail);
    let lastError: unknown;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        await handler(envelope as never, lambdaContext(`metal-build-${target}`) as never);
        this.report(envelope, target, buildId, attempt === 1 ? 'ok' : 'retried');
        return;
      } catch (error) {
        lastError = error;
        this.options.log.warn('handler failed; EventBridge retries', { target, attempt, buildId, error: asError(error) });
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
      }
    }
    this.options.log.error('handler failed every attempt; the event goes to the dead-letter queue', {
      target,
      buildId,
      error: asError(lastError),
    });
    this.report(envelope, target, buildId, 'failed', lastError);
  }

  private report(envelope: Envelope, target: keyof EventHandlers, buildId: string | undefined, outcome: Delivery['outcome'], error?: unknown) {
    this.options.onDelivery?.({
      at: envelope.time,
      source: envelope.source,
      detailType: envelope['detail-type'],
      target,
      ...(buildId ? { buildId } : {}),
      outcome,
      ...(error !== undefined ? { error: error instanceof Error ? error.message : String(error) } : {}),
    });
  }
}

function targetOf(entry: PutEntry): keyof EventHandlers | undefined {
  if (entry.source === BOT_SOURCE && entry.detailType === DETAIL_TYPES.approved) return 'launch';
  if (entry.source === BOT_SOURCE && entry.detailType === DETAIL_TYPES.cancelRequested) return 'cancel';
  if (entry.source === RUNNER_SOURCE && entry.detailType === DETAIL_TYPES.phase) return 'buildPhase';
  return undefined;
}

function buildIdOf(detail: unknown): string | undefined {
  const id = (detail as { buildId?: unknown } | null)?.buildId;
  return typeof id === 'string' ? id : undefined;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
