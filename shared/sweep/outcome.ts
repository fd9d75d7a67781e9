/**
 * How the sweep moves one claimed task to where the cloud says it is. Every write is guarded by the
 * task's state and this run's lease; a LedgerError (someone else moved it) skips the task.
 */
import { LedgerError, type ReplicationForSuccess, type TaskRow, type TaskState } from '../ledger/index.ts';
import { failureNotices, successNotices, type FailureInfo } from '../replicate/notices.ts';
import { decide } from '../replicate/decide.ts';
import type { SweepContext } from './context.ts';

export type ActiveState = Extract<TaskState, 'submitted' | 'running'>;

/** Runs a ledger write; a lost race (stale state, lost lease) is counted and skipped, anything else thrown. */
export async function guarded<T>(ctx: SweepContext, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof LedgerError) {
      ctx.stats.event('skipped.ledgerRace');
      ctx.log.debug('sweep: ledger moved under us', { error: err.message });
      return undefined;
    }
    throw err;
  }
}

function info(e: FailureInfo): { code: string; message: string; requestId: string | null } {
  return { code: e.code, message: e.message, requestId: e.requestId ?? null };
}

export async function succeed(ctx: SweepContext, task: TaskRow, cloudStatus: string, details: Record<string, unknown> = {}): Promise<void> {
  const from = task.state as ActiveState | 'pending';
  const successTargets = ctx.deps.config.notifications.map((n, i) => ({ n, i })).filter(({ n }) => n.on.includes('success'));
  let rep: ReplicationForSuccess | null = null;
  if (successTargets.length) rep = await ctx.deps.ledger.replicationForSuccess(task.replicationId, task.id);
  // When every other task already succeeded, this one completes the replication: queue the success
  // notice in the same transaction. Two last tasks finishing at once both see the other open: the
  // check after the write below covers that (the outbox keeps one per replication and target).
  const notify = rep && rep.othersNotSucceeded === 0 ? successNotices(ctx.deps.config.notifications, task, rep) : undefined;
  const moved = await guarded(ctx, () =>
    ctx.deps.ledger.transition(task.id, {
      from,
      to: 'succeeded',
      owner: ctx.owner,
      actor: ctx.owner,
      reason: `cloud task ${cloudStatus}`,
      details,
      patch: { cloudStatus, lastError: null },
      ...(notify ? { notify } : {}),
    }),
  );
  if (!moved) return;
  ctx.stats.transition(from, 'succeeded');
  if (successTargets.length && !notify) {
    const after = await ctx.deps.ledger.replicationForSuccess(task.replicationId, task.id);
    if (after && after.state === 'succeeded') {
      for (const n of successNotices(ctx.deps.config.notifications, task, after)) {
        await ctx.deps.ledger.outbox.enqueue({ replicationId: task.replicationId, kind: n.kind, target: n.target, payload: n.payload });
      }
    }
  }
}

/**
 * A failed cloud task: back to pending after a backoff when it may succeed on another try and
 * attempts remain (a new cloud task is made by the next submission), else failed + notification.
 */
export async function failOrRetry(ctx: SweepContext, task: TaskRow, e: FailureInfo & { retryable: boolean; cloudStatus?: string; reason?: string }): Promise<'retried' | 'failed' | undefined> {
  const from = task.state as ActiveState;
  const reason = e.reason ?? `cloud task ${e.cloudStatus ?? 'failed'}: ${e.code}`;
  const decision = decide(task.policy, task, { kind: 'cloud-failure', retryable: e.retryable }, ctx.now(), ctx.deps.random);
  const patch = { lastError: info(e), ...(e.cloudStatus ? { cloudStatus: e.cloudStatus } : {}) };
  const moved = await guarded(ctx, () =>
    decision.next === 'retry'
      ? ctx.deps.ledger.transition(task.id, {
          from,
          to: 'pending',
          owner: ctx.owner,
          actor: ctx.owner,
          reason,
          details: { retryInMs: decision.at - ctx.now(), cloudRef: task.cloudRef },
          patch: { ...patch, nextAttemptAt: decision.at },
        })
      : ctx.deps.ledger.transition(task.id, {
          from,
          to: 'failed',
          owner: ctx.owner,
          actor: ctx.owner,
          reason: decision.next === 'give-up' && decision.exhausted ? `${reason} (attempts exhausted: ${task.attempts}/${task.maxAttempts})` : `${reason} (not retryable)`,
          details: { cloudRef: task.cloudRef },
          patch,
          notify: failureNotices(ctx.deps.config.notifications, task, 'failed', e),
        }),
  );
  if (!moved) return undefined;
  const to = decision.next === 'retry' ? 'pending' : 'failed';
  ctx.stats.transition(from, to);
  return decision.next === 'retry' ? 'retried' : 'failed';
}

