/** Huawei Cloud error bodies (SWR, IAM, API gateway) → errors.ts classes. */
import {
  CloudAuthError,
  CloudConflictError,
  CloudError,
  CloudInvalidRequestError,
  CloudNotFoundError,
  CloudPermissionError,
  CloudThrottledError,
  CloudTransientError,
  type CloudErrorInit,
  type CloudProvider,
} from './errors.ts';
import { serverWaitMs } from './alibaba-rpc.ts';

export interface HuaweiErrorInfo {
  code?: string | undefined;
  message?: string | undefined;
  requestId?: string | undefined;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string' && v) return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function fromObject(o: Record<string, unknown>): HuaweiErrorInfo {
  return {
    code: str(o.errorCode) ?? str(o.error_code) ?? str(o.code),
    message: str(o.errorMessage) ?? str(o.error_msg) ?? str(o.message) ?? str(o.detail),
    requestId: str(o.request_id) ?? str(o.requestId),
  };
}

/**
 * Every shape seen: `[{errorCode,errorMessage,detail}]`, `{errors:[…]}`, `{errorCode,errorMessage}`,
 * gateway `{error_code,error_msg,request_id}`, IAM `{error:{code,message,title}}`.
 */
export function parseHuaweiErrorBody(text: string): HuaweiErrorInfo {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { message: text.trim().slice(0, 300) || undefined };
  }
  if (Array.isArray(body)) return body[0] && typeof body[0] === 'object' ? fromObject(body[0] as Record<string, unknown>) : {};
  if (!body || typeof body !== 'object') return {};
  const o = body as Record<string, unknown>;
  if (Array.isArray(o.errors) && o.errors[0] && typeof o.errors[0] === 'object') {
    const first = fromObject(o.errors[0] as Record<string, unknown>);
    return { ...first, requestId: str(o.request_id) ?? str(o.requestId) ?? first.requestId };
  }
  if (o.error && typeof o.error === 'object') {
    const e = o.error as Record<string, unknown>;
    const info = fromObject(e);
    // IAM puts the HTTP status in `code`; prefer a real error code when there is one.
    return { ...info, code: str(e.error_code) ?? info.code, message: info.message ?? str(e.title) };
  }
  return fromObject(o);
}

const AUTH_CODES = new Set(['APIGW.0301', 'APIGW.0303', 'APIGW.0101', 'APIGW.0302', 'APIGW.0305', 'SVCSTG.SWR.4010000']);
const THROTTLE_CODES = new Set(['SVCSTG.SWR.4031042', 'APIGW.0308']);
const BUSY_CODES = new Set(['SVCSTG.SWR.4090023']);

export function mapHuaweiError(
  provider: CloudProvider,
  action: string,
  status: number,
  headers: Record<string, string>,
  bodyText: string,
  now: number,
  overrides: Record<string, new (init: CloudErrorInit) => CloudError> = {},
): CloudError {
  const info = parseHuaweiErrorBody(bodyText);
  const code = info.code ?? `HTTP${status}`;
  const init: CloudErrorInit = {
    provider,
    action,
    code,
    message: info.message ?? `HTTP ${status}`,
    requestId: headers['x-request-id'] ?? info.requestId,
    status,
  };
  const specific = overrides[code];
  if (specific) return new specific(init);
  if (THROTTLE_CODES.has(code) || status === 429) return new CloudThrottledError({ ...init, retryAfterMs: serverWaitMs(headers, now) });
  if (BUSY_CODES.has(code) || status >= 500) return new CloudTransientError(init);
  if (status === 401 || AUTH_CODES.has(code)) return new CloudAuthError(init);
  if (status === 403) return new CloudPermissionError(init);
  if (status === 404) return new CloudNotFoundError(init);
  if (status === 409) return new CloudConflictError(init);
  if (status === 400) return new CloudInvalidRequestError(init);
  return new CloudError(init);
}
