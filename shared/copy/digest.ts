/** Digests: `<alg>:<hex>` checked as the bytes go by (sha256, and sha512 which the OCI spec also allows). */
import { createHash, type Hash } from 'node:crypto';
import { CopyError } from './types.ts';

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

function algorithmOf(digest: string): 'sha256' | 'sha512' {
  if (!isDigest(digest)) throw new CopyError('UNSUPPORTED', `not a digest Ferry can verify: ${JSON.stringify(digest)}`, false);
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

/** The digest of these bytes, with the algorithm of `like` (sha256 by default). */
export function digestOf(bytes: Uint8Array, like = 'sha256:'): string {
  const alg = like.startsWith('sha512:') ? 'sha512' : 'sha256';
  return `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
}

/** Hashes a blob as it streams; `check()` throws DIGEST_MISMATCH unless exactly `size` bytes with `digest` went by. */
export class DigestVerifier {
  private readonly hash: Hash;
  bytes = 0;

  constructor(
    readonly digest: string,
    readonly size: number,
    readonly what: string,
  ) {
    this.hash = createHash(algorithmOf(digest));
  }

  update(chunk: Uint8Array): void {
    this.bytes += chunk.byteLength;
    if (this.bytes > this.size) throw this.mismatch(`more than the ${this.size} bytes its descriptor says`);
    this.hash.update(chunk);
  }

  private got: string | null = null;

  check(): void {
    if (this.bytes !== this.size) throw this.mismatch(`${this.bytes} bytes, its descriptor says ${this.size}`);
    this.got ??= `${this.digest.slice(0, this.digest.indexOf(':'))}:${this.hash.digest('hex')}`;
    if (this.got !== this.digest) throw this.mismatch(`its content hashes to ${this.got}`);
  }

  private mismatch(why: string): CopyError {
    return new CopyError('DIGEST_MISMATCH', `${this.what} ${this.digest}: ${why}`, false);
  }
}
