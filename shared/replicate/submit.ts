import { CloudError } from '../clients/errors.ts';
import type { Clock } from '../clock.ts';
import type { NotificationTarget } from '../config/index.ts';
import { type Ledger, LedgerError, type TaskRow } from '../ledger/index.ts';
import type { Logger } from '../log.ts';
import type { Clouds, RepoIdCache } from './clouds.ts';
import { failureNotices } from './notices.ts';
import { backoffMs, type AcrTaskTarget, type SwrTaskTarget, type TaskTarget } from './target.ts';

export interface SubmitContext {
  ledger: Ledger;
  clouds: Clouds;
  repoIds: RepoIdCache;
  clock: Clock;
  /** Lease owner: the task must be claimed by it. */
  owner: string;
  notifications: readonly NotificationTarget[];
  log: Logger;
  random?: () => number;
}

export type SubmitResult =
  | { state: 'submitted'; cloudRef: string; adopted: boolean }
  | { state: 'pending'; reason: string; retryAt: number; error?: ErrorInfo }
  | { state: 'failed'; error: ErrorInfo }
  /** The ledger moved under us (lease lost, state changed): someone else owns the task now. */
  | { state: 'skipped'; reason: string };

export interface ErrorInfo {
  code: string;
  message: string;
  requestId: string | null;
}

/** How far back a cloud task's creation time may precede our record of starting the submission (clock skew). */
const LOOKUP_SKEW_MS = 120_000;
/** Retryable submission errors (throttling, 5xx) don't count against the rule's attempts until this many. */
const MAX_SUBMISSION_TRIES = 10;

export function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof CloudError) return { code: err.code, message: err.message, requestId: err.requestId ?? null };
  return { code: 'InternalError', message: err instanceof Error ? err.message : String(err), requestId: null };
}

/**
 * Submits one claimed, pending task to its cloud. Intent before action: the ledger records that a
 * submission started before the cloud is called; if this process dies before writing the cloud's
 * answer, the next claimer finds `submitStartedAt` without `cloudRef` and looks the task up at the
 * cloud before creating another.
 */
export async function submitTask(task: TaskRow, ctx: SubmitContext): Promise<SubmitResult> {
  const target = task.target as unknown as TaskTarget;
  const now = ctx.clock.now();
  const policy = task.policy;
  try {
    if (task.submitStartedAt && !task.cloudRef) {
      const found = await findCloudTask(task, target, ctx);
      if (found) {
        await ctx.ledger.transition(task.id, {
          from: 'pending',
          to: 'submitted',
          owner: ctx.owner,
          actor: ctx.owner,
          reason: 'adopted the cloud task of an interrupted submission',
          patch: { cloudRef: found.ref, cloudCreatedAt: found.createdAt, nextAttemptAt: now, deadlineAt: now + policy.deadlineMinutes * 60_000, lastError: null },
        });
        return { state: 'submitted', cloudRef: found.ref, adopted: true };
      }
    }
    const started = await ctx.ledger.beginSubmission(task.id, ctx.owner);
    const created = target.to.provider === 'acr' ? await createAcrTask(target as AcrTaskTarget, ctx) : await createSwrSync(target as SwrTaskTarget, started, ctx);
    await ctx.ledger.transition(task.id, {
      from: 'pending',
      to: 'submitted',
      owner: ctx.owner,
      actor: ctx.owner,
      reason: `${created.action} accepted`,
      details: { requestId: created.requestId ?? null, attempt: started.attempts },
      patch: { cloudRef: created.ref, cloudCreatedAt: now, nextAttemptAt: now, deadlineAt: now + policy.deadlineMinutes * 60_000, lastError: null },
    });
    return { state: 'submitted', cloudRef: created.ref, adopted: false };
  } catch (err) {
    if (err instanceof LedgerError) return { state: 'skipped', reason: err.message };
    return handleSubmitError(task, err, ctx);
  }
}

async function handleSubmitError(task: TaskRow, err: unknown, ctx: SubmitContext): Promise<SubmitResult> {
  const info = errorInfo(err);
  const current = (await ctx.ledger.getTask(task.id))?.task ?? task;
  const policy = current.policy;
  const retryable = err instanceof CloudError ? err.retryable : false;
  try {
    if (retryable && current.attempts < Math.max(MAX_SUBMISSION_TRIES, policy.maxAttempts)) {
      const wait = (err as { retryAfterMs?: number }).retryAfterMs ?? backoffMs(policy, current.attempts, ctx.random);
      const retryAt = ctx.clock.now() + wait;
      await ctx.ledger.defer(task.id, { owner: ctx.owner, until: retryAt, error: info, reason: `submission deferred: ${info.code}` });
      ctx.log.warn('submission deferred', { taskId: task.id, code: info.code, requestId: info.requestId, retryInMs: wait });
      return { state: 'pending', reason: info.code, retryAt, error: info };
    }
    await ctx.ledger.transition(task.id, {
      from: 'pending',
      to: 'failed',
      owner: ctx.owner,
      actor: ctx.owner,
      reason: `submission failed: ${info.code}`,
      patch: { lastError: info },
      notify: failureNotices(ctx.notifications, current, 'failed', info),
    });
    ctx.log.error('submission failed', { taskId: task.id, code: info.code, requestId: info.requestId });
    return { state: 'failed', error: info };
  } catch (ledgerErr) {
    if (ledgerErr instanceof LedgerError) return { state: 'skipped', reason: ledgerErr.message };
    throw ledgerErr;
  }
}

