/** OCI distribution error bodies: `{"errors":[{code, message, detail}]}`. */
export type OciErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'RANGE_INVALID';

/** Thrown by handlers; the server writes it as an OCI error answer. */
export class OciError extends Error {
  constructor(
    readonly status: number,
    readonly code: OciErrorCode,
    message: string,
    readonly detail: unknown = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function ociErrorBody(code: string, message: string, detail: unknown = null): string {
  return JSON.stringify({ errors: [{ code, message, detail }] });
}
