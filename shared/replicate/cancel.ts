/**
 * Cancelling work at the clouds, and cancelling Ferry tasks (ledger + cloud).
 *
 * `cancelAtCloud(clouds, ref)` cancels one cloud object and says what happened in Ferry's words
 * (canceled / already canceled / already finished / unknown / refused) without throwing for the
 * answers a caller must branch on. The sweep reuses it for deadlines; the operator API for cancel.
 *
 * Cloud specifics (documented choices):
 * - ACR: CancelRepoSyncTask succeeds again on a CANCELED task, so Ferry reads the task first
 *   (GetRepoSyncTask) to tell "already canceled" and "already finished" (SUCCESS / ERROR) from
 *   "canceled now". A task that finishes between the read and the cancel answers 400
 *   SYNC_TASK_STATUS_INVALID: it is read again and reported as finished.
 * - ECS: InvalidTaskId.IncorrectTaskStatus means the task is not running; DescribeTaskAttribute
 *   tells "already canceled" (Cancelled/Deleted) from "finished" (Finished/Failed).
 * - SWR: only automatic sync tasks (sync_repo) can be stopped, by deleting them. SWR's
 *   SVCSTG.SWR.4001158 ("already deleted") is "already canceled"; other 404s are "unknown".
 */
import {
  CloudAuthError,
  CloudConflictError,
  CloudError,
  CloudInvalidRequestError,
  CloudNotFoundError,
  CloudPermissionError,
  CloudThrottledError,
} from '../clients/errors.ts';
import type { Ledger, TaskRow } from '../ledger/index.ts';
import { StaleStateError, isTerminal } from '../ledger/index.ts';
import type { Clouds } from './clouds.ts';
import type { AcrTaskTarget, SwrTaskTarget, TaskTarget } from './target.ts';

export type CloudCancelRef =
  | { provider: 'acr'; region: string; instanceId: string; syncTaskId: string }
  | { provider: 'ecs'; regionId: string; taskId: string }
  | { provider: 'swr'; region: string; namespace: string; repository: string; remoteRegionId: string; remoteNamespace: string };

export interface CloudErrorSummary {
  code: string;
  message: string;
  requestId: string | null;
  status: number | null;
}

export type CloudCancelResult =
  /** The cloud stopped it now (`already: false`) or had stopped it before (`already: true`). */
  | { outcome: 'canceled'; already: boolean; cloudStatus?: string | undefined; requestId?: string | undefined }
  /** Too late: the cloud task ended on its own (`cloudStatus` says how). */
  | { outcome: 'finished'; cloudStatus: string; error?: CloudErrorSummary | undefined }
  | { outcome: 'not_found'; error: CloudErrorSummary }
  /** The cloud cannot cancel this kind of task (ECS InvalidTaskId.TaskActionNotSupport, other refusals). */
  | { outcome: 'unsupported'; error: CloudErrorSummary }
  /** Ferry's own credentials were rejected or lack the permission. */
  | { outcome: 'permission'; error: CloudErrorSummary }
  | { outcome: 'throttled'; retryAfterMs: number; error: CloudErrorSummary }
  /** 5xx, timeouts, malformed answers, anything else: the cancel may or may not have happened. */
  | { outcome: 'failed'; error: CloudErrorSummary };

export function summarize(err: CloudError): CloudErrorSummary {
  return { code: err.code, message: err.message, requestId: err.requestId ?? null, status: err.status ?? null };
}

/** The answers every cloud shares; null for a cloud-specific one the caller handles. */
function classify(err: unknown): CloudCancelResult {
  if (!(err instanceof CloudError)) throw err;
  const e = summarize(err);
  if (err instanceof CloudThrottledError) return { outcome: 'throttled', retryAfterMs: err.retryAfterMs ?? 1000, error: e };
  if (err instanceof CloudPermissionError || err instanceof CloudAuthError) return { outcome: 'permission', error: e };
  if (err instanceof CloudNotFoundError) return { outcome: 'not_found', error: e };
  if (err instanceof CloudInvalidRequestError) return { outcome: 'unsupported', error: e };
  return { outcome: 'failed', error: e };
}

