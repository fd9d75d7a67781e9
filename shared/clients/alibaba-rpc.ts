/**
 * Alibaba Cloud RPC-style calls (`POST /` with parameters in the query string), signed the
 * way the official SDKs sign them: V3 (ACS3-HMAC-SHA256, @alicloud/openapi-client `doRequest`)
 * by default, V1 (HMAC-SHA1 query signature, @alicloud/openapi-client `doRPCRequest` /
 * @alicloud/pop-core) on request.
 */
import { randomBytes } from 'node:crypto';
import { arch, platform } from 'node:os';
import type { Dispatcher } from 'undici';
import type * as z from '../zod.ts';
import { systemClock, type Clock } from '../clock.ts';
import {
  CloudAuthError,
  CloudError,
  CloudInvalidRequestError,
  CloudMalformedResponseError,
  CloudNotFoundError,
  CloudPermissionError,
  CloudThrottledError,
  CloudTransientError,
  CloudConflictError,
  type CloudErrorInit,
  type CloudProvider,
} from './errors.ts';
import { type AlibabaErrorBody, readAlibabaBody } from './alibaba-error-body.ts';
import type { AlibabaCredentials, CredentialSource } from './credentials.ts';
import { canonicalQuery, rfc3986 } from './signing/encode.ts';
import { EMPTY_SHA256, v1SignatureOfCanonical, v3SignatureOfCanonical } from './signing/alibaba.ts';
import { type AccountLimiter, defaultRetryPolicy, getAccountLimiter, sendHttp, withRetry, type HttpResponse, type RetryPolicy } from './transport.ts';
import type { Parser } from './shape.ts';
import { checkOutput } from './checked.ts';

export type AlibabaProduct = 'cr' | 'ecs' | 'kms';

export const DEFAULT_API_VERSIONS: Record<AlibabaProduct, string> = { cr: '2018-12-01', ecs: '2014-05-26', kms: '2016-01-20' };

const PROVIDERS: Record<AlibabaProduct, CloudProvider> = { cr: 'acr', ecs: 'ecs', kms: 'kms' };

export interface AlibabaRpcOptions {
  product: AlibabaProduct;
  /** Defaults to `2018-12-01` for cr, `2014-05-26` for ecs, `2016-01-20` for kms. */
  version?: string | undefined;
  regionId: string;
  /** Base URL override, e.g. `http://127.0.0.1:8090`; default `https://<product>.<region>.aliyuncs.com`. */
  endpoint?: string | undefined;
  credentials: CredentialSource;
  signatureVersion?: 'v3' | 'v1' | undefined;
  retry?: Partial<RetryPolicy> | undefined;
  /** Default: the process-wide limiter of `accountKey`. */
  limiter?: AccountLimiter | undefined;
  /**
   * Limiter key, ideally the Alibaba account id (limits are per account). Default:
   * `alibaba:<AccessKeyId>` of the credentials of each call.
   */
  accountKey?: string | undefined;
  clock?: Clock | undefined;
  timeoutMs?: number | undefined;
  /** Appended to the SDK-style user agent. */
  userAgent?: string | undefined;
  dispatcher?: Dispatcher | undefined;
}

export type ParamValue = string | number | boolean | undefined | null;

type ErrorClass = new (init: CloudErrorInit) => CloudError;

export interface RpcCallOptions {
  /** See RetryOptions.mayHaveCreated. */
  mayHaveCreated?: boolean | undefined;
  /** Product-specific meanings of error codes, consulted before the generic ones. */
  errorCodes?: Record<string, ErrorClass> | undefined;
}

const USER_AGENT = `AlibabaCloud (${platform()}; ${arch()}) Node.js/${process.version} Core/1.0.1 TeaDSL/2 ferry/0.1`;

