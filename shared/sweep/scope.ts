import type { Provider, TaskRow } from '../ledger/index.ts';
import { type CloudControl, type Observation, applyObservation } from './apply.ts';
import type { SweepContext } from './context.ts';

/** Tasks claimed per ledger query, and at most this many per scope per run (the rest waits for the next run). */
export const CLAIM_BATCH = 1000;
export const MAX_PER_SCOPE = 20_000;

/**
 * Reconciles one scope (ACR: a source instance; SWR: a source repository): leases its submitted and
 * running tasks, asks `observe` for what the cloud says about them (batched listing), applies each
 * answer, writes the submitted → running moves in one statement, and gives every lease back.
 * Tasks `observe` leaves out (budget spent) are released unchanged for the next run.
 */
export async function reconcileScope(
  ctx: SweepContext,
  provider: Provider,
  scope: string,
  observe: (tasks: TaskRow[]) => Promise<Map<string, Observation>>,
  control: CloudControl,
): Promise<void> {
  const { ledger } = ctx.deps;
  const claimed: TaskRow[] = [];
  for (;;) {
    const batch = await ledger.claimDue({ owner: ctx.owner, leaseMs: ctx.leaseMs, states: ['submitted', 'running'], provider, scope, limit: CLAIM_BATCH });
    claimed.push(...batch);
    if (batch.length < CLAIM_BATCH || claimed.length >= MAX_PER_SCOPE) break;
  }
  if (claimed.length === 0) return;
  ctx.stats.event(`${provider}.tasksChecked`, claimed.length);
  try {
    const observed = await observe(claimed);
    const running: string[] = [];
    const runningStatus = new Map<string, string>();
    for (const task of claimed) {
      const obs = observed.get(task.id);
      if (!obs || !ctx.hasAnyTime()) continue;
      try {
        const r = await applyObservation(ctx, task, obs, control);
        if (r === 'mark-running') {
          running.push(task.id);
          runningStatus.set(task.id, obs.kind === 'running' ? obs.cloudStatus : 'running');
        }
      } catch (err) {
        ctx.stats.errors++;
        ctx.log.warn('sweep: task not reconciled', { taskId: task.id, provider, scope, error: err instanceof Error ? err.message : String(err) });
      }
    }
    // One statement per cloud status (in practice one: SYNCHRONIZING / running).
    const byStatus = new Map<string, string[]>();
    for (const id of running) {
      const s = runningStatus.get(id)!;
      byStatus.set(s, [...(byStatus.get(s) ?? []), id]);
    }
    for (const [cloudStatus, ids] of byStatus) {
      const moved = await ledger.markRunningMany(ids, { owner: ctx.owner, cloudStatus, reason: `cloud task ${cloudStatus}` });
      ctx.stats.transition('submitted', 'running', moved.length);
    }
  } finally {
    // Tasks that moved have no lease any more; the rest are given back (only where this run holds it).
    await ledger.releaseMany(
      claimed.map((t) => t.id),
      ctx.owner,
    );
  }
}
