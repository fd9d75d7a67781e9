/** API errors in the shared envelope (shared/http/errors.ts) and the cloud → HTTP mapping. */
import type * as z from '../zod.ts';
import type { CancelOutcome } from '../providers/types.ts';
import { HttpError as ApiError } from '../http/errors.ts';

/** Thrown by the API's handlers; `onError` answers `{error:{status, code, message, …}}`. */
export { ApiError };

/** First zod issue → 400 naming the field (`where.path`) and the rule. */
export function invalidField(error: z.core.$ZodError, where: 'body' | 'query' | 'path', input?: unknown): ApiError {
  const issue = error.issues[0]!;
  const path = issue.path.map(String).join('.');
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.path.length > 0 && issue.code !== 'custom' && valueAt(input, issue.path) === undefined) message = 'is required';
  return new ApiError(400, 'InvalidRequest', `${where}${path ? `.${path}` : ''}: ${message}`, { field: path ? `${where}.${path}` : where });
}

/**
 * What the cloud said, in HTTP: not found → 404, cannot cancel this kind → 422, Ferry's own
 * credentials refused → 502 (the caller is not at fault), throttled → 503 with Retry-After,
 * anything else from the cloud → 502.
 */
export function cloudFailure(r: Exclude<CancelOutcome, { outcome: 'canceled' | 'finished' }>, what: string, extra: { taskId?: string } = {}): ApiError {
  const cloud = { code: r.error.code, requestId: r.error.requestId };
  const pending = extra.taskId ? ' The cancel request stays recorded on the task; the sweep will try again.' : '';
  switch (r.outcome) {
    case 'not_found':
      return new ApiError(404, 'CloudTaskNotFound', `${what}: the cloud does not know this task (${r.error.code})`, { cloud, ...extra });
    case 'unsupported':
      return new ApiError(422, 'CancelNotSupported', `${what}: the cloud refused to cancel it (${r.error.code}: ${r.error.message})`, { cloud, ...extra });
    case 'permission':
      return new ApiError(502, 'CloudPermissionDenied', `${what}: the cloud refused Ferry's credentials (${r.error.code}); Ferry's role or keys need the cancel permission.${pending}`, {
        cloud,
        ...extra,
      });
    case 'throttled': {
      const seconds = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
      return new ApiError(
        503,
        'CloudThrottled',
        `${what}: the cloud is throttling Ferry; retry after ${seconds}s.${pending}`,
        { cloud, ...extra },
        {
          'retry-after': String(seconds),
        },
      );
    }
    case 'failed':
      return new ApiError(502, 'CloudError', `${what}: the cloud call failed (${r.error.code}: ${r.error.message}).${pending}`, { cloud, ...extra });
  }
}

export function finished(what: string, state: string, extra: { taskId?: string; cloud?: { code: string; requestId: string | null } } = {}): ApiError {
  return new ApiError(409, 'AlreadyFinished', `${what} already ended (${state}); nothing to cancel`, { state, ...extra });
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}
