/**
 * The one way Ferry's cloud clients talk HTTP: Node's http/https with keep-alive and a timeout
 * (undici when the caller brings its own dispatcher), retries that know which failures are safe
 * to re-send, and a per-account limiter shared by every client of the process.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent as HttpAgent, type IncomingMessage, type RequestOptions, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { urlToHttpOptions } from 'node:url';
import { request, type Dispatcher } from 'undici';
import { systemClock, type Clock } from '../clock.ts';
import { CloudThrottledError, CloudTransientError, type CloudProvider } from './errors.ts';
import { log, logLevelEnabled } from '../log.ts';

// ---------------------------------------------------------------- HTTP

export interface HttpCall {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | undefined;
  timeoutMs: number;
  provider: CloudProvider;
  /** For error messages, e.g. `CancelRepoSyncTask`. */
  action: string;
  /** The region the call addresses (`cn-hangzhou`), for the call's log line. */
  region?: string | undefined;
  /** The instance the call addresses (ACR's `cri-…`), for the call's log line. */
  instance?: string | undefined;
  dispatcher?: Dispatcher | undefined;
}

export interface HttpResponse {
  status: number;
  /** Lowercased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

/**
 * Keep-alive pools for the calls that bring no dispatcher. Node's own http costs less CPU per call
 * than undici's `request` and far less than `fetch`, which is what the function bundles would get
 * (they alias undici to the runtime's fetch); measured by `npm run bench -- clients`. An idle socket
 * is closed after 4 s, before the usual 5 s server keep-alive, so a request never lands on a socket
 * the server is closing.
 */
const agents = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 64, timeout: 4_000 }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 64, timeout: 4_000 }),
};

class RequestTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** Node frames a DELETE's (or GET's) body only when told its length; undici always did. */
function withLength(call: HttpCall): Record<string, string> {
  if (call.body === undefined || Object.keys(call.headers).some((k) => k.toLowerCase() === 'content-length')) return call.headers;
  return { ...call.headers, 'content-length': String(Buffer.byteLength(call.body)) };
}

const ORIGIN = /^(https?:\/\/[^/?#]+)(.*)$/;
const origins = new Map<string, RequestOptions>();

/** Request options for `url`: its origin parsed once per process, not once per call. */
function target(url: string): RequestOptions {
  const m = ORIGIN.exec(url);
  if (!m) return urlToHttpOptions(new URL(url));
  const origin = m[1]!;
  let base = origins.get(origin);
  if (!base) {
    if (origins.size >= 256) origins.clear();
    const { protocol, hostname, port, auth } = urlToHttpOptions(new URL(origin));
    base = { protocol, hostname, ...(port ? { port } : {}), ...(auth ? { auth } : {}) };
    origins.set(origin, base);
  }
  const rest = m[2]!;
  return { ...base, path: rest === '' ? '/' : rest[0] === '/' ? rest : `/${rest}` };
}

/** One request on Node's http/https; the whole exchange (connect, send, answer read) within `timeoutMs`. */
function nodeExchange(call: HttpCall, timeoutMs: number): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const secure = call.url.startsWith('https:');
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    };
    const options: RequestOptions = { ...target(call.url), method: call.method, headers: withLength(call), agent: secure ? agents.https : agents.http };
    const req = (secure ? httpsRequest : httpRequest)(options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(Object.assign(new Error('connection closed before the answer was complete'), { code: 'ECONNRESET' }));
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const headers: Record<string, string> = {};
        for (const k in res.headers) {
          const v = res.headers[k];
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        }
        const body = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers, body });
      });
    });
    const timer = setTimeout(() => {
      const err = new RequestTimeoutError(`no response within ${timeoutMs} ms`);
      req.destroy(err);
      fail(err);
    }, timeoutMs);
    req.on('error', fail);
    req.end(call.body);
  });
}

