/** Huawei IAM project-scoped user tokens (password method), cached and refreshed before expiry. */
import type { Dispatcher } from 'undici';
import * as z from '../zod.ts';
import { systemClock, type Clock } from '../clock.ts';
import { registerSecret } from '../log.ts';
import { CloudMalformedResponseError } from './errors.ts';
import { mapHuaweiError } from './huawei-errors.ts';
import { defaultRetryPolicy, sendHttp, withRetry, type RetryPolicy } from './transport.ts';
import { checkOutput } from './validation.ts';

export interface IamTokenProviderOptions {
  /** Region of the token's project scope, e.g. `cn-north-4`. */
  region: string;
  /** Project to scope the token to; default: the region's default project (same name). */
  projectName?: string | undefined;
  /** IAM user name. */
  user: string;
  password: string;
  /** Account (domain) name. */
  domain: string;
  /** Default `https://iam.<region>.myhuaweicloud.com`. */
  endpoint?: string | undefined;
  /** Refresh this long before `expires_at`; default 1 h. */
  refreshMarginMs?: number | undefined;
  clock?: Clock | undefined;
  timeoutMs?: number | undefined;
  retry?: Partial<RetryPolicy> | undefined;
  dispatcher?: Dispatcher | undefined;
}

const tokenBody = z.object({
  token: z.object({
    expires_at: z.string().check(z.refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 time')),
    // The project the token is scoped to: SWR calls name it in X-Project-Id, as the SDKs do.
    project: z.catch(z.optional(z.object({ id: z.string().check(z.minLength(1)) })), undefined),
  }),
});

/** A token and the id of the project it is scoped to (when IAM said). */
export interface ScopedToken {
  token: string;
  projectId: string | undefined;
}

export class IamTokenProvider {
  readonly endpoint: string;
  private cached: (ScopedToken & { expiresAt: number }) | undefined;
  private inFlight: Promise<ScopedToken> | undefined;
  private readonly clock: Clock;
  private readonly marginMs: number;

  constructor(private readonly options: IamTokenProviderOptions) {
    for (const field of ['region', 'user', 'password', 'domain'] as const) {
      if (!options[field]) throw new Error(`IAM ${field} is required`);
    }
    registerSecret(options.password);
    this.endpoint = (options.endpoint ?? `https://iam.${options.region}.myhuaweicloud.com`).replace(/\/+$/, '');
    this.clock = options.clock ?? systemClock;
    this.marginMs = options.refreshMarginMs ?? 3_600_000;
  }

  /** Limiter key for the account this token belongs to. */
  get accountKey(): string {
    return `huawei:${this.options.domain}`;
  }

  /** A valid token; concurrent callers share one fetch. */
  async getToken(): Promise<string> {
    return (await this.getScopedToken()).token;
  }

  /** A valid token with its project id, read together so a refresh never pairs one with another's. */
  getScopedToken(): Promise<ScopedToken> {
    const c = this.cached;
    if (c && this.clock.now() < c.expiresAt - this.marginMs) return Promise.resolve({ token: c.token, projectId: c.projectId });
    if (!this.inFlight) {
      this.inFlight = this.fetchToken().finally(() => {
        this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }

  /** Drop the cached token (after a 401). With `token`, only if it is still the cached one. */
  invalidate(token?: string): void {
    if (token === undefined || this.cached?.token === token) this.cached = undefined;
  }

  private async fetchToken(): Promise<ScopedToken> {
    const action = 'POST /v3/auth/tokens';
    const body = JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: this.options.user, password: this.options.password, domain: { name: this.options.domain } } },
        },
        scope: { project: { name: this.options.projectName ?? this.options.region } },
      },
    });
    const res = await withRetry(
      async () => {
        const r = await sendHttp({
          method: 'POST',
          url: `${this.endpoint}/v3/auth/tokens?nocatalog=true`,
          headers: { 'content-type': 'application/json;charset=utf8' },
          body,
          timeoutMs: this.options.timeoutMs ?? 10_000,
          provider: 'iam',
          action,
          region: this.options.region,
          dispatcher: this.options.dispatcher,
        });
        if (r.status < 200 || r.status >= 300) throw mapHuaweiError('iam', action, r.status, r.headers, r.body, this.clock.now());
        return r;
      },
      { ...defaultRetryPolicy, ...this.options.retry },
      this.clock,
    );
    const requestId = res.headers['x-request-id'];
    const token = res.headers['x-subject-token'];
    if (!token) {
      throw new CloudMalformedResponseError({ provider: 'iam', action, code: 'MalformedResponse', message: 'response has no X-Subject-Token header', requestId, status: res.status });
    }
    let json: unknown;
    try {
      json = JSON.parse(res.body);
    } catch {
      json = undefined;
    }
    const parsed = checkOutput(tokenBody, json, { provider: 'iam', action, requestId, status: res.status });
    registerSecret(token);
    const scoped = { token, projectId: parsed.token.project?.id };
    this.cached = { ...scoped, expiresAt: Date.parse(parsed.token.expires_at) };
    return scoped;
  }
}
