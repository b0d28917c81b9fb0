import type { z } from 'zod';
import type { Build } from '../domain/build';
import type { Logger } from '../domain/ports';
import type { EventDeps } from './deps';
import { loadEventDeps } from './deps';
import { PermanentFailure } from './delivery-errors';
import { parseOrDrop } from './inbound';

// The one shape of an events handler (docs/design.md "Layout"): parse the envelope once with its
// schema, find the build or drop the event with a log line, run the handler's story, and apply
// the two kinds of failure the same way everywhere (events/delivery-errors.ts). Every log line
// carries the handler's name, the Lambda request id and, once known, the BuildID.

/** What Lambda passes besides the event (the watchdog also reads the time left). */
export interface LambdaContext {
  awsRequestId?: string;
  getRemainingTimeInMillis?(): number;
}

export interface Delivery<T> {
  deps: EventDeps;
  detail: T;
  /** The envelope's `time`: when the event happened. */
  time?: string;
  build: Build;
  /** With the BuildID. */
  log: Logger;
}

export interface EventSpec<T> {
  /** The handler's name, on every log line. */
  name: string;
  source: string;
  detailType: string;
  schema: z.ZodType<T>;
  /** Why to ignore the event before any read (logged at INFO), e.g. a phase this function does not act on. */
  ignore?: (detail: T) => { reason: string; fields?: Record<string, unknown> } | undefined;
  /** The build the event is about; by default the detail's `buildId`, read consistently. */
  find?: (deps: EventDeps, detail: T) => Promise<Build | undefined>;
  /** Logged when there is no such build; by default a warning naming the BuildID. */
  missing?: (log: Logger, detail: T) => void;
  handle(delivery: Delivery<T>): Promise<void>;
}

export interface EventEntry {
  /** The handler over given dependencies (tests, the sandbox, the bench). */
  createHandler(deps: EventDeps): (event: unknown, context?: LambdaContext) => Promise<void>;
  /** The Lambda entry: the real dependencies, built once per container. */
  handler(event: unknown, context?: LambdaContext): Promise<void>;
}

const buildIdOf = (detail: unknown): string | undefined => {
  const id = (detail as { buildId?: unknown } | null)?.buildId;
  return typeof id === 'string' ? id : undefined;
};

/** A handler's log: its name and, on Lambda, the request id. */
export function handlerLog(deps: Pick<EventDeps, 'log'>, name: string, context?: LambdaContext): Logger {
  return deps.log.child({ handler: name, ...(context?.awsRequestId ? { requestId: context.awsRequestId } : {}) });
}

export function eventEntry<T>(spec: EventSpec<T>): EventEntry {
  const createHandler = (deps: EventDeps) =>
    async function handle(event: unknown, context?: LambdaContext): Promise<void> {
      const log = handlerLog(deps, spec.name, context);
      const inbound = parseOrDrop(event, spec.source, spec.detailType, spec.schema, log);
      if (!inbound) return;
      const { detail } = inbound;
      const buildId = buildIdOf(detail);
      const blog = buildId ? log.child({ buildId }) : log;
      const ignored = spec.ignore?.(detail);
      if (ignored !== undefined) {
        blog.info(ignored.reason, ignored.fields);
        return;
      }
      const build = spec.find ? await spec.find(deps, detail) : buildId ? await deps.store.get(buildId) : undefined;
      if (!build) {
        if (spec.missing) spec.missing(blog, detail);
        else blog.warn('no such build; event dropped');
        return;
      }
      const bound = buildId ? blog : log.child({ buildId: build.BuildID });
      try {
        await spec.handle({ deps, detail, ...(inbound.time !== undefined ? { time: inbound.time } : {}), build, log: bound });
      } catch (error) {
        if (error instanceof PermanentFailure) {
          bound.error('dropped: nothing a redelivery could change', { error });
          return;
        }
        // RedeliverLater (the handler said why) and transient failures alike: EventBridge retries.
        throw error;
      }
    };
  return {
    createHandler,
    handler: async (event, context) => createHandler(await loadEventDeps())(event, context),
  };
}

/** A scheduled function (the watchdog): no envelope worth parsing and no build, the same log line shape and Lambda entry. */
export function scheduledEntry(name: string, run: (deps: EventDeps, log: Logger, context?: LambdaContext) => Promise<void>): EventEntry {
  const createHandler = (deps: EventDeps) => (_event: unknown, context?: LambdaContext) => run(deps, handlerLog(deps, name, context), context);
  return {
    createHandler,
    handler: async (event, context) => createHandler(await loadEventDeps())(event, context),
  };
}