/** The same exchange through undici, for a caller that brought its own dispatcher (tests record with one). */
async function undiciExchange(call: HttpCall, dispatcher: Dispatcher, timeoutMs: number): Promise<HttpResponse> {
  const res = await request(call.url, { method: call.method as Dispatcher.HttpMethod, headers: call.headers, body: call.body, signal: AbortSignal.timeout(timeoutMs), dispatcher });
  const body = await res.body.text();
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) {
    if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return { status: res.statusCode, headers, body };
}

/**
 * Codes of network failures that happen before a byte of the request left this host:
 * re-sending those is safe even for calls that create something.
 */
export const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'LimiterDeadline']);

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The cloud's request id: Alibaba puts it in the body (`RequestId`), Huawei and FC in a header. */
function requestIdOf(headers: Record<string, string>, body: string): string | undefined {
  return headers['x-acs-request-id'] ?? headers['x-request-id'] ?? headers['x-fc-request-id'] ?? /"RequestId"\s*:\s*"([^"]{1,80})"/.exec(body.slice(0, 512))?.[1];
}

const callDeadlines = new AsyncLocalStorage<number>();

/**
 * Runs `fn` with every request it sends cut off at `deadline` (epoch ms, wall clock) at the latest,
 * whatever the client's own timeout: a caller with a hard time limit (the webhook's answer) gets
 * its answer on time, and a call cut off is a transient error like any timeout.
 */
export function withCallDeadline<T>(deadline: number, fn: () => Promise<T>): Promise<T> {
  return callDeadlines.run(deadline, fn);
}

/** Told of every request sent (`acr`, `ListRepoSyncTask`), within `observeCloudCalls`. */
export type CloudCallObserver = (provider: CloudProvider, action: string) => void;
const callObservers = new AsyncLocalStorage<CloudCallObserver>();

/** Runs `fn` telling `observer` of every cloud request it sends, retries included (concurrent runs stay apart). */
export function observeCloudCalls<T>(observer: CloudCallObserver, fn: () => Promise<T>): Promise<T> {
  return callObservers.run(observer, fn);
}

/**
 * Sends one request and logs it (provider, region and instance when the call has them, action, status,
 * the cloud's request id, duration; never the URL's query, which may carry a signature). Network failures and timeouts become
 * CloudTransientError; HTTP statuses are returned.
 */
export async function sendHttp(call: HttpCall): Promise<HttpResponse> {
  const deadline = callDeadlines.getStore();
  const timeoutMs = deadline === undefined ? call.timeoutMs : Math.max(1, Math.min(call.timeoutMs, deadline - Date.now()));
  const started = performance.now();
  callObservers.getStore()?.(call.provider, call.action);
  try {
    const res = call.dispatcher ? await undiciExchange(call, call.dispatcher, timeoutMs) : await nodeExchange(call, timeoutMs);
    const level = res.status >= 500 ? 'warn' : 'info';
    // The line's fields (the request id is a regex over the body) are built only when it is written.
    if (logLevelEnabled(level)) {
      cloudLog[level]('cloud call', { ...where(call), action: call.action, status: res.status, requestId: requestIdOf(res.headers, res.body), durationMs: Math.round(performance.now() - started) });
    }
    return res;
  } catch (err) {
    const timedOut = err instanceof RequestTimeoutError || (err as Error)?.name === 'TimeoutError';
    const code = timedOut ? 'RequestTimeout' : (errorCode(err) ?? 'NetworkError');
    const message = timedOut ? `no response within ${timeoutMs} ms` : `network failure: ${(err as Error)?.message ?? String(err)}`;
    cloudLog.warn('cloud call failed', { ...where(call), action: call.action, code, durationMs: Math.round(performance.now() - started) });
    throw new CloudTransientError({ provider: call.provider, action: call.action, code, message, cause: err });
  }
}

const cloudLog = log.child({ component: 'cloud' });

/** Who a call's line is about: provider, and region/instance when the call has them. */
function where(call: HttpCall): Record<string, string> {
  return { provider: call.provider, ...(call.region ? { region: call.region } : {}), ...(call.instance ? { instance: call.instance } : {}) };
}

// ---------------------------------------------------------------- retry

