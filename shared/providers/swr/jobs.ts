/**
 * SWR manual sync (sync_images) and its job records (sync_job). sync_images returns no id, so a
 * task's reference is `swr-job:<id>` once its job is found, `swr-sync:<tag>@<time>` until then.
 * Reconciliation is batched per source repository: job records, 100 per call, newest first, until
 * every open task's job was seen or the records reach back past the oldest open task.
 */
import { CloudError } from '../../clients/errors.ts';
import type { SwrSyncJob } from '../../clients/swr.ts';
import type { TaskRow } from '../../ledger/index.ts';
import type { Logger } from '../../log.ts';
import type { Found, Observation, ObserveContext, Submitted } from '../types.ts';
import type { SwrClients } from './clients.ts';
import { swrTargetOf, type SwrTaskTarget } from './target.ts';

export const SWR_PAGE_SIZE = 100;
/** How far back a job's creation time may precede our record of starting the submission (clock skew). */
const LOOKUP_SKEW_MS = 120_000;
const CREATED_SKEW_MS = 5 * 60_000;
const JOB_REF = /^swr-job:(\d+)$/;
const SYNC_REF = /^swr-sync:(.+)@(\d{4}-\d{2}-\d{2}T[^@]+)$/;

export function swrJobRef(id: number): string {
  return `swr-job:${id}`;
}

/** Statuses Ferry does not know that were already logged: once per status per process is enough. */
const unknownStatuses = new Set<string>();

export function swrObservation(job: Pick<SwrSyncJob, 'id' | 'status'>, log: Logger): Observation {
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
    default:
      // A status SWR added after this was written: nothing says the job is over, so it runs until
      // the task's deadline, and its own word is kept.
      if (!unknownStatuses.has(job.status)) {
        unknownStatuses.add(job.status);
        log.warn('SWR sync job status Ferry does not know: treated as running until the task deadline', { status: job.status, jobId: job.id });
      }
      return { kind: 'running', cloudStatus: job.status };
  }
}

export async function syncImages(clients: SwrClients, task: TaskRow, t: SwrTaskTarget): Promise<Submitted> {
  const { from, to } = t;
  if (!from.tag) throw new CloudError({ provider: 'swr', code: 'TagRequired', message: 'sync_images copies tags; this push has none' });
  const r = await clients.region(from.region).syncImages({
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
  // Find the job it created, so the sweep can follow that exact job.
  const job = await findSyncJob(clients, task, t, new Set()).catch(() => null);
  return { action: 'sync_images', ref: job?.ref ?? `swr-sync:${from.tag}@${task.submitStartedAt}`, requestId: null };
}

/** The job a submission created: same tag and remote, none of `known`, created after the submission started. */
export async function findSyncJob(clients: SwrClients, task: Pick<TaskRow, 'submitStartedAt' | 'createdAt'>, t: SwrTaskTarget, known: ReadonlySet<string>): Promise<Found | null> {
  const { from, to } = t;
  const since = Date.parse(task.submitStartedAt ?? task.createdAt) - LOOKUP_SKEW_MS;
  const { jobs } = await clients.region(from.region).listSyncJobs({ namespace: from.namespace, repository: from.repository, limit: 50, offset: 0, order: 'desc' });
  const match = jobs.find(
    (j) =>
      !known.has(swrJobRef(j.id)) && j.tag === from.tag && j.remoteRegionId === to.remoteRegion && j.remoteNamespace === to.remoteNamespace && (j.createdAt ? Date.parse(j.createdAt) >= since : true),
  );
  return match ? { ref: swrJobRef(match.id), createdAt: match.createdAt ? Date.parse(match.createdAt) : null } : null;
}

/** Open tasks of one source repository, from its job records; tasks without a job id adopt theirs. */
export async function observeSwrRepository(clients: SwrClients, tasks: readonly TaskRow[], ctx: ObserveContext): Promise<Map<string, Observation>> {
  const out = new Map<string, Observation>();
  const { from } = swrTargetOf(tasks[0]!);
  const swr = clients.region(from.region);
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
    const { jobs, skipped } = await swr.listSyncJobs({ namespace: from.namespace, repository: from.repository, limit: SWR_PAGE_SIZE, offset, order: 'desc' });
    if (skipped) ctx.count('swr.jobRecordsSkipped', skipped);
    // Oldest first within the page, so an unmatched task adopts the earliest job after its submission.
    for (const job of [...jobs].reverse()) {
      const known = byJob.get(job.id);
      if (known) {
        out.set(known.id, swrObservation(job, ctx.log));
        byJob.delete(job.id);
        continue;
      }
      if (used.has(job.id)) continue;
      const created = job.createdAt ? Date.parse(job.createdAt) : NaN;
      const i = unmatched.findIndex(({ task, tag, since }) => {
        const to = swrTargetOf(task).to;
        return job.tag === tag && job.remoteRegionId === to.remoteRegion && job.remoteNamespace === to.remoteNamespace && !(created < since);
      });
      if (i < 0) continue;
      const { task } = unmatched[i]!;
      unmatched.splice(i, 1);
      used.add(job.id);
      if (await ctx.adopt(task, swrJobRef(job.id), Number.isNaN(created) ? null : created)) {
        ctx.count('swr.jobsAdopted');
        out.set(task.id, swrObservation(job, ctx.log));
      }
    }
    const last = jobs.at(-1);
    // A short page is the last one; records left out still filled this one.
    if (jobs.length + skipped < SWR_PAGE_SIZE || (last?.createdAt && Date.parse(last.createdAt) < stopBefore)) {
      complete = true;
      break;
    }
  }
  if (complete || (byJob.size === 0 && unmatched.length === 0)) {
    for (const t of [...byJob.values(), ...unmatched.map((u) => u.task)]) {
      // A job younger than the skew window may not be listed yet: look again next run.
      if (ctx.clock.now() - Date.parse(t.cloudCreatedAt ?? t.createdAt) < CREATED_SKEW_MS) continue;
      out.set(t.id, { kind: 'gone', code: 'SWR.SyncJobNotFound', message: `no SWR sync job found for ${t.cloudRef}`, requestId: null });
    }
  }
  return out;
}
