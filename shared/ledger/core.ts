/**
 * What every part of the ledger shares: the database, the clock, and the writes several of them make
 * inside their transactions (task events, cloud refs, the replication roll-up). Internal to the ledger:
 * only the Ledger facade (ledger.ts) hands this out.
 */
import type { Db, Queryable } from './db.ts';
import { toIso } from './keys.ts';
import { type Iso, type Json, type TaskRow, type TimeInput, toTask } from './rows.ts';
import { NotFoundError, type TaskState } from './states.ts';
import { IMAGE_COLUMNS, imageFromRow } from './task-log.ts';

export interface LedgerCore {
  readonly db: Db;
  /** Epoch ms; every time the ledger writes or compares against comes from here. */
  now(): number;
}

export function nowIso(core: LedgerCore): Iso {
  return new Date(core.now()).toISOString();
}

/** The ledger's now plus `ms`, as ISO. */
export function laterIso(core: LedgerCore, ms: number): Iso {
  return new Date(core.now() + ms).toISOString();
}

export function optIso(v: TimeInput | null | undefined, field: string): Iso | null {
  return v == null ? null : toIso(v, field);
}

/**
 * A state condition for statements that find their rows by id (or ids): `(state = 'running') IS TRUE`
 * means the same for a NOT NULL column, but the planner cannot prove an open-state partial index's
 * predicate from it, so it goes through the primary key. With a bare `state = 'running'` it may pick
 * tasks_open_scope or tasks_due instead, which after a burst of new tasks its statistics still call
 * empty, and read every open task for each row it updates (1M finished + 10k open: 18 ms per update).
 */
export function byIdState(condition: string): string {
  return `(${condition}) IS TRUE`;
}

export async function requireTask(q: Pick<Queryable, 'query'>, id: string): Promise<TaskRow> {
  const { rows } = await q.query('SELECT * FROM tasks WHERE id = $1', [id]);
  if (!rows[0]) throw new NotFoundError('task', id);
  return toTask(rows[0]);
}

export async function appendEvent(tx: Queryable, taskId: string, at: Iso, from: TaskState | null, to: TaskState, reason: string, actor: string, details: Json): Promise<void> {
  await tx.query(
    `INSERT INTO task_events (task_id, at, from_state, to_state, reason, actor, details)
     VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7::jsonb)`,
    [taskId, at, from, to, reason, actor, JSON.stringify(details)],
  );
}

export async function insertCloudRef(tx: Queryable, task: TaskRow, ref: string, createdAt: TimeInput | null, now: Iso): Promise<void> {
  await tx.query(
    `INSERT INTO task_cloud_refs (task_id, cloud_ref, attempt, created_at, recorded_at)
     VALUES ($1, $2, $3, $4::timestamptz, $5::timestamptz) ON CONFLICT (task_id, cloud_ref) DO NOTHING`,
    [task.id, ref, task.attempts, optIso(createdAt, 'cloudCreatedAt'), now],
  );
}

/**
 * Replication state from its tasks; returns the replication's source image (for the task-state line). The replication row is locked first so that two tasks of one
 * replication finishing concurrently cannot both compute from a snapshot missing the other's change.
 */
/** A replication's state from its tasks' (`$1`: the replication id). */
export const REPLICATION_STATE_SQL = `SELECT CASE
         WHEN count(*) = 0 OR bool_and(state = 'pending') THEN 'pending'
         WHEN bool_or(state IN ('pending', 'submitted', 'running')) THEN 'in_progress'
         WHEN bool_and(state = 'succeeded') THEN 'succeeded'
         WHEN bool_and(state = 'canceled') THEN 'canceled'
         WHEN bool_or(state = 'succeeded') THEN 'partially_failed'
         ELSE 'failed' END AS state
       FROM tasks WHERE replication_id = $1`;

export async function recomputeReplication(tx: Queryable, replicationId: string, now: Iso): Promise<string> {
  const { rows } = await tx.query(`SELECT ${IMAGE_COLUMNS} FROM replications r WHERE r.id = $1 FOR UPDATE`, [replicationId]);
  await tx.query(
    `UPDATE replications r SET state = agg.state, updated_at = $2::timestamptz
     FROM (${REPLICATION_STATE_SQL}) agg
     WHERE r.id = $1 AND r.state IS DISTINCT FROM agg.state`,
    [replicationId, now],
  );
  return rows[0] ? imageFromRow(rows[0]) : replicationId;
}
