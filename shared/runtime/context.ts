/**
 * What a Ferry app learns about the invocation it serves, independent of the platform
 * (FC 2.0 event function, FC 3.0 HTTP trigger, local node server).
 */
export interface InvocationCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

export interface InvocationContext {
  requestId: string;
  /** STS credentials of the function's execution role (FC only). */
  credentials?: InvocationCredentials;
  region?: string;
  accountId?: string;
  functionName?: string;
  /** Epoch ms by which the invocation must have answered (FC kills it after the timeout). */
  deadlineMs?: number;
  /** Client address when the platform tells us (FC 3.0 HTTP trigger, node server). */
  sourceIp?: string;
}

export type FetchApp = (req: Request, ctx: InvocationContext) => Promise<Response>;

/** The subset of FC's handler `context` we read; every field is optional because FC 2.0/3.0 differ. */
export interface FcContext {
  requestId?: string;
  credentials?: { accessKeyId?: string; accessKeySecret?: string; securityToken?: string };
  function?: { name?: string; handler?: string; memory?: number; timeout?: number };
  service?: { name?: string };
  region?: string;
  accountId?: string;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/**
 * Map FC's handler context to an InvocationContext. `now` is the invocation start
 * (the deadline is start + function timeout in seconds).
 */
export function invocationContextFromFc(context: unknown, now: number = Date.now()): InvocationContext {
  const c = (context && typeof context === 'object' ? context : {}) as FcContext;
  const out: InvocationContext = { requestId: str(c.requestId) ?? `local-${now.toString(36)}-${Math.random().toString(36).slice(2, 10)}` };
  const cred = c.credentials;
  const keyId = str(cred?.accessKeyId);
  const keySecret = str(cred?.accessKeySecret);
  if (keyId && keySecret) {
    out.credentials = { accessKeyId: keyId, accessKeySecret: keySecret };
    const token = str(cred?.securityToken);
    if (token) out.credentials.securityToken = token;
  }
  const region = str(c.region);
  if (region) out.region = region;
  const accountId = str(c.accountId);
  if (accountId) out.accountId = accountId;
  const fnName = str(c.function?.name);
  if (fnName) out.functionName = fnName;
  const timeout = c.function?.timeout;
  if (typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0) out.deadlineMs = now + timeout * 1000;
  return out;
}
