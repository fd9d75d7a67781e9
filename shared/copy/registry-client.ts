/**
 * One registry as the copy sees it: HTTP over the injected fetch with auth, redirects (no
 * Authorization to another host), bounded retries of 429 (Retry-After), 5xx and network failures,
 * and the Docker Hub pull quota.
 */
import { Authenticator } from './auth.ts';
import { refusal, readErrorBody, describeRefusal } from './errors.ts';
import { CopyError, type RegistryEndpoint } from './types.ts';

export interface ClientContext {
  fetch: typeof fetch;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Every HTTP request made (CopyStats.requests). */
  stats: { requests: number };
}

export interface RequestOptions {
  /** Names what is asked for in error messages: `manifest team/app:v1`. */
  what: string;
  headers?: Record<string, string>;
  /** A stream is sent once: a request with one is never retried here (the caller resumes). */
  body?: Uint8Array | string | ReadableStream<Uint8Array>;
  /** Statuses answered to the caller rather than thrown (404 for "not there"). */
  ok?: readonly number[];
  /** A manifest GET: counts against Docker Hub's pull quota. */
  pull?: boolean;
}

/** 5xx and network failures: tries after the first. */
const MAX_RETRIES = 3;
/** 429s waited out in-process; more, or a Retry-After beyond MAX_WAIT_MS, are the caller's to retry later. */
const MAX_THROTTLED = 3;
const MAX_WAIT_MS = 60_000;
/** Docker Hub's `ratelimit-remaining` at or below this: pause before each manifest GET. */
export const LOW_QUOTA = 2;
export const LOW_QUOTA_PAUSE_MS = 2_000;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** `Retry-After` in ms (delta-seconds or an HTTP date), null when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | null {
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** `ratelimit-remaining: 76;w=21600` → 76. */
export function remainingQuota(value: string | null): number | null {
  const m = value ? /^\s*(\d+)/.exec(value) : null;
  return m ? Number(m[1]) : null;
}

export class RegistryClient {
  private readonly auth: Authenticator;
  private readonly origin: string;
  private lowQuota = false;

  constructor(
    readonly endpoint: RegistryEndpoint,
    /** Token scopes for everything this client does, e.g. `repository:team/app:pull,push`. */
    private readonly scopes: readonly string[],
    private readonly ctx: ClientContext,
  ) {
    this.origin = new URL(endpoint.url).origin;
    this.auth = new Authenticator(endpoint, { fetch: ctx.fetch, now: ctx.now, counted: () => ctx.stats.requests++ });
  }

  /** `https://host/v2/<path>`. */
  url(path: string): string {
    return `${this.endpoint.url.replace(/\/+$/, '')}/v2/${path}`;
  }

  async request(method: string, url: string, opts: RequestOptions): Promise<Response> {
    const streamed = opts.body instanceof ReadableStream;
    const what = `${opts.what} at ${this.endpoint.name}`;
    let failures = 0;
    let throttled = 0;
    let refused = false;
    for (;;) {
      if (opts.pull && this.lowQuota) await this.ctx.sleep(LOW_QUOTA_PAUSE_MS);
      const authorization = new URL(url).origin === this.origin ? await this.auth.header(this.scopes) : null;
      let res: Response;
      try {
        res = await this.send(method, url, opts, authorization);
      } catch (e) {
        if (e instanceof CopyError) throw e;
        const reason = e instanceof Error ? `${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}` : String(e);
        if (streamed || ++failures > MAX_RETRIES) throw new CopyError('TRANSIENT', `${what}: ${method} failed: ${reason}`, true);
        await this.ctx.sleep(500 * 2 ** (failures - 1));
        continue;
      }
      if (opts.pull) {
        const remaining = remainingQuota(res.headers.get('ratelimit-remaining'));
        if (remaining !== null) this.lowQuota = remaining <= LOW_QUOTA;
      }
      if (res.status === 401 && !opts.ok?.includes(401)) {
        const challenge = this.auth.challenged(res.headers.get('www-authenticate'));
        const body = await readErrorBody(res);
        // First 401: we had sent nothing, or credentials that may have expired meanwhile: log in again, once.
        if (challenge && !refused && !streamed) {
          if (authorization) {
            refused = true;
            this.auth.forget();
          }
          continue;
        }
        if (authorization) this.auth.forget();
        if (streamed && !refused) throw new CopyError('TRANSIENT', `${what}: ${method} answered 401 after the upload began; the credentials are renewed for the next attempt`, true, 401);
        const code = challenge?.scheme === 'bearer' && challenge.error === 'insufficient_scope' ? 'DENIED' : 'UNAUTHORIZED';
        throw new CopyError(code, `${what}: ${describeRefusal(401, body)}`, false, 401);
      }
      if (res.status === 429 && !opts.ok?.includes(429)) {
        const wait = retryAfterMs(res.headers.get('retry-after'), this.ctx.now()) ?? 1000 * 2 ** throttled;
        if (streamed || ++throttled > MAX_THROTTLED || wait > MAX_WAIT_MS) throw await refusal(res, what);
        await res.body?.cancel();
        await this.ctx.sleep(wait);
        continue;
      }
      if (res.status >= 500 && !opts.ok?.includes(res.status)) {
        if (streamed || ++failures > MAX_RETRIES) throw await refusal(res, what);
        await res.body?.cancel();
        await this.ctx.sleep(500 * 2 ** (failures - 1));
        continue;
      }
      if (res.ok || opts.ok?.includes(res.status)) return res;
      throw await refusal(res, what);
    }
  }

  /** One request, following redirects; the registry's Authorization never goes to another host. */
  private async send(method: string, url: string, opts: RequestOptions, authorization: string | null): Promise<Response> {
    let current = url;
    let withAuth = authorization;
    for (let hop = 0; hop < 10; hop++) {
      const headers: Record<string, string> = { ...opts.headers };
      if (withAuth) headers['authorization'] = withAuth;
      const init: RequestInit & { duplex?: 'half' } = { method, headers, redirect: 'manual' };
      if (opts.body !== undefined) init.body = opts.body as BodyInit;
      if (opts.body instanceof ReadableStream) init.duplex = 'half';
      this.ctx.stats.requests++;
      const res = await this.ctx.fetch(current, init);
      const location = res.headers.get('location');
      if (!REDIRECTS.has(res.status) || !location || opts.body !== undefined) return res;
      await res.body?.cancel();
      const next = new URL(location, current);
      if (next.origin !== new URL(current).origin) withAuth = null;
      current = next.toString();
    }
    throw new CopyError('TRANSIENT', `${opts.what} at ${this.endpoint.name}: too many redirects`, true);
  }
}
