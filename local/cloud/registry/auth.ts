import { randomBytes } from 'node:crypto';

/**
 * The Docker token flow both clouds use: `/v2/…` answers 401 with
 * `WWW-Authenticate: Bearer realm=…,service=…`; the client asks the realm for a token with Basic
 * credentials and the scopes it needs, then sends `Authorization: Bearer <token>`. Basic
 * credentials sent to `/v2/…` directly are refused (as SWR does).
 */
export interface RegistryAuthConfig {
  /** Path of the token endpoint on the registry's own port. */
  realmPath: string;
  service: string;
  /** The principal the Basic credentials stand for, or null when they are not valid (now). */
  verify(username: string, password: string): string | null;
  tokenTtlMs: number;
  now(): number;
}

export type RepoAction = 'pull' | 'push' | 'delete';

interface IssuedToken {
  principal: string;
  /** repository → actions granted */
  access: Map<string, Set<string>>;
  expiresAt: number;
}

export type TokenCheck = { ok: true; token: IssuedToken } | { ok: false; error: 'invalid_token' | 'insufficient_scope' | 'missing' };

/** `repository:<name>:<a,b>` scopes; anything else (catalog) is ignored. */
export function parseScopes(values: string[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const value of values) {
    for (const scope of value.split(' ')) {
      const m = /^repository:(.+):([a-z*,]*)$/.exec(scope);
      if (!m) continue;
      const set = out.get(m[1]!) ?? new Set<string>();
      for (const a of m[2]!.split(',')) if (a) set.add(a);
      out.set(m[1]!, set);
    }
  }
  return out;
}

export function parseBasic(header: string | undefined): { username: string; password: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? null : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export class RegistryTokens {
  private readonly tokens = new Map<string, IssuedToken>();

  constructor(private readonly config: RegistryAuthConfig) {}

  /** A token for valid Basic credentials with the scopes asked for, or null. */
  issue(authorization: string | undefined, scopes: string[]): { token: string; expiresIn: number; issuedAt: string } | null {
    const basic = parseBasic(authorization);
    const principal = basic ? this.config.verify(basic.username, basic.password) : null;
    if (!principal) return null;
    const now = this.config.now();
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, { principal, access: parseScopes(scopes), expiresAt: now + this.config.tokenTtlMs });
    if (this.tokens.size > 10_000) for (const [k, t] of this.tokens) if (t.expiresAt <= now) this.tokens.delete(k);
    return { token, expiresIn: Math.floor(this.config.tokenTtlMs / 1000), issuedAt: new Date(now).toISOString() };
  }

  /** Checks a request's bearer token for `action` on `name` (no name: any valid token, as for `GET /v2/`). */
  check(authorization: string | undefined, name?: string, action?: RepoAction): TokenCheck {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return { ok: false, error: 'missing' };
    const token = this.tokens.get(m[1]!);
    if (!token || token.expiresAt <= this.config.now()) return { ok: false, error: 'invalid_token' };
    if (name === undefined || action === undefined) return { ok: true, token };
    return allows(token, name, action) ? { ok: true, token } : { ok: false, error: 'insufficient_scope' };
  }

  /** `WWW-Authenticate` for a refusal, naming the scope the request needs. */
  challenge(baseUrl: string, scope?: { name: string; actions: string }, error?: string): string {
    let value = `Bearer realm="${baseUrl}${this.config.realmPath}",service="${this.config.service}"`;
    if (scope) value += `,scope="repository:${scope.name}:${scope.actions}"`;
    if (error) value += `,error="${error}"`;
    return value;
  }

  clear(): void {
    this.tokens.clear();
  }
}

export function allows(token: IssuedToken, name: string, action: RepoAction): boolean {
  const granted = token.access.get(name);
  if (!granted) return false;
  if (granted.has('*')) return true;
  return action === 'delete' ? granted.has('delete') || granted.has('push') : granted.has(action);
}
