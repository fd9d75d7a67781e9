import { timingSafeEqual } from 'node:crypto';
import { parseV3Authorization, sha256Hex, v1Signature, v1StringToSign, v3Signature } from '../../shared/clients/signing/alibaba.ts';
import { AcrState } from './acr.ts';
import { handleAlibabaAdmin } from './alibaba-admin.ts';
import { AlibabaApiError, alibabaErrorResponse, type ErrorShape, requestId, type Params } from './alibaba-common.ts';
import { EcsState } from './ecs.ts';
import { KmsState } from './kms.ts';
import type { LocalService } from './local-service.ts';
import type { CloudRequest, CloudResponse, LocalCloudEnv } from './types.ts';

/**
 * Alibaba Cloud RPC endpoint (`/`), as the official SDKs call it: GET or POST, parameters
 * in the query string and/or an `application/x-www-form-urlencoded` body, signed V1
 * (HMAC-SHA1 `Signature` parameter) or V3 (`Authorization: ACS3-HMAC-SHA256 …`).
 * `Version` 2018-12-01 is ACR Enterprise, 2014-05-26 is ECS, 2016-01-20 is KMS (kms.ts).
 *
 * Responses are JSON (also when `Format=XML` is asked: no client of Ferry's asks for XML),
 * except ACR errors with realism `acr.error-bodies` on: the n-th ACR error since reset is written
 * with lowercase keys, in XML, then as usual, in turn, and throttling then says its wait in
 * `x-acs-retry-after` only. STS security tokens (`SecurityToken` / `x-acs-security-token`) are
 * accepted with any value for a registered AccessKeyId.
 */
export const ACR_VERSION = '2018-12-01';
export const ECS_VERSION = '2014-05-26';
export const KMS_VERSION = '2016-01-20';
/** Alibaba rejects timestamps further than this from server time. */
export const TIMESTAMP_TOLERANCE_MS = 15 * 60 * 1000;
/** Nonces remembered at most: replays are refused within the last NONCE_CAP requests at least. */
const NONCE_CAP = 50_000;

export type AlibabaProductName = 'acr' | 'ecs' | 'kms';

export interface AlibabaServiceOptions {
  /**
   * Which clock the signature timestamp is checked against. `virtual-or-real` (default)
   * accepts a time within 15 minutes of either the virtual clock or the wall clock, so
   * official SDKs (which sign with the wall clock) keep working after `clock.advance`;
   * `virtual` checks the virtual clock only.
   */
  timestampCheck?: 'virtual' | 'virtual-or-real';
}

interface ParsedRpc {
  params: Params;
  /** Query string parameters only (V3 signs these). */
  query: Params;
  action: string | undefined;
  version: string | undefined;
  product: AlibabaProductName | undefined;
  accessKeyId: string | undefined;
}

const DEFAULT_MESSAGES: Record<string, string> = {
  NoPrivilege: 'Access denied for this user.',
  AUTHENTICATION_FAILED: 'Authentication failed.',
  SystemError: 'Unknown error.',
  CancelTaskFailed: 'The task is failed to cancel, Please contact the administrator.',
  ServiceUnavailable: 'The request has failed due to a temporary failure of the server.',
  InternalError: 'The request processing has failed due to some unknown error, exception or failure.',
  'Throttling.User': 'Request was denied due to user flow control.',
};

export interface AlibabaService extends LocalService {
  readonly name: 'alibaba';
  readonly acr: AcrState;
  readonly ecs: EcsState;
  readonly kms: KmsState;
}