const THROTTLING_CODES = new Set(['Throttling', 'Throttling.User', 'Throttling.Api', 'Throttling.Resource', 'ServiceUnavailable.Throttling']);
const AUTH_CODES = new Set([
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId.NotFound',
  'InvalidAccessKeyId.Inactive',
  'InvalidAccessKeyId',
  'IncompleteSignature',
  'InvalidTimeStamp.Expired',
  'InvalidTimeStamp.Format',
  'InvalidSecurityToken.Expired',
  'InvalidSecurityToken.Malformed',
  'InvalidSecurityToken.MismatchWithAccessKey',
  'MissingSecurityToken',
  'SignatureNonceUsed',
]);
const PERMISSION_CODES = new Set(['NoPrivilege', 'AUTHENTICATION_FAILED', 'Forbidden.RAM', 'Forbidden', 'NoPermission', 'Forbidden.AccessDenied']);
const TRANSIENT_CODES = new Set(['ServiceUnavailable', 'InternalError', 'SystemError', 'UnknownError', 'ServiceTimeout', 'InternalError.Timeout']);

/**
 * The server's wait, the longest it states: `x-ratelimit-user-api` / `x-ratelimit-user`
 * (`Limit:1,Remain:0,TimeLeft:2000,Reset:1234`, TimeLeft in ms), `x-acs-retry-after` (ms, what
 * the generated SDKs' @alicloud/openapi-core reads), `Retry-After` (seconds or an HTTP date).
 */
export function serverWaitMs(headers: Record<string, string>, now: number): number | undefined {
  const waits: number[] = [];
  for (const name of ['x-ratelimit-user-api', 'x-ratelimit-user']) {
    const m = /(?:^|,)\s*TimeLeft\s*:\s*(\d+)/i.exec(headers[name] ?? '');
    if (m) waits.push(Number(m[1]));
  }
  const acsRetryAfter = headers['x-acs-retry-after']?.trim();
  if (acsRetryAfter && /^\d+$/.test(acsRetryAfter)) waits.push(Number(acsRetryAfter));
  const retryAfter = headers['retry-after']?.trim();
  if (retryAfter && /^\d+(\.\d+)?$/.test(retryAfter)) waits.push(Math.round(Number(retryAfter) * 1000));
  else if (retryAfter && !Number.isNaN(Date.parse(retryAfter))) waits.push(Math.max(0, Date.parse(retryAfter) - now));
  return waits.length ? Math.max(...waits) : undefined;
}

/** Maps an Alibaba error (HTTP status + body + headers) to one of errors.ts' classes. */
export function mapAlibabaError(
  provider: CloudProvider,
  action: string,
  status: number,
  body: AlibabaErrorBody,
  headers: Record<string, string>,
  now: number,
  errorCodes: Record<string, ErrorClass> = {},
): CloudError {
  const code = body.Code || `HTTP${status}`;
  const message = (body.Message || `HTTP ${status}`) + (body.Recommend ? ` (see ${body.Recommend})` : '');
  const init: CloudErrorInit = { provider, action, code, message, requestId: body.RequestId, status };
  const specific = errorCodes[code];
  if (specific) return new specific(init);
  if (THROTTLING_CODES.has(code) || code.startsWith('Throttling') || status === 429) {
    return new CloudThrottledError({ ...init, retryAfterMs: serverWaitMs(headers, now) });
  }
  if (AUTH_CODES.has(code)) return new CloudAuthError(init);
  if (PERMISSION_CODES.has(code) || code.startsWith('Forbidden')) return new CloudPermissionError(init);
  if (TRANSIENT_CODES.has(code) || status >= 500) return new CloudTransientError(init);
  if (code === 'MissingParameter' || code.startsWith('Invalid') || code.startsWith('Missing')) return new CloudInvalidRequestError(init);
  if (status === 404) return new CloudNotFoundError(init);
  if (status === 401) return new CloudAuthError(init);
  if (status === 403) return new CloudPermissionError(init);
  if (status === 409) return new CloudConflictError(init);
  if (status === 400) return new CloudInvalidRequestError(init);
  return new CloudError(init);
}

const SUCCESS_CODES = new Set(['success', 'Success', 'OK', '200']);

// Nonces are cut from a pooled random buffer: one randomBytes per call cost more than the signature.
let noncePool = Buffer.alloc(0);
let nonceAt = 0;
function nonce(): string {
  if (nonceAt + 16 > noncePool.length) {
    noncePool = randomBytes(4096);
    nonceAt = 0;
  }
  nonceAt += 16;
  return noncePool.toString('hex', nonceAt - 16, nonceAt);
}

