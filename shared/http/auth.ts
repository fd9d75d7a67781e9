/**
 * `Authorization: Bearer <token>`, read the same way by the webhook and the operator API: the
 * scheme in any case (RFC 9110 §11.1), then spaces or tabs, then the token (no whitespace in it).
 * Refusals carry WWW_AUTHENTICATE (RFC 9110 §11.6.1: a 401 names the scheme it wants).
 */

const BEARER = /^[ \t]*Bearer[ \t]+(\S+)[ \t]*$/i;

/** The bearer token of an Authorization header value, or null (absent, another scheme, malformed). */
export function bearerToken(authorization: string | null | undefined): string | null {
  return BEARER.exec(authorization ?? '')?.[1] ?? null;
}

/** The `WWW-Authenticate` value of every 401 Ferry answers. */
export const WWW_AUTHENTICATE = 'Bearer realm="ferry"';
