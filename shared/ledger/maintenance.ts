/** Retention (deleting finished history past its age) and the health probe. */
import type { Db } from './db.ts';
import type { LedgerCore } from './core.ts';
import { schemaVersion } from './migrate.ts';
import { LedgerInputError, OPEN_STATES, TERMINAL_STATES } from './states.ts';

export interface PruneOptions {
  olderThanDays: number;
  /** Rows deleted per statement (default 500). */
  batchSize?: number;
  /** Checked before each batch: once false, no further batch starts and the result is not `complete`. */
  hasTime?: () => boolean;
}

export interface PruneResult {
  tasks: number;
  replications: number;
  ecsTasks: number;
  notifications: number;
  /** False when `hasTime` stopped the pruning before everything past the cutoff was deleted. */
  complete: boolean;
}

export interface Health {
  ok: boolean;
  backend: Db['backend'];
  schemaVersion?: number;
  openTasks?: number;
  latencyMs: number;
  error?: string;
}

const DAY_MS = 86_400_000;

export async function prune(core: LedgerCore, opts: PruneOptions): Promise<PruneResult> {
  if (!(Number.isFinite(opts.olderThanDays) && opts.olderThanDays >= 0)) {
    throw new LedgerInputError('olderThanDays', 'must be a number >= 0');
  }
  const batch = opts.batchSize ?? 500;
  if (!(Number.isInteger(batch) && batch > 0)) throw new LedgerInputError('batchSize', 'integer > 0');
  const hasTime = opts.hasTime ?? (() => true);
  const cutoff = new Date(core.now() - opts.olderThanDays * DAY_MS).toISOString();
  let complete = true;
  // Each statement deletes at most `batch` rows; a short batch means that kind is done.
  const loop = async (sql: string, params: unknown[]) => {
    let total = 0;
    for (;;) {
      if (!hasTime()) {
        complete = false;
        return total;
      }
      const { rows } = await core.db.transaction((tx) => tx.query(sql, [...params, batch]));
      total += rows.length;
      if (rows.length < batch) return total;
    }
  };
  const tasks = await loop(
    `DELETE FROM tasks WHERE id IN (
       SELECT id FROM tasks WHERE finished_at < $1::timestamptz AND state = ANY($2::text[]) LIMIT $3)
     RETURNING id`,
    [cutoff, [...TERMINAL_STATES]],
  );
  const replications = await loop(
    `DELETE FROM replications WHERE id IN (
       SELECT r.id FROM replications r
       WHERE r.received_at < $1::timestamptz AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.replication_id = r.id)
       LIMIT $2)
     RETURNING id`,
    [cutoff],
  );
  const ecsTasks = await loop(
    `DELETE FROM ecs_tasks WHERE (region, task_id) IN (
       SELECT region, task_id FROM ecs_tasks WHERE state <> 'watching' AND finished_at < $1::timestamptz LIMIT $2)
     RETURNING task_id`,
    [cutoff],
  );
  const notifications = await loop(
    `DELETE FROM notifications WHERE id IN (
       SELECT id FROM notifications WHERE state IN ('sent', 'dead') AND updated_at < $1::timestamptz LIMIT $2)
     RETURNING id`,
    [cutoff],
  );
  return { tasks, replications, ecsTasks, notifications, complete };
}

export async function health(core: LedgerCore): Promise<Health> {
  const { db } = core;
  const started = performance.now();
  try {
    const version = await schemaVersion(db);
    const { rows } = await db.query<{ n: unknown }>('SELECT count(*) AS n FROM tasks WHERE state = ANY($1::text[])', [[...OPEN_STATES]]);
    return {
      ok: true,
      backend: db.backend,
      schemaVersion: version,
      openTasks: Number(rows[0]?.n ?? 0),
      latencyMs: Math.round(performance.now() - started),
    };
  } catch (err) {
    return {
      ok: false,
      backend: db.backend,
      latencyMs: Math.round(performance.now() - started),
      error: err instanceof Error ? err.message : String(err),
    };
  }
}
