import { createHmac } from 'node:crypto';

/**
 * Generic webhook signing (README "Verifying a notification"): the receiver recomputes
 * hex(HMAC-SHA256(key = secret, msg = "<X-Ferry-Timestamp>.<raw body>")) and compares it with
 * X-Ferry-Signature after its `sha256=` prefix. The timestamp (unix seconds) is signed too, so a
 * receiver that refuses old timestamps cannot be fed a captured message again.
 */
export const SIGNATURE_HEADER = 'x-ferry-signature';
export const TIMESTAMP_HEADER = 'x-ferry-timestamp';

export function webhookSignature(secret: string, timestampSeconds: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampSeconds}.${body}`, 'utf8').digest('hex')}`;
}

export function signatureHeaders(secret: string, nowMs: number, body: string): Record<string, string> {
  const ts = Math.floor(nowMs / 1000);
  return { [TIMESTAMP_HEADER]: String(ts), [SIGNATURE_HEADER]: webhookSignature(secret, ts, body) };
}
