import { CloudError, CloudTransientError } from '../clients/errors.ts';
import { LIMITER_BUSY, noQueueTally } from '../clients/transport.ts';
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
  | { state: 'pending'; reason: string; retryAt: number; error?: ErrorInfo; deferredToSweep?: boolean }
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
 * cloud before creating another. `started`: the caller began this attempt already (beginSubmissions).
 */
export async function submitTask(task: TaskRow, ctx: SubmitContext, opts: { started?: TaskRow } = {}): Promise<SubmitResult> {
  // Sent calls counted from this attempt's start (beginSubmission): none sent means its start can be undone.
  let sentAtStart: number | undefined;
  const onError = (err: unknown) =>
    err instanceof CloudTransientError && err.code === LIMITER_BUSY ? leaveToSweep(task, ctx, sentAtStart !== undefined && noQueueTally()?.sent === sentAtStart) : handleSubmitError(task, err, ctx);
  if (task.action === 'delete') return submitDeletion(task, ctx, onError);
  const target = targetOf(task);
  const cloud = ctx.clouds.of(task);
  const now = ctx.clock.now();
  const deadlineAt = now + task.policy.deadlineMinutes * 60_000;
  try {
    if (!opts.started && task.submitStartedAt && !task.cloudRef) {
      const found = await findCloudTask(task, ctx);
      if (found) {
        await ctx.ledger.transition(task.id, {
          from: 'pending',
          to: 'submitted',
          owner: ctx.owner,
          actor: ctx.owner,
          reason: 'adopted the cloud task of an interrupted submission',
          patch: { cloudRef: found.ref, cloudCreatedAt: found.createdAt, nextAttemptAt: now, deadlineAt, lastError: null, releaseLease: true },
        });
        return { state: 'submitted', cloudRef: found.ref, adopted: true };
      }
    }
    const started = opts.started ?? (await ctx.ledger.beginSubmission(task.id, ctx.owner));
    sentAtStart = noQueueTally()?.sent;
    const created = await cloud.submit(started, target, ctx);
    await ctx.ledger.transition(task.id, {
      from: 'pending',
      to: 'submitted',
      owner: ctx.owner,
      actor: ctx.owner,
      reason: `${created.action} accepted`,
      details: { requestId: created.requestId, attempt: started.attempts },
      // A submitted task keeps no lease: reconciliation may claim it at once.
      patch: { cloudRef: created.ref, cloudCreatedAt: now, nextAttemptAt: now, deadlineAt, lastError: null, releaseLease: true },
    });
    return { state: 'submitted', cloudRef: created.ref, adopted: false };
  } catch (err) {
    if (err instanceof LedgerError) return { state: 'skipped', reason: err.message };
    return onError(err);
  }
}

/**
 * The caller would not queue for the cloud and the account limiter had no room: not a failure, the
 * task is handed to the sweep, due now. When nothing of this attempt was sent its start is undone, so
 * the sweep creates without first looking for a cloud task that cannot exist.
 */
async function leaveToSweep(task: TaskRow, ctx: SubmitContext, nothingSent: boolean): Promise<SubmitResult> {
  const now = ctx.clock.now();
  try {
    await ctx.ledger.defer(task.id, { owner: ctx.owner, until: now, reason: 'left to the sweep: no cloud capacity now', handOff: true, withdraw: nothingSent });
  } catch (err) {
    if (err instanceof LedgerError) return { state: 'skipped', reason: err.message };
    throw err;
  }
  return { state: 'pending', reason: LIMITER_BUSY, retryAt: now, deferredToSweep: true };
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
