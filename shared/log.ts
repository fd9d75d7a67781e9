/**
 * Structured JSON lines on stdout (Function Compute ships them to SLS).
 * Secrets never reach a line: values under secret-looking keys are replaced, and
 * values registered with `registerSecret` are masked wherever they appear.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const SECRET_KEY = /(secret|password|token|authorization|signature|credential|accesskey|security.?token|cookie)/i;
const secrets = new Set<string>();

export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}

function maskString(s: string): string {
  let out = s;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('***');
  return out;
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[deep]';
  if (typeof value === 'string') return maskString(value);
  if (value instanceof Error) return { name: value.name, message: maskString(value.message), ...(redact({ ...value }, depth + 1) as object) };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEY.test(k) && v != null && typeof v !== 'object' && typeof v !== 'boolean' ? '***' : redact(v, depth + 1);
    }
    return out;
  }
  return value;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export type Sink = (line: string) => void;
let sink: Sink = (line) => process.stdout.write(line + '\n');
/** Tests capture lines by swapping the sink. */
export function setLogSink(next: Sink): Sink {
  const prev = sink;
  sink = next;
  return prev;
}

/** Without an explicit level, a logger follows FERRY_LOG_LEVEL (default info) as it is at each line. */
export function createLogger(base: Record<string, unknown> = {}, minLevel?: Level): Logger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    const min = minLevel ?? ((process.env.FERRY_LOG_LEVEL as Level) || 'info');
    if (order[level] < (order[min] ?? 20)) return;
    sink(JSON.stringify(redact({ level, time: new Date().toISOString(), msg, ...base, ...fields })));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, minLevel),
  };
}

export const log = createLogger();
