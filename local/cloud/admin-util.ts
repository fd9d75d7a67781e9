import type { CloudRequest, CloudResponse } from './types.ts';

/** Helpers for `/_local/*` admin routes (shared with the service-specific admin modules). */
export function adminJson(status: number, body: unknown): CloudResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8' }, body };
}

export function adminError(status: number, message: string): CloudResponse {
  return adminJson(status, { error: message });
}

/** Parses the JSON object body of an admin request; throws AdminInputError when it is not one. */
export function readJsonObject(req: CloudRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(req.body.toString('utf8'));
  } catch {
    throw new AdminInputError('body must be JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new AdminInputError('body must be a JSON object');
  return value as Record<string, unknown>;
}

export class AdminInputError extends Error {}

export function str(obj: Record<string, unknown>, field: string, required: true): string;
export function str(obj: Record<string, unknown>, field: string, required?: false): string | undefined;
export function str(obj: Record<string, unknown>, field: string, required = false): string | undefined {
  const v = obj[field];
  if (v === undefined || v === null) {
    if (required) throw new AdminInputError(`${field} is required`);
    return undefined;
  }
  if (typeof v !== 'string' || v === '') throw new AdminInputError(`${field} must be a non-empty string`);
  return v;
}

export function num(obj: Record<string, unknown>, field: string): number | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new AdminInputError(`${field} must be a number`);
  return v;
}

export function bool(obj: Record<string, unknown>, field: string): boolean | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new AdminInputError(`${field} must be true or false`);
  return v;
}

/** Runs an admin handler, turning input errors into 400 answers. */
export async function guarded(fn: () => Promise<CloudResponse> | CloudResponse): Promise<CloudResponse> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AdminInputError) return adminError(400, err.message);
    if (err instanceof Error) return adminError(400, err.message);
    throw err;
  }
}

const SECRET_PARAM = /token|secret|key|password|passwd|signature|sig|auth/i;

/**
 * A URL as the admin API shows it: credentials in the user part and secret-looking query values
 * (`token`, `access_token`, `key`…) replaced by `***`, so state dumps never leak a webhook token.
 */
export function maskUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '***';
  }
  if (u.username) u.username = '***';
  if (u.password) u.password = '***';
  for (const name of [...u.searchParams.keys()]) if (SECRET_PARAM.test(name)) u.searchParams.set(name, '***');
  return u.toString().replace(/%2A%2A%2A/g, '***');
}
