/**
 * ACR reconciliation, batched per source instance: one ListRepoSyncTask page (100, newest first)
 * covers up to 100 open tasks, and paging stops as soon as every open task was seen or the pages
 * reach back past the oldest open task. GetRepoSyncTask is only for the few not seen in the listing.
 */
import type { AcrClient, AcrSyncTask } from '../clients/acr.ts';
import { CloudError, CloudNotFoundError } from '../clients/errors.ts';
import type { TaskRow } from '../ledger/index.ts';
import type { AcrTaskTarget } from '../replicate/target.ts';
import type { CloudControl, Observation } from './apply.ts';
import type { SweepContext } from './context.ts';
import { reconcileScope } from './scope.ts';

export const ACR_PAGE_SIZE = 100;
/** Listed CreateTime may precede the ledger's cloud_created_at by clock skew and call latency. */
const CREATE_TIME_SKEW_MS = 5 * 60_000;

/** TaskIssue values another attempt cannot fix. TAG_CONFLICT only when override is off. */
const PERMANENT_ISSUES = new Set(['UNSUPPORTED_FORMAT', 'DATA_LENGTH_EXCEEDED', 'OSS_POLICY_UNAUTHORIZED']);

const ISSUE_TEXT: Record<string, string> = {
  TAG_CONFLICT: 'the target tag already exists with another digest and override is off',
  UNSUPPORTED_FORMAT: 'the image format is not supported by ACR image sync',
  DATA_LENGTH_EXCEEDED: 'the image is larger than ACR image sync allows',
  OSS_POLICY_UNAUTHORIZED: 'ACR may not write to the target instance storage (OSS policy)',
  NETWORK_ERROR: 'network error between the instances',
  INTERNAL_ERROR: 'ACR internal error',
};

export function acrObservation(task: Pick<TaskRow, 'target'>, s: Pick<AcrSyncTask, 'taskStatus' | 'taskIssue' | 'syncTaskId'>, requestId: string | null): Observation {
  switch (s.taskStatus) {
    case 'PENDING':
      return { kind: 'queued', cloudStatus: s.taskStatus };
    case 'SYNCHRONIZING':
      return { kind: 'running', cloudStatus: s.taskStatus };
    case 'SUCCESS':
      return { kind: 'succeeded', cloudStatus: s.taskStatus };
    case 'CANCELED':
      return { kind: 'canceled', cloudStatus: s.taskStatus };
    case 'ERROR': {
      const issue = s.taskIssue || 'UNKNOWN_ISSUE';
      const override = (task.target as unknown as AcrTaskTarget).to?.override === true;
      const permanent = PERMANENT_ISSUES.has(issue) || (issue === 'TAG_CONFLICT' && !override);
      return {
        kind: 'failed',
        cloudStatus: 'ERROR',
        code: issue,
        message: `sync task ${s.syncTaskId} ended in ERROR: ${ISSUE_TEXT[issue] ?? issue}`,
        requestId,
        retryable: !permanent,
      };
    }
  }
}

function instanceOf(task: TaskRow): { instanceId: string; region: string } {
  const from = (task.target as unknown as AcrTaskTarget).from;
  return { instanceId: from.instanceId, region: from.region };
}

export function acrControl(ctx: SweepContext): CloudControl {
  return {
    async cancel(task) {
      if (!task.cloudRef) return { result: 'gone' };
      const { instanceId, region } = instanceOf(task);
      try {
        const r = await ctx.clouds.acr(region).cancelRepoSyncTask({ instanceId, syncTaskId: task.cloudRef });
        return { result: 'canceled', requestId: r.requestId ?? null };
      } catch (err) {
        if (err instanceof CloudNotFoundError) return { result: 'gone', requestId: err.requestId ?? null };
        // ACR refuses to cancel a task that already ended; the re-read tells how it ended.
        if (err instanceof CloudError && err.kind === 'invalid') return { result: 'finished', requestId: err.requestId ?? null };
        throw err;
      }
    },
    async reread(task) {
      const { instanceId, region } = instanceOf(task);
      try {
        const d = await ctx.clouds.acr(region).getRepoSyncTask({ instanceId, syncTaskId: task.cloudRef! });
        return acrObservation(task, d, d.requestId ?? null);
      } catch (err) {
        if (err instanceof CloudNotFoundError) return { kind: 'gone', code: err.code, message: err.message, requestId: err.requestId ?? null };
        throw err;
      }
    },
  };
}

/**
 * What the cloud says about these tasks (all of one instance): pages of ListRepoSyncTask, then
 * GetRepoSyncTask for stragglers. Stops early (leaving tasks out) when the budget runs out.
 */
export async function observeAcrInstance(ctx: SweepContext, acr: AcrClient, instanceId: string, tasks: TaskRow[]): Promise<Map<string, Observation>> {
  const out = new Map<string, Observation>();
  const byRef = new Map<string, TaskRow>();
  for (const t of tasks) {
    if (t.cloudRef) byRef.set(t.cloudRef, t);
    else out.set(t.id, { kind: 'gone', code: 'NoCloudRef', message: 'task is submitted but has no cloud reference', requestId: null });
  }
  if (byRef.size === 0) return out;
  let oldest = Infinity;
  for (const t of byRef.values()) oldest = Math.min(oldest, Date.parse(t.cloudCreatedAt ?? t.createdAt));
  const stopBefore = oldest - CREATE_TIME_SKEW_MS;

  for (let pageNo = 1; byRef.size > 0; pageNo++) {
    if (!ctx.hasTime()) return out;
    const page = await acr.listRepoSyncTask({ instanceId, pageNo, pageSize: ACR_PAGE_SIZE });
    for (const item of page.items) {
      const task = byRef.get(item.syncTaskId);
      if (!task) continue;
      out.set(task.id, acrObservation(task, item, page.requestId ?? null));
      byRef.delete(item.syncTaskId);
    }
    const last = page.items.at(-1);
    if (page.items.length < ACR_PAGE_SIZE || pageNo * ACR_PAGE_SIZE >= page.totalCount) break;
    if (last?.createTime !== undefined && last.createTime < stopBefore) break;
  }
  if (byRef.size > 0) ctx.stats.event('acr.stragglers', byRef.size);
  const control = acrControl(ctx);
  for (const task of byRef.values()) {
    if (!ctx.hasTime()) break;
    out.set(task.id, await control.reread(task));
  }
  return out;
}

export async function reconcileAcr(ctx: SweepContext): Promise<void> {
  const scopes = await ctx.deps.ledger.activeScopes('acr');
  const control = acrControl(ctx);
  for (const [i, s] of scopes.entries()) {
    if (!ctx.hasTime()) {
      ctx.stats.event('leftover.acrInstances', scopes.length - i);
      return;
    }
    try {
      await reconcileScope(
        ctx,
        'acr',
        s.scope,
        async (tasks) => {
          const { region } = instanceOf(tasks[0]!);
          return observeAcrInstance(ctx, ctx.clouds.acr(region), s.scope, tasks);
        },
        control,
      );
    } catch (err) {
      ctx.stats.errors++;
      ctx.stats.event(err instanceof CloudError && err.kind === 'throttled' ? 'acr.throttled' : 'acr.scopeFailed');
      ctx.log.warn('sweep: ACR instance not reconciled this run', { instanceId: s.scope, error: err instanceof Error ? err.message : String(err) });
    }
  }
}
