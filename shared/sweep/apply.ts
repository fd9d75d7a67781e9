/**
 * One decision per claimed task, whatever the cloud: the cloud's answer, an operator's cancel
 * request, and the task's deadline, in that order of precedence:
 *  - a final cloud status wins (a task that finished is recorded as finished, even past its deadline);
 *  - else a pending cancel request is completed (cloud cancel, then canceled);
 *  - else past the deadline: cloud cancel, then timed_out, then retry or fail per policy;
 *  - else a submitted task the cloud runs becomes running (batched by the caller).
 */
import type { TaskRow } from '../ledger/index.ts';
import type { SweepContext } from './context.ts';
import { canceled, deadlinePassed, failOrRetry, succeed, timedOut } from './outcome.ts';

export type Observation =
  | { kind: 'queued' | 'running'; cloudStatus: string }
  | { kind: 'succeeded'; cloudStatus: string }
  | { kind: 'failed'; cloudStatus: string; code: string; message: string; requestId: string | null; retryable: boolean }
  | { kind: 'canceled'; cloudStatus: string }
  | { kind: 'timed_out'; cloudStatus: string; message: string }
  /** The cloud does not know the task (deleted, or never recorded there). */
  | { kind: 'gone'; code: string; message: string; requestId: string | null };

export interface CancelResult {
  /** `finished`: the task ended meanwhile (re-read it); `unsupported`: the cloud cannot cancel this kind. */
  result: 'canceled' | 'gone' | 'finished' | 'unsupported';
  requestId?: string | null | undefined;
}

export interface CloudControl {
  cancel(task: TaskRow): Promise<CancelResult>;
  reread(task: TaskRow): Promise<Observation>;
}

export type Applied = 'mark-running' | 'unchanged' | 'done';

export async function applyObservation(ctx: SweepContext, task: TaskRow, obs: Observation, control: CloudControl, depth = 0): Promise<Applied> {
  switch (obs.kind) {
    case 'succeeded':
      await succeed(ctx, task, obs.cloudStatus);
      return 'done';
    case 'failed':
      await failOrRetry(ctx, task, obs);
      return 'done';
    case 'gone':
      await failOrRetry(ctx, task, { ...obs, retryable: true, cloudStatus: 'NOT_FOUND', reason: `cloud task ${task.cloudRef} not found` });
      return 'done';
    case 'timed_out':
      await timedOut(ctx, task, { cloudStatus: obs.cloudStatus, message: obs.message });
      return 'done';
    case 'canceled':
      // Cancelled at the cloud but not recorded: our own deadline cancel (crash before the write) or someone else's.
      if (!task.cancelRequestedAt && deadlinePassed(ctx, task)) {
        await timedOut(ctx, task, { cloudStatus: obs.cloudStatus, message: 'cloud task canceled past its deadline' });
      } else {
        await canceled(ctx, task, obs.cloudStatus);
      }
      return 'done';
    case 'queued':
    case 'running':
      break;
  }
  const cancelRequested = task.cancelRequestedAt !== null;
  if (cancelRequested || deadlinePassed(ctx, task)) {
    const r = await control.cancel(task);
    ctx.stats.event(cancelRequested ? `cancel.${r.result}` : `deadline.${r.result}`);
    if (r.result === 'finished') {
      if (depth > 0) throw new Error(`task ${task.id}: cloud refused to cancel yet still reports it running`);
      const again = await control.reread(task);
      if (again.kind === 'queued' || again.kind === 'running') throw new Error(`task ${task.id}: cloud refused to cancel a task it reports ${again.cloudStatus}`);
      return applyObservation(ctx, task, again, control, depth + 1);
    }
    const note = r.result === 'unsupported' ? 'the cloud cannot cancel this job by API; it may still complete' : r.result === 'gone' ? 'cloud task already gone' : undefined;
    if (cancelRequested) {
      await canceled(ctx, task, r.result === 'canceled' ? 'CANCELED' : null, note);
    } else {
      await timedOut(ctx, task, {
        cloudStatus: r.result === 'canceled' ? 'CANCELED' : obs.cloudStatus,
        message: `running past its deadline ${task.deadlineAt}`,
        details: { cloudCancel: r.result, ...(note ? { note } : {}) },
        requestId: r.requestId ?? null,
      });
    }
    return 'done';
  }
  if (obs.kind === 'running' && task.state === 'submitted') return 'mark-running';
  return 'unchanged';
}
