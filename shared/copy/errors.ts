/** A registry's refusal (`{"errors":[{code,message}]}` and its status) as a CopyError. */
import { CopyError, type CopyErrorCode } from './types.ts';

export interface RegistryErrorBody {
  code: string | null;
  message: string | null;
}

export async function readErrorBody(res: Response): Promise<RegistryErrorBody> {
  let text = '';
  try {
    text = (await res.text()).slice(0, 4096);
  } catch {
    return { code: null, message: null };
  }
  try {
    const first = (JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }> }).errors?.[0];
    if (first) return { code: typeof first.code === 'string' ? first.code : null, message: typeof first.message === 'string' ? first.message : null };
  } catch {
    // not the distribution error format
  }
  return { code: null, message: text.trim().slice(0, 200) || null };
}

/** Words for messages: `401 UNAUTHORIZED: authentication required`. */
export function describeRefusal(status: number, body: RegistryErrorBody): string {
  return [String(status), body.code, body.message]
    .filter(Boolean)
    .join(' ')
    .replace(/^(\d+ \S+) /, '$1: ');
}

function codeFor(status: number, registryCode: string | null, what: string): { code: CopyErrorCode; retryable: boolean } {
  if (status === 401) return { code: 'UNAUTHORIZED', retryable: false };
  if (status === 403) return { code: 'DENIED', retryable: false };
  if (status === 429) return { code: 'TOOMANYREQUESTS', retryable: true };
  if (status >= 500) return { code: 'TRANSIENT', retryable: true };
  switch (registryCode) {
    case 'NAME_UNKNOWN':
    case 'NAME_INVALID':
      return { code: 'NAME_UNKNOWN', retryable: false };
    case 'MANIFEST_UNKNOWN':
      return { code: 'MANIFEST_UNKNOWN', retryable: false };
    case 'DIGEST_INVALID':
      return { code: 'DIGEST_MISMATCH', retryable: false };
    case 'UNSUPPORTED':
      return { code: 'UNSUPPORTED', retryable: false };
    case 'DENIED':
      return { code: 'DENIED', retryable: false };
    case 'UNAUTHORIZED':
      return { code: 'UNAUTHORIZED', retryable: false };
  }
  if (status === 404) return { code: what.startsWith('manifest') ? 'MANIFEST_UNKNOWN' : 'NAME_UNKNOWN', retryable: false };
  if (status === 415) return { code: 'UNSUPPORTED', retryable: false };
  // Other 4xx (MANIFEST_INVALID, MANIFEST_BLOB_UNKNOWN, BLOB_UPLOAD_INVALID, SIZE_INVALID…): the request was wrong, resending it will not help.
  return { code: 'MANIFEST_INVALID', retryable: false };
}

/** `what` names the object (`manifest team/app:v1 at acr-sh`); the message carries the registry's code and message. */
export async function refusal(res: Response, what: string): Promise<CopyError> {
  return refusalFrom(res.status, await readErrorBody(res), what);
}

/** `refusal` for an error body already read. */
export function refusalFrom(status: number, body: RegistryErrorBody, what: string): CopyError {
  const { code, retryable } = codeFor(status, body.code, what);
  return new CopyError(code, `${what}: ${describeRefusal(status, body)}`, retryable, status);
}
