/**
 * FC 3.0 HTTP trigger event:
 * {version:"v1", rawPath (URL-encoded), body, isBase64Encoded, headers, queryParameters,
 *  requestContext{http{method,path,sourceIp,…}, requestId, …}}.
 * Repeated header/query values arrive comma-joined and are passed on as one value.
 */
import type { FetchApp, InvocationContext } from './context.ts';
import { BadEventError, errorResult, isRecord, parseEventJson, runApp, toBody, toHeaders, toMethod, toSearchParams, toUrl, type AppErrorReporter, type FcHttpResult } from './http.ts';

export interface Fc3HttpEvent {
  version: 'v1';
  rawPath: string;
  body?: string;
  isBase64Encoded?: boolean;
  headers?: Record<string, string>;
  queryParameters?: Record<string, string>;
  requestContext: {
    accountId?: string;
    domainName?: string;
    domainPrefix?: string;
    http: { method: string; path?: string; protocol?: string; sourceIp?: string; userAgent?: string };
    requestId?: string;
    time?: string;
    timeEpoch?: string;
  };
}

export function isFc3HttpEvent(e: Record<string, unknown>): boolean {
  return isRecord(e.requestContext) && isRecord(e.requestContext.http) && ('rawPath' in e || 'version' in e);
}

export interface Fc3Request {
  request: Request;
  sourceIp?: string;
  requestId?: string;
}

/** Throws BadEventError when the event cannot be turned into a Request. */
export function fc3HttpEventToRequest(event: unknown): Fc3Request {
  const e = parseEventJson(event, 'FC HTTP trigger');
  const rc = e.requestContext;
  if (!isRecord(rc) || !isRecord(rc.http)) throw new BadEventError('requestContext.http must be an object');
  const method = toMethod(rc.http.method, 'requestContext.http.method');
  const headers = toHeaders(e.headers, 'headers');
  const search = toSearchParams(e.queryParameters, 'queryParameters');
  const host = headers.get('host') ?? (typeof rc.domainName === 'string' ? rc.domainName : null);
  const path = e.rawPath ?? (typeof rc.http.path === 'string' ? encodeURI(rc.http.path) : undefined);
  const url = toUrl(host, path, search, 'rawPath', true);
  const body = toBody(e.body, e.isBase64Encoded, method, 'body');
  const out: Fc3Request = { request: new Request(url, { method, headers, body }) };
  if (typeof rc.http.sourceIp === 'string' && rc.http.sourceIp) out.sourceIp = rc.http.sourceIp;
  if (typeof rc.requestId === 'string' && rc.requestId) out.requestId = rc.requestId;
  return out;
}

/** Runs `app` for one FC 3.0 HTTP trigger event; never throws (bad event → 400, app failure → 500). */
export async function handleFc3HttpEvent(app: FetchApp, event: unknown, ctx: InvocationContext, onError?: AppErrorReporter): Promise<FcHttpResult> {
  let converted: Fc3Request;
  try {
    converted = fc3HttpEventToRequest(event);
  } catch (err) {
    if (err instanceof BadEventError) return errorResult(err.status, err.code, err.message, ctx.requestId);
    return errorResult(400, 'BadEvent', 'malformed FC HTTP trigger event', ctx.requestId);
  }
  const fullCtx: InvocationContext = { ...ctx };
  if (converted.sourceIp && !fullCtx.sourceIp) fullCtx.sourceIp = converted.sourceIp;
  return runApp(app, converted.request, fullCtx, onError);
}
