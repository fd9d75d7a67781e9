/**
 * Submits pending tasks the webhook did not finish: first-time tasks older than the grace period
 * (the webhook gets that long to submit its own), retries whose backoff has passed, and tasks whose
 * earlier submission is in doubt (submitTask looks for the cloud task before creating another).
 */
import type { TaskRow } from '../ledger/index.ts';
import { targetOf } from '../providers/registry.ts';
import { findCloudTask, submitTask, type SubmitContext } from '../replicate/submit.ts';
import type { SweepContext } from './context.ts';
import { canceled } from './outcome.ts';

/** Cloud submissions in flight at once (the account limiter bounds the rate as well). */
export const SUBMIT_CONCURRENCY = 8;

export function submitContext(ctx: SweepContext): SubmitContext {
  const d = ctx.deps;
  return {
    ledger: d.ledger,
    clouds: d.clouds,
    clock: d.clock,
    owner: ctx.owner,
    notifications: d.config.notifications,
    log: d.log,
    random: d.random,
  };
}

export async function submitPending(ctx: SweepContext): Promise<void> {
  const { config, ledger } = ctx.deps;
  const graceMs = config.sweep.graceSeconds * 1000;
  const limit = config.sweep.batchSize;
  const sub = submitContext(ctx);
  while (ctx.hasTime()) {
    const tasks = await ledger.claimForSubmission({ owner: ctx.owner, leaseMs: ctx.leaseMs, limit, graceMs });
    if (tasks.length === 0) return;
    try {
      await eachLimited(tasks, SUBMIT_CONCURRENCY, async (task) => {
        if (!ctx.hasTime()) return;
        try {
          if (task.cancelRequestedAt) await cancelPending(ctx, task, sub);
          else await submitOne(ctx, task, sub);
        } catch (err) {
          ctx.stats.errors++;
          ctx.log.warn('sweep: submission not completed', { taskId: task.id, error: err instanceof Error ? err.message : String(err) });
        }
      });
    } finally {
      // Submitted tasks keep no lease: the reconcile phase (this run or the next) may claim them at once.
      await ledger.releaseMany(
        tasks.map((t) => t.id),
        ctx.owner,
      );
    }
    if (tasks.length < limit) return;
  }
}

async function submitOne(ctx: SweepContext, task: TaskRow, sub: SubmitContext): Promise<void> {
  const r = await submitTask(task, sub);
  switch (r.state) {
    case 'submitted':
      ctx.stats.transition('pending', 'submitted');
      if (r.adopted) ctx.stats.event('submit.adopted');
      return;
    case 'succeeded':
      ctx.stats.transition('pending', 'submitted');
      ctx.stats.transition('submitted', 'succeeded');
      return;
    case 'failed':
      ctx.stats.transition('pending', 'failed');
      return;
    case 'pending':
      ctx.stats.event('submit.deferred');
      return;
    case 'skipped':
      ctx.stats.event('skipped.ledgerRace');
      return;
  }
}

/** Cancel requested before the task reached the cloud: find an in-doubt cloud task and cancel it, then canceled. */
async function cancelPending(ctx: SweepContext, task: TaskRow, sub: SubmitContext): Promise<void> {
  let note: string | undefined;
  if (task.submitStartedAt && !task.cloudRef) {
    const found = await findCloudTask(task, sub);
    if (found) {
      const r = await ctx.deps.clouds.of(task).cancel({ ...task, cloudRef: found.ref }, targetOf(task), ctx, 'task');
      note =
        r.outcome === 'canceled' || r.outcome === 'finished'
          ? `${r.outcome} cloud task ${found.ref} of an interrupted submission`
          : `cloud task ${found.ref} of an interrupted submission could not be canceled (${r.outcome}); it may still complete`;
    }
  }
  await canceled(ctx, task, null, note);
}

/** Runs fn over items with at most `limit` at once. */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
