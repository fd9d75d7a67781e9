/**
 * Writes that move a task: state-machine transitions (each with its task_event, the replication
 * roll-up and any notifications, in one transaction), and the lease-guarded writes around a
 * submission. Every write is guarded by the state it expects (and the lease when an owner is given):
 * a guard that fails throws and leaves the database untouched.
 */
import type { Queryable } from './db.ts';
import { type LedgerCore, appendEvent, byIdState, insertCloudRef, nowIso, optIso, recomputeReplication, requireTask } from './core.ts';
import { toIso } from './keys.ts';
import { IMAGE_COLUMNS, type TaskChange, imageFromRow, logTaskChange, loggingChanges } from './task-log.ts';
import { type NotificationInput, enqueueNotificationIn, enqueueSettledNotificationIn } from './outbox.ts';
import { type Iso, type Json, type TaskRow, type TimeInput, toTask } from './rows.ts';
import { IllegalTransitionError, LeaseLostError, LedgerInputError, OPEN_STATES, StaleStateError, type TaskState, canTransition, isTaskState, isTerminal } from './states.ts';

export interface TaskPatch {
  cloudRef?: string | null;
  cloudCreatedAt?: TimeInput | null;
  cloudStatus?: string | null;
  nextAttemptAt?: TimeInput | null;
  deadlineAt?: TimeInput | null;
  lastError?: { code: string; message: string; requestId?: string | null } | null;
  /** Drop the lease with this transition (terminal transitions and retries always drop it). */
  releaseLease?: boolean;
}

export interface TransitionInput {
  from: TaskState;
  to: TaskState;
  reason: string;
  actor: string;
  /** When given, the caller must hold the task's lease. */
  owner?: string;
  patch?: TaskPatch;
  details?: Json;
  /** Notifications queued in the same transaction (each at most once per subject/kind/target). */
  notify?: Array<Omit<NotificationInput, 'taskId' | 'replicationId'> & { about?: 'task' | 'replication'; whenSettled?: boolean }>;
}

export interface DeferInput {
  owner: string;
  until: TimeInput;
  reason: string;
  error?: TaskPatch['lastError'];
  /**
   * Left for the sweep now (the webhook had no cloud capacity for it): the lease ends as an expired
   * one rather than none, which tells the sweep's claim its recorder is done with it (no grace period).
   */
  handOff?: boolean;
  /** Nothing of this attempt reached the cloud: its start is undone (attempts, submit_started_at), so no lookup precedes the next. */
  withdraw?: boolean;
}

export async function transitions(core: LedgerCore, taskId: string, steps: readonly TransitionInput[]): Promise<TaskRow> {
  if (steps.length === 0) throw new LedgerInputError('steps', 'at least one transition');
  for (const t of steps) {
    if (!isTaskState(t.from) || !isTaskState(t.to) || !canTransition(t.from, t.to)) {
      throw new IllegalTransitionError(String(t.from), String(t.to), taskId);
    }
    if (!t.reason) throw new LedgerInputError('reason', 'required, non-empty string');
    if (!t.actor) throw new LedgerInputError('actor', 'required, non-empty string');
  }
  const now = nowIso(core);
  return loggingChanges((changes) =>
    core.db.transaction(async (tx) => {
      let last: TaskRow | undefined;
      for (const t of steps) last = await transitionIn(tx, taskId, t, now, changes);
      return last!;
    }),
  );
}

