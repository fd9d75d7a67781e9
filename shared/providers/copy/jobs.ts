/**
 * Copy jobs in Ferry's words: what a job row says as an observation, and the cancel vocabulary.
 * A job ends done, failed or canceled; until then the task runs.
 */
import type { CopyCheckpoint, CopyErrorCode } from '../../copy/types.ts';
import type { CopyJobRow, CopyJobs, Json } from '../../ledger/index.ts';
import type { CancelOutcome, Observation } from '../types.ts';

/** Codes another attempt cannot fix; the rest follow the engine's own word. */
const PERMANENT = new Set<string>(['DIGEST_MISMATCH', 'UNAUTHORIZED', 'DENIED']);
const TRANSIENT = new Set<string>(['TRANSIENT', 'TOOMANYREQUESTS']);

export function isRetryable(code: CopyErrorCode | string, engineSays: boolean): boolean {
  if (PERMANENT.has(code)) return false;
  if (TRANSIENT.has(code)) return true;
  return engineSays;
}

export interface JobError {
  code: string;
  message: string;
  retryable: boolean;
  status: number | null;
}

export interface JobResult {
  sourceDigest: string;
  targetDigest: string;
  stats: Record<string, unknown>;
}

/** A finished job's observation, or null while it is open. */
export function jobObservation(job: CopyJobRow): Observation | null {
  switch (job.state) {
    case 'done': {
      const r = job.result as unknown as JobResult;
      return { kind: 'succeeded', cloudStatus: 'DONE', details: { sourceDigest: r.sourceDigest, targetDigest: r.targetDigest, copy: r.stats } };
    }
    case 'failed': {
      const e = job.error as unknown as JobError;
      return { kind: 'failed', cloudStatus: 'FAILED', code: e.code, message: e.message, requestId: null, retryable: e.retryable };
    }
    case 'canceled':
      return { kind: 'canceled', cloudStatus: 'CANCELED' };
    default:
      return null;
  }
}

export const running = (cloudStatus = 'COPYING'): Observation => ({ kind: 'running', cloudStatus });

/**
 * What a new attempt may keep of the last one's checkpoint: what is at the target already (the engine
 * checks it again) and the pinned source digest; never an upload session, which may have expired.
 */
export function carriedCheckpoint(previous: CopyJobRow | null): Json | null {
  const c = previous?.checkpoint as unknown as CopyCheckpoint | null | undefined;
  if (!c || !Array.isArray(c.done) || c.done.length === 0) return null;
  const kept: CopyCheckpoint = { sourceDigest: c.sourceDigest, done: c.done, uploads: [], bytesCopied: 0, blobsCopied: 0, blobsSkipped: 0, blobsMounted: 0 };
  return kept as unknown as Json;
}

/** Cancels a job in the ledger: a slice working on it stops at its next look, before writing the tag. */
export async function cancelJob(jobs: CopyJobs, ref: string | null): Promise<CancelOutcome> {
  if (!ref) return { outcome: 'canceled', already: false, cloudCall: false, note: 'no copy job recorded; canceled in the ledger only' };
  const r = await jobs.cancel(ref);
  if (!r) return { outcome: 'canceled', already: false, cloudCall: false, note: `no copy job ${ref}; canceled in the ledger only` };
  if (r.canceled) return { outcome: 'canceled', already: false, cloudStatus: 'CANCELED' };
  switch (r.job.state) {
    case 'done':
      return { outcome: 'finished', cloudStatus: 'DONE', state: 'succeeded' };
    case 'failed': {
      const e = r.job.error as unknown as JobError;
      return { outcome: 'finished', cloudStatus: 'FAILED', state: 'failed', error: { code: e.code, message: e.message, requestId: null, status: e.status } };
    }
    default:
      return { outcome: 'canceled', already: true, cloudStatus: 'CANCELED' };
  }
}

/** An operator's cancel by a job's reference (`POST /cancel`): a job Ferry has no record of is not found. */
export async function cancelJobByRef(jobs: CopyJobs, ref: string): Promise<CancelOutcome> {
  if (!(await jobs.get(ref))) return { outcome: 'not_found', error: { code: 'CopyJobNotFound', message: `no copy job ${ref}`, requestId: null, status: null } };
  return cancelJob(jobs, ref);
}
