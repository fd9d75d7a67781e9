import { timingSafeEqual } from 'node:crypto';

// The signature itself is the client's (shared/clients/fc-signature.ts): one definition, checked by both sides.
export { fcAuthorization, fcSignature, fcStringToSign } from '../../shared/clients/fc-signature.ts';

export function parseFcAuthorization(header: string): { accessKeyId: string; signature: string } | null {
  const m = /^FC ([^:\s]+):(\S+)$/.exec(header.trim());
  return m ? { accessKeyId: m[1]!, signature: m[2]! } : null;
}

export function signaturesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