async function transitionIn(tx: Queryable, taskId: string, t: TransitionInput, now: Iso, changes: TaskChange[]): Promise<TaskRow> {
  const sets: string[] = ['state = $3', 'updated_at = $4::timestamptz'];
  const params: unknown[] = [taskId, t.from, t.to, now];
  const add = (col: string, value: unknown, cast = '') => {
    params.push(value);
    sets.push(`${col} = $${params.length}${cast}`);
  };
  const p = t.patch ?? {};
  const terminal = isTerminal(t.to);
  const retry = t.to === 'pending';
  if (terminal) {
    sets.push('finished_at = $4::timestamptz', 'lease_owner = NULL', 'lease_expires_at = NULL', 'next_attempt_at = NULL');
  }
  if (retry) {
    // Back to pending for another submission: the previous cloud task stays in task_cloud_refs.
    sets.push('finished_at = NULL', 'lease_owner = NULL', 'lease_expires_at = NULL', 'submit_started_at = NULL', 'cloud_ref = NULL', 'cloud_created_at = NULL', 'cloud_status = NULL');
  }
  if (!terminal && !retry && p.releaseLease) sets.push('lease_owner = NULL', 'lease_expires_at = NULL');
  if (p.cloudRef !== undefined && !retry) add('cloud_ref', p.cloudRef);
  if (p.cloudCreatedAt !== undefined && !retry) add('cloud_created_at', optIso(p.cloudCreatedAt, 'patch.cloudCreatedAt'), '::timestamptz');
  if (p.cloudStatus !== undefined && !retry) add('cloud_status', p.cloudStatus);
  if (p.nextAttemptAt !== undefined && !terminal) add('next_attempt_at', optIso(p.nextAttemptAt, 'patch.nextAttemptAt'), '::timestamptz');
  if (p.deadlineAt !== undefined) add('deadline_at', optIso(p.deadlineAt, 'patch.deadlineAt'), '::timestamptz');
  if (p.lastError !== undefined) {
    add('last_error_code', p.lastError?.code ?? null);
    add('last_error_message', p.lastError ? p.lastError.message.slice(0, 4000) : null);
    add('last_error_request_id', p.lastError?.requestId ?? null);
  }
  let ownerGuard = '';
  if (t.owner !== undefined) {
    params.push(t.owner);
    ownerGuard = ` AND lease_owner = $${params.length}`;
  }
  const { rows } = await tx.query(`UPDATE tasks SET ${sets.join(', ')} WHERE id = $1 AND ${byIdState('state = $2')}${ownerGuard} RETURNING *`, params);
  if (!rows[0]) {
    const cur = await requireTask(tx, taskId);
    if (cur.state !== t.from) throw new StaleStateError(taskId, t.from, cur.state);
    throw new LeaseLostError(taskId, t.owner!, cur.leaseOwner);
  }
  const task = toTask(rows[0]);
  if (p.cloudRef && !retry) await insertCloudRef(tx, task, p.cloudRef, p.cloudCreatedAt ?? null, now);
  await appendEvent(tx, taskId, now, t.from, t.to, t.reason, t.actor, {
    ...(t.details ?? {}),
    ...(p.lastError ? { error: p.lastError } : {}),
    ...(p.cloudRef ? { cloudRef: p.cloudRef } : {}),
  });
  const image = await recomputeReplication(tx, task.replicationId, now);
  const error = p.lastError ?? (isTerminal(t.to) && t.to !== 'succeeded' ? task.lastError : null);
  changes.push({ task, image, from: t.from, to: t.to, reason: t.reason, error });
  for (const n of t.notify ?? []) {
    const { about, whenSettled, ...rest } = n;
    if (about === 'replication' && whenSettled) await enqueueSettledNotificationIn(tx, now, { ...rest, replicationId: task.replicationId });
    else await enqueueNotificationIn(tx, now, about === 'replication' ? { ...rest, replicationId: task.replicationId } : { ...rest, taskId, rerun: task.reruns });
  }
  return task;
}

/**
 * Submitted → running for many tasks in one statement, with their task_events, releasing the lease.
 * The replication state does not change (submitted and running both count as in progress), so it is
 * not recomputed. Returns the ids that moved (a task someone else moved or holds is left alone).
 */
