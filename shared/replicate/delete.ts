/**
 * Submitting a deletion task: the tag Ferry copied is deleted at its target in the one call
 * (`Connected.deleteTag`), so the task ends in the same step. There is no cloud task to follow or
 * find: a submission cut off before its answer was written simply deletes again (then `absent`).
 */
import { LedgerError, type TaskRow, type TransitionInput } from '../ledger/index.ts';
import { targetOf } from '../providers/registry.ts';
import type { DeleteOutcome } from '../providers/types.ts';
import { failureNotices, successNotices } from './notices.ts';
import type { SubmitContext, SubmitResult } from './submit.ts';

/** The pseudo cloud reference of a deletion attempt: the history shows which attempt deleted. */
const refOf = (task: TaskRow) => `delete:${task.id}:${task.attempts}`;

export async function submitDeletion(task: TaskRow, ctx: SubmitContext, onError: (err: unknown) => Promise<SubmitResult>): Promise<SubmitResult> {
  const cloud = ctx.clouds.of(task);
  let started: TaskRow;
  let outcome: DeleteOutcome;
  try {
    started = await ctx.ledger.beginSubmission(task.id, ctx.owner);
    if (!cloud.deleteTag) {
      outcome = { outcome: 'refused', reason: `the ${task.provider} provider cannot delete tags` };
    } else {
      outcome = await cloud.deleteTag(targetOf(task), ctx);
    }
  } catch (err) {
    if (err instanceof LedgerError) return { state: 'skipped', reason: err.message };
    return onError(err);
  }
  try {
    return outcome.outcome === 'refused' ? await refused(started, outcome.reason, ctx) : await deleted(started, outcome, ctx);
  } catch (err) {
    if (err instanceof LedgerError) return { state: 'skipped', reason: err.message };
    throw err;
  }
}

async function deleted(task: TaskRow, outcome: Exclude<DeleteOutcome, { outcome: 'refused' }>, ctx: SubmitContext): Promise<SubmitResult> {
  const cloudRef = refOf(task);
  const action = outcome.outcome === 'deleted' ? outcome.action : 'none';
  const submitted: TransitionInput = {
    from: 'pending',
    to: 'submitted',
    owner: ctx.owner,
    actor: ctx.owner,
    reason: outcome.outcome === 'deleted' ? `${outcome.action} accepted` : 'deletion checked the target',
    details: { attempt: task.attempts, ...(outcome.outcome === 'deleted' ? { requestId: outcome.requestId } : {}) },
    patch: { cloudRef, cloudCreatedAt: ctx.clock.now(), lastError: null },
  };
  const targets = ctx.notifications;
  const rep = targets.some((n) => n.on.includes('success')) ? await ctx.ledger.replicationForSuccess(task.replicationId, task.id) : null;
  const done: TransitionInput = {
    from: 'submitted',
    to: 'succeeded',
    owner: ctx.owner,
    actor: ctx.owner,
    reason: outcome.outcome === 'deleted' ? 'tag deleted at the target' : 'the target no longer holds the tag',
    details: { outcome: outcome.outcome, action },
    patch: { cloudStatus: outcome.outcome },
    ...(rep && rep.othersNotSucceeded === 0 ? { notify: successNotices(targets, task, rep) } : {}),
  };
  await ctx.ledger.transitions(task.id, [submitted, done]);
  ctx.log.info('deletion done', { taskId: task.id, outcome: outcome.outcome, targetKey: task.targetKey });
  return { state: 'succeeded', cloudRef, outcome: outcome.outcome };
}

/** Deleting would remove what Ferry did not write: failed at once, never retried. */
async function refused(task: TaskRow, reason: string, ctx: SubmitContext): Promise<SubmitResult> {
  const error = { code: 'DeletionRefused', message: reason, requestId: null };
  await ctx.ledger.transition(task.id, {
    from: 'pending',
    to: 'failed',
    owner: ctx.owner,
    actor: ctx.owner,
    reason: `deletion refused: ${reason}`,
    patch: { lastError: error },
    notify: failureNotices(ctx.notifications, task, 'failed', error),
  });
  ctx.log.warn('deletion refused', { taskId: task.id, targetKey: task.targetKey, reason });
  return { state: 'failed', error };
}
