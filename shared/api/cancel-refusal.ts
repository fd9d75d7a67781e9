/** Why a Ferry task was not canceled, as the API error the JSON API and the status page both show. */
import type { CancelOutcome } from '../providers/types.ts';
import type { CancelTaskResult } from '../replicate/cancel.ts';
import { type ApiError, cloudFailure, finished } from './errors.ts';
import { HttpError } from '../http/errors.ts';

export function cancelRefusal(r: Exclude<CancelTaskResult, { outcome: 'canceled' }>, what: string): ApiError {
  switch (r.outcome) {
    case 'not_found':
      return new HttpError(404, 'TaskNotFound', `no ${what}`);
    case 'finished': {
      const cloudSaid = r.cloud?.outcome === 'finished' && r.task.state !== 'succeeded' && r.task.state !== 'failed' && r.task.state !== 'timed_out';
      const state = cloudSaid ? (r.cloud as Extract<CancelOutcome, { outcome: 'finished' }>).state : r.task.state;
      const cloud = cloudErrorOf(r.cloud);
      return finished(what, state, { taskId: r.task.id, ...(cloud ? { cloud } : {}) });
    }
    case 'cloud_error':
      return cloudFailure(r.cloud, `cancel ${what}`, { taskId: r.task.id });
  }
}

export function cloudErrorOf(r: CancelOutcome | undefined) {
  return r && 'error' in r && r.error ? { code: r.error.code, requestId: r.error.requestId } : undefined;
}