/** The cloud task ended canceled: on the operator's request (no notification), or by someone else (notified). */
export async function canceled(ctx: SweepContext, task: TaskRow, cloudStatus: string | null, note?: string): Promise<void> {
  const from = task.state as ActiveState | 'pending';
  const byOperator = task.cancelRequestedAt !== null;
  const err = { code: 'Canceled', message: byOperator ? `canceled on request: ${task.cancelReason ?? 'no reason given'}` : 'the cloud task was canceled outside Ferry', requestId: null };
  const moved = await guarded(ctx, () =>
    ctx.deps.ledger.transition(task.id, {
      from,
      to: 'canceled',
      owner: ctx.owner,
      actor: ctx.owner,
      reason: byOperator ? `cancel completed by the sweep${note ? ` (${note})` : ''}` : `cloud task ${cloudStatus ?? 'canceled'}`,
      patch: { lastError: err, ...(cloudStatus ? { cloudStatus } : {}) },
      ...(byOperator ? {} : { notify: failureNotices(ctx.deps.config.notifications, task, 'canceled', err) }),
    }),
  );
  if (moved) ctx.stats.transition(from, 'canceled');
}

/**
 * Timed out (cancelled at its deadline, or the cloud's own timeout): timed_out, then back to
 * pending when the policy retries timeouts and attempts remain; otherwise timed_out stays, notified.
 * The two steps are two transactions: a crash between them leaves the task timed_out (terminal).
 */
export async function timedOut(ctx: SweepContext, task: TaskRow, e: { cloudStatus: string | null; message: string; details?: Record<string, unknown>; requestId?: string | null }): Promise<void> {
  const from = task.state as ActiveState;
  const decision = decide(task.policy, task, { kind: 'timeout' }, ctx.now(), ctx.deps.random);
  const retry = decision.next === 'retry';
  const err = { code: 'DeadlineExceeded', message: e.message, requestId: e.requestId ?? null };
  const delay = retry ? decision.at - ctx.now() : 0;
  const timeOut = {
    from,
    to: 'timed_out' as const,
    owner: ctx.owner,
    actor: ctx.owner,
    reason: e.message,
    details: { ...(e.details ?? {}), willRetry: retry },
    patch: { lastError: err, ...(e.cloudStatus ? { cloudStatus: e.cloudStatus } : {}) },
    ...(retry ? {} : { notify: failureNotices(ctx.deps.config.notifications, task, 'timed_out', err) }),
  };
  const retryStep = {
    from: 'timed_out' as const,
    to: 'pending' as const,
    actor: ctx.owner,
    reason: `retry ${task.attempts + 1}/${task.maxAttempts} after timeout in ${Math.round(delay / 1000)} s`,
    patch: { nextAttemptAt: ctx.now() + delay },
  };
  // One transaction: a crash can never leave a task that should be retried stuck in timed_out.
  const moved = await guarded(ctx, () => ctx.deps.ledger.transitions(task.id, retry ? [timeOut, retryStep] : [timeOut]));
  if (!moved) return;
  ctx.stats.transition(from, 'timed_out');
  if (retry) ctx.stats.transition('timed_out', 'pending');
}

export function deadlinePassed(ctx: SweepContext, task: TaskRow): boolean {
  return task.deadlineAt !== null && Date.parse(task.deadlineAt) <= ctx.now();
}
