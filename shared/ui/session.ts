/**
 * The status page's sign-in session: a cookie holding which token signed in, its expiry and a random
 * id, MACed with HMAC-SHA256 keyed from that token's own value. The raw token is never stored;
 * rotating or removing the token ends every session it made, and nothing new needs configuring.
 * The CSRF token of a session is derived from it, so it needs no storage either.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiToken } from '../config/index.ts';
import type { Caller } from '../api/auth.ts';

export const SESSION_COOKIE = 'ferry_ui';
export const SESSION_TTL_MS = 8 * 3600 * 1000;

export interface Session {
  caller: Caller;
  expiresAt: number;
  /** Hidden field of every action form; checked on every POST. */
  csrf: string;
}

interface Payload {
  /** The token's name (as the API records it as actor). */
  n: string;
  /** Expiry, epoch ms. */
  e: number;
  /** Random id: each sign-in gets its own CSRF token. */
  s: string;
}

const b64url = (b: Buffer) => b.toString('base64url');

interface KeyedToken {
  caller: Caller;
  key: Buffer;
}

export class Sessions {
  readonly #tokens: KeyedToken[];

  constructor(tokens: readonly ApiToken[]) {
    this.#tokens = tokens.map((t, i) => ({
      caller: { name: t.name ?? `api-token-${i + 1}`, role: t.role },
      key: createHash('sha256').update('ferry-ui-session\0', 'utf8').update(t.token, 'utf8').digest(),
    }));
  }

  /** A new session's cookie value for the caller a token check found. */
  issue(caller: Caller, now: number): { value: string; session: Session } {
    const t = this.#tokens.find((k) => k.caller.name === caller.name && k.caller.role === caller.role);
    if (!t) throw new Error(`no API token named ${caller.name}`);
    const payload = b64url(Buffer.from(JSON.stringify({ n: caller.name, e: now + SESSION_TTL_MS, s: b64url(randomBytes(12)) } satisfies Payload)));
    const mac = macOf(t.key, payload);
    return { value: `${payload}.${b64url(mac)}`, session: { caller: t.caller, expiresAt: now + SESSION_TTL_MS, csrf: csrfOf(t.key, mac) } };
  }

  /** The session a cookie value holds, or null: malformed, expired, or its token's value changed. */
  verify(value: string | undefined, now: number): Session | null {
    if (!value || value.length > 1024) return null;
    const dot = value.indexOf('.');
    if (dot < 0) return null;
    const payload = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1), 'base64url');
    let p: Partial<Payload>;
    try {
      p = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<Payload>;
    } catch {
      return null;
    }
    if (typeof p.n !== 'string' || typeof p.e !== 'number' || p.e <= now) return null;
    for (const t of this.#tokens) {
      if (t.caller.name !== p.n) continue;
      const mac = macOf(t.key, payload);
      if (given.length === mac.length && timingSafeEqual(given, mac)) return { caller: t.caller, expiresAt: p.e, csrf: csrfOf(t.key, mac) };
    }
    return null;
  }
}

function macOf(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(`session\0${payload}`, 'utf8').digest();
}

function csrfOf(key: Buffer, sessionMac: Buffer): string {
  return b64url(createHmac('sha256', key).update('csrf\0', 'utf8').update(sessionMac).digest());
}

/** Constant-time comparison of a submitted CSRF token with the session's. */
export function csrfMatches(session: Session, submitted: string | undefined): boolean {
  if (!submitted) return false;
  const a = Buffer.from(submitted, 'utf8');
  const b = Buffer.from(session.csrf, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