export async function markRunningMany(core: LedgerCore, ids: readonly string[], o: { owner: string; cloudStatus: string; reason: string }): Promise<string[]> {
  if (ids.length === 0) return [];
  const { rows } = await core.db.query<Record<string, unknown>>(
    `WITH moved AS (
       UPDATE tasks SET state = 'running', cloud_status = $3, updated_at = $4::timestamptz,
                        lease_owner = NULL, lease_expires_at = NULL
       WHERE id = ANY($1::text[]) AND ${byIdState(`state = 'submitted'`)} AND lease_owner = $2
       RETURNING *),
     events AS (
       INSERT INTO task_events (task_id, at, from_state, to_state, reason, actor, details)
       SELECT id, $4::timestamptz, 'submitted', 'running', $5, $2, '{}'::jsonb FROM moved)
     SELECT m.*, ${IMAGE_COLUMNS} FROM moved m JOIN replications r ON r.id = m.replication_id`,
    [[...ids], o.owner, o.cloudStatus, nowIso(core), o.reason],
  );
  for (const row of rows) logTaskChange({ task: toTask(row), image: imageFromRow(row), from: 'submitted', to: 'running', reason: o.reason });
  return rows.map((r) => String(r.id));
}

export async function beginSubmission(core: LedgerCore, taskId: string, owner: string): Promise<TaskRow> {
  const now = nowIso(core);
  return core.db.transaction(async (tx) => {
    const { rows } = await tx.query(
      `UPDATE tasks SET attempts = attempts + 1, submit_started_at = $3::timestamptz, updated_at = $3::timestamptz
       WHERE id = $1 AND ${byIdState(`state = 'pending'`)} AND lease_owner = $2 RETURNING *`,
      [taskId, owner, now],
    );
    if (!rows[0]) {
      const cur = await requireTask(tx, taskId);
      if (cur.state !== 'pending') throw new StaleStateError(taskId, 'pending', cur.state);
      throw new LeaseLostError(taskId, owner, cur.leaseOwner);
    }
    const task = toTask(rows[0]);
    await appendEvent(tx, taskId, now, 'pending', 'pending', 'submission started', owner, { attempt: task.attempts });
    return task;
  });
}

/**
 * beginSubmission for several leased pending tasks in one statement (their events included): a fan-out
 * starts its creates after one ledger round trip, not one per target. Returns the tasks begun; one the
 * caller no longer holds (or that left pending) is not in the answer.
 */
export async function beginSubmissions(core: LedgerCore, taskIds: readonly string[], owner: string): Promise<TaskRow[]> {
  if (!taskIds.length) return [];
  const now = nowIso(core);
  const { rows } = await core.db.query(
    `WITH begun AS (
       UPDATE tasks SET attempts = attempts + 1, submit_started_at = $3::timestamptz, updated_at = $3::timestamptz
       WHERE id = ANY($1::text[]) AND ${byIdState(`state = 'pending'`)} AND lease_owner = $2 RETURNING *
     ), events AS (
       INSERT INTO task_events (task_id, at, from_state, to_state, reason, actor, details)
       SELECT id, $3::timestamptz, 'pending', 'pending', 'submission started', $2, jsonb_build_object('attempt', attempts) FROM begun
     )
     SELECT * FROM begun`,
    [[...taskIds], owner, now],
  );
  return rows.map(toTask);
}

