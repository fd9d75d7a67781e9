/**
 * Copies Ferry makes itself (the copy provider): one job per submission of a task, named by the
 * task's cloud reference. A job is advanced in slices by whoever holds its lease; each slice's
 * checkpoint is written under that lease, so two sweeps never work one copy and a crashed slice's
 * successor starts from the last checkpoint. The ledger keeps the JSON as given: the provider owns
 * its shape.
 */
import type { Db } from './db.ts';
import { type Iso, iso, isoOrNull, type Json } from './rows.ts';
import { LedgerInputError } from './states.ts';

export const COPY_JOB_STATES = ['pending', 'running', 'done', 'failed', 'canceled'] as const;
export type CopyJobState = (typeof COPY_JOB_STATES)[number];

export interface CopyJobRow {
  ref: string;
  taskId: string;
  attempt: number;
  state: CopyJobState;
  leaseOwner: string | null;
  leaseExpiresAt: Iso | null;
  checkpoint: Json | null;
  result: Json | null;
  error: Json | null;
  createdAt: Iso;
  updatedAt: Iso;
  finishedAt: Iso | null;
}

const jsonOrNull = (v: unknown): Json | null => (v == null ? null : typeof v === 'string' ? (JSON.parse(v) as Json) : (v as Json));

function toCopyJob(r: Record<string, unknown>): CopyJobRow {
  return {
    ref: String(r.ref),
    taskId: String(r.task_id),
    attempt: Number(r.attempt),
    state: r.state as CopyJobState,
    leaseOwner: r.lease_owner == null ? null : String(r.lease_owner),
    leaseExpiresAt: isoOrNull(r.lease_expires_at),
    checkpoint: jsonOrNull(r.checkpoint),
    result: jsonOrNull(r.result),
    error: jsonOrNull(r.error),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    finishedAt: isoOrNull(r.finished_at),
  };
}

function need(value: string, field: string): string {
  if (typeof value !== 'string' || value === '') throw new LedgerInputError(field, 'required, non-empty string');
  return value;
}

function checkLease(owner: string, leaseMs: number): void {
  need(owner, 'owner');
  if (!(Number.isFinite(leaseMs) && leaseMs > 0)) throw new LedgerInputError('leaseMs', 'must be a number > 0');
}

const OPEN = `state IN ('pending', 'running')`;

export class CopyJobs {
  constructor(
    private readonly db: Db,
    private readonly now: () => number,
  ) {}

  private at(ms = 0): Iso {
    return new Date(this.now() + ms).toISOString();
  }

  /**
   * Records the job of one submission, starting from `checkpoint` when given (what an earlier attempt
   * already copied); recording it again returns the existing row unchanged.
   */
  async create(input: { ref: string; taskId: string; attempt: number; checkpoint?: Json | null | undefined }): Promise<CopyJobRow> {
    const now = this.at();
    const { rows } = await this.db.query(
      `INSERT INTO copy_jobs (ref, task_id, attempt, checkpoint, created_at, updated_at) VALUES ($1, $2, $3, $4::jsonb, $5::timestamptz, $5::timestamptz)
       ON CONFLICT (ref) DO UPDATE SET ref = EXCLUDED.ref
       RETURNING *`,
      [need(input.ref, 'ref'), need(input.taskId, 'taskId'), input.attempt, input.checkpoint ? JSON.stringify(input.checkpoint) : null, now],
    );
    return toCopyJob(rows[0]!);
  }

  async get(ref: string): Promise<CopyJobRow | null> {
    const { rows } = await this.db.query('SELECT * FROM copy_jobs WHERE ref = $1', [ref]);
    return rows[0] ? toCopyJob(rows[0]) : null;
  }

  /** The state alone: what a running slice reads to learn it was cancelled. */
  async state(ref: string): Promise<CopyJobState | null> {
    const { rows } = await this.db.query<{ state: CopyJobState }>('SELECT state FROM copy_jobs WHERE ref = $1', [ref]);
    return rows[0]?.state ?? null;
  }