export function createAlibabaService(env: LocalCloudEnv, options: AlibabaServiceOptions = {}): AlibabaService {
  const acr = new AcrState(env);
  const ecs = new EcsState(env);
  const kms = new KmsState(env);
  const parsed = new WeakMap<CloudRequest, ParsedRpc>();
  /** accessKeyId + nonce → virtual time first seen. */
  const nonces = new Map<string, number>();
  const timestampCheck = options.timestampCheck ?? 'virtual-or-real';
  const ERROR_SHAPES: readonly ErrorShape[] = ['lowercase', 'xml', 'json'];
  let acrErrors = 0;

  /** Other gateways' error shapes for ACR when realism `acr.error-bodies` is on. */
  function otherGateway(req: CloudRequest): boolean {
    return parse(req).product === 'acr' && env.realism.on('acr.error-bodies');
  }

  function parse(req: CloudRequest): ParsedRpc {
    const cached = parsed.get(req);
    if (cached) return cached;
    const query: Params = {};
    for (const [k, v] of req.query) query[k] = v;
    const params: Params = { ...query };
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (req.body.length > 0) {
      if (type.startsWith('application/x-www-form-urlencoded')) {
        for (const [k, v] of new URLSearchParams(req.body.toString('utf8'))) params[k] = v;
      } else if (type.startsWith('application/json')) {
        try {
          const obj = JSON.parse(req.body.toString('utf8')) as unknown;
          if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
            for (const [k, v] of Object.entries(obj)) if (v !== null && typeof v !== 'object') params[k] = String(v);
          }
        } catch {
          // left to the operation: parameters will be missing
        }
      }
    }
    const version = params.Version ?? req.headers['x-acs-version'];
    const action = params.Action ?? req.headers['x-acs-action'];
    const product: AlibabaProductName | undefined = version === ACR_VERSION ? 'acr' : version === ECS_VERSION ? 'ecs' : version === KMS_VERSION ? 'kms' : undefined;
    const auth = req.headers.authorization ? parseV3Authorization(req.headers.authorization) : null;
    const accessKeyId = auth?.accessKeyId ?? params.AccessKeyId;
    const result = { params, query, action, version, product, accessKeyId };
    parsed.set(req, result);
    return result;
  }

  function hostId(req: CloudRequest): string {
    return req.headers.host ?? 'localhost';
  }

  function error(req: CloudRequest, status: number, code: string, message?: string, headers?: Record<string, string>): CloudResponse {
    const product = { acr: 'cr', ecs: 'Ecs', kms: 'Kms' }[parse(req).product ?? 'acr'];
    const shape = otherGateway(req) ? ERROR_SHAPES[acrErrors++ % ERROR_SHAPES.length] : 'json';
    return alibabaErrorResponse(status, code, message ?? DEFAULT_MESSAGES[code] ?? code, { hostId: hostId(req), product, headers, shape });
  }

  function accountOfKey(accessKeyId: string | undefined) {
    return env.seed.alibaba.accounts.find((a) => a.accessKeyId === accessKeyId);
  }

  function timestampOk(ms: number, now: number): boolean {
    if (Math.abs(ms - now) <= TIMESTAMP_TOLERANCE_MS) return true;
    return timestampCheck === 'virtual-or-real' && Math.abs(ms - Date.now()) <= TIMESTAMP_TOLERANCE_MS;
  }

  function useNonce(accessKeyId: string, nonce: string, now: number): void {
    const key = `${accessKeyId}\u0000${nonce}`;
    if (nonces.has(key)) throw new AlibabaApiError(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.');
    nonces.set(key, now);
    // Oldest first (insertion order): stop at the first nonce still young, so a busy client does not
    // make every request walk every nonce; beyond NONCE_CAP the oldest go even when young.
    if (nonces.size > 10_000) {
      for (const [k, at] of nonces) {
        if (now - at <= 2 * TIMESTAMP_TOLERANCE_MS && nonces.size <= NONCE_CAP) break;
        nonces.delete(k);
      }
    }
  }

  function safeEqual(a: string, b: string): boolean {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  }

  /** Returns the caller's account id, or throws the error Alibaba would return. */
  function authenticate(req: CloudRequest, rpc: ParsedRpc): string {
    const authorization = req.headers.authorization;
    if (authorization) {
      const auth = parseV3Authorization(authorization);
      if (!auth) throw new AlibabaApiError(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.');
      const account = accountOfKey(auth.accessKeyId);
      if (!account) throw new AlibabaApiError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
      const date = req.headers['x-acs-date'];
      if (!date) throw new AlibabaApiError(400, 'MissingParameter', 'An input parameter "x-acs-date" that is mandatory for processing the request is not supplied.');
      const ms = Date.parse(date);
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(date) || Number.isNaN(ms)) {
        throw new AlibabaApiError(400, 'InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.');
      }
      if (!timestampOk(ms, req.now)) throw new AlibabaApiError(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.');
      const signed = auth.signedHeaders.map((h) => h.toLowerCase());
      for (const h of Object.keys(req.headers)) {
        if ((h.startsWith('x-acs-') || h === 'host') && !signed.includes(h)) {
          throw new AlibabaApiError(400, 'IncompleteSignature', `The request signature does not conform to Aliyun standards: header "${h}" is not signed.`);
        }
      }
      const payloadHash = req.headers['x-acs-content-sha256'];
      if (!payloadHash) throw new AlibabaApiError(400, 'MissingParameter', 'An input parameter "x-acs-content-sha256" that is mandatory for processing the request is not supplied.');
      if (payloadHash !== sha256Hex(req.body)) {
        throw new AlibabaApiError(400, 'SignatureDoesNotMatch', 'Specified signature is not matched with our calculation: x-acs-content-sha256 does not match the body.');
      }
      const expected = v3Signature({ method: req.method, path: req.path || '/', query: rpc.query, headers: req.headers, payloadHash }, signed, account.accessKeySecret);
      if (!safeEqual(expected, auth.signature)) {
        throw new AlibabaApiError(400, 'SignatureDoesNotMatch', 'Specified signature is not matched with our calculation.');
      }
      const nonce = req.headers['x-acs-signature-nonce'];
      if (nonce) useNonce(auth.accessKeyId, nonce, req.now);
      return account.accountId;
    }
    const p = rpc.params;
    if (!p.AccessKeyId) throw new AlibabaApiError(400, 'MissingParameter', 'An input parameter "AccessKeyId" that is mandatory for processing the request is not supplied.');
    if (!p.Signature) throw new AlibabaApiError(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.');
    if (p.SignatureMethod && p.SignatureMethod !== 'HMAC-SHA1') {
      throw new AlibabaApiError(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards: SignatureMethod must be HMAC-SHA1.');
    }
    const account = accountOfKey(p.AccessKeyId);
    if (!account) throw new AlibabaApiError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
    if (!p.Timestamp) throw new AlibabaApiError(400, 'MissingParameter', 'An input parameter "Timestamp" that is mandatory for processing the request is not supplied.');
    const ms = Date.parse(p.Timestamp);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/.test(p.Timestamp) || Number.isNaN(ms)) {
      throw new AlibabaApiError(400, 'InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.');
    }
    if (!timestampOk(ms, req.now)) throw new AlibabaApiError(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.');
    if (!p.SignatureNonce) throw new AlibabaApiError(400, 'MissingParameter', 'An input parameter "SignatureNonce" that is mandatory for processing the request is not supplied.');
    const expected = v1Signature(req.method, p, account.accessKeySecret);
    if (!safeEqual(expected, p.Signature)) {
      throw new AlibabaApiError(400, 'SignatureDoesNotMatch', `Specified signature is not matched with our calculation. server string to sign is:${v1StringToSign(req.method, p)}`);
    }
    useNonce(p.AccessKeyId, p.SignatureNonce, req.now);
    return account.accountId;
  }

  const service: AlibabaService = {
    name: 'alibaba',
    acr,
    ecs,
    kms,

    owns(req) {
      if (req.path !== '/' && req.path !== '') return false;
      const rpc = parse(req);
      return rpc.action !== undefined || rpc.version !== undefined;
    },

    operation(req) {
      const rpc = parse(req);
      if (!rpc.action) return null;
      const scope = rpc.params.InstanceId ?? rpc.params.RegionId ?? (rpc.product === 'kms' ? rpc.params.SecretName : undefined);
      return { op: `${rpc.product ?? 'alibaba'}:${rpc.action}`, ...(scope ? { scope } : {}) };
    },

    caller(req) {
      return accountOfKey(parse(req).accessKeyId)?.accountId;
    },

    async handle(req) {
      const rpc = parse(req);
      try {
        if (!rpc.version) throw new AlibabaApiError(400, 'MissingParameter', 'An input parameter "Version" that is mandatory for processing the request is not supplied.');
        if (!rpc.product) throw new AlibabaApiError(400, 'InvalidVersion', `Specified parameter Version "${rpc.version}" is not valid.`);
        if (!rpc.action) throw new AlibabaApiError(400, 'MissingParameter', 'An input parameter "Action" that is mandatory for processing the request is not supplied.');
        if (req.method !== 'GET' && req.method !== 'POST') throw new AlibabaApiError(400, 'UnsupportedHTTPMethod', `HTTP method ${req.method} is not supported.`);
        const accountId = authenticate(req, rpc);
        const fields =
          rpc.product === 'acr'
            ? acr.op(rpc.action, rpc.params, { accountId, now: req.now })
            : rpc.product === 'kms'
              ? kms.op(rpc.action, rpc.params, { accountId })
              : ecs.op(rpc.action, rpc.params, req.now);
        const rid = requestId();
        const body = rpc.product === 'acr' ? { RequestId: rid, Code: 'success', IsSuccess: true, ...fields } : { RequestId: rid, ...fields };
        return { status: 200, headers: { 'x-acs-request-id': rid }, body };
      } catch (err) {
        if (err instanceof AlibabaApiError) return error(req, err.status, err.code, err.message, err.headers);
        throw err;
      }
    },

    throttled(req, waitMs) {
      // x-acs-retry-after (ms) is what the generated SDKs read; the older header carries the same wait.
      const retryAfter = { 'x-acs-retry-after': String(waitMs) };
      if (otherGateway(req)) return error(req, 400, 'Throttling.User', undefined, retryAfter);
      const reset = Math.ceil((req.now + waitMs) / 1000);
      return error(req, 400, 'Throttling.User', undefined, { ...retryAfter, 'x-ratelimit-user-api': `Limit:10,Remain:0,TimeLeft:${waitMs},Reset:${reset}` });
    },

    serverError(req, status) {
      return status === 503 ? error(req, 503, 'ServiceUnavailable') : error(req, status, 'InternalError');
    },

    errorResponse(req, status, code, message) {
      return error(req, status, code, message);
    },

    admin(req) {
      return handleAlibabaAdmin(req, { acr, ecs });
    },

    reset() {
      acr.reset();
      ecs.reset();
      kms.reset();
      nonces.clear();
      acrErrors = 0;
    },

    snapshot() {
      const now = env.clock.now();
      return { acr: acr.snapshot(now), ecs: ecs.snapshot(now), kms: kms.snapshot() };
    },
  };
  return service;
}