const ACR_FINISHED = new Set(['SUCCESS', 'ERROR']);
const ECS_CANCELED = new Set(['Cancelled', 'Canceled', 'Deleted']);

export async function cancelAtCloud(clouds: Clouds, ref: CloudCancelRef): Promise<CloudCancelResult> {
  switch (ref.provider) {
    case 'acr':
      return cancelAcr(clouds, ref);
    case 'ecs':
      return cancelEcs(clouds, ref);
    case 'swr':
      return cancelSwr(clouds, ref);
  }
}

async function cancelAcr(clouds: Clouds, ref: Extract<CloudCancelRef, { provider: 'acr' }>): Promise<CloudCancelResult> {
  const acr = clouds.acr(ref.region);
  const task = { instanceId: ref.instanceId, syncTaskId: ref.syncTaskId };
  try {
    const before = await acr.getRepoSyncTask(task);
    if (before.taskStatus === 'CANCELED') return { outcome: 'canceled', already: true, cloudStatus: 'CANCELED', requestId: before.requestId };
    if (ACR_FINISHED.has(before.taskStatus)) return { outcome: 'finished', cloudStatus: before.taskStatus };
  } catch (err) {
    return classify(err);
  }
  try {
    const r = await acr.cancelRepoSyncTask(task);
    return { outcome: 'canceled', already: false, cloudStatus: 'CANCELED', requestId: r.requestId };
  } catch (err) {
    if (err instanceof CloudError && err.code === 'SYNC_TASK_STATUS_INVALID') {
      // Finished between our read and the cancel: read it again to report how it ended.
      try {
        const after = await acr.getRepoSyncTask(task);
        if (after.taskStatus === 'CANCELED') return { outcome: 'canceled', already: true, cloudStatus: 'CANCELED' };
        return { outcome: 'finished', cloudStatus: after.taskStatus, error: summarize(err) };
      } catch (again) {
        return classify(again);
      }
    }
    return classify(err);
  }
}

async function cancelEcs(clouds: Clouds, ref: Extract<CloudCancelRef, { provider: 'ecs' }>): Promise<CloudCancelResult> {
  const ecs = clouds.ecs(ref.regionId);
  try {
    const r = await ecs.cancelTask({ taskId: ref.taskId });
    return { outcome: 'canceled', already: false, requestId: r.requestId };
  } catch (err) {
    if (err instanceof CloudConflictError) {
      try {
        const attr = await ecs.describeTaskAttribute({ taskId: ref.taskId });
        if (ECS_CANCELED.has(attr.taskStatus)) return { outcome: 'canceled', already: true, cloudStatus: attr.taskStatus };
        return { outcome: 'finished', cloudStatus: attr.taskStatus, error: summarize(err) };
      } catch (again) {
        return classify(again);
      }
    }
    return classify(err);
  }
}

async function cancelSwr(clouds: Clouds, ref: Extract<CloudCancelRef, { provider: 'swr' }>): Promise<CloudCancelResult> {
  try {
    await clouds.swr(ref.region).deleteSyncRepo({
      namespace: ref.namespace,
      repository: ref.repository,
      remoteRegionId: ref.remoteRegionId,
      remoteNamespace: ref.remoteNamespace,
    });
    return { outcome: 'canceled', already: false };
  } catch (err) {
    if (err instanceof CloudError && err.code === 'SVCSTG.SWR.4001158') return { outcome: 'canceled', already: true };
    return classify(err);
  }
}

// ---------------------------------------------------------------- Ferry tasks

export interface CancelTaskDeps {
  ledger: Ledger;
  clouds: Clouds;
}

export interface CancelTaskInput {
  actor: string;
  reason?: string | undefined;
}

