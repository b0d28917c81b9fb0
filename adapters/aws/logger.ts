import type { LogFields, Logger } from '../../domain/ports';

// One JSON object per line on stdout/stderr: Lambda's JSON log format and CloudWatch Logs
// Insights read the fields, and `buildId` is on every line that concerns a build.

type Level = 'INFO' | 'WARN' | 'ERROR';
export type LogSink = (line: string, level: Level) => void;

const defaultSink: LogSink = (line, level) => {
  if (level === 'ERROR') console.error(line);
  else console.log(line);
};

/** Keys whose values never reach a log line, whatever the caller passed. */
const SECRET_KEY = /secret|token|password|authorization|signature/i;

function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value instanceof Error) out[key] = { name: value.name, message: value.message, ...(value.cause ? { cause: String(value.cause) } : {}) };
    else out[key] = SECRET_KEY.test(key) && value !== undefined ? '***' : value;
  }
  return out;
}

export function createLogger(base: LogFields = {}, sink: LogSink = defaultSink): Logger {
  const write = (level: Level, message: string, fields?: LogFields) => {
    // The line's own level, time and message come last: a field named `message` (an error text,
    // EC2's reason) must not replace what the line says.
    sink(JSON.stringify({ ...redact({ ...base, ...fields }), level, time: new Date().toISOString(), message }), level);
  };
  return {
    info: (m, f) => write('INFO', m, f),
    warn: (m, f) => write('WARN', m, f),
    error: (m, f) => write('ERROR', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, sink),
  };
}
