/**
 * Structured JSON lines on stdout (Function Compute ships them to SLS).
 * Secrets never reach a line: values under secret-looking keys are replaced, and
 * values registered with `registerSecret` are masked wherever they appear.
 * A line is one line, read as what it says: besides the control characters JSON escapes, the line
 * and paragraph separators (U+2028, U+2029), C1 controls and the bidi controls that reorder text on
 * screen (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) are written as \uXXXX escapes.
 * No string value is longer than LOG_VALUE_MAX; values taken from a request are cut shorter with
 * `clip` where they are echoed (logs and error answers).
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

/** How much of a request value (a path, a kind, a header) is echoed in a log line or an error answer. */
export const CLIP_DEFAULT = 200;
/** The longest string value a log line carries, whatever its origin. */
export const LOG_VALUE_MAX = 2000;

/**
 * `value` as text of at most `max` characters (plus the marker): the first `max` and `…(+N)` for the N
 * left out. Registered secrets are masked before cutting, so a secret cut in two cannot slip past the
 * mask. For every request-derived value a log line or an error answer echoes.
 */
export function clip(value: unknown, max = CLIP_DEFAULT): string {
  const s = maskString(typeof value === 'string' ? value : String(value));
  if (s.length <= max) return s;
  // Never split a surrogate pair.
  const keep = /[\uD800-\uDBFF]/.test(s.charAt(max - 1)) ? max - 1 : max;
  return `${s.slice(0, keep)}…(+${s.length - keep})`;
}

const UNSAFE_IN_LINE = /[\u0080-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON.stringify for one log line: strings longer than LOG_VALUE_MAX clipped, and the characters JSON
 * leaves raw but terminals and log viewers act on (line separators, bidi and C1 controls) escaped.
 * The result is still JSON and parses back to the same characters.
 */
export function logLine(value: unknown): string {
  const json = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' && v.length > LOG_VALUE_MAX ? clip(v, LOG_VALUE_MAX) : v));
  return json.replace(UNSAFE_IN_LINE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
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

/** Whether a line at `level` would be written by a logger that follows FERRY_LOG_LEVEL: hot paths skip building the fields otherwise. */
export function logLevelEnabled(level: Level): boolean {
  return order[level] >= (order[process.env.FERRY_LOG_LEVEL as Level] ?? 20);
}

/** Without an explicit level, a logger follows FERRY_LOG_LEVEL (default info) as it is at each line. */
export function createLogger(base: Record<string, unknown> = {}, minLevel?: Level): Logger {
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    const min = minLevel ?? ((process.env.FERRY_LOG_LEVEL as Level) || 'info');
    if (order[level] < (order[min] ?? 20)) return;
    sink(logLine(redact({ level, time: new Date().toISOString(), msg, ...base, ...fields })));
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
