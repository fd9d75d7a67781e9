/**
 * Retention: every sweep deletes finished history older than `store.retentionDays` (terminal tasks
 * with their events, cloud refs and notifications; replications left without tasks; finished ECS
 * watches; delivered or dead notifications). Cheap and bounded: old rows are found through indexes,
 * deleted a batch at a time, and no batch starts once the budget is spent; the rest waits for the
 * next run. Open tasks are never pruned, however old.
 */
import type { SweepContext } from './context.ts';

/** Rows deleted per statement. */
export const RETENTION_BATCH = 500;

export async function pruneHistory(ctx: SweepContext): Promise<void> {
  const r = await ctx.deps.ledger.prune({ olderThanDays: ctx.deps.config.store.retentionDays, batchSize: RETENTION_BATCH, hasTime: ctx.hasTime });
  ctx.stats.event('retention.pruned.tasks', r.tasks);
  ctx.stats.event('retention.pruned.replications', r.replications);
  ctx.stats.event('retention.pruned.ecsTasks', r.ecsTasks);
  ctx.stats.event('retention.pruned.notifications', r.notifications);
  if (!r.complete) ctx.stats.event('leftover.retention');
}
