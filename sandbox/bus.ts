import { randomUUID } from 'node:crypto';
import { EVENT_RULES, SCHEDULED_EVENT, SCHEDULE_SOURCE, WATCHDOG_SCHEDULE, type EventPattern, type RuleBus, type RuleTarget } from '../domain/event-rules';
import type { Logger } from '../domain/ports';
import { matchesEventPattern } from '../stand-ins/event-pattern';
import type { LocalEventBridge, PutEntry } from '../stand-ins/eventbridge';
import { lambdaContext } from '../stand-ins/slack-request';

// EventBridge's part, locally: the rules of the stack (domain/event-rules.ts: bot and runner events
// on the custom bus, EC2 state changes on the default bus, the watchdog's schedule) delivering
// envelopes shaped as AWS delivers them to the real handlers. Every envelope goes to the targets of
// every rule of its bus whose pattern matches it (stand-ins/event-pattern.ts), as EventBridge
// routes, so a wrong pattern in the stack is wrong here too. Entries the real EventBridgeBus puts
// arrive through the EventBridge stand-in. A handler that throws is retried, as EventBridge retries.

export const ACCOUNT = '123456789012';
const ATTEMPTS = 3;
const RETRY_DELAY_MS = 200;
/** The events functions run for at most a minute here (the watchdog reads its remaining time). */
const FUNCTION_TIMEOUT_MS = 60_000;

/** A Lambda entry as the events functions export it (any event type). */
export type LambdaHandler = (event: never, context: never) => unknown;

export interface EventHandlers {
  launch: LambdaHandler;
  cancel: LambdaHandler;
  buildPhase: LambdaHandler;
  instanceState: LambdaHandler;
  watchdog: LambdaHandler;
  deadline: LambdaHandler;
  release: LambdaHandler;
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

/** The handler each rule's target function name is, in EventHandlers. */
const HANDLER_OF: Record<RuleTarget | typeof WATCHDOG_SCHEDULE.target, keyof EventHandlers> = {
  launch: 'launch',
  cancel: 'cancel',
  'build-phase': 'buildPhase',
  'instance-state': 'instanceState',
  watchdog: 'watchdog',
  deadline: 'deadline',
  release: 'release',
};

interface Route {
  rule: string;
  bus: RuleBus;
  pattern: EventPattern;
  target: keyof EventHandlers;
}

/** The ARN of a rule on the default bus. */
function ruleArn(region: string, name: string): string {
  return `arn:aws:events:${region}:${ACCOUNT}:rule/${name}`;
}

/**
 * The stack's rules as the sandbox routes by them: the event-pattern rules as they are, and the
 * schedule as the pattern of what it delivers (its Scheduled Event carries the rule's ARN).
 */
function routes(region: string): Route[] {
  return [
    ...EVENT_RULES.map((rule) => ({ rule: rule.name, bus: rule.bus, pattern: rule.pattern, target: HANDLER_OF[rule.target] })),
    {
      rule: WATCHDOG_SCHEDULE.name,
      bus: 'default',
      pattern: { source: [SCHEDULE_SOURCE], 'detail-type': [SCHEDULED_EVENT], resources: [ruleArn(region, WATCHDOG_SCHEDULE.name)] },
      target: HANDLER_OF[WATCHDOG_SCHEDULE.target],
    },
  ];
}

/** Which bus a PutEvents entry goes to: no EventBusName, `default` or the default bus's ARN is the default bus. */
function busOf(eventBusName: string | undefined, customBusName?: string): RuleBus | undefined {
  const name = eventBusName?.startsWith('arn:') ? eventBusName.slice(eventBusName.lastIndexOf('/') + 1) : eventBusName;
  if (name === undefined || name === '' || name === 'default') return 'default';
  if (customBusName === undefined || name === customBusName) return 'custom';
  return undefined;
}

export interface LocalBusOptions {
  eventBridge: LocalEventBridge;
  /**
   * The stack's bus (EVENT_BUS_NAME). When given, an entry put to any other named bus reaches no
   * rule; when not, every named bus but `default` is taken for the stack's.
   */
  customBusName?: string;
  handlers: EventHandlers;
  region: string;
  now: () => Date;
  log: Logger;
  /** Every delivery, for the page. */
  onDelivery?: (delivery: Delivery) => void;
}

export class LocalBus {
  private readonly pending = new Set<Promise<void>>();
  private readonly routes: Route[];

  constructor(private readonly options: LocalBusOptions) {
    this.routes = routes(options.region);
    options.eventBridge.onPut((entry) => this.route(entry));
  }

  /** An envelope AWS put on the default bus (an EC2 state change, say), routed by the default bus's rules. */
  deliverDefaultBus(envelope: Envelope): void {
    void this.routeEnvelope('default', envelope);
  }

  /** The watchdog's rate(1 minute) schedule fires; resolves when the run has finished. */
  async scheduledWatchdog(at: Date): Promise<void> {
    const { region } = this.options;
    await this.routeEnvelope('default', {
      version: '0',
      id: randomUUID(),
      'detail-type': SCHEDULED_EVENT,
      source: SCHEDULE_SOURCE,
      account: ACCOUNT,
      time: eventTime(at),
      region,
      resources: [ruleArn(region, WATCHDOG_SCHEDULE.name)],
      detail: {},
    });
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
    const bus = busOf(entry.eventBusName, this.options.customBusName);
    if (!bus) {
      this.options.log.warn("no rule matches the event: not the stack's bus", {
        source: entry.source,
        detailType: entry.detailType,
        eventBusName: entry.eventBusName,
      });
      return undefined;
    }
    return this.routeEnvelope(bus, {
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
    });
  }

  /** Delivers the envelope to the target of every rule on the bus that matches it (0..n), as EventBridge does. */
  private routeEnvelope(bus: RuleBus, envelope: Envelope): Promise<void> | undefined {
    const matching = this.routes.filter((route) => route.bus === bus && matchesEventPattern(route.pattern, envelope));
    if (matching.length === 0) {
      this.options.log.warn('no rule matches the event', { bus, source: envelope.source, detailType: envelope['detail-type'] });
      return undefined;
    }
    return this.track(Promise.all(matching.map((route) => this.deliver(route.target, envelope))).then(() => undefined));
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
        await handler(envelope as never, lambdaContext(`metal-build-${target}`, FUNCTION_TIMEOUT_MS) as never);
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

function buildIdOf(detail: unknown): string | undefined {
  const id = (detail as { buildId?: unknown } | null)?.buildId;
  return typeof id === 'string' ? id : undefined;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
