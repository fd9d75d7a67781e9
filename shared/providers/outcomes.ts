/** Cloud errors in the provider vocabulary: the answers every cloud shares. */
import { CloudAuthError, CloudError, CloudInvalidRequestError, CloudNotFoundError, CloudPermissionError, CloudThrottledError } from '../clients/errors.ts';
import type { Logger } from '../log.ts';
import type { CancelOutcome, CloudErrorSummary } from './types.ts';

export function summarize(err: CloudError): CloudErrorSummary {
  return { code: err.code, message: err.message, requestId: err.requestId ?? null, status: err.status ?? null };
}

/** A failed cancel call in Ferry's words; anything but a CloudError is a bug and is thrown. */
export function cancelFailure(err: unknown): Exclude<CancelOutcome, { outcome: 'canceled' | 'finished' }> {
  if (!(err instanceof CloudError)) throw err;
  const e = summarize(err);
  if (err instanceof CloudThrottledError) return { outcome: 'throttled', retryAfterMs: err.retryAfterMs ?? 1000, error: e };
  if (err instanceof CloudPermissionError || err instanceof CloudAuthError) return { outcome: 'permission', error: e };
  if (err instanceof CloudNotFoundError) return { outcome: 'not_found', error: e };
  if (err instanceof CloudInvalidRequestError) return { outcome: 'unsupported', error: e };
  return { outcome: 'failed', error: e };
}

export const notFoundObservation = (err: CloudError) => ({ kind: 'gone' as const, code: err.code, message: err.message, requestId: err.requestId ?? null });

const unknownStatuses = new Set<string>();

/**
 * A status the cloud added after this code was written (ACR's `RETRYING`…): the task is taken as
 * still running, which its deadline bounds. Said once per status per process, not on every sweep.
 */
export function noteUnknownStatus(log: Logger, provider: string, status: string): void {
  const key = `${provider}\u0000${status}`;
  if (unknownStatuses.has(key)) return;
  unknownStatuses.add(key);
  log.warn('cloud status Ferry does not know: taken as still running until the deadline', { provider, cloudStatus: status });
}