/** `yyyy-MM-ddTHH:mm:ssZ` (no milliseconds), as both V1 `Timestamp` and V3 `x-acs-date` want. */
export function acsTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

let stampSecond = Number.NaN;
let stampText = '';
/** `acsTimestamp`, formatted once per second. */
function acsTimestampCached(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== stampSecond) {
    stampSecond = second;
    stampText = acsTimestamp(ms);
  }
  return stampText;
}

// The headers Ferry's V3 calls sign, lower-case and sorted (what v3SignedHeaderNames derives from them).
const V3_SIGNED = 'host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version';
const V3_SIGNED_STS = 'host;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version';

export class AlibabaRpcClient {
  readonly product: AlibabaProduct;
  readonly version: string;
  readonly regionId: string;
  readonly endpoint: string;
  readonly provider: CloudProvider;
  private readonly host: string;
  private readonly policy: RetryPolicy;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly userAgent: string;

  constructor(private readonly options: AlibabaRpcOptions) {
    if (!/^[a-z]{2,3}(?:-[a-z0-9]+)+$/.test(options.regionId)) throw new Error(`regionId: "${options.regionId}" is not a region id like "cn-hangzhou"`);
    this.product = options.product;
    this.provider = PROVIDERS[options.product];
    this.version = options.version ?? DEFAULT_API_VERSIONS[options.product];
    this.regionId = options.regionId;
    this.endpoint = (options.endpoint ?? `https://${options.product}.${options.regionId}.aliyuncs.com`).replace(/\/+$/, '');
    let url: URL;
    try {
      url = new URL(this.endpoint);
    } catch {
      throw new Error(`endpoint: "${this.endpoint}" is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`endpoint: must be http(s), got "${url.protocol}"`);
    this.host = url.host;
    this.policy = { ...defaultRetryPolicy, ...options.retry };
    this.clock = options.clock ?? systemClock;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.userAgent = options.userAgent ? `${USER_AGENT} ${options.userAgent}` : USER_AGENT;
  }

  /**
   * Calls `action` with `params` (undefined/null dropped, booleans and numbers stringified),
   * checks the JSON answer with `schema`, retries what is safe to retry.
   */
  async call<S extends z.ZodMiniType>(action: string, params: Record<string, ParamValue>, schema: S, callOptions?: RpcCallOptions): Promise<z.output<S>>;
  async call<T>(action: string, params: Record<string, ParamValue>, schema: Parser<T>, callOptions?: RpcCallOptions): Promise<T>;
  async call<T>(action: string, params: Record<string, ParamValue>, schema: Parser<T>, callOptions: RpcCallOptions = {}): Promise<T> {
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) query[k] = String(v);
    return withRetry(
      async () => {
        const creds = await this.options.credentials();
        const limiter = this.options.limiter ?? getAccountLimiter(this.options.accountKey ?? `alibaba:${creds.accessKeyId}`);
        const res = await limiter.run(() => this.sendOnce(action, query, creds));
        return this.interpret(action, res, schema, callOptions);
      },
      this.policy,
      this.clock,
      { mayHaveCreated: callOptions.mayHaveCreated },
    );
  }

  private sendOnce(action: string, params: Record<string, string>, creds: AlibabaCredentials): Promise<HttpResponse> {
    const now = this.clock.now();
    let qs: string;
    let headers: Record<string, string>;
    if ((this.options.signatureVersion ?? 'v3') === 'v1') {
      const query: Record<string, string> = {
        Action: action,
        Format: 'JSON',
        Version: this.version,
        Timestamp: acsTimestampCached(now),
        SignatureNonce: nonce(),
        ...params,
        ...(creds.securityToken ? { SecurityToken: creds.securityToken } : {}),
        SignatureMethod: 'HMAC-SHA1',
        SignatureVersion: '1.0',
        AccessKeyId: creds.accessKeyId,
      };
      // The query is encoded once: it is both what is signed and what is sent (Signature's place in it does not matter).
      const canonical = canonicalQuery(query);
      qs = `${canonical}&Signature=${rfc3986(v1SignatureOfCanonical('POST', canonical, creds.accessKeySecret))}`;
      headers = { host: this.host, 'x-acs-version': this.version, 'x-acs-action': action, 'user-agent': this.userAgent };
    } else {
      qs = canonicalQuery(params);
      const date = acsTimestampCached(now);
      const signatureNonce = nonce();
      headers = {
        host: this.host,
        'x-acs-version': this.version,
        'x-acs-action': action,
        'user-agent': this.userAgent,
        'x-acs-date': date,
        'x-acs-signature-nonce': signatureNonce,
        accept: 'application/json',
        'x-acs-content-sha256': EMPTY_SHA256,
      };
      // The canonical request of exactly these headers, as v3CanonicalRequest would build it (test/signing.test.ts holds them equal).
      const sts = creds.securityToken;
      let canonicalHeaders: string;
      if (sts) {
        headers['x-acs-accesskey-id'] = creds.accessKeyId;
        headers['x-acs-security-token'] = sts;
        canonicalHeaders = `host:${this.host}\nx-acs-accesskey-id:${creds.accessKeyId.trim()}\nx-acs-action:${action.trim()}\nx-acs-content-sha256:${EMPTY_SHA256}\nx-acs-date:${date}\nx-acs-security-token:${sts.trim()}\nx-acs-signature-nonce:${signatureNonce}\nx-acs-version:${this.version.trim()}\n`;
      } else {
        canonicalHeaders = `host:${this.host}\nx-acs-action:${action.trim()}\nx-acs-content-sha256:${EMPTY_SHA256}\nx-acs-date:${date}\nx-acs-signature-nonce:${signatureNonce}\nx-acs-version:${this.version.trim()}\n`;
      }
      const signed = sts ? V3_SIGNED_STS : V3_SIGNED;
      const signature = v3SignatureOfCanonical(`POST\n/\n${qs}\n${canonicalHeaders}\n${signed}\n${EMPTY_SHA256}`, creds.accessKeySecret);
      headers.authorization = `ACS3-HMAC-SHA256 Credential=${creds.accessKeyId},SignedHeaders=${signed},Signature=${signature}`;
    }
    return sendHttp({
      method: 'POST',
      url: qs ? `${this.endpoint}/?${qs}` : `${this.endpoint}/`,
      headers,
      timeoutMs: this.timeoutMs,
      provider: this.provider,
      action,
      region: this.regionId,
      instance: params.InstanceId,
      dispatcher: this.options.dispatcher,
    });
  }

  private interpret<T>(action: string, res: HttpResponse, schema: Parser<T>, callOptions: RpcCallOptions): T {
    const requestIdHeader = res.headers['x-acs-request-id'];
    const read = readAlibabaBody(res.body);
    const errorBody: AlibabaErrorBody = { ...read.error, RequestId: read.error.RequestId ?? requestIdHeader };
    if (res.status >= 300) {
      if (!read.readable && res.status < 500 && res.status !== 429) {
        throw new CloudMalformedResponseError({
          provider: this.provider,
          action,
          status: res.status,
          requestId: requestIdHeader,
          code: `HTTP${res.status}`,
          message: `HTTP ${res.status} with a body that is neither a JSON object nor XML: ${res.body.slice(0, 200)}`,
        });
      }
      throw mapAlibabaError(this.provider, action, res.status, errorBody, res.headers, this.clock.now(), callOptions.errorCodes);
    }
    const obj = read.json;
    if (!obj) {
      throw new CloudMalformedResponseError({
        provider: this.provider,
        action,
        status: res.status,
        requestId: requestIdHeader,
        code: 'MalformedResponse',
        message: `expected a JSON object, got: ${res.body.slice(0, 200) || '(empty body)'}`,
      });
    }
    // Some gateways answer 200 with an error envelope (ACR: IsSuccess false).
    const failed = obj.IsSuccess === false || (errorBody.Code !== undefined && !SUCCESS_CODES.has(errorBody.Code) && errorBody.Message !== undefined && obj.IsSuccess !== true);
    if (failed) {
      throw mapAlibabaError(this.provider, action, res.status, errorBody, res.headers, this.clock.now(), callOptions.errorCodes);
    }
    return checkOutput(schema, obj, { provider: this.provider, action, requestId: errorBody.RequestId, status: res.status });
  }
}
