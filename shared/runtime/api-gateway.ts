/**
 * FC 2.0 event function behind API Gateway (what serverless-aliyun-function-compute's
 * `http` events create). The event is a Buffer of JSON:
 * {"path","httpMethod","headers","queryParameters","pathParameters","body","isBase64Encoded"}.
 */
import type { FetchApp, InvocationContext } from './context.ts';
import { BadEventError, errorResult, parseEventJson, runApp, toBody, toHeaders, toMethod, toSearchParams, toUrl, type AppErrorReporter, type FcHttpResult } from './http.ts';

export interface ApiGatewayEvent {
  path?: string;
  httpMethod: string;
  headers?: Record<string, string | string[]>;
  queryParameters?: Record<string, string | string[]>;
  pathParameters?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
}

/** Shape check used for dispatch; field validation happens in the conversion. */
export function isApiGatewayEvent(e: Record<string, unknown>): boolean {
  return 'httpMethod' in e;
}

/** Throws BadEventError when the event cannot be turned into a Request. */
export function apiGatewayEventToRequest(event: unknown): Request {
  const e = parseEventJson(event, 'API Gateway');
  const method = toMethod(e.httpMethod, 'httpMethod');
  const headers = toHeaders(e.headers, 'headers');
  const search = toSearchParams(e.queryParameters, 'queryParameters');
  const url = toUrl(headers.get('host'), e.path, search, 'path', false);
  const body = toBody(e.body, e.isBase64Encoded, method, 'body');
  return new Request(url, { method, headers, body });
}

/** Runs `app` for one API Gateway event; never throws (bad event → 400, app failure → 500). */
export async function handleApiGatewayEvent(app: FetchApp, event: unknown, ctx: InvocationContext, onError?: AppErrorReporter): Promise<FcHttpResult> {
  let req: Request;
  try {
    req = apiGatewayEventToRequest(event);
  } catch (err) {
    if (err instanceof BadEventError) return errorResult(err.status, err.code, err.message, ctx.requestId);
    return errorResult(400, 'BadEvent', 'malformed API Gateway event', ctx.requestId);
  }
  return runApp(app, req, ctx, onError);
}