export type CancelTaskResult =
  /** The task is canceled in the ledger (now, or `already` before this call). */
  | { outcome: 'canceled'; already: boolean; task: TaskRow; cloudCall: boolean; cloud?: CloudCancelResult | undefined; note?: string | undefined }
  /** The task ended otherwise (before the call, or the sweep got there first, or the cloud finished it). */
  | { outcome: 'finished'; task: TaskRow; cloud?: CloudCancelResult | undefined }
  /** The cloud did not cancel; the cancel request stays recorded on the task for the sweep. */
  | { outcome: 'cloud_error'; task: TaskRow; cloud: Exclude<CloudCancelResult, { outcome: 'canceled' | 'finished' }> }
  | { outcome: 'not_found' };

/** Where the cloud task of a submitted/running Ferry task lives. SWR manual jobs have none (see cancelTask). */
export function cloudRefOfTask(task: TaskRow): CloudCancelRef | null {
  const target = task.target as unknown as TaskTarget;
  if (task.provider === 'acr') {
    const from = (target as AcrTaskTarget).from;
    if (!task.cloudRef || !task.cloudRef.startsWith('rst-')) return null;
    return { provider: 'acr', region: from.region, instanceId: from.instanceId, syncTaskId: task.cloudRef };
  }
  if (task.provider === 'swr') {
    const { from, to } = target as SwrTaskTarget;
    return { provider: 'swr', region: from.region, namespace: from.namespace, repository: from.repository, remoteRegionId: to.remoteRegion, remoteNamespace: to.remoteNamespace };
  }
  return null;
}

const MAX_ROUNDS = 4;

/**
 * Cancels a Ferry task. Pending: in the ledger only (no cloud task exists yet, or a crashed
 * submission's task is found and cancelled by the sweep through the recorded cancel request).
 * Submitted/running: records the cancel request first (a concurrent sweep sees it), cancels at the
 * cloud, then moves the task to canceled guarded by its state. When the sweep moved the task in
 * the meantime, the task is read again and its final state reported.
 *
 * SWR: a manual sync job (sync_images) cannot be stopped; Ferry deletes the automatic sync task
 * for the same source repository and remote (when SWR lists one) and records the
 * task canceled with a note that an in-flight manual job may still complete.
 */
export async function cancelTask(deps: CancelTaskDeps, taskId: string, input: CancelTaskInput): Promise<CancelTaskResult> {
  const reason = input.reason?.trim() ? input.reason.trim() : 'canceled by operator';
  let cloud: CloudCancelResult | undefined;
  let note: string | undefined;
  let cloudCall = false;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const detail = await deps.ledger.getTask(taskId);
    if (!detail) return { outcome: 'not_found' };
    let task = detail.task;
    if (task.state === 'canceled') return { outcome: 'canceled', already: cloud === undefined, task, cloudCall, cloud, note };
    if (isTerminal(task.state)) return { outcome: 'finished', task, cloud };

    if (task.state !== 'pending' && cloud === undefined) {
      try {
        task = await deps.ledger.requestCancel(taskId, { reason, actor: input.actor });
      } catch (err) {
        if (err instanceof StaleStateError) continue;
        throw err;
      }
      const r = await cancelForTask(deps, task);
      cloud = r.cloud;
      note = r.note;
      cloudCall = r.called;
      if (cloud.outcome === 'finished') return { outcome: 'finished', task, cloud };
      if (cloud.outcome !== 'canceled') return { outcome: 'cloud_error', task, cloud };
    }

    try {
      const done = await deps.ledger.transition(taskId, {
        from: task.state,
        to: 'canceled',
        reason,
        actor: input.actor,
        details: {
          ...(cloud ? { cloud: { outcome: cloud.outcome, already: cloud.outcome === 'canceled' ? cloud.already : undefined, requestId: 'requestId' in cloud ? (cloud.requestId ?? null) : null } } : { cloudCall: false }),
          ...(note ? { note } : {}),
        },
        patch: { ...(cloud && 'cloudStatus' in cloud && cloud.cloudStatus ? { cloudStatus: cloud.cloudStatus } : {}) },
      });
      return { outcome: 'canceled', already: false, task: done, cloudCall, cloud, note };
    } catch (err) {
      // Someone (the sweep, a concurrent cancel) moved the task: look again.
      if (err instanceof StaleStateError) continue;
      throw err;
    }
  }
  const last = await deps.ledger.getTask(taskId);
  if (!last) return { outcome: 'not_found' };
  return last.task.state === 'canceled'
    ? { outcome: 'canceled', already: false, task: last.task, cloudCall, cloud, note }
    : { outcome: 'finished', task: last.task, cloud };
}

