import { createHash, createHmac } from 'node:crypto';
import { canonicalQuery, rfc3986 } from './encode.ts';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---------- V1: HMAC-SHA1 over the sorted query ----------

export function v1StringToSign(method: string, params: Record<string, string>): string {
  const withoutSignature = { ...params };
  delete withoutSignature.Signature;
  return v1StringToSignOf(method, canonicalQuery(withoutSignature));
}

/** The V1 string to sign of a canonical query (`canonicalQuery` of every parameter but `Signature`). */
function v1StringToSignOf(method: string, canonical: string): string {
  return `${method.toUpperCase()}&%2F&${rfc3986(canonical)}`;
}

export function v1Signature(method: string, params: Record<string, string>, accessKeySecret: string): string {
  return createHmac('sha1', accessKeySecret + '&')
    .update(v1StringToSign(method, params))
    .digest('base64');
}

/** `v1Signature` for a caller that has the canonical query already (it sends the same string, so it is encoded once). */
export function v1SignatureOfCanonical(method: string, canonical: string, accessKeySecret: string): string {
  return createHmac('sha1', accessKeySecret + '&')
    .update(v1StringToSignOf(method, canonical))
    .digest('base64');
}

// ---------- V3: ACS3-HMAC-SHA256 over a canonical request ----------

export interface V3Request {
  method: string;
  /** Canonical URI; `/` for RPC-style APIs. */
  path: string;
  query: Record<string, string>;
  /** Header names in any case; values as sent. */
  headers: Record<string, string>;
  /** Lowercase hex SHA-256 of the body (x-acs-content-sha256). */
  payloadHash: string;
}

/** The headers V3 signs: host, content-type and every x-acs-* header. */
export function v3SignedHeaderNames(headers: Record<string, string>): string[] {
  return Object.keys(headers)
    .map((h) => h.toLowerCase())
    .filter((h) => h === 'host' || h === 'content-type' || h.startsWith('x-acs-'))
    .sort();
}

export function v3CanonicalRequest(req: V3Request, signedHeaders: string[]): string {
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) lower[k.toLowerCase()] = String(v).trim();
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${lower[h] ?? ''}\n`).join('');
  return [req.method.toUpperCase(), req.path || '/', canonicalQuery(req.query), canonicalHeaders, signedHeaders.join(';'), req.payloadHash].join('\n');
}

export function v3Signature(req: V3Request, signedHeaders: string[], accessKeySecret: string): string {
  return v3SignatureOfCanonical(v3CanonicalRequest(req, signedHeaders), accessKeySecret);
}

/** The V3 signature of a canonical request (what `v3CanonicalRequest` builds), for callers that build it themselves. */
export function v3SignatureOfCanonical(canonicalRequest: string, accessKeySecret: string): string {
  return createHmac('sha256', accessKeySecret)
    .update(`ACS3-HMAC-SHA256\n${sha256Hex(canonicalRequest)}`)
    .digest('hex');
}

export function v3Authorization(accessKeyId: string, signedHeaders: string[], signature: string): string {
  return `ACS3-HMAC-SHA256 Credential=${accessKeyId},SignedHeaders=${signedHeaders.join(';')},Signature=${signature}`;
}

export interface ParsedV3Authorization {
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses an `ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…` header; null when malformed. */
export function parseV3Authorization(header: string): ParsedV3Authorization | null {
  const m = /^ACS3-HMAC-SHA256\s+(.*)$/.exec(header.trim());
  if (!m?.[1]) return null;
  const parts: Record<string, string> = {};
  for (const piece of m[1].split(',')) {
    const eq = piece.indexOf('=');
    if (eq > 0) parts[piece.slice(0, eq).trim()] = piece.slice(eq + 1).trim();
  }
  const { Credential, SignedHeaders, Signature } = parts;
  if (!Credential || !SignedHeaders || !Signature) return null;
  return { accessKeyId: Credential, signedHeaders: SignedHeaders.split(';'), signature: Signature };
}