  /** The task's newest job (an interrupted submission's, when its reference was never written to the task). */
  async latestForTask(taskId: string): Promise<CopyJobRow | null> {
    const { rows } = await this.db.query('SELECT * FROM copy_jobs WHERE task_id = $1 ORDER BY created_at DESC, attempt DESC LIMIT 1', [taskId]);
    return rows[0] ? toCopyJob(rows[0]) : null;
  }

  /**
   * Leases an open job to `owner` (pending becomes running) when nobody else holds it or their lease
   * expired; null otherwise. One statement: of two concurrent claimers one wins.
   */
  async claim(ref: string, owner: string, leaseMs: number): Promise<CopyJobRow | null> {
    checkLease(owner, leaseMs);
    const { rows } = await this.db.query(
      `UPDATE copy_jobs SET lease_owner = $2, lease_expires_at = $4::timestamptz, updated_at = $3::timestamptz,
              state = CASE WHEN state = 'pending' THEN 'running' ELSE state END
       WHERE ref = $1 AND ${OPEN}
         AND (lease_owner IS NULL OR lease_owner = $2 OR lease_expires_at IS NULL OR lease_expires_at <= $3::timestamptz)
       RETURNING *`,
      [ref, owner, this.at(), this.at(leaseMs)],
    );
    return rows[0] ? toCopyJob(rows[0]) : null;
  }

  /** Saves a checkpoint and extends the lease; false when `owner` no longer holds the running job. */
  async saveCheckpoint(ref: string, owner: string, checkpoint: Json, leaseMs: number): Promise<boolean> {
    checkLease(owner, leaseMs);
    const { rows } = await this.db.query(
      `UPDATE copy_jobs SET checkpoint = $3::jsonb, lease_expires_at = $5::timestamptz, updated_at = $4::timestamptz
       WHERE ref = $1 AND lease_owner = $2 AND state = 'running' RETURNING ref`,
      [ref, owner, JSON.stringify(checkpoint), this.at(), this.at(leaseMs)],
    );
    return rows.length > 0;
  }

  /** running → done | failed under `owner`'s lease, recording the result or the error; false when it moved. */
  async finish(ref: string, owner: string, end: { state: 'done'; result: Json } | { state: 'failed'; error: Json }): Promise<boolean> {
    const now = this.at();
    const { rows } = await this.db.query(
      `UPDATE copy_jobs SET state = $3, result = $4::jsonb, error = $5::jsonb, lease_owner = NULL, lease_expires_at = NULL,
              updated_at = $6::timestamptz, finished_at = $6::timestamptz
       WHERE ref = $1 AND lease_owner = $2 AND state = 'running' RETURNING ref`,
      [ref, owner, end.state, end.state === 'done' ? JSON.stringify(end.result) : null, end.state === 'failed' ? JSON.stringify(end.error) : null, now],
    );
    return rows.length > 0;
  }

  /** Gives the lease back (the slice ended; the job stays as it is). */
  async release(ref: string, owner: string): Promise<void> {
    await this.db.query(`UPDATE copy_jobs SET lease_owner = NULL, lease_expires_at = NULL, updated_at = $3::timestamptz WHERE ref = $1 AND lease_owner = $2`, [ref, owner, this.at()]);
  }

  /**
   * Cancels an open job whoever holds it (a running slice stops at its next look); returns the row
   * after, `canceled: false` when it had already ended (or null when there is no such job).
   */
  async cancel(ref: string): Promise<{ job: CopyJobRow; canceled: boolean } | null> {
    const now = this.at();
    const { rows } = await this.db.query(
      `UPDATE copy_jobs SET state = 'canceled', updated_at = $2::timestamptz, finished_at = $2::timestamptz
       WHERE ref = $1 AND ${OPEN} RETURNING *`,
      [ref, now],
    );
    if (rows[0]) return { job: toCopyJob(rows[0]), canceled: true };
    const job = await this.get(ref);
    return job ? { job, canceled: false } : null;
  }
}