export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  /** First backoff cap; doubles per attempt (full jitter: a uniform wait in [0, cap]). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A server asking to wait longer than this is not waited for: the error is thrown. */
  maxServerWaitMs: number;
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 5_000, maxServerWaitMs: 30_000 };

export interface RetryOptions {
  /**
   * The call creates something and has no idempotency token (CreateRepoSyncTask): after a
   * response we did not read (timeout, dropped connection, 5xx) it may have been applied, so
   * only answers that say "refused" (throttling) and failures before sending are retried.
   * The caller reconciles by listing.
   */
  mayHaveCreated?: boolean | undefined;
  onRetry?: ((info: { attempt: number; waitMs: number; error: unknown }) => void) | undefined;
}

export function isRetryable(err: unknown, mayHaveCreated: boolean): boolean {
  if (err instanceof CloudThrottledError) return true;
  // Its caller asked not to wait for capacity: retrying would be the wait it refused.
  if (err instanceof CloudTransientError && err.code === LIMITER_BUSY) return false;
  if (err instanceof CloudTransientError) return !mayHaveCreated || NOT_SENT_CODES.has(err.code);
  return false;
}

/** Full-jitter backoff for the n-th retry (1-based). */
export function backoffDelay(policy: RetryPolicy, retry: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor((policy.random ?? Math.random)() * cap);
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy = defaultRetryPolicy, clock: Clock = systemClock, options: RetryOptions = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= policy.maxAttempts || !isRetryable(err, options.mayHaveCreated ?? false)) throw err;
      let waitMs = backoffDelay(policy, attempt);
      if (err instanceof CloudThrottledError && err.retryAfterMs !== undefined) {
        if (err.retryAfterMs > policy.maxServerWaitMs) throw err;
        waitMs = Math.max(waitMs, err.retryAfterMs);
      }
      options.onRetry?.({ attempt, waitMs, error: err });
      if (waitMs > 0) await clock.sleep(waitMs);
    }
  }
}

// ---------------------------------------------------------------- per-account limiter

export interface LimiterOptions {
  /** Requests in flight at once. */
  maxConcurrent: number;
  /** Sustained requests per second (token bucket refill rate). */
  ratePerSecond: number;
  /** Bucket size: requests that may start back to back after a quiet spell. */
  burst: number;
}

// 16 in flight: one push's creates for ten targets go out together (the rate still bounds the account).
export const defaultLimiterOptions: LimiterOptions = { maxConcurrent: 16, ratePerSecond: 20, burst: 20 };

/** The code of the error a call gets, within `withoutQueueing`, when the limiter has no room for it now. */
export const LIMITER_BUSY = 'LimiterBusy';

/** Calls sent, and refused for want of room, within one `withoutQueueing` run. */
export interface NoQueueTally {
  sent: number;
  refused: number;
}
const noQueue = new AsyncLocalStorage<NoQueueTally>();

/**
 * Runs `fn` with every limited call taking a limiter slot and token only if both are free now;
 * otherwise the call fails at once with CloudTransientError `LimiterBusy` (nothing sent, never
 * retried). For a caller that must answer quickly and can leave the work to someone else (the
 * webhook leaves it to the sweep). `tally` counts what was sent and what was refused.
 */
/** The tally of the `withoutQueueing` run the caller is in, if any. */
export function noQueueTally(): NoQueueTally | undefined {
  return noQueue.getStore();
}

export function withoutQueueing<T>(fn: () => Promise<T>, tally: NoQueueTally = { sent: 0, refused: 0 }): Promise<T> {
  return noQueue.run(tally, fn);
}

/** Bounded concurrency plus a token bucket, so a fan-out cannot trip the cloud's throttling by itself. */
export class AccountLimiter {
  readonly options: LimiterOptions;
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  private tokens: number;
  private lastRefill: number;
  private tokenQueue: Promise<void> = Promise.resolve();

