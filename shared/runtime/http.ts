import type { FetchApp, InvocationContext } from './context.ts';
import { ERROR_CONTENT_TYPE, errorBody, type ErrorCode } from '../http/errors.ts';

/**
 * Conversions shared by the FC adapters: platform header/query maps → Fetch objects,
 * Fetch Response → the JSON result FC expects from an HTTP-ish event function.
 */

/** FC's result for API Gateway and FC 3.0 HTTP trigger invocations (same shape for both). */
export interface FcHttpResult {
  isBase64Encoded: boolean;
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Thrown by event → Request conversions; the handler answers it (400 BadEvent unless said otherwise). */
export class BadEventError extends Error {
  override name = 'BadEventError';
  constructor(
    message: string,
    readonly status = 400,
    readonly code: ErrorCode = 'BadEvent',
  ) {
    super(message);
  }
}

/**
 * Methods the Fetch API cannot build a Request with, which no Ferry route serves: every runtime
 * answers them 501 NotImplemented itself (not a 500 and an error log line per request).
 */
export const UNSERVABLE_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'TRACE', 'TRACK']);

export function unservableMethodMessage(method: string): string {
  return `${method} is not implemented: Ferry's routes answer GET, HEAD and POST`;
}

// Recomputed by the Request/Response machinery or meaningless after the platform decoded the body.
const DROPPED_REQUEST_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade']);
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Header map whose values may be strings, numbers or arrays (multi-value); invalid entries are skipped. */
export function toHeaders(raw: unknown, field: string): Headers {
  const headers = new Headers();
  if (raw == null) return headers;
  if (!isRecord(raw)) throw new BadEventError(`${field} must be an object of header values`);
  for (const [name, value] of Object.entries(raw)) {
    if (DROPPED_REQUEST_HEADERS.has(name.toLowerCase())) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (v == null) continue;
      try {
        headers.append(name, String(v));
      } catch {
        // An invalid header name/value from the gateway must not fail the whole request.
      }
    }
  }
  return headers;
}

/** Query map (string | string[]) → URLSearchParams; comma-joined values are kept as one value. */
export function toSearchParams(raw: unknown, field: string): URLSearchParams {
  const params = new URLSearchParams();
  if (raw == null) return params;
  if (!isRecord(raw)) throw new BadEventError(`${field} must be an object of query values`);
  for (const [name, value] of Object.entries(raw)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) if (v != null) params.append(name, String(v));
  }
  return params;
}

export function toMethod(raw: unknown, field: string): string {
  if (typeof raw !== 'string' || !METHOD.test(raw)) throw new BadEventError(`${field} must be an HTTP method token`);
  const method = raw.toUpperCase();
  if (UNSERVABLE_METHODS.has(method)) throw new BadEventError(unservableMethodMessage(method), 501, 'NotImplemented');
  return method;
}

/** Event body → bytes. `null` when absent or when the method cannot carry one. */
export function toBody(raw: unknown, isBase64: unknown, method: string, field: string): Uint8Array<ArrayBuffer> | null {
  if (raw == null || raw === '') return null;
  if (method === 'GET' || method === 'HEAD') return null;
  if (typeof raw === 'string') {
    if (isBase64 === true || isBase64 === 'true') {
      if (!/^[A-Za-z0-9+/\-_]*={0,2}$/.test(raw.replace(/\s+/g, ''))) throw new BadEventError(`${field} is marked isBase64Encoded but is not base64`);
      return new Uint8Array(Buffer.from(raw, 'base64'));
    }
    return new Uint8Array(Buffer.from(raw, 'utf8'));
  }
  // Some gateways hand over an already parsed JSON body.
  if (isRecord(raw) || Array.isArray(raw)) return new Uint8Array(Buffer.from(JSON.stringify(raw), 'utf8'));
  throw new BadEventError(`${field} must be a string`);
}

/** Builds an absolute URL from a path that may be decoded (API Gateway) or encoded (FC 3.0 rawPath). */
export function toUrl(host: string | null, path: unknown, search: URLSearchParams, field: string, encoded: boolean): URL {
  if (path == null || path === '') path = '/';
  if (typeof path !== 'string') throw new BadEventError(`${field} must be a string`);
  let p = path.startsWith('/') ? path : `/${path}`;
  // '?' and '#' inside a decoded path are path characters, not delimiters.
  p = encoded ? p.replace(/#/g, '%23').replace(/\?/g, '%3F') : p.replace(/%/g, '%25').replace(/#/g, '%23').replace(/\?/g, '%3F');
  const safeHost = host && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? host : 'fc.invalid';
  let url: URL;
  try {
    url = new URL(`https://${safeHost}${p}`);
  } catch {
    throw new BadEventError(`${field} is not a valid URL path`);
  }
  const q = search.toString();
  if (q) url.search = q;
  return url;
}

const TEXT_TYPE = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|graphql|yaml|x-yaml|x-ndjson)\b|application\/[^;]*\+(json|xml)\b|image\/svg\+xml)/i;

export function isTextContentType(contentType: string | null): boolean {
  return contentType != null && TEXT_TYPE.test(contentType.trim());
}

/** Header map for FC: repeated headers (e.g. several Set-Cookie) joined with ', '. */
export function headersToRecord(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = name in out ? `${out[name]}, ${value}` : value;
  });
  return out;
}

/** Response → FC's JSON result; text bodies stay text, anything else (or invalid UTF-8) is base64. */
export async function responseToFcResult(res: Response): Promise<FcHttpResult> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  const headers = headersToRecord(res.headers);
  const contentType = res.headers.get('content-type');
  if (bytes.length === 0) return { isBase64Encoded: false, statusCode: res.status, headers, body: '' };
  if (isTextContentType(contentType)) {
    try {
      const body = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      return { isBase64Encoded: false, statusCode: res.status, headers, body };
    } catch {
      // not valid UTF-8: fall through to base64
    }
  }
  return { isBase64Encoded: true, statusCode: res.status, headers, body: Buffer.from(bytes).toString('base64') };
}

/** An error answer of the adapter itself, in the shared envelope (shared/http/errors.ts). */
export function errorResult(statusCode: number, code: ErrorCode, message: string, requestId?: string): FcHttpResult {
  const body = errorBody(statusCode, code, message, requestId ? { requestId } : {});
  return { isBase64Encoded: false, statusCode, headers: { 'content-type': ERROR_CONTENT_TYPE }, body: JSON.stringify(body) };
}

/** FC hands event functions a Buffer; tests and the emulator may pass a string or an object. */
export function parseEventJson(event: unknown, what: string): Record<string, unknown> {
  let value: unknown = event;
  if (Buffer.isBuffer(event) || event instanceof Uint8Array) value = Buffer.from(event).toString('utf8');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new BadEventError(`${what} event is not valid JSON`);
    }
  }
  if (!isRecord(value)) throw new BadEventError(`${what} event must be a JSON object`);
  return value;
}

export type AppErrorReporter = (err: unknown, ctx: InvocationContext) => void;

/** Runs the app; a throw becomes a 500 without internals (reported through `onError`). */
export async function runApp(app: FetchApp, req: Request, ctx: InvocationContext, onError?: AppErrorReporter): Promise<FcHttpResult> {
  let res: Response;
  try {
    res = await app(req, ctx);
  } catch (err) {
    try {
      onError?.(err, ctx);
    } catch {
      // reporting must never break the response
    }
    return errorResult(500, 'InternalError', 'the request could not be processed', ctx.requestId);
  }
  return responseToFcResult(res);
}
