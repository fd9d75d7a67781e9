/**
 * The sweep's batch reads and writes: one statement for many tasks, so a sweep's cost grows with the
 * number of open tasks, not with round trips. SQL valid on PostgreSQL and PGlite; times come from the
 * caller (the ledger's clock).
 */
import type { Db } from './db.ts';
import { type Provider, type TaskRow, toTask } from './rows.ts';

const iso = (ms: number) => new Date(ms).toISOString();

export interface ScopeSummary {
  scope: string;
  open: number;
  /** Oldest cloud creation time (else ledger creation time) among the scope's submitted/running tasks. */
  oldestAt: number;
}

/**
 * Scopes with submitted/running tasks (the ones the cloud
 * knows about), smallest first so a budget cut leaves few scopes behind.
 */
export async function activeScopes(db: Db, provider: Provider): Promise<ScopeSummary[]> {
  const { rows } = await db.query<{ scope: string; open: unknown; oldest: unknown }>(
    `SELECT scope, count(*) AS open, min(coalesce(cloud_created_at, created_at)) AS oldest
     FROM tasks WHERE provider = $1 AND state IN ('submitted', 'running')
     GROUP BY scope ORDER BY count(*), scope`,
    [provider],
  );
  return rows.map((r) => ({ scope: r.scope, open: Number(r.open), oldestAt: new Date(r.oldest as string).getTime() }));
}

/**
 * Like claimDue for
 * pending tasks, but leaves young first-time tasks to the webhook that recorded them: a task is taken
 * only if created before `graceCutoff`, or a submission already started (in doubt), or it is a retry,
 * or cancel was requested.
 */
export async function claimPendingForSubmission(
  db: Db,
  o: { owner: string; leaseMs: number; limit: number; now: number; graceCutoff: number },
): Promise<TaskRow[]> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query(
      `WITH due AS (
         SELECT id FROM tasks
         WHERE state = 'pending'
           AND (lease_expires_at IS NULL OR lease_expires_at <= $1::timestamptz)
           AND (next_attempt_at IS NULL OR next_attempt_at <= $1::timestamptz OR cancel_requested_at IS NOT NULL)
           AND (created_at <= $2::timestamptz OR submit_started_at IS NOT NULL OR attempts > 0 OR cancel_requested_at IS NOT NULL)
         ORDER BY next_attempt_at NULLS FIRST, created_at, id
         LIMIT $3
         FOR UPDATE SKIP LOCKED)
       UPDATE tasks t SET lease_owner = $4, lease_expires_at = $5::timestamptz, updated_at = $1::timestamptz
       FROM due WHERE t.id = due.id
       RETURNING t.*`,
      [iso(o.now), iso(o.graceCutoff), o.limit, o.owner, iso(o.now + o.leaseMs)],
    );
    return rows.map(toTask);
  });
}

/** Gives back many leases in one statement. */
export async function releaseMany(db: Db, ids: readonly string[], owner: string, now: number): Promise<number> {
  if (ids.length === 0) return 0;
  const { rows } = await db.query(
    `UPDATE tasks SET lease_owner = NULL, lease_expires_at = NULL, updated_at = $3::timestamptz
     WHERE id = ANY($1::text[]) AND lease_owner = $2 RETURNING id`,
    [[...ids], owner, iso(now)],
  );
  return rows.length;
}

/**
 * Submitted → running for
 * many tasks in one statement, with their task_events, releasing the lease. The replication state
 * does not change (submitted and running both count as in progress), so it is not recomputed.
 * Returns the ids that moved (a task someone else moved or holds is left alone).
 */
export async function markRunningMany(
  db: Db,
  ids: readonly string[],
  o: { owner: string; now: number; cloudStatus: string; reason: string },
): Promise<string[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<{ task_id: string }>(
    `WITH moved AS (
       UPDATE tasks SET state = 'running', cloud_status = $3, updated_at = $4::timestamptz,
                        lease_owner = NULL, lease_expires_at = NULL
       WHERE id = ANY($1::text[]) AND state = 'submitted' AND lease_owner = $2
       RETURNING id)
     INSERT INTO task_events (task_id, at, from_state, to_state, reason, actor, details)
     SELECT id, $4::timestamptz, 'submitted', 'running', $5, $2, '{}'::jsonb FROM moved
     RETURNING task_id`,
    [[...ids], o.owner, o.cloudStatus, iso(o.now), o.reason],
  );
  return rows.map((r) => r.task_id);
}

/** Which of these ECS task ids are already known (any state), so re-seen Processing tasks are not rewritten. */
export async function knownEcsTasks(db: Db, region: string, taskIds: readonly string[]): Promise<Set<string>> {
  if (taskIds.length === 0) return new Set();
  const { rows } = await db.query<{ task_id: string }>('SELECT task_id FROM ecs_tasks WHERE region = $1 AND task_id = ANY($2::text[])', [region, [...taskIds]]);
  return new Set(rows.map((r) => r.task_id));
}

/** Replication row and how many of its other tasks are not succeeded (for the success notification). */
export async function replicationForSuccess(
  db: Db,
  replicationId: string,
  taskId: string,
): Promise<{ state: string; source: string; namespace: string; repository: string; tag: string | null; digest: string | null; othersNotSucceeded: number } | null> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT r.state, r.source, r.namespace, r.repository, r.tag, r.digest,
            (SELECT count(*) FROM tasks t WHERE t.replication_id = r.id AND t.id <> $2 AND t.state <> 'succeeded') AS others
     FROM replications r WHERE r.id = $1`,
    [replicationId, taskId],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    state: String(r.state),
    source: String(r.source),
    namespace: String(r.namespace),
    repository: String(r.repository),
    tag: r.tag == null ? null : String(r.tag),
    digest: r.digest == null ? null : String(r.digest),
    othersNotSucceeded: Number(r.others),
  };
}
