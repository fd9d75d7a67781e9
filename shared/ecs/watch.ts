/**
 * ECS image import/export tasks in the configured regions: record every Processing one (with a
 * deadline from config.defaults.deadlineMinutes counted from its creation), then check the watched
 * ones by id (DescribeTasks, 100 ids per call) and cancel those past their deadline.
 */
import type { EcsTask } from '../clients/ecs.ts';
import { hasMorePages } from '../clients/validation.ts';
import type { EcsTaskRow } from '../ledger/index.ts';
import type { SweepContext } from '../sweep/context.ts';
import { guarded } from '../sweep/outcome.ts';
import { cancelEcsAtCloud } from './cancel.ts';
import { ecsEnd } from './status.ts';

export const ECS_PAGE_SIZE = 100;
const MAX_DISCOVERY_PAGES = 20;

/** `2024-01-31T08:00Z` (or with seconds) → epoch ms. */
export function ecsTimeMs(t: string | undefined): number | null {
  if (!t) return null;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : ms;
}

export async function watchEcs(ctx: SweepContext): Promise<void> {
  const { regions, taskActions } = ctx.deps.config.sweep.ecsWatch;
  for (const region of regions) {
    if (!ctx.hasTime()) return;
    try {
      await discover(ctx, region, taskActions);
      await checkWatched(ctx, region);
    } catch (err) {
      ctx.stats.errors++;
      ctx.log.warn('sweep: ECS region not watched this run', { region, error: err instanceof Error ? err.message : String(err) });
    }
  }
}

async function discover(ctx: SweepContext, region: string, actions: readonly ('ImportImage' | 'ExportImage')[]): Promise<void> {
  const ecs = ctx.deps.ecs.region(region);
  const deadlineMs = ctx.deps.config.defaults.deadlineMinutes * 60_000;
  for (const taskAction of actions) {
    for (let pageNumber = 1; pageNumber <= MAX_DISCOVERY_PAGES && ctx.hasTime(); pageNumber++) {
      const page = await ecs.describeTasks({ taskAction, taskStatus: 'Processing', pageSize: ECS_PAGE_SIZE, pageNumber });
      const known = await ctx.deps.ledger.ecs.known(
        region,
        page.tasks.map((t) => t.taskId),
      );
      for (const t of page.tasks) {
        if (known.has(t.taskId) || ecsEnd(t.taskStatus)) continue;
        const created = ecsTimeMs(t.creationTime) ?? ctx.now();
        await ctx.deps.ledger.ecs.watch({
          region,
          taskId: t.taskId,
          action: t.taskAction ?? taskAction,
          resourceId: t.resourceId ?? null,
          cloudStatus: t.taskStatus ?? null,
          deadlineAt: created + deadlineMs,
        });
        ctx.stats.event('ecs.watched');
      }
      if (!hasMorePages(page, pageNumber, ECS_PAGE_SIZE)) break;
    }
  }
}

async function checkWatched(ctx: SweepContext, region: string): Promise<void> {
  const ecs = ctx.deps.ecs.region(region);
  // Leases are held for the whole pass and given back at its end, so each claim returns new rows.
  const claimed: string[] = [];
  try {
    while (ctx.hasTime()) {
      const rows = await ctx.deps.ledger.ecs.claimDue({ region, owner: ctx.owner, leaseMs: ctx.leaseMs, limit: ECS_PAGE_SIZE });
      if (rows.length === 0) return;
      claimed.push(...rows.map((r) => r.taskId));
      const page = await ecs.describeTasks({ taskIds: rows.map((r) => r.taskId), pageSize: ECS_PAGE_SIZE });
      const seen = new Map(page.tasks.map((t) => [t.taskId, t]));
      for (const row of rows) {
        if (!ctx.hasAnyTime()) break;
        try {
          await checkOne(ctx, region, row, seen.get(row.taskId));
        } catch (err) {
          ctx.stats.errors++;
          ctx.log.warn('sweep: ECS task not checked', { region, taskId: row.taskId, error: err instanceof Error ? err.message : String(err) });
        }
      }
      if (rows.length < ECS_PAGE_SIZE) return;
    }
  } finally {
    await ctx.deps.ledger.ecs.release(region, claimed, ctx.owner);
  }
}

async function checkOne(ctx: SweepContext, region: string, row: EcsTaskRow, t: EcsTask | undefined): Promise<void> {
  const registry = ctx.deps.ledger.ecs;
  if (!t) {
    await endWatch(ctx, region, row, 'failed', undefined, { code: 'InvalidTaskId.NotFound', message: 'the task is no longer listed by DescribeTasks' });
    return;
  }
  const end = ecsEnd(t.taskStatus, ctx.log);
  if (end) {
    await endWatch(ctx, region, row, end, t.taskStatus, end === 'failed' ? { code: 'TaskFailed', message: `${row.action} task ${t.taskId} failed` } : undefined);
    return;
  }
  const deadline = row.deadlineAt ? Date.parse(row.deadlineAt) : null;
  if (deadline === null || deadline > ctx.now()) {
    if (t.taskStatus) await registry.observe(region, row.taskId, t.taskStatus);
    return;
  }
  const r = await cancelEcsAtCloud(ctx.deps.ecs, region, row.taskId, t);
  switch (r.outcome) {
    case 'canceled':
      // Canceled by someone else before our deadline cancel: it ended canceled, not timed out.
      if (r.already) return endWatch(ctx, region, row, 'canceled', r.cloudStatus);
      await endWatch(ctx, region, row, 'timed_out', r.cloudStatus ?? 'Cancelled', {
        code: 'DeadlineExceeded',
        message: `${row.action} task canceled past its deadline ${row.deadlineAt} (CancelTask request ${r.requestId ?? 'unknown'})`,
      });
      return;
    case 'finished': {
      // It ended before it could be canceled: record how.
      const end = ecsEnd(r.cloudStatus) ?? 'failed';
      await endWatch(ctx, region, row, end, r.cloudStatus, end === 'failed' ? { code: 'TaskFailed', message: 'ended before it could be canceled' } : undefined);
      return;
    }
    case 'unsupported':
      // ECS will not cancel it (SupportCancel false, or an action it cannot cancel): past its deadline, it may still complete.
      await endWatch(ctx, region, row, 'timed_out', t.taskStatus, {
        code: 'DeadlineExceeded',
        message: `${row.action} task running past its deadline ${row.deadlineAt}; not canceled: ${r.error.code}: ${r.error.message}`,
      });
      return;
    default:
      throw new Error(`CancelTask ${row.taskId}: ${r.outcome} (${r.error.code}: ${r.error.message})`);
  }
}

async function endWatch(
  ctx: SweepContext,
  region: string,
  row: EcsTaskRow,
  to: 'finished' | 'failed' | 'canceled' | 'timed_out',
  cloudStatus: string | undefined,
  error?: { code: string; message: string },
): Promise<void> {
  const moved = await guarded(ctx, () => ctx.deps.ledger.ecs.transition(region, row.taskId, { from: 'watching', to, ...(cloudStatus ? { cloudStatus } : {}), ...(error ? { error } : {}) }));
  if (moved) {
    ctx.stats.transition('ecs:watching', `ecs:${to}`);
    if (to !== 'finished') ctx.log.warn('sweep: ECS task ended badly', { region, taskId: row.taskId, action: row.action, state: to, error });
  }
}
