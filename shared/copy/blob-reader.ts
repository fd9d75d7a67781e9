/**
 * A source blob read once, front to back, through its digest: `skip` hashes without sending (a resumed
 * upload), `take` hands out the next bytes as a stream for one request body. Nothing is buffered beyond
 * what the source stream holds; the last bytes are released only once the whole blob verified, so a
 * corrupted blob never completes a request body.
 */
import type { DigestVerifier } from './digest.ts';

export class BlobReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private leftover: Uint8Array | null = null;
  /** Why reading stopped (a digest mismatch, the source going away), kept because fetch reports a failed body vaguely. */
  failure: unknown = null;

  constructor(
    body: ReadableStream<Uint8Array>,
    private readonly verifier: DigestVerifier,
  ) {
    this.reader = body.getReader();
  }

  /** Up to `max` next bytes; null at the end (verified by then). */
  private async next(max: number): Promise<Uint8Array | null> {
    try {
      let piece = this.leftover;
      this.leftover = null;
      if (!piece) {
        const r = await this.reader.read();
        if (r.done) {
          this.verifier.check();
          return null;
        }
        this.verifier.update(r.value);
        piece = r.value;
        if (this.verifier.bytes === this.verifier.size) {
          // All the bytes the descriptor announces: make sure nothing follows and the digest holds before handing out the last ones.
          const after = await this.reader.read();
          if (!after.done) this.verifier.update(after.value);
          this.verifier.check();
        }
      }
      if (piece.byteLength > max) {
        this.leftover = piece.subarray(max);
        piece = piece.subarray(0, max);
      }
      return piece;
    } catch (e) {
      this.failure ??= e;
      throw e;
    }
  }

  /** Reads (and hashes) `n` bytes the target already has. */
  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const piece = await this.next(left);
      if (!piece) break;
      left -= piece.byteLength;
    }
  }

  /** The next `n` bytes as a stream, pulled as the request sends them. */
  take(n: number): ReadableStream<Uint8Array> {
    let left = n;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const piece = left > 0 ? await this.next(Math.min(left, 1 << 20)) : null;
          if (!piece) {
            controller.close();
            return;
          }
          left -= piece.byteLength;
          controller.enqueue(piece);
        },
      },
      { highWaterMark: 0 },
    );
  }

  async close(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }
}
