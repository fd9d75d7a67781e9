/**
 * The copy provider's reconciliation advances the copies it reports on: for each open task (a few
 * at once), lease its job, run the engine from the saved checkpoint until the copy ends or the
 * slice must stop (the sweep's time, the lease, the deadline, a cancel), and say where it got to.
 */
import { randomUUID } from 'node:crypto';
import type { copyImage } from '../../copy/index.ts';
import { CopyError, type CopyCheckpoint, type CopyResult, type ImageRef } from '../../copy/types.ts';
import type { CopyJobRow, CopyJobs, Json, TaskRow } from '../../ledger/index.ts';
import type { Observation, ObserveContext } from '../types.ts';
import type { Endpoints } from './endpoints.ts';
import { isRetryable, jobObservation, running, type JobError, type JobResult } from './jobs.ts';
import { parseCopyTarget } from './target.ts';

/** A job's lease, renewed by every checkpoint: a slice that dies is taken over this long after its last one. */
export const LEASE_MS = 120_000;
/** A slice ends while its lease still has this long to run, so its last checkpoint lands under it. */
const LEASE_RESERVE_MS = 30_000;
/** How often a running slice looks for a cancel (between blobs). */
const CANCEL_POLL_MS = 1_000;
/** Copies advanced at once per scope. */
export const PARALLEL_COPIES = 2;

export interface CopyRuntime {
  jobs: CopyJobs;
  endpoints: Endpoints;
  copyImage: typeof copyImage;
}

export async function advanceCopies(rt: CopyRuntime, tasks: readonly TaskRow[], ctx: ObserveContext): Promise<Map<string, Observation>> {
  const out = new Map<string, Observation>();
  let next = 0;
  const worker = async () => {
    while (next < tasks.length && ctx.hasTime()) {
      const task = tasks[next++]!;
      try {
        const obs = await advance(rt, task, ctx);
        if (obs) out.set(task.id, obs);
      } catch (err) {
        // Ferry's own trouble (the ledger, a bug): the task is looked at again next run.
        ctx.count('copy.sliceErrors');
        ctx.log.warn('copy: slice not run', { taskId: task.id, error: err instanceof Error ? err.message : String(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_COPIES, tasks.length) }, worker));
  return out;
}

const pastDeadline = (task: TaskRow, now: number) => task.deadlineAt !== null && Date.parse(task.deadlineAt) <= now;

/** One task: its finished job's outcome, or one slice of work; undefined when another worker holds the job. */
async function advance(rt: CopyRuntime, task: TaskRow, ctx: ObserveContext): Promise<Observation | undefined> {
  if (!task.cloudRef) return { kind: 'gone', code: 'NoCloudRef', message: 'task is submitted but has no copy job reference', requestId: null };
  const job = await rt.jobs.get(task.cloudRef);
  if (!job) return { kind: 'gone', code: 'CopyJobNotFound', message: `no copy job ${task.cloudRef}`, requestId: null };
  const ended = jobObservation(job);
  if (ended) return ended;
  // The sweep is about to cancel it (operator, deadline): no work first.
  if (task.cancelRequestedAt || pastDeadline(task, ctx.clock.now())) return running();
  const owner = `copy-${randomUUID()}`;
  const claimed = await rt.jobs.claim(job.ref, owner, LEASE_MS);
  if (!claimed) {
    ctx.count('copy.leaseHeld');
    return undefined;
  }
  try {
    return await slice(rt, task, claimed, owner, ctx);
  } finally {
    await rt.jobs.release(job.ref, owner).catch(() => {});
  }
}

class LeaseLost extends Error {}

async function slice(rt: CopyRuntime, task: TaskRow, job: CopyJobRow, owner: string, ctx: ObserveContext): Promise<Observation | undefined> {
  const { jobs } = rt;
  const fail = async (e: JobError): Promise<Observation> => {
    if (!(await jobs.finish(job.ref, owner, { state: 'failed', error: e as unknown as Json }))) return (await reread(jobs, job.ref)) ?? running();
    ctx.count('copy.failed');
    return { kind: 'failed', cloudStatus: 'FAILED', code: e.code, message: e.message, requestId: null, retryable: e.retryable };
  };

  const { from, to } = parseCopyTarget(task.target);
  let src: ImageRef;
  let dst: ImageRef;
  try {
    src = { registry: rt.endpoints.of(from.source), repository: `${from.namespace}/${from.repository}`, tag: from.tag, digest: from.digest };
    dst = { registry: rt.endpoints.of(to.registry), repository: `${to.namespace}/${to.repository}`, tag: to.tag };
  } catch (err) {
    if (err instanceof CopyError) return fail({ code: err.code, message: err.message, retryable: false, status: null });
    throw err;
  }

  let leaseUntil = ctx.clock.now() + LEASE_MS;
  let canceled = false;
  let lastLook = ctx.clock.now();
  let looking = false;
  const lookForCancel = () => {
    if (looking || ctx.clock.now() - lastLook < CANCEL_POLL_MS) return;
    looking = true;
    lastLook = ctx.clock.now();
    jobs
      .state(job.ref)
      .then((s) => {
        if (s !== 'running') canceled = true;
      })
      .catch(() => {})
      .finally(() => {
        looking = false;
      });
  };

  ctx.count('copy.slices');
  let result: CopyResult;
  try {
    result = await rt.copyImage(
      src,
      dst,
      { platforms: to.platforms, referrers: to.referrers },
      {
        checkpoint: async (state) => {
          if (!(await jobs.saveCheckpoint(job.ref, owner, state as unknown as Json, LEASE_MS))) throw new LeaseLost(`copy job ${job.ref} moved while this slice ran`);
          leaseUntil = ctx.clock.now() + LEASE_MS;
        },
        shouldStop: () => {
          if (canceled) return 'cancel';
          lookForCancel();
          const now = ctx.clock.now();
          if (!ctx.hasTime() || now > leaseUntil - LEASE_RESERVE_MS || pastDeadline(task, now)) return 'slice';
          return null;
        },
      },
      (job.checkpoint as unknown as CopyCheckpoint | null) ?? undefined,
    );
  } catch (err) {
    if (err instanceof LeaseLost) return reread(jobs, job.ref);
    if (err instanceof CopyError) return fail({ code: err.code, message: err.message, retryable: isRetryable(err.code, err.retryable), status: err.status });
    throw err;
  }

  switch (result.status) {
    case 'done': {
      const r: JobResult = { sourceDigest: result.sourceDigest, targetDigest: result.targetDigest, stats: { ...result.stats } };
      if (!(await jobs.finish(job.ref, owner, { state: 'done', result: r as unknown as Json }))) return (await reread(jobs, job.ref)) ?? running();
      ctx.count('copy.done');
      return jobObservation({ ...job, state: 'done', result: r as unknown as Json }) ?? running();
    }
    case 'paused':
      await jobs.saveCheckpoint(job.ref, owner, result.checkpoint as unknown as Json, LEASE_MS);
      ctx.count('copy.paused');
      return running();
    case 'canceled':
      return (await reread(jobs, job.ref)) ?? { kind: 'canceled', cloudStatus: 'CANCELED' };
  }
}

/** The job as it is now: its end, running, or (gone) nothing to say. */
async function reread(jobs: CopyJobs, ref: string): Promise<Observation | undefined> {
  const job = await jobs.get(ref);
  return job ? (jobObservation(job) ?? running()) : undefined;
}
