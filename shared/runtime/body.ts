import type { ErrorCode } from '../http/errors.ts';

/** A refusal carries the status and code of the shared error vocabulary (shared/http/errors.ts). */
export type LimitedBody =
  | { ok: true; text: string }
  | { ok: false; status: 413; code: Extract<ErrorCode, 'PayloadTooLarge'>; message: string }
  | { ok: false; status: 400; code: Extract<ErrorCode, 'InvalidBody'>; message: string };

/**
 * Reads a request body of at most `max` bytes as UTF-8: a declared Content-Length over the limit
 * is refused before reading, and streamed bytes are counted so a lying or absent header cannot
 * make the function buffer more.
 */
export async function readBodyLimited(req: Request, max: number): Promise<LimitedBody> {
  const declared = req.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > max) {
    return { ok: false, status: 413, code: 'PayloadTooLarge', message: `body is ${declared} bytes; the limit is ${max}` };
  }
  if (!req.body) return { ok: true, text: '' };
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return { ok: false, status: 413, code: 'PayloadTooLarge', message: `body exceeds the limit of ${max} bytes` };
    }
    chunks.push(value);
  }
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)) };
  } catch {
    return { ok: false, status: 400, code: 'InvalidBody', message: 'body is not valid UTF-8' };
  }
}
