/**
 * Re-running finished tasks: an operator's retry, or a push delivered again after its task failed.
 * Re-opening is not an edge of the state machine the sweep walks (failed and canceled stay terminal for
 * it); it is this one guarded write, under the task's row lock: back to pending, due now, with a fresh
 * attempt budget, and an event naming who asked and why. Two concurrent re-runs of one task re-open it
 * once: the second finds it open again and is told so. The drift audit re-opens a succeeded task too,
 * when the target no longer holds what it copied (`reopenDrifted`).
 */
import type { Queryable } from './db.ts';
import { type LedgerCore, appendEvent, byIdState, nowIso, recomputeReplication } from './core.ts';
import { type TaskChange, loggingChanges } from './task-log.ts';
import { toIso } from './keys.ts';
import { decodeCursor, encodeCursor } from './queries.ts';
import { type Iso, type Json, type TaskRow, type TimeInput, toTask } from './rows.ts';
import { LedgerInputError, OPEN_STATES, type TaskState } from './states.ts';

export const RERUNNABLE_STATES = ['failed', 'canceled', 'timed_out'] as const satisfies readonly TaskState[];
export type RerunnableState = (typeof RERUNNABLE_STATES)[number];

export function isRerunnable(s: TaskState): s is RerunnableState {
  return (RERUNNABLE_STATES as readonly TaskState[]).includes(s);
}

/**
 * What the drift audit re-opens when the target lacks the image: a success someone undid at the target,
 * or a failure the retries gave up on. A canceled task stays canceled: an operator chose that.
 */
export const DRIFT_REOPENABLE_STATES = ['succeeded', 'failed', 'timed_out'] as const satisfies readonly TaskState[];

export function isDriftReopenable(s: TaskState): boolean {
  return (DRIFT_REOPENABLE_STATES as readonly TaskState[]).includes(s);
}

export interface RerunRequest {
  actor: string;
  reason: string;
  /** Recorded with the event (e.g. the webhook's request id). */
  details?: Json;
}

export type RerunResult =
  /** Re-opened now, from `from`. */
  | { outcome: 'reopened'; task: TaskRow; from: RerunnableState }
  /** Open again already: an earlier re-run re-opened it and it has not finished since. */
  | { outcome: 'already'; task: TaskRow }
  /** Nothing to re-run: succeeded, or still on its first run. */
  | { outcome: 'refused'; task: TaskRow };

export interface RerunFilter {
  states: readonly RerunnableState[];
  rule?: string | undefined;
  /** Tasks that ended at or after. */
  since?: TimeInput | undefined;
  limit: number;
  cursor?: string | null | undefined;
  /** List what would be re-opened, writing nothing. */
  dryRun?: boolean | undefined;
}

export interface RerunPage {
  /** The tasks re-opened (or, in a dry run, that would be), as they were before. */
  items: Array<{ before: TaskRow; after: TaskRow | null }>;
  nextCursor: string | null;
}

function checkRequest(r: RerunRequest): void {
  if (!r.actor) throw new LedgerInputError('actor', 'required, non-empty string');
  if (!r.reason) throw new LedgerInputError('reason', 'required, non-empty string');
}

async function lockTask(tx: Queryable, id: string): Promise<TaskRow | null> {
  const { rows } = await tx.query('SELECT * FROM tasks WHERE id = $1 FOR UPDATE', [id]);
  return rows[0] ? toTask(rows[0]) : null;
}

async function reopenIn(tx: Queryable, task: TaskRow, r: RerunRequest, now: Iso, changes: TaskChange[]): Promise<TaskRow> {
  const { rows } = await tx.query(
    `UPDATE tasks SET state = 'pending', reruns = reruns + 1, attempt_base = attempts, max_attempts = attempts + $3,
                      next_attempt_at = $4::timestamptz, updated_at = $4::timestamptz, finished_at = NULL, deadline_at = NULL,
                      lease_owner = NULL, lease_expires_at = NULL, submit_started_at = NULL,
                      cloud_ref = NULL, cloud_created_at = NULL, cloud_status = NULL,
                      cancel_requested_at = NULL, cancel_reason = NULL
     WHERE id = $1 AND ${byIdState('state = $2')} RETURNING *`,
    [task.id, task.state, task.policy.maxAttempts, now],
  );
  const after = toTask(rows[0]!);
  await appendEvent(tx, task.id, now, task.state, 'pending', r.reason, r.actor, {
    ...(r.details ?? {}),
    rerun: after.reruns,
    attemptsBefore: task.attempts,
    budget: { from: after.attemptBase, max: after.maxAttempts },
    ...(task.lastError ? { previousError: task.lastError } : {}),
  });
  const image = await recomputeReplication(tx, task.replicationId, now);
  changes.push({ task: after, image, from: task.state, to: 'pending', reason: r.reason });
  return after;
}

