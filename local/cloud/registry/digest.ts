import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Digests a registry accepts: sha256 and sha512 with lowercase hex. */
const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

export function splitDigest(digest: string): { alg: 'sha256' | 'sha512'; hex: string } {
  const [alg, hex] = digest.split(':') as ['sha256' | 'sha512', string];
  return { alg, hex };
}

export function digestOf(bytes: Buffer, alg: 'sha256' | 'sha512' = 'sha256'): string {
  return `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
}

/** Hashes a file by streaming it (blobs can be large). */
export async function digestOfFile(path: string, alg: 'sha256' | 'sha512'): Promise<string> {
  const hash = createHash(alg);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `${alg}:${hash.digest('hex')}`;
}