async function cancelForTask(deps: CancelTaskDeps, task: TaskRow): Promise<{ cloud: CloudCancelResult; called: boolean; note?: string }> {
  const ref = cloudRefOfTask(task);
  if (task.provider === 'swr' && ref?.provider === 'swr') {
    const manual = 'SWR cannot stop a manual sync job (sync_images); one already running may still complete';
    let exists: boolean;
    try {
      const repos = await deps.clouds.swr(ref.region).listSyncRepos({ namespace: ref.namespace, repository: ref.repository });
      exists = repos.some((r) => r.remoteRegionId === ref.remoteRegionId && r.remoteNamespace === ref.remoteNamespace);
    } catch (err) {
      return { cloud: classify(err), called: true };
    }
    if (!exists) return { cloud: { outcome: 'canceled', already: false }, called: true, note: `${manual}; no automatic sync task to delete` };
    const cloud = await cancelAtCloud(deps.clouds, ref);
    if (cloud.outcome === 'canceled' || cloud.outcome === 'not_found') {
      return { cloud: { outcome: 'canceled', already: cloud.outcome === 'canceled' ? cloud.already : true }, called: true, note: `${manual}; the automatic sync task was deleted` };
    }
    return { cloud, called: true };
  }
  if (!ref) {
    // No cloud reference we can address (e.g. an ACR task whose submission is in doubt): ledger only.
    return { cloud: { outcome: 'canceled', already: false }, called: false, note: 'no cloud task reference recorded; canceled in the ledger only' };
  }
  return { cloud: await cancelAtCloud(deps.clouds, ref), called: true };
}

// ---------------------------------------------------------------- ECS tasks Ferry watches

export type CancelEcsResult =
  | { outcome: 'canceled'; already: boolean; cloud?: CloudCancelResult | undefined }
  | { outcome: 'finished'; state: string; cloud?: CloudCancelResult | undefined }
  | { outcome: 'cloud_error'; cloud: Exclude<CloudCancelResult, { outcome: 'canceled' | 'finished' }> }
  | { outcome: 'not_found' };

/**
 * Cancels an ECS ImportImage/ExportImage task, keeping `ledger.ecs` in step when Ferry watches it
 * (watching → canceled, or → finished/failed when the cloud says it already ended).
 */
export async function cancelEcsTask(deps: CancelTaskDeps, regionId: string, taskId: string): Promise<CancelEcsResult> {
  const watched = await deps.ledger.ecs.get(regionId, taskId);
  if (watched && watched.state === 'canceled') return { outcome: 'canceled', already: true };
  if (watched && watched.state !== 'watching') return { outcome: 'finished', state: watched.state };
  const cloud = await cancelAtCloud(deps.clouds, { provider: 'ecs', regionId, taskId });
  if (cloud.outcome !== 'canceled' && cloud.outcome !== 'finished') return { outcome: 'cloud_error', cloud };
  if (!watched) {
    return cloud.outcome === 'canceled' ? { outcome: 'canceled', already: cloud.already, cloud } : { outcome: 'finished', state: cloud.cloudStatus, cloud };
  }
  const to = cloud.outcome === 'canceled' ? 'canceled' : cloud.cloudStatus === 'Failed' ? 'failed' : 'finished';
  try {
    await deps.ledger.ecs.transition(regionId, taskId, { from: 'watching', to, ...(cloud.cloudStatus ? { cloudStatus: cloud.cloudStatus } : {}) });
  } catch (err) {
    if (!(err instanceof StaleStateError)) throw err;
    const now = await deps.ledger.ecs.get(regionId, taskId);
    if (now && now.state !== 'canceled') return { outcome: 'finished', state: now.state, cloud };
  }
  return cloud.outcome === 'canceled' ? { outcome: 'canceled', already: cloud.already, cloud } : { outcome: 'finished', state: to, cloud };
}
