/**
 * Reconciliation, provider by provider, scope by scope (ACR: a source instance; SWR: a source
 * repository): lease a scope's submitted and running tasks, ask the provider what the cloud says
 * about them (a batched listing), apply each answer, write the submitted → running moves in one
 * statement, and give every lease back. Tasks the provider leaves out (budget spent) are released
 * unchanged for the next run.
 */
import { CloudError } from '../clients/errors.ts';
import type { TaskRow } from '../ledger/index.ts';
import type { CloudProvider, Connected, ObserveContext } from '../providers/types.ts';
import { applyObservation } from './apply.ts';
import type { SweepContext } from './context.ts';
import { guarded } from './outcome.ts';

/** Tasks claimed per ledger query, and at most this many per scope per run (the rest waits for the next run). */
export const CLAIM_BATCH = 1000;
export const MAX_PER_SCOPE = 20_000;

export async function reconcileProvider(ctx: SweepContext, provider: CloudProvider): Promise<void> {
  const scopes = await ctx.deps.ledger.activeScopes(provider.name);
  const cloud = ctx.deps.clouds.of(provider.name);
  for (const [i, s] of scopes.entries()) {
    if (!ctx.hasTime()) {
      ctx.stats.event(`leftover.${provider.name}Scopes`, scopes.length - i);
      return;
    }
    try {
      await reconcileScope(ctx, provider.name, s.scope, cloud);
    } catch (err) {
      ctx.stats.errors++;
      ctx.stats.event(err instanceof CloudError && err.kind === 'throttled' ? `${provider.name}.throttled` : `${provider.name}.scopeFailed`);
      ctx.log.warn('sweep: scope not reconciled this run', { provider: provider.name, scope: s.scope, error: err instanceof Error ? err.message : String(err) });
    }
  }
}

function observeContext(ctx: SweepContext): ObserveContext {
  return {
    clock: ctx.clock,
    log: ctx.log,
    hasTime: ctx.hasTime,
    count: (event, n) => ctx.stats.event(event, n),
    adopt: async (task, ref, createdAt) => (await guarded(ctx, () => ctx.deps.ledger.recordCloudRef(task.id, ref, createdAt, { owner: ctx.owner }))) !== undefined,
  };
}

async function reconcileScope(ctx: SweepContext, provider: string, scope: string, cloud: Connected): Promise<void> {
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
    const observed = await cloud.observe(claimed, observeContext(ctx));
    // Submitted tasks the cloud runs move in one statement per cloud status (in practice one).
    const running = new Map<string, string[]>();
    for (const task of claimed) {
      const obs = observed.get(task.id);
      if (!obs || !ctx.hasAnyTime()) continue;
      try {
        if ((await applyObservation(ctx, task, obs, cloud)) === 'mark-running') {
          const status = obs.kind === 'running' ? obs.cloudStatus : 'running';
          running.set(status, [...(running.get(status) ?? []), task.id]);
        }
      } catch (err) {
        ctx.stats.errors++;
        ctx.log.warn('sweep: task not reconciled', { taskId: task.id, provider, scope, error: err instanceof Error ? err.message : String(err) });
      }
    }
    for (const [cloudStatus, ids] of running) {
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
