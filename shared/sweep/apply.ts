/**
 * One decision per claimed task, whatever the cloud: the cloud's answer, an operator's cancel
 * request, and the task's deadline, in that order of precedence:
 *  - a final cloud status wins (a task that finished is recorded as finished, even past its deadline);
 *    a success only once the target is seen to hold the image (verify.ts): else VERIFY_MISMATCH, retried per policy;
 *  - else a pending cancel request is completed (cloud cancel, then canceled);
 *  - else past the deadline: cloud cancel, then timed_out, then retry or fail per policy;
 *  - else a submitted task the cloud runs becomes running (batched by the caller).
 */
import type { TaskRow } from '../ledger/index.ts';
import { targetOf } from '../providers/registry.ts';
import type { CancelCause, CancelOutcome, Connected, Observation } from '../providers/types.ts';
import type { SweepContext } from './context.ts';
import { canceled, deadlinePassed, failOrRetry, succeed, timedOut } from './outcome.ts';
import { verifySuccess } from './verify.ts';

/** The answers the sweep can act on; refused, throttled or failed cancels leave the task for the next run. */
type Actionable = Extract<CancelOutcome, { outcome: 'canceled' | 'not_found' | 'finished' | 'unsupported' }>;

async function cancelAtCloud(ctx: SweepContext, cloud: Connected, task: TaskRow, by: CancelCause): Promise<Actionable> {
  const r = await cloud.cancel(task, targetOf(task), ctx, by);
  if (r.outcome === 'permission' || r.outcome === 'throttled' || r.outcome === 'failed') {
    throw new Error(`cancel of ${task.cloudRef ?? task.id} ${r.outcome}: ${r.error.code}: ${r.error.message}`);
  }
  return r;
}

const NOTES: Partial<Record<CancelOutcome['outcome'], string>> = {
  unsupported: 'the cloud cannot cancel this job by API; it may still complete',
  not_found: 'cloud task already gone',
};

export type Applied = 'mark-running' | 'unchanged' | 'done';

export async function applyObservation(ctx: SweepContext, task: TaskRow, obs: Observation, cloud: Connected, depth = 0): Promise<Applied> {
  switch (obs.kind) {
    case 'succeeded': {
      const v = await verifySuccess(ctx, task, obs, cloud);
      if (v.kind === 'deferred') {
        ctx.log.info('sweep: success not verified yet, looked at again next run', { taskId: task.id, reason: v.reason });
        return 'unchanged';
      }
      if (v.kind === 'mismatch') {
        const reason = `cloud task ${obs.cloudStatus} but ${v.message}`;
        await failOrRetry(ctx, task, { code: 'VERIFY_MISMATCH', message: v.message, requestId: null, retryable: true, cloudStatus: obs.cloudStatus, reason });
        return 'done';
      }
      await succeed(ctx, task, obs.cloudStatus, { ...obs.details, ...v.details });
      return 'done';
    }
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
    const r = await cancelAtCloud(ctx, cloud, task, cancelRequested ? 'operator' : 'task');
    ctx.stats.event(cancelRequested ? `cancel.${r.outcome}` : `deadline.${r.outcome}`);
    if (r.outcome === 'finished') {
      if (depth > 0) throw new Error(`task ${task.id}: cloud refused to cancel yet still reports it running`);
      const again = await cloud.reread(task, targetOf(task), ctx);
      if (again.kind === 'queued' || again.kind === 'running') throw new Error(`task ${task.id}: cloud refused to cancel a task it reports ${again.cloudStatus}`);
      return applyObservation(ctx, task, again, cloud, depth + 1);
    }
    const note = r.outcome === 'canceled' ? r.note : NOTES[r.outcome];
    const cloudStatus = r.outcome === 'canceled' ? (r.cloudStatus ?? 'CANCELED') : null;
    if (cancelRequested) {
      await canceled(ctx, task, cloudStatus, note);
    } else {
      await timedOut(ctx, task, {
        cloudStatus: cloudStatus ?? obs.cloudStatus,
        message: `running past its deadline ${task.deadlineAt}`,
        details: { cloudCancel: r.outcome, ...(note ? { note } : {}) },
        requestId: r.outcome === 'canceled' ? (r.requestId ?? null) : r.error.requestId,
      });
    }
    return 'done';
  }
  if (obs.kind === 'running' && task.state === 'submitted') return 'mark-running';
  return 'unchanged';
}
