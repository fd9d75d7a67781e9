/**
 * What ACR says about open sync tasks, batched per source instance: one ListRepoSyncTask page (100,
 * newest first) covers up to 100 open tasks, and paging stops as soon as every open task was seen or
 * the pages reach back past the oldest open task. GetRepoSyncTask is only for the few not listed.
 */
import type { AcrSyncTask } from '../../clients/acr.ts';
import { hasMorePages } from '../../clients/validation.ts';
import { CloudNotFoundError } from '../../clients/errors.ts';
import type { TaskRow } from '../../ledger/index.ts';
import type { Logger } from '../../log.ts';
import { notFoundObservation, noteUnknownStatus } from '../outcomes.ts';
import type { CloudContext, Observation, ObserveContext } from '../types.ts';
import type { AcrClients } from './clients.ts';
import { acrTargetOf, type AcrTaskTarget } from './target.ts';

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

export function acrObservation(target: AcrTaskTarget, s: Pick<AcrSyncTask, 'taskIssue' | 'syncTaskId'> & { taskStatus: string }, requestId: string | null, log: Logger): Observation {
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
      const permanent = PERMANENT_ISSUES.has(issue) || (issue === 'TAG_CONFLICT' && !target.to.override);
      return {
        kind: 'failed',
        cloudStatus: 'ERROR',
        code: issue,
        message: `sync task ${s.syncTaskId} ended in ERROR: ${ISSUE_TEXT[issue] ?? issue}`,
        requestId,
        retryable: !permanent,
      };
    }
    default:
      noteUnknownStatus(log, 'acr', s.taskStatus);
      return { kind: 'running', cloudStatus: s.taskStatus };
  }
}

export async function rereadAcr(clients: AcrClients, task: TaskRow, t: AcrTaskTarget, ctx: CloudContext): Promise<Observation> {
  if (!task.cloudRef) return { kind: 'gone', code: 'NoCloudRef', message: 'task is submitted but has no cloud reference', requestId: null };
  try {
    const d = await clients.region(t.from.region).getRepoSyncTask({ instanceId: t.from.instanceId, syncTaskId: task.cloudRef });
    return acrObservation(t, d, d.requestId ?? null, ctx.log);
  } catch (err) {
    if (err instanceof CloudNotFoundError) return notFoundObservation(err);
    throw err;
  }
}

/** Open tasks of one source instance: pages of ListRepoSyncTask, then GetRepoSyncTask for stragglers. */
export async function observeAcrInstance(clients: AcrClients, tasks: readonly TaskRow[], ctx: ObserveContext): Promise<Map<string, Observation>> {
  const out = new Map<string, Observation>();
  const byRef = new Map<string, TaskRow>();
  for (const t of tasks) {
    if (t.cloudRef) byRef.set(t.cloudRef, t);
    else out.set(t.id, { kind: 'gone', code: 'NoCloudRef', message: 'task is submitted but has no cloud reference', requestId: null });
  }
  if (byRef.size === 0) return out;
  const { from } = acrTargetOf(tasks[0]!);
  const acr = clients.region(from.region);
  let oldest = Infinity;
  for (const t of byRef.values()) oldest = Math.min(oldest, Date.parse(t.cloudCreatedAt ?? t.createdAt));
  const stopBefore = oldest - CREATE_TIME_SKEW_MS;

  for (let pageNo = 1; byRef.size > 0; pageNo++) {
    if (!ctx.hasTime()) return out;
    const page = await acr.listRepoSyncTask({ instanceId: from.instanceId, pageNo, pageSize: ACR_PAGE_SIZE });
    // Sync rules' tasks and other callers' share the listing: only the open tasks are read.
    for (const { taskStatus, ...item } of page.items) {
      const task = byRef.get(item.syncTaskId);
      // Listed without a status: left for GetRepoSyncTask below.
      if (!task || !taskStatus) continue;
      out.set(task.id, acrObservation(acrTargetOf(task), { ...item, taskStatus }, page.requestId ?? null, ctx.log));
      byRef.delete(item.syncTaskId);
    }
    if (!hasMorePages(page, pageNo, ACR_PAGE_SIZE)) break;
    const oldestListed = Math.min(...page.items.map((i) => i.createTime ?? Infinity));
    if (oldestListed < stopBefore) break;
  }
  if (byRef.size > 0) ctx.count('acr.stragglers', byRef.size);
  for (const task of byRef.values()) {
    if (!ctx.hasTime()) break;
    out.set(task.id, await rereadAcr(clients, task, acrTargetOf(task), ctx));
  }
  return out;
}
