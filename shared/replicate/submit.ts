import { CloudError } from '../clients/errors.ts';
import type { Clock } from '../clock.ts';
import type { NotificationTarget } from '../config/index.ts';
import { type Ledger, LedgerError, type TaskRow } from '../ledger/index.ts';
import type { Logger } from '../log.ts';
import type { Connections } from '../providers/connections.ts';
import { targetOf } from '../providers/registry.ts';
import type { Found } from '../providers/types.ts';
import { decide } from './decide.ts';
import { submitDeletion } from './delete.ts';
import { failureNotices } from './notices.ts';

export interface SubmitContext {
  ledger: Ledger;
  clouds: Connections;
  clock: Clock;
  /** Lease owner: the task must be claimed by it. */
  owner: string;
  notifications: readonly NotificationTarget[];
  log: Logger;
  random?: () => number;
}

export type SubmitResult =
  | { state: 'submitted'; cloudRef: string; adopted: boolean }
  /** A deletion: done in the one call (the tag deleted, or already absent). */
  | { state: 'succeeded'; cloudRef: string; outcome: 'deleted' | 'absent' }
  | { state: 'pending'; reason: string; retryAt: number; error?: ErrorInfo }
  | { state: 'failed'; error: ErrorInfo }
  /** The ledger moved under us (lease lost, state changed): someone else owns the task now. */
  | { state: 'skipped'; reason: string };

export interface ErrorInfo {
  code: string;
  message: string;
  requestId: string | null;
}

export function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof CloudError) return { code: err.code, message: err.message, requestId: err.requestId ?? null };
  return { code: 'InternalError', message: err instanceof Error ? err.message : String(err), requestId: null };
}

/**
 * Submits one claimed, pending task to its provider. Intent before action: the ledger records that
 * a submission started before the cloud is called; if this process dies before writing the cloud's
 * answer, the next claimer finds `submitStartedAt` without `cloudRef` and looks the task up at the
 * cloud before creating another.
 */
export async function submitTask(task: TaskRow, ctx: SubmitContext): Promise<SubmitResult> {
  if (task.action === 'delete') return submitDeletion(task, ctx, (err) => handleSubmitError(task, err, ctx));
  const target = targetOf(task);
  const cloud = ctx.clouds.of(task);
  const now = ctx.clock.now();
  const deadlineAt = now + task.policy.deadlineMinutes * 60_000;
  try {
    if (task.submitStartedAt && !task.cloudRef) {
      const found = await findCloudTask(task, ctx);
      if (found) {
        await ctx.ledger.transition(task.id, {
          from: 'pending',
          to: 'submitted',
          owner: ctx.owner,
          actor: ctx.owner,
          reason: 'adopted the cloud task of an interrupted submission',
          patch: { cloudRef: found.ref, cloudCreatedAt: found.createdAt, nextAttemptAt: now, deadlineAt, lastError: null },
        });
        return { state: 'submitted', cloudRef: found.ref, adopted: true };
      }
    }
    const started = await ctx.ledger.beginSubmission(task.id, ctx.owner);
    const created = await cloud.submit(started, target, ctx);
    await ctx.ledger.transition(task.id, {
      from: 'pending',
      to: 'submitted',
      owner: ctx.owner,
      actor: ctx.owner,
      reason: `${created.action} accepted`,
      details: { requestId: created.requestId, attempt: started.attempts },
      patch: { cloudRef: created.ref, cloudCreatedAt: now, nextAttemptAt: now, deadlineAt, lastError: null },
    });
    return { state: 'submitted', cloudRef: created.ref, adopted: false };
  } catch (err) {
    if (err instanceof LedgerError) return { state: 'skipped', reason: err.message };
    return handleSubmitError(task, err, ctx);
  }
}

async function handleSubmitError(task: TaskRow, err: unknown, ctx: SubmitContext): Promise<SubmitResult> {
  const info = errorInfo(err);
  const current = (await ctx.ledger.getTask(task.id))?.task ?? task;
  // Only the cloud can say a submission will never work; Ferry's own failures (a dropped database
  // connection, a bug) are retried within the submission budget, never turned into a failed copy.
  const retryable = err instanceof CloudError ? err.retryable : true;
  const retryAfterMs = (err as { retryAfterMs?: number }).retryAfterMs;
  const decision = decide(current.policy, current, { kind: 'submission', retryable, retryAfterMs }, ctx.clock.now(), ctx.random);
  try {
    if (decision.next === 'defer') {
      await ctx.ledger.defer(task.id, { owner: ctx.owner, until: decision.at, error: info, reason: `submission deferred: ${info.code}` });
      ctx.log.warn('submission deferred', { taskId: task.id, code: info.code, requestId: info.requestId, retryInMs: decision.at - ctx.clock.now() });
      return { state: 'pending', reason: info.code, retryAt: decision.at, error: info };
    }
    await ctx.ledger.transition(task.id, {
      from: 'pending',
      to: 'failed',
      owner: ctx.owner,
      actor: ctx.owner,
      reason: `submission failed: ${info.code}`,
      patch: { lastError: info },
      notify: failureNotices(ctx.notifications, current, 'failed', info),
    });
    ctx.log.error('submission failed', { taskId: task.id, code: info.code, requestId: info.requestId });
    return { state: 'failed', error: info };
  } catch (ledgerErr) {
    if (ledgerErr instanceof LedgerError) return { state: 'skipped', reason: ledgerErr.message };
    throw ledgerErr;
  }
}

/** Looks for a cloud task this ledger task may already have created (the crash window). */
export async function findCloudTask(task: TaskRow, ctx: SubmitContext): Promise<Found | null> {
  // A deletion leaves no cloud task behind: an interrupted one is simply submitted again.
  if (task.action === 'delete') return null;
  const detail = await ctx.ledger.getTask(task.id);
  const known = new Set((detail?.cloudRefs ?? []).map((r) => r.cloudRef));
  return ctx.clouds.of(task).findExisting(task, targetOf(task), known, ctx);
}
