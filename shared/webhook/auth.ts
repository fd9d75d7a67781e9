import { createHash, timingSafeEqual } from 'node:crypto';
import type { WebhookToken } from '../config/index.ts';
import { bearerToken } from '../http/auth.ts';

/**
 * Webhook authentication. The token travels in `Authorization: Bearer …` or, for senders
 * that cannot set headers (ACR repository triggers), in the `token` query parameter.
 * Every configured token is compared (rotation: old and new are both listed), each in
 * constant time over SHA-256 digests, so neither the token's length nor the position of
 * the first differing byte shows in the timing.
 */

export interface PresentedToken {
  value: string;
  /** Where it came from, for logs (never the value). */
  from: 'header' | 'query';
}

/** The token the request carries; the header wins over the query parameter. */
export function presentedToken(headers: Headers, url: URL): PresentedToken | null {
  const bearer = bearerToken(headers.get('authorization'));
  if (bearer) return { value: bearer, from: 'header' };
  const q = url.searchParams.get('token');
  if (q) return { value: q, from: 'query' };
  return null;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * The configured token entry the presented token equals, or null. Compares against every
 * entry (no early exit) so the number of configured tokens before the match does not leak.
 */
export function authenticate(presented: PresentedToken | null, tokens: readonly WebhookToken[]): WebhookToken | null {
  if (!presented) return null;
  const given = digest(presented.value);
  let found: WebhookToken | null = null;
  for (const t of tokens) {
    if (timingSafeEqual(given, digest(t.token)) && !found) found = t;
  }
  return found;
}

/** Whether the token may announce pushes for this configured source (unscoped tokens may for all). */
export function tokenCovers(token: WebhookToken, sourceName: string): boolean {
  return !token.sources || token.sources.includes(sourceName);
}
