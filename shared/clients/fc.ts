/**
 * Function Compute 2.0's InvokeFunction, asynchronously (`X-Fc-Invocation-Type: Async`): FC queues the
 * event and answers 202 at once. Ferry's one use: the webhook starting a sweep when it left work.
 * Signed as the FC 2.0 SDK signs (fc-signature.ts), with the role's STS token when it has one.
 */
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import type { CredentialSource } from './credentials.ts';
import { CloudError } from './errors.ts';
import { fcAuthorization, fcSignature, fcStringToSign } from './fc-signature.ts';
import { sendHttp } from './transport.ts';

export interface FcInvokerOptions {
  /** `https://<accountId>.<region>.fc.aliyuncs.com` (the internal endpoint works from inside FC too). */
  endpoint: string;
  accountId: string;
  credentials: CredentialSource;
  clock?: Clock | undefined;
  timeoutMs?: number | undefined;
}

/** The public FC 2.0 endpoint of an account in a region. */
export function fcEndpoint(accountId: string, region: string): string {
  return `https://${accountId}.${region}.fc.aliyuncs.com`;
}

/** Queues one asynchronous invocation of `service`/`fn` with `payload`; resolves to FC's request id. */
export async function invokeFunctionAsync(o: FcInvokerOptions, service: string, fn: string, payload = ''): Promise<{ requestId: string | null }> {
  const path = `/2016-08-15/services/${service}/functions/${fn}/invocations`;
  const creds = await o.credentials();
  const headers: Record<string, string> = {
    date: new Date((o.clock ?? systemClock).now()).toUTCString(),
    'content-type': 'application/octet-stream',
    'x-fc-account-id': o.accountId,
    'x-fc-invocation-type': 'Async',
  };
  if (creds.securityToken) headers['x-fc-security-token'] = creds.securityToken;
  headers.authorization = fcAuthorization(creds.accessKeyId, fcSignature(fcStringToSign('POST', path, headers, null), creds.accessKeySecret));
  const url = `${o.endpoint.replace(/\/+$/, '')}${path.split('/').map(encodeURIComponent).join('/')}`;
  const res = await sendHttp({ method: 'POST', url, headers, body: payload, timeoutMs: o.timeoutMs ?? 5_000, provider: 'fc', action: 'InvokeFunction' });
  const requestId = res.headers['x-fc-request-id'] ?? null;
  if (res.status === 202) return { requestId };
  let code = `HTTP${res.status}`;
  let message = res.body.slice(0, 300);
  try {
    const b = JSON.parse(res.body) as { ErrorCode?: unknown; ErrorMessage?: unknown };
    if (typeof b.ErrorCode === 'string') code = b.ErrorCode;
    if (typeof b.ErrorMessage === 'string') message = b.ErrorMessage;
  } catch {
    // not JSON: the status and the start of the body say it
  }
  throw new CloudError({ provider: 'fc', action: 'InvokeFunction', code, message, status: res.status, requestId: requestId ?? undefined });
}