  constructor(
    options: Partial<LimiterOptions> = {},
    private readonly clock: Clock = systemClock,
  ) {
    this.options = { ...defaultLimiterOptions, ...options };
    if (!(this.options.maxConcurrent >= 1)) throw new Error('limiter maxConcurrent must be at least 1');
    if (!(this.options.ratePerSecond > 0)) throw new Error('limiter ratePerSecond must be positive');
    if (!(this.options.burst >= 1)) throw new Error('limiter burst must be at least 1');
    this.tokens = this.options.burst;
    this.lastRefill = clock.now();
  }

  get inFlight(): number {
    return this.active;
  }

  /**
   * Runs `fn` when a slot and a token are free. Within `withCallDeadline`, a caller still queued at
   * its deadline gives up its place (CloudTransientError `LimiterDeadline`: nothing was sent); one
   * already sending is left to the request's own cut-off.
   */
  async run<T>(fn: () => Promise<T>, provider: CloudProvider = 'limiter'): Promise<T> {
    const tally = noQueue.getStore();
    if (tally) return this.runIfFree(fn, provider, tally);
    const deadline = callDeadlines.getStore();
    if (deadline === undefined) return this.queued(fn);
    let started = false;
    let gaveUp = false;
    const queued = this.queued(() => {
      if (gaveUp) return Promise.reject(new Error('gave up its place'));
      started = true;
      return fn();
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const giveUp = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => {
          if (started) return;
          gaveUp = true;
          reject(new CloudTransientError({ provider, code: 'LimiterDeadline', message: 'still queued behind the account limiter at the deadline; nothing was sent' }));
        },
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      return await Promise.race([queued, giveUp]);
    } finally {
      clearTimeout(timer);
      queued.catch(() => undefined);
    }
  }

  /** A slot and a token taken only if both are free now and nobody queues for them; else LimiterBusy. */
  private async runIfFree<T>(fn: () => Promise<T>, provider: CloudProvider, tally: NoQueueTally): Promise<T> {
    if (!this.tryTake()) {
      tally.refused++;
      throw new CloudTransientError({ provider, code: LIMITER_BUSY, message: 'the account limiter has no free slot or token now; nothing was sent' });
    }
    tally.sent++;
    try {
      return await fn();
    } finally {
      this.releaseSlot();
    }
  }

  private tryTake(): boolean {
    if (this.active >= this.options.maxConcurrent || this.waiters.length) return false;
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    this.active++;
    return true;
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.lastRefill);
    this.tokens = Math.min(this.options.burst, this.tokens + (elapsed * this.options.ratePerSecond) / 1000);
    this.lastRefill = now;
  }

  private async queued<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquireSlot();
    try {
      await this.takeToken();
      return await fn();
    } finally {
      this.releaseSlot();
    }
  }

  private acquireSlot(): Promise<void> {
    if (this.active < this.options.maxConcurrent) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.waiters.shift();
    if (next)
      next(); // the slot passes straight to the next waiter
    else this.active--;
  }

  private takeToken(): Promise<void> {
    // Serialised so waiting callers are served in order and never double-spend a token.
    const turn = this.tokenQueue.then(() => this.waitForToken());
    this.tokenQueue = turn.catch(() => undefined);
    return turn;
  }

  private async waitForToken(): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.clock.sleep(Math.ceil(((1 - this.tokens) * 1000) / this.options.ratePerSecond));
    }
  }
}

const limiters = new Map<string, AccountLimiter>();
let registryOptions: Partial<LimiterOptions> = {};

/** Options for limiters created from now on (e.g. from config at start-up). */
export function configureAccountLimiters(options: Partial<LimiterOptions>): void {
  registryOptions = { ...options };
}

/**
 * The process-wide limiter of one account (key like `alibaba:<account or AccessKeyId>`,
 * `huawei:<AK or domain>`); every client of that account in this process shares it.
 */
export function getAccountLimiter(key: string, options?: Partial<LimiterOptions>, clock?: Clock): AccountLimiter {
  let limiter = limiters.get(key);
  if (!limiter) {
    limiter = new AccountLimiter({ ...registryOptions, ...options }, clock);
    limiters.set(key, limiter);
  }
  return limiter;
}

/** Forget every limiter (tests). */
export function resetAccountLimiters(): void {
  limiters.clear();
  registryOptions = {};
}
