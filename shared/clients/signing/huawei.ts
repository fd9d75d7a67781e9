import { createHash, createHmac } from 'node:crypto';
import { canonicalQuery, rfc3986 } from './encode.ts';

export interface HuaweiRequest {
  method: string;
  /** Path as sent on the wire, e.g. `/v2/manage/namespaces/ns/repos/a$b/sync_repo`. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
}

/** Each segment percent-encoded (so `$` signs as `%24`), always ending with `/`. */
export function huaweiCanonicalUri(path: string): string {
  const encoded = path
    .split('/')
    .map((seg) => rfc3986(safeDecode(seg)))
    .join('/');
  return encoded.endsWith('/') ? encoded : encoded + '/';
}

function safeDecode(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

export function huaweiCanonicalRequest(req: HuaweiRequest, signedHeaders: string[]): string {
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) lower[k.toLowerCase()] = String(v).trim();
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${lower[h] ?? ''}\n`).join('');
  return [req.method.toUpperCase(), huaweiCanonicalUri(req.path), canonicalQuery(req.query), canonicalHeaders, signedHeaders.join(';'), createHash('sha256').update(req.body).digest('hex')].join('\n');
}

export function huaweiStringToSign(req: HuaweiRequest, signedHeaders: string[], sdkDate: string): string {
  const hashed = createHash('sha256').update(huaweiCanonicalRequest(req, signedHeaders)).digest('hex');
  return `SDK-HMAC-SHA256\n${sdkDate}\n${hashed}`;
}

export function huaweiSignature(req: HuaweiRequest, signedHeaders: string[], sdkDate: string, secretKey: string): string {
  return createHmac('sha256', secretKey)
    .update(huaweiStringToSign(req, signedHeaders, sdkDate))
    .digest('hex');
}

export function huaweiAuthorization(accessKey: string, signedHeaders: string[], signature: string): string {
  return `SDK-HMAC-SHA256 Access=${accessKey}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
}

export function parseHuaweiAuthorization(header: string): { accessKey: string; signedHeaders: string[]; signature: string } | null {
  const m = /^SDK-HMAC-SHA256\s+(.*)$/.exec(header.trim());
  if (!m?.[1]) return null;
  const parts: Record<string, string> = {};
  for (const piece of m[1].split(',')) {
    const eq = piece.indexOf('=');
    if (eq > 0) parts[piece.slice(0, eq).trim()] = piece.slice(eq + 1).trim();
  }
  if (!parts.Access || !parts.SignedHeaders || !parts.Signature) return null;
  return { accessKey: parts.Access, signedHeaders: parts.SignedHeaders.split(';'), signature: parts.Signature };
}

/** `YYYYMMDDTHHMMSSZ` in UTC. */
export function sdkDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Parses `YYYYMMDDTHHMMSSZ`; null when malformed. */
export function parseSdkDate(value: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return null;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}