async function createAcrTask(t: AcrTaskTarget, ctx: SubmitContext) {
  const { from, to } = t;
  if (!from.tag) throw new CloudError({ provider: 'acr', code: 'TagRequired', message: 'CreateRepoSyncTask copies a tag; this push has none' });
  const repoId = await ctx.repoIds.get(from.region, from.instanceId, from.namespace, from.repository);
  const r = await ctx.clouds.acr(from.region).createRepoSyncTask({
    instanceId: from.instanceId,
    repoId,
    tag: from.tag,
    targetInstanceId: to.instanceId,
    targetNamespace: to.namespace,
    targetRegionId: to.region,
    targetRepoName: to.repo,
    targetTag: to.tag,
    override: to.override,
    ...(to.targetUserId ? { targetUserId: to.targetUserId } : {}),
  });
  return { action: 'CreateRepoSyncTask', ref: r.syncTaskId, requestId: r.requestId };
}

async function createSwrSync(t: SwrTaskTarget, started: TaskRow, ctx: SubmitContext) {
  const { from, to } = t;
  if (!from.tag) throw new CloudError({ provider: 'swr', code: 'TagRequired', message: 'sync_images copies tags; this push has none' });
  const r = await ctx.clouds.swr(from.region).syncImages({
    namespace: from.namespace,
    repository: from.repository,
    imageTag: [from.tag],
    override: to.override,
    remoteRegionId: to.remoteRegion,
    remoteNamespace: to.remoteNamespace,
  });
  if (r.failedTags.includes(from.tag)) {
    throw new CloudError({ provider: 'swr', code: 'SWR.SyncRejected', message: `sync_images refused tag ${from.tag}`, action: 'sync_images' });
  }
  // sync_images returns no id: find the job it created, so the sweep can follow that exact job.
  const job = await findSwrJob(t, started, [], ctx).catch(() => null);
  return { action: 'sync_images', ref: job?.ref ?? `swr-sync:${from.tag}@${started.submitStartedAt}`, requestId: null };
}

interface FoundTask {
  ref: string;
  createdAt: number | null;
}

/** Looks for a cloud task this ledger task may already have created (the crash window). */
export async function findCloudTask(task: TaskRow, target: TaskTarget, ctx: SubmitContext): Promise<FoundTask | null> {
  const detail = await ctx.ledger.getTask(task.id);
  const known = new Set((detail?.cloudRefs ?? []).map((r) => r.cloudRef));
  if (target.to.provider === 'acr') return findAcrTask(task, target as AcrTaskTarget, known, ctx);
  return findSwrJob(target as SwrTaskTarget, task, [...known], ctx);
}

async function findAcrTask(task: TaskRow, t: AcrTaskTarget, known: Set<string>, ctx: SubmitContext): Promise<FoundTask | null> {
  const { from, to } = t;
  const since = Date.parse(task.submitStartedAt ?? task.createdAt) - LOOKUP_SKEW_MS;
  const page = await ctx.clouds.acr(from.region).listRepoSyncTask({
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

export function swrJobRef(id: number): string {
  return `swr-job:${id}`;
}

async function findSwrJob(t: SwrTaskTarget, task: Pick<TaskRow, 'submitStartedAt' | 'createdAt'>, known: string[], ctx: SubmitContext): Promise<FoundTask | null> {
  const { from, to } = t;
  const since = Date.parse(task.submitStartedAt ?? task.createdAt) - LOOKUP_SKEW_MS;
  const { jobs } = await ctx.clouds.swr(from.region).listSyncJobs({ namespace: from.namespace, repository: from.repository, limit: 50, offset: 0, order: 'desc' });
  const match = jobs.find(
    (j) =>
      !known.includes(swrJobRef(j.id)) &&
      j.tag === from.tag &&
      j.remoteRegionId === to.remoteRegion &&
      j.remoteNamespace === to.remoteNamespace &&
      (j.createdAt ? Date.parse(j.createdAt) >= since : true),
  );
  return match ? { ref: swrJobRef(match.id), createdAt: match.createdAt ? Date.parse(match.createdAt) : null } : null;
}
