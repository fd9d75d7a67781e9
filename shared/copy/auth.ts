/**
 * Registry auth: the `WWW-Authenticate` challenge of a 401 says how (Basic, or a Bearer token from a
 * realm), `login()` says who (called lazily, again when its credentials expire or are refused once),
 * and tokens are cached per scope set until shortly before they expire.
 */
import { describeRefusal, readErrorBody } from './errors.ts';
import { CopyError, type RegistryCredentials, type RegistryEndpoint } from './types.ts';

export type Challenge = { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service: string | null; error: string | null };

/** Parses `Basic realm="…"` / `Bearer realm="…",service="…",scope="…",error="…"`; null for anything else. */
export function parseChallenge(header: string | null): Challenge | null {
  if (!header) return null;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g)) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  if (scheme === 'basic') return { scheme: 'basic' };
  if (scheme === 'bearer' && params['realm']) return { scheme: 'bearer', realm: params['realm'], service: params['service'] ?? null, error: params['error'] ?? null };
  return null;
}

export interface AuthContext {
  fetch: typeof fetch;
  now: () => number;
  /** Counts every HTTP request (token requests included). */
  counted: () => void;
}

interface Token {
  value: string;
  renewAt: number;
}

/** Tokens are renewed this long before they expire (at most a quarter of their lifetime). */
const RENEW_BEFORE_MS = 15_000;

function basic(c: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

export class Authenticator {
  private challenge: Challenge | null = null;
  /** undefined: login() not asked yet. */
  private credentials: RegistryCredentials | null | undefined;
  private readonly tokens = new Map<string, Token>();
  /** In flight, so that requests running in parallel share one login and one token request. */
  private loggingIn: Promise<RegistryCredentials | null> | null = null;
  private readonly fetching = new Map<string, Promise<Token>>();
  /** The credentials were just obtained from login() (a refusal of them is final). */
  private freshLogin = false;

  constructor(
    private readonly endpoint: RegistryEndpoint,
    private readonly ctx: AuthContext,
  ) {}

  /** The Authorization header for a request needing `scopes`, null before any challenge (anonymous first). */
  async header(scopes: readonly string[]): Promise<string | null> {
    const challenge = this.challenge;
    if (!challenge) return null;
    const creds = await this.creds();
    if (challenge.scheme === 'basic') {
      if (!creds) throw new CopyError('UNAUTHORIZED', `${this.endpoint.name} asks for a user and password (Basic auth) and there are no credentials for it`, false, 401);
      return basic(creds);
    }
    const key = [...scopes].sort().join(' ');
    const cached = this.tokens.get(key);
    if (cached && this.ctx.now() < cached.renewAt) return `Bearer ${cached.value}`;
    let pending = this.fetching.get(key);
    if (!pending) {
      const fresh = this.freshLogin;
      pending = this.fetchToken(challenge, scopes, creds).catch(async (e: unknown) => {
        // Credentials kept from an earlier login may have been revoked meanwhile: one fresh login before giving up.
        if (!(e instanceof CopyError) || e.code !== 'UNAUTHORIZED' || fresh) throw e;
        this.forget();
        return this.fetchToken(challenge, scopes, await this.creds());
      });
      this.fetching.set(key, pending);
      void pending.then(
        (token) => this.tokens.set(key, token),
        () => {},
      );
      void pending.finally(() => this.fetching.delete(key)).catch(() => {});
    }
    return `Bearer ${(await pending).value}`;
  }

  /** Learns the challenge of a 401. */
  challenged(wwwAuthenticate: string | null): Challenge | null {
    const challenge = parseChallenge(wwwAuthenticate);
    if (challenge) this.challenge = challenge;
    return challenge;
  }

  /** The credentials (and tokens made with them) were refused: ask login() again next time. */
  forget(): void {
    this.credentials = undefined;
    this.tokens.clear();
  }

  private async creds(): Promise<RegistryCredentials | null> {
    const c = this.credentials;
    if (c === undefined || (c?.expiresAt !== undefined && this.ctx.now() >= c.expiresAt)) {
      if (c) this.tokens.clear();
      this.loggingIn ??= this.endpoint.login().finally(() => (this.loggingIn = null));
      this.credentials = await this.loggingIn;
      this.freshLogin = true;
    } else this.freshLogin = false;
    return this.credentials ?? null;
  }

  private async fetchToken(challenge: Extract<Challenge, { scheme: 'bearer' }>, scopes: readonly string[], creds: RegistryCredentials | null): Promise<Token> {
    const url = new URL(challenge.realm);
    if (challenge.service) url.searchParams.set('service', challenge.service);
    for (const s of scopes) url.searchParams.append('scope', s);
    const what = `token for ${scopes.join(' ')} from ${url.origin}${url.pathname} (${this.endpoint.name})`;
    let res: Response;
    try {
      this.ctx.counted();
      res = await this.ctx.fetch(url, { headers: creds ? { authorization: basic(creds) } : {} });
    } catch (e) {
      throw new CopyError('TRANSIENT', `${what}: ${e instanceof Error ? e.message : String(e)}`, true);
    }
    if (!res.ok) {
      const body = await readErrorBody(res);
      const message = `${what}: ${describeRefusal(res.status, body)}`;
      if (res.status === 401) throw new CopyError('UNAUTHORIZED', message, false, 401);
      if (res.status === 403) throw new CopyError('DENIED', message, false, 403);
      if (res.status === 429) throw new CopyError('TOOMANYREQUESTS', message, true, 429);
      throw new CopyError('TRANSIENT', message, res.status >= 500, res.status);
    }
    const json = (await res.json().catch(() => ({}))) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const value = typeof json.token === 'string' && json.token ? json.token : typeof json.access_token === 'string' ? json.access_token : '';
    if (!value) throw new CopyError('UNAUTHORIZED', `${what}: the answer has no token`, false, res.status);
    const lifetimeMs = (typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 60) * 1000;
    return { value, renewAt: this.ctx.now() + lifetimeMs - Math.min(RENEW_BEFORE_MS, lifetimeMs / 4) };
  }
}
