import { createLogger } from '../adapters/aws/logger';
import type { Logger } from '../domain/ports';

/** The production logger with a sink that keeps every line as an object, for assertions. */
export function memoryLogger(): Logger & { lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({}, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  return Object.assign(logger, { lines });
}