export async function defer(core: LedgerCore, taskId: string, d: DeferInput): Promise<TaskRow> {
  if (!d.reason) throw new LedgerInputError('reason', 'required, non-empty string');
  const now = nowIso(core);
  const until = toIso(d.until, 'until');
  const out = await core.db.transaction(async (tx) => {
    const { rows } = await tx.query(
      `UPDATE tasks SET next_attempt_at = $3::timestamptz, lease_owner = NULL,
                        lease_expires_at = CASE WHEN $8 THEN $7::timestamptz END,
                        attempts = CASE WHEN $9 THEN greatest(attempts - 1, 0) ELSE attempts END,
                        submit_started_at = CASE WHEN $9 THEN NULL ELSE submit_started_at END,
                        last_error_code = coalesce($4, last_error_code),
                        last_error_message = coalesce($5, last_error_message),
                        last_error_request_id = CASE WHEN $4::text IS NULL THEN last_error_request_id ELSE $6 END,
                        updated_at = $7::timestamptz
       WHERE id = $1 AND ${byIdState(`state = 'pending'`)} AND lease_owner = $2 RETURNING *`,
      [taskId, d.owner, until, d.error?.code ?? null, d.error ? d.error.message.slice(0, 4000) : null, d.error?.requestId ?? null, now, d.handOff === true, d.withdraw === true],
    );
    if (!rows[0]) {
      const cur = await requireTask(tx, taskId);
      if (cur.state !== 'pending') throw new StaleStateError(taskId, 'pending', cur.state);
      throw new LeaseLostError(taskId, d.owner, cur.leaseOwner);
    }
    await appendEvent(tx, taskId, now, 'pending', 'pending', d.reason, d.owner, {
      until,
      ...(d.error ? { error: d.error } : {}),
    });
    const task = toTask(rows[0]);
    const { rows: rep } = await tx.query(`SELECT ${IMAGE_COLUMNS} FROM replications r WHERE r.id = $1`, [task.replicationId]);
    return { task, image: rep[0] ? imageFromRow(rep[0]) : task.replicationId };
  });
  // Deferred with an error: a retry of the submission, logged like one (pending → pending, warn).
  if (d.error) logTaskChange({ task: out.task, image: out.image, from: 'pending', to: 'pending', reason: d.reason, error: d.error });
  return out.task;
}

export async function recordCloudRef(core: LedgerCore, taskId: string, ref: string, createdAt: TimeInput | null | undefined, opts: { owner?: string }): Promise<TaskRow> {
  if (!ref) throw new LedgerInputError('ref', 'required, non-empty string');
  const now = nowIso(core);
  return core.db.transaction(async (tx) => {
    const params: unknown[] = [taskId, ref, optIso(createdAt ?? null, 'createdAt'), now];
    let guard = '';
    if (opts.owner !== undefined) {
      params.push(opts.owner);
      guard = ` AND lease_owner = $5`;
    }
    const { rows } = await tx.query(
      `UPDATE tasks SET cloud_ref = $2, cloud_created_at = coalesce($3::timestamptz, cloud_created_at),
                        updated_at = $4::timestamptz
       WHERE id = $1${guard} RETURNING *`,
      params,
    );
    if (!rows[0]) {
      const cur = await requireTask(tx, taskId);
      throw new LeaseLostError(taskId, opts.owner!, cur.leaseOwner);
    }
    const task = toTask(rows[0]);
    await insertCloudRef(tx, task, ref, createdAt ?? null, now);
    await appendEvent(tx, taskId, now, task.state, task.state, 'cloud reference recorded', opts.owner ?? 'ledger', {
      cloudRef: ref,
    });
    return task;
  });
}

export async function requestCancel(core: LedgerCore, taskId: string, r: { reason: string; actor: string }): Promise<TaskRow> {
  const now = nowIso(core);
  return core.db.transaction(async (tx) => {
    const { rows } = await tx.query(
      `UPDATE tasks SET cancel_requested_at = coalesce(cancel_requested_at, $2::timestamptz),
                        cancel_reason = coalesce(cancel_reason, $3), updated_at = $2::timestamptz
       WHERE id = $1 AND ${byIdState('state = ANY($4::text[])')} RETURNING *`,
      [taskId, now, r.reason, [...OPEN_STATES]],
    );
    if (!rows[0]) {
      const cur = await requireTask(tx, taskId);
      throw new StaleStateError(taskId, OPEN_STATES.join('|'), cur.state);
    }
    const task = toTask(rows[0]);
    await appendEvent(tx, taskId, now, task.state, task.state, 'cancel requested', r.actor, { reason: r.reason });
    return task;
  });
}