export async function rerunTask(core: LedgerCore, id: string, r: RerunRequest): Promise<RerunResult | null> {
  checkRequest(r);
  const now = nowIso(core);
  return loggingChanges((changes) =>
    core.db.transaction(async (tx) => {
      const task = await lockTask(tx, id);
      if (!task) return null;
      if (isRerunnable(task.state)) return { outcome: 'reopened', task: await reopenIn(tx, task, r, now, changes), from: task.state };
      if (OPEN_STATES.includes(task.state) && task.reruns > 0) return { outcome: 'already', task };
      return { outcome: 'refused', task };
    }),
  );
}

/** Re-opens those of `ids` that are failed, canceled or timed out (a redelivered push's); returns them re-opened. */
export async function rerunIds(core: LedgerCore, ids: readonly string[], r: RerunRequest): Promise<TaskRow[]> {
  checkRequest(r);
  if (ids.length === 0) return [];
  const now = nowIso(core);
  return loggingChanges((changes) =>
    core.db.transaction(async (tx) => {
      const out: TaskRow[] = [];
      // Sorted: concurrent callers lock rows in one order and never deadlock.
      for (const id of [...new Set(ids)].sort()) {
        const task = await lockTask(tx, id);
        if (task && isRerunnable(task.state)) out.push(await reopenIn(tx, task, r, now, changes));
      }
      return out;
    }),
  );
}

/** Re-opens the task if it is still in a state the audit re-opens (it may have moved since it was read); null otherwise. */
export async function reopenDrifted(core: LedgerCore, id: string, r: RerunRequest): Promise<TaskRow | null> {
  checkRequest(r);
  const now = nowIso(core);
  return loggingChanges((changes) =>
    core.db.transaction(async (tx) => {
      const task = await lockTask(tx, id);
      return task && isDriftReopenable(task.state) ? reopenIn(tx, task, r, now, changes) : null;
    }),
  );
}

/**
 * One page of the bulk retry: finished tasks matching `f`, oldest ending first, re-opened in one
 * transaction (all of the page or none). Rows another transaction holds are skipped, not waited for.
 */
export async function rerunMany(core: LedgerCore, f: RerunFilter, r: RerunRequest): Promise<RerunPage> {
  checkRequest(r);
  if (f.states.length === 0 || f.states.some((s) => !isRerunnable(s))) throw new LedgerInputError('state', `one or more of ${RERUNNABLE_STATES.join(', ')}`);
  if (!(Number.isInteger(f.limit) && f.limit > 0 && f.limit <= 500)) throw new LedgerInputError('limit', 'integer 1..500');
  const after = f.cursor ? decodeCursor(f.cursor) : null;
  const now = nowIso(core);
  return loggingChanges((changes) =>
    core.db.transaction(async (tx) => {
      const { rows } = await tx.query(
        `SELECT * FROM tasks
       WHERE state = ANY($1::text[])
         AND ($2::text IS NULL OR rule = $2)
         AND ($3::timestamptz IS NULL OR finished_at >= $3::timestamptz)
         AND ($4::timestamptz IS NULL OR (finished_at, id) > ($4::timestamptz, $5::text))
       ORDER BY finished_at, id
       LIMIT $6
       ${f.dryRun ? '' : 'FOR UPDATE SKIP LOCKED'}`,
        [[...f.states], f.rule ?? null, f.since === undefined ? null : toIso(f.since, 'since'), after?.at ?? null, after?.id ?? null, f.limit + 1],
      );
      const page = rows.slice(0, f.limit).map(toTask);
      const items: RerunPage['items'] = [];
      for (const before of page) items.push({ before, after: f.dryRun ? null : await reopenIn(tx, before, r, now, changes) });
      const last = page.at(-1);
      return { items, nextCursor: rows.length > f.limit && last?.finishedAt ? encodeCursor(last.finishedAt, last.id) : null };
    }),
  );
}
