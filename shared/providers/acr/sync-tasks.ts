/** Creating, finding and cancelling ACR sync tasks (CreateRepoSyncTask and friends). */
import { CloudError, CloudNotFoundError } from '../../clients/errors.ts';
import type { TaskRow } from '../../ledger/index.ts';
import { cancelFailure, summarize } from '../outcomes.ts';
import type { CancelOutcome, Found, Submitted } from '../types.ts';
import type { AcrClients } from './clients.ts';
import type { AcrTaskTarget } from './target.ts';

/** How far back a cloud task's creation time may precede our record of starting the submission (clock skew). */
const LOOKUP_SKEW_MS = 120_000;

const REPO_GONE = new Set(['REPO_NOT_EXIST', 'REPO_NOT_FOUND']);

export async function createSyncTask(clients: AcrClients, t: AcrTaskTarget): Promise<Submitted> {
  const { from, to } = t;
  if (!from.tag) throw new CloudError({ provider: 'acr', code: 'TagRequired', message: 'CreateRepoSyncTask copies a tag; this push has none' });
  const repoIdNow = () => clients.repoId(from.region, from.instanceId, from.namespace, from.repository);
  const create = (repoId: string) =>
    clients.region(from.region).createRepoSyncTask({
      instanceId: from.instanceId,
      repoId,
      tag: from.tag!,
      targetInstanceId: to.instanceId,
      targetNamespace: to.namespace,
      targetRegionId: to.region,
      targetRepoName: to.repo,
      targetTag: to.tag,
      override: to.override,
      ...(to.targetUserId ? { targetUserId: to.targetUserId } : {}),
    });
  let r: Awaited<ReturnType<typeof create>>;
  const repoId = await repoIdNow();
  try {
    r = await create(repoId);
  } catch (err) {
    // The remembered id names a repository the cloud no longer has (deleted, maybe made again):
    // nothing was created, so forget the id and try once more with a fresh one.
    if (!(err instanceof CloudNotFoundError && REPO_GONE.has(err.code))) throw err;
    clients.forget(from.instanceId, from.namespace, from.repository);
    r = await create(await repoIdNow());
  }
  return { action: 'CreateRepoSyncTask', ref: r.syncTaskId, requestId: r.requestId ?? null };
}

/** The sync task an interrupted submission may have created: same image and target, none of `known`, created after it started. */
export async function findSyncTask(clients: AcrClients, task: TaskRow, t: AcrTaskTarget, known: ReadonlySet<string>): Promise<Found | null> {
  const { from, to } = t;
  const since = Date.parse(task.submitStartedAt ?? task.createdAt) - LOOKUP_SKEW_MS;
  const page = await clients.region(from.region).listRepoSyncTask({
    instanceId: from.instanceId,
    repoNamespaceName: from.namespace,
    repoName: from.repository,
    ...(from.tag ? { tag: from.tag } : {}),
    pageSize: 100,
  });
  const match = page.items.find(
    (s) =>
      !known.has(s.syncTaskId) &&
      s.imageTo?.instanceId === to.instanceId &&
      s.imageTo.repoNamespaceName === to.namespace &&
      s.imageTo.repoName === to.repo &&
      s.imageTo.imageTag === to.tag &&
      (s.createTime ?? 0) >= since,
  );
  return match ? { ref: match.syncTaskId, createdAt: match.createTime ?? null } : null;
}

export interface SyncTaskRef {
  region: string;
  instanceId: string;
  syncTaskId: string;
}

const FINISHED = new Set(['SUCCESS', 'ERROR']);

/**
 * Cancels one sync task. CancelRepoSyncTask succeeds again on a CANCELED task and what it answers
 * for a finished one is undocumented, so the task is read first (already canceled / finished), and
 * after a refused cancel read again: its status, never the error's HTTP status, says what happened.
 */
export async function cancelSyncTask(clients: AcrClients, ref: SyncTaskRef): Promise<CancelOutcome> {
  const acr = clients.region(ref.region);
  const task = { instanceId: ref.instanceId, syncTaskId: ref.syncTaskId };
  try {
    const before = await acr.getRepoSyncTask(task);
    if (before.taskStatus === 'CANCELED') return { outcome: 'canceled', already: true, cloudStatus: 'CANCELED', requestId: before.requestId };
    if (FINISHED.has(before.taskStatus)) return { outcome: 'finished', cloudStatus: before.taskStatus, state: before.taskStatus === 'SUCCESS' ? 'succeeded' : 'failed' };
  } catch (err) {
    return cancelFailure(err);
  }
  try {
    const r = await acr.cancelRepoSyncTask(task);
    return { outcome: 'canceled', already: false, cloudStatus: 'CANCELED', requestId: r.requestId };
  } catch (err) {
    if (!(err instanceof CloudError) || err instanceof CloudNotFoundError) return cancelFailure(err);
    try {
      const after = await acr.getRepoSyncTask(task);
      if (after.taskStatus === 'CANCELED') return { outcome: 'canceled', already: true, cloudStatus: 'CANCELED' };
      if (FINISHED.has(after.taskStatus)) return { outcome: 'finished', cloudStatus: after.taskStatus, state: after.taskStatus === 'SUCCESS' ? 'succeeded' : 'failed', error: summarize(err) };
    } catch {
      // The re-read failing says nothing more than the cancel's own error.
    }
    return cancelFailure(err);
  }
}
