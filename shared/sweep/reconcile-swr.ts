/**
 * SWR reconciliation, batched per source repository (scope `region/namespace/repo`): sync_job
 * records, 100 per call, newest first, until every open task's job was seen or the records reach
 * back past the oldest open task. A task whose ref is still `swr-sync:<tag>@<time>` (the job id was
 * not known at submission) adopts the matching job. SWR cannot cancel a manual sync job by API.
 */
import { CloudError } from '../clients/errors.ts';
import type { SwrSyncJob } from '../clients/swr.ts';
import type { TaskRow } from '../ledger/index.ts';
import { swrJobRef } from '../replicate/submit.ts';
import type { SwrTaskTarget } from '../replicate/target.ts';
import type { CloudControl, Observation } from './apply.ts';
import type { SweepContext } from './context.ts';
import { guarded } from './outcome.ts';
import { reconcileScope } from './scope.ts';

export const SWR_PAGE_SIZE = 100;
const CREATED_SKEW_MS = 5 * 60_000;
const JOB_REF = /^swr-job:(\d+)$/;
const SYNC_REF = /^swr-sync:(.+)@(\d{4}-\d{2}-\d{2}T[^@]+)$/;

export function swrObservation(job: Pick<SwrSyncJob, 'id' | 'status'>): Observation {
  switch (job.status) {
    case 'waiting':
      return { kind: 'queued', cloudStatus: job.status };
    case 'running':
      return { kind: 'running', cloudStatus: job.status };
    case 'success':
    case 'existed':
      return { kind: 'succeeded', cloudStatus: job.status };
    case 'failed':
      return { kind: 'failed', cloudStatus: job.status, code: 'SWR.SyncJobFailed', message: `sync job ${job.id} failed`, requestId: null, retryable: true };
    case 'timeout':
      return { kind: 'timed_out', cloudStatus: job.status, message: `sync job ${job.id} timed out in SWR` };
    case 'cancel':
      return { kind: 'canceled', cloudStatus: job.status };
  }
}

const swrControl: CloudControl = {
  async cancel() {
    return { result: 'unsupported' };
  },
  async reread(task) {
    throw new Error(`task ${task.id}: SWR sync jobs are re-read by listing, not one by one`);
  },
};

function targetOf(task: TaskRow): SwrTaskTarget {
  return task.target as unknown as SwrTaskTarget;
}

export async function observeSwrRepository(ctx: SweepContext, tasks: TaskRow[]): Promise<Map<string, Observation>> {
  const out = new Map<string, Observation>();
  const { from } = targetOf(tasks[0]!);
  const swr = ctx.clouds.swr(from.region);
  const byJob = new Map<number, TaskRow>();
  const unmatched: Array<{ task: TaskRow; tag: string; since: number }> = [];
  let oldest = Infinity;
  for (const t of tasks) {
    oldest = Math.min(oldest, Date.parse(t.cloudCreatedAt ?? t.submitStartedAt ?? t.createdAt));
    const job = JOB_REF.exec(t.cloudRef ?? '');
    const sync = SYNC_REF.exec(t.cloudRef ?? '');
    if (job) byJob.set(Number(job[1]), t);
    else if (sync) unmatched.push({ task: t, tag: sync[1]!, since: Date.parse(sync[2]!) - CREATED_SKEW_MS });
    else out.set(t.id, { kind: 'gone', code: 'NoCloudRef', message: 'task is submitted but has no SWR job reference', requestId: null });
  }
  const stopBefore = oldest - CREATED_SKEW_MS;
  const used = new Set<number>(byJob.keys());
  let complete = false;
  for (let offset = 0; byJob.size > 0 || unmatched.length > 0; offset += SWR_PAGE_SIZE) {
    if (!ctx.hasTime()) return out;
    const { jobs } = await swr.listSyncJobs({ namespace: from.namespace, repository: from.repository, limit: SWR_PAGE_SIZE, offset, order: 'desc' });
    // Oldest first within the page, so an unmatched task adopts the earliest job after its submission.
    for (const job of [...jobs].reverse()) {
      const known = byJob.get(job.id);
      if (known) {
        out.set(known.id, swrObservation(job));
        byJob.delete(job.id);
        continue;
      }
      if (used.has(job.id)) continue;
      const created = job.createdAt ? Date.parse(job.createdAt) : NaN;
      const i = unmatched.findIndex(({ task, tag, since }) => {
        const to = targetOf(task).to;
        return job.tag === tag && job.remoteRegionId === to.remoteRegion && job.remoteNamespace === to.remoteNamespace && !(created < since);
      });
      if (i < 0) continue;
      const { task } = unmatched[i]!;
      unmatched.splice(i, 1);
      used.add(job.id);
      const adopted = await guarded(ctx, () => ctx.deps.ledger.recordCloudRef(task.id, swrJobRef(job.id), Number.isNaN(created) ? null : created, { owner: ctx.owner }));
      if (adopted) {
        ctx.stats.event('swr.jobsAdopted');
        out.set(task.id, swrObservation(job));
      }
    }
    const last = jobs.at(-1);
    if (jobs.length < SWR_PAGE_SIZE) {
      complete = true;
      break;
    }
    if (last?.createdAt && Date.parse(last.createdAt) < stopBefore) {
      complete = true;
      break;
    }
  }
  if (complete || (byJob.size === 0 && unmatched.length === 0)) {
    for (const t of [...byJob.values(), ...unmatched.map((u) => u.task)]) {
      // A job younger than the skew window may not be listed yet: look again next run.
      if (ctx.now() - Date.parse(t.cloudCreatedAt ?? t.createdAt) < CREATED_SKEW_MS) continue;
      out.set(t.id, { kind: 'gone', code: 'SWR.SyncJobNotFound', message: `no SWR sync job found for ${t.cloudRef}`, requestId: null });
    }
  }
  return out;
}

export async function reconcileSwr(ctx: SweepContext): Promise<void> {
  const scopes = await ctx.deps.ledger.activeScopes('swr');
  for (const [i, s] of scopes.entries()) {
    if (!ctx.hasTime()) {
      ctx.stats.event('leftover.swrRepositories', scopes.length - i);
      return;
    }
    try {
      await reconcileScope(ctx, 'swr', s.scope, (tasks) => observeSwrRepository(ctx, tasks), swrControl);
    } catch (err) {
      ctx.stats.errors++;
      ctx.stats.event(err instanceof CloudError && err.kind === 'throttled' ? 'swr.throttled' : 'swr.scopeFailed');
      ctx.log.warn('sweep: SWR repository not reconciled this run', { scope: s.scope, error: err instanceof Error ? err.message : String(err) });
    }
  }
}
