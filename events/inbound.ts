import type { z } from 'zod';
import { isBuildId } from '../domain/build-id';
import { parseEvent } from '../domain/events';
import type { Logger } from '../domain/ports';

// Every EventBridge event is parsed once, at the edge. A malformed one is logged (with the
// BuildID when one can be read) and dropped: redelivering it would not make it well-formed.

export interface Inbound<T> {
  detail: T;
  /** The envelope's `time`: when the event happened, not when it arrived. */
  time?: string;
}

export function parseOrDrop<T>(raw: unknown, source: string, detailType: string, schema: z.ZodType<T>, log: Logger): Inbound<T> | undefined {
  const parsed = parseEvent(raw, source, detailType, schema);
  if (parsed.ok) return parsed.value;
  const buildId = readBuildId(raw);
  log.warn('dropped a malformed event', { ...(buildId ? { buildId } : {}), problem: parsed.problem, eventId: readEventId(raw) });
  return undefined;
}

function readBuildId(raw: unknown): string | undefined {
  const detail = (raw as { detail?: { buildId?: unknown } } | null)?.detail;
  const id = typeof detail === 'object' && detail !== null ? detail.buildId : undefined;
  // Only something shaped like a BuildID reaches a log field; anything else could be a log injection.
  return typeof id === 'string' && isBuildId(id) ? id : undefined;
}

function readEventId(raw: unknown): string | undefined {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id.slice(0, 100) : undefined;
}
