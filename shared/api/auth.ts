/** Bearer tokens of `config.auth.apiTokens`: constant-time comparison, roles admin | read. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiToken } from '../config/index.ts';
import { bearerToken } from '../http/auth.ts';

export interface Caller {
  /** Recorded as the actor of what this caller does: the token's name (or `api-token-<n>`). */
  name: string;
  role: 'admin' | 'read';
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export class TokenChecker {
  private readonly tokens: Array<{ hash: Buffer; caller: Caller }>;

  constructor(tokens: readonly ApiToken[]) {
    this.tokens = tokens.map((t, i) => ({ hash: digest(t.token), caller: { name: t.name ?? `api-token-${i + 1}`, role: t.role } }));
  }

  /** The caller the `Authorization: Bearer …` header names, or null (missing, malformed or unknown). */
  check(authorization: string | null | undefined): Caller | null {
    const token = bearerToken(authorization);
    if (!token) return null;
    const presented = digest(token);
    let found: Caller | null = null;
    // Compare against every token (fixed-length digests), so timing says nothing about which matched.
    for (const t of this.tokens) {
      if (timingSafeEqual(presented, t.hash) && !found) found = t.caller;
    }
    return found;
  }
}
