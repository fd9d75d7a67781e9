import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type Db, type OpenDbOptions, type Queryable, openDb } from './db.ts';
import { idempotencyKey, sourceImageKey, toIso } from './keys.ts';
import { migrate, schemaVersion } from './migrate.ts';
import { type NotificationInput, NotificationOutbox, enqueueNotificationIn } from './outbox.ts';
import { EcsTaskRegistry, SwrSyncTaskRegistry } from './registries.ts';
import {
  type CloudRefRow,
  type Iso,
  type Json,
  PROVIDERS,
  type Provider,
  type ReplicationRow,
  type TaskEvent,
  type TaskRow,
  type TimeInput,
  toCloudRef,
  toEvent,
  toReplication,
  toTask,
} from './rows.ts';
import {
  IllegalTransitionError,
  LeaseLostError,
  LedgerInputError,
  NotFoundError,
  OPEN_STATES,
  StaleStateError,
  TERMINAL_STATES,
  type TaskState,
  canTransition,
  isTaskState,
  isTerminal,
} from './states.ts';

const time = z.union([z.date(), z.string().min(1), z.number()]);

const replicationInput = z.object({
  sourceKind: z.string().min(1),
  source: z.string().min(1),
  region: z.string().min(1).nullish(),
  namespace: z.string().min(1),
  repository: z.string().min(1),
  tag: z.string().min(1).nullish(),
  digest: z.string().min(1).nullish(),
  pushedAt: time.nullish(),
  receivedAt: time.optional(),
  rules: z.array(z.string().min(1)).default([]),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ReplicationInput = z.input<typeof replicationInput>;

const taskSpec = z.object({
  provider: z.enum(PROVIDERS as [Provider, ...Provider[]]),
  target: z.record(z.string(), z.unknown()),
  /** Stable, canonical description of the destination (e.g. `acr:cn-shanghai/cri-x/ns/repo:tag`). */
  targetKey: z.string().min(1),
  rule: z.string().min(1).nullish(),
  /** Where the cloud task lives / is listed. Default: the replication's source. */
  scope: z.string().min(1).optional(),
  maxAttempts: z.number().int().min(1).max(1000).optional(),
  deadlineAt: time.nullish(),
  nextAttemptAt: time.nullish(),
  policy: z.record(z.string(), z.unknown()).optional(),
});
export type TaskSpec = z.input<typeof taskSpec>;

function parse<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new LedgerInputError([prefix, ...issue.path.map(String)].filter(Boolean).join('.'), issue.message);
}

export interface RecordedTask {
  targetKey: string;
  idempotencyKey: string;
  taskId: string;
  /** false: a task for this image and target already existed (duplicate delivery); state is the existing one. */
  created: boolean;
  state: TaskState;
}

export interface RecordResult {
  replication: ReplicationRow;
  /** false when this push was already recorded (its tasks are then reported per target below). */
  replicationCreated: boolean;
  tasks: RecordedTask[];
}

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
  notify?: Array<Omit<NotificationInput, 'taskId' | 'replicationId'> & { about?: 'task' | 'replication' }>;
}

export interface ClaimOptions {
  owner: string;
  leaseMs: number;
  states?: readonly TaskState[];
  limit?: number;
  provider?: Provider;
  scope?: string;
}

export interface ListTasksFilter {
  state?: TaskState | readonly TaskState[];
  provider?: Provider;
  repository?: string;
  replicationId?: string;
  /** Tasks created at or after. */
  since?: TimeInput;
  cursor?: string | null;
  limit?: number;
}

export interface TaskDetail {
  task: TaskRow;
  events: TaskEvent[];
  cloudRefs: CloudRefRow[];
}

export interface PruneResult {
  tasks: number;
  replications: number;
  ecsTasks: number;
  notifications: number;
}

export interface Health {
  ok: boolean;
  backend: Db['backend'];
  schemaVersion?: number;
  openTasks?: number;
  latencyMs: number;
  error?: string;
}

export interface LedgerOptions {
  /** Epoch ms; every time the ledger writes comes from here (tests inject a virtual clock). */
  now?: () => number;
}

const DAY_MS = 86_400_000;

export class Ledger {
  readonly ecs: EcsTaskRegistry;
  readonly swr: SwrSyncTaskRegistry;
  readonly outbox: NotificationOutbox;
  private readonly clock: () => number;

  constructor(
    readonly db: Db,
    opts: LedgerOptions = {},
  ) {
    this.clock = opts.now ?? Date.now;
    const now = () => this.nowIso();
    this.ecs = new EcsTaskRegistry(db, now);
    this.swr = new SwrSyncTaskRegistry(db, now);
    this.outbox = new NotificationOutbox(db, now);
  }

  /** Opens the database (pg when databaseUrl, else PGlite), applies pending migrations, returns the ledger. */
  static async open(opts: OpenDbOptions & LedgerOptions = {}): Promise<Ledger> {
    const db = await openDb(opts);
    try {
      await migrate(db);
    } catch (err) {
      await db.close().catch(() => {});
      throw err;
    }
    return new Ledger(db, opts);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  private nowIso(): Iso {
    return new Date(this.clock()).toISOString();
  }

  private later(ms: number): Iso {
    return new Date(this.clock() + ms).toISOString();
  }

  // ---------------------------------------------------------------- replications

  /**
   * Records one accepted push and one pending task per target, in one transaction, before any cloud
   * is called. Re-recording the same push (duplicate delivery) creates nothing new and reports the
   * existing tasks; a target not seen before for this push is added.
   */
  async recordReplication(event: ReplicationInput, specs: readonly TaskSpec[]): Promise<RecordResult> {
    const ev = parse(replicationInput, event, 'event');
    const tasks = specs.map((s, i) => parse(taskSpec, s, `tasks.${i}`));
    const sourceKey = sourceImageKey(ev);
    const keyed = tasks
      .map((t) => ({ spec: t, key: idempotencyKey(ev, t.targetKey) }))
      // Same insert order in every transaction: concurrent recorders wait on each other, never deadlock.
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const seen = new Set<string>();
    for (const k of keyed) {
      if (seen.has(k.key)) throw new LedgerInputError('tasks', `targetKey ${k.spec.targetKey} appears twice`);
      seen.add(k.key);
    }
    const now = this.nowIso();
    const rules = [...new Set(ev.rules)].sort();

    return this.db.transaction(async (tx) => {
      const rep = await tx.query<Record<string, unknown> & { inserted: boolean }>(
        `INSERT INTO replications (id, source_key, source_kind, source, region, namespace, repository, tag, digest,
                                   pushed_at, received_at, rules, details, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::timestamptz, $11::timestamptz, $12::jsonb, $13::jsonb,
                 'pending', $14::timestamptz, $14::timestamptz)
         ON CONFLICT (source_key) DO UPDATE SET
           rules = (SELECT coalesce(jsonb_agg(DISTINCT r ORDER BY r), '[]'::jsonb)
                    FROM jsonb_array_elements_text(replications.rules || EXCLUDED.rules) AS r),
           updated_at = EXCLUDED.updated_at
         RETURNING *, (xmax = 0) AS inserted`,
        [
          randomUUID(),
          sourceKey,
          ev.sourceKind,
          ev.source,
          ev.region ?? null,
          ev.namespace,
          ev.repository,
          ev.tag ?? null,
          ev.digest ?? null,
          ev.pushedAt == null ? null : toIso(ev.pushedAt, 'event.pushedAt'),
          ev.receivedAt == null ? now : toIso(ev.receivedAt, 'event.receivedAt'),
          JSON.stringify(rules),
          JSON.stringify(ev.details ?? {}),
          now,
        ],
      );
      const repRow = rep.rows[0]!;
      const replicationId = repRow.id as string;
      const out: RecordedTask[] = [];
      for (const { spec, key } of keyed) {
        const id = randomUUID();
        const ins = await tx.query<{ id: string; state: TaskState }>(
          `INSERT INTO tasks (id, replication_id, idempotency_key, provider, scope, target, target_key, rule, state,
                              max_attempts, next_attempt_at, deadline_at, policy, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, 'pending', $9, $10::timestamptz, $11::timestamptz, $12::jsonb,
                   $13::timestamptz, $13::timestamptz)
           ON CONFLICT (idempotency_key) DO NOTHING
           RETURNING id, state`,
          [
            id,
            replicationId,
            key,
            spec.provider,
            spec.scope ?? ev.source,
            JSON.stringify(spec.target),
            spec.targetKey,
            spec.rule ?? null,
            spec.maxAttempts ?? 5,
            spec.nextAttemptAt == null ? now : toIso(spec.nextAttemptAt, 'nextAttemptAt'),
            spec.deadlineAt == null ? null : toIso(spec.deadlineAt, 'deadlineAt'),
            JSON.stringify(spec.policy ?? {}),
            now,
          ],
        );
        if (ins.rows[0]) {
          await appendEvent(tx, id, now, null, 'pending', 'recorded', 'ledger', { idempotencyKey: key });
          out.push({ targetKey: spec.targetKey, idempotencyKey: key, taskId: id, created: true, state: 'pending' });
        } else {
          const existing = await tx.query<{ id: string; state: TaskState }>(
            'SELECT id, state FROM tasks WHERE idempotency_key = $1',
            [key],
          );
          const e = existing.rows[0]!;
          out.push({ targetKey: spec.targetKey, idempotencyKey: key, taskId: e.id, created: false, state: e.state });
        }
      }
      await recomputeReplication(tx, replicationId, now);
      const fresh = await tx.query('SELECT * FROM replications WHERE id = $1', [replicationId]);
      return { replication: toReplication(fresh.rows[0]!), replicationCreated: Boolean(repRow.inserted), tasks: out };
    });
  }

  async getReplication(id: string): Promise<{ replication: ReplicationRow; tasks: TaskRow[] } | null> {
    const rep = await this.db.query('SELECT * FROM replications WHERE id = $1', [id]);
    if (!rep.rows[0]) return null;
    const tasks = await this.db.query('SELECT * FROM tasks WHERE replication_id = $1 ORDER BY created_at, id', [id]);
    return { replication: toReplication(rep.rows[0]), tasks: tasks.rows.map(toTask) };
  }

  // ---------------------------------------------------------------- claiming

  /**
   * Leases up to `limit` due tasks to `owner` for `leaseMs`. Due: in one of `states` (default: all open
   * states), not leased (or lease expired), and next_attempt_at reached, deadline passed, or cancel
   * requested. Rows locked by a concurrent claimer are skipped, so two claimers never get one row.
   */
  async claimDue(opts: ClaimOptions): Promise<TaskRow[]> {
    if (!opts.owner) throw new LedgerInputError('owner', 'required, non-empty string');
    if (!(Number.isFinite(opts.leaseMs) && opts.leaseMs > 0)) throw new LedgerInputError('leaseMs', 'must be a number > 0');
    const states = opts.states ?? OPEN_STATES;
    for (const s of states) {
      if (!isTaskState(s) || isTerminal(s)) throw new LedgerInputError('states', `${String(s)} is not an open task state`);
    }
    const limit = opts.limit ?? 10;
    if (!(Number.isInteger(limit) && limit > 0 && limit <= 1000)) throw new LedgerInputError('limit', 'integer 1..1000');
    const now = this.nowIso();
    const until = this.later(opts.leaseMs);
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query(
        `WITH due AS (
           SELECT id FROM tasks
           WHERE state = ANY($1::text[])
             AND (lease_expires_at IS NULL OR lease_expires_at <= $2::timestamptz)
             AND (next_attempt_at IS NULL OR next_attempt_at <= $2::timestamptz
                  OR deadline_at <= $2::timestamptz OR cancel_requested_at IS NOT NULL)
             AND ($3::text IS NULL OR provider = $3)
             AND ($4::text IS NULL OR scope = $4)
           ORDER BY next_attempt_at NULLS FIRST, created_at, id
           LIMIT $5
           FOR UPDATE SKIP LOCKED)
         UPDATE tasks t SET lease_owner = $6, lease_expires_at = $7::timestamptz, updated_at = $2::timestamptz
         FROM due WHERE t.id = due.id
         RETURNING t.*`,
        [[...states], now, opts.provider ?? null, opts.scope ?? null, limit, opts.owner, until],
      );
      return rows.map(toTask).sort(byDue);
    });
  }

  /** Gives the lease back early. False when `owner` did not hold it. */
  async release(taskId: string, owner: string): Promise<boolean> {
    const { rows } = await this.db.query(
      `UPDATE tasks SET lease_owner = NULL, lease_expires_at = NULL, updated_at = $3::timestamptz
       WHERE id = $1 AND lease_owner = $2 RETURNING id`,
      [taskId, owner, this.nowIso()],
    );
    return rows.length > 0;
  }

  /** Extends a held lease; LeaseLostError when someone else holds it now. */
  async renewLease(taskId: string, owner: string, leaseMs: number): Promise<TaskRow> {
    const { rows } = await this.db.query(
      `UPDATE tasks SET lease_expires_at = $3::timestamptz, updated_at = $4::timestamptz
       WHERE id = $1 AND lease_owner = $2 RETURNING *`,
      [taskId, owner, this.later(leaseMs), this.nowIso()],
    );
    if (rows[0]) return toTask(rows[0]);
    const cur = await this.requireTask(this.db, taskId);
    throw new LeaseLostError(taskId, owner, cur.leaseOwner);
  }

  // ---------------------------------------------------------------- transitions

  /**
   * Moves a task along one edge of the state machine, guarded by its current state (and lease owner
   * when given), appending a task_event and recomputing the replication in the same transaction.
   * IllegalTransitionError / StaleStateError / LeaseLostError leave the database untouched.
   */
  async transition(taskId: string, t: TransitionInput): Promise<TaskRow> {
    return this.transitions(taskId, [t]);
  }

  /**
   * Several transitions of one task in one transaction (e.g. running → timed_out → pending), each
   * guarded and recorded as its own event: a crash between them cannot strand the task halfway.
   * Returns the row after the last step.
   */
  async transitions(taskId: string, steps: readonly TransitionInput[]): Promise<TaskRow> {
    if (steps.length === 0) throw new LedgerInputError('steps', 'at least one transition');
    for (const t of steps) {
      if (!isTaskState(t.from) || !isTaskState(t.to) || !canTransition(t.from, t.to)) {
        throw new IllegalTransitionError(String(t.from), String(t.to), taskId);
      }
      if (!t.reason) throw new LedgerInputError('reason', 'required, non-empty string');
      if (!t.actor) throw new LedgerInputError('actor', 'required, non-empty string');
    }
    const now = this.nowIso();
    return this.db.transaction(async (tx) => {
      let last: TaskRow | undefined;
      for (const t of steps) last = await this.transitionIn(tx, taskId, t, now);
      return last!;
    });
  }

  private async transitionIn(tx: Queryable, taskId: string, t: TransitionInput, now: Iso): Promise<TaskRow> {
    {
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
        sets.push(
          'finished_at = NULL',
          'lease_owner = NULL',
          'lease_expires_at = NULL',
          'submit_started_at = NULL',
          'cloud_ref = NULL',
          'cloud_created_at = NULL',
          'cloud_status = NULL',
        );
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
      const { rows } = await tx.query(
        `UPDATE tasks SET ${sets.join(', ')} WHERE id = $1 AND state = $2${ownerGuard} RETURNING *`,
        params,
      );
      if (!rows[0]) {
        const cur = await this.requireTask(tx, taskId);
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
      await recomputeReplication(tx, task.replicationId, now);
      for (const n of t.notify ?? []) {
        const { about, ...rest } = n;
        await enqueueNotificationIn(
          tx,
          now,
          about === 'replication' ? { ...rest, replicationId: task.replicationId } : { ...rest, taskId },
        );
      }
      return task;
    }
  }

  /**
   * The retry path: from submitted, running or timed_out, back to `pending` due after `delayMs` when
   * attempts remain, else to `failed` (terminal). Returns the row and which way it went.
   */
  async retryOrFail(
    taskId: string,
    r: {
      from: 'submitted' | 'running' | 'timed_out';
      delayMs: number;
      reason: string;
      actor: string;
      owner?: string;
      error?: TaskPatch['lastError'];
      details?: Json;
      /** Notifications queued, in the same transaction, only when attempts are exhausted. */
      notifyOnFail?: TransitionInput['notify'];
    },
  ): Promise<{ task: TaskRow; retried: boolean }> {
    const cur = await this.requireTask(this.db, taskId);
    const retried = cur.attempts < cur.maxAttempts;
    const task = await this.transition(taskId, {
      from: r.from,
      to: retried ? 'pending' : 'failed',
      reason: retried ? r.reason : `${r.reason} (attempts exhausted: ${cur.attempts}/${cur.maxAttempts})`,
      actor: r.actor,
      ...(r.owner !== undefined ? { owner: r.owner } : {}),
      ...(r.details ? { details: r.details } : {}),
      ...(!retried && r.notifyOnFail ? { notify: r.notifyOnFail } : {}),
      patch: {
        ...(r.error !== undefined ? { lastError: r.error } : {}),
        ...(retried ? { nextAttemptAt: this.clock() + Math.max(0, r.delayMs) } : {}),
      },
    });
    return { task, retried };
  }

  /**
   * Marks the start of a submission, before the cloud is called: attempts + 1 and submit_started_at.
   * Requires state pending and the lease. If the worker dies after this, the next claimer sees a
   * pending task with submitStartedAt and no cloudRef: it must look for the cloud task first.
   */
  async beginSubmission(taskId: string, owner: string): Promise<TaskRow> {
    const now = this.nowIso();
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query(
        `UPDATE tasks SET attempts = attempts + 1, submit_started_at = $3::timestamptz, updated_at = $3::timestamptz
         WHERE id = $1 AND state = 'pending' AND lease_owner = $2 RETURNING *`,
        [taskId, owner, now],
      );
      if (!rows[0]) {
        const cur = await this.requireTask(tx, taskId);
        if (cur.state !== 'pending') throw new StaleStateError(taskId, 'pending', cur.state);
        throw new LeaseLostError(taskId, owner, cur.leaseOwner);
      }
      const task = toTask(rows[0]);
      await appendEvent(tx, taskId, now, 'pending', 'pending', 'submission started', owner, { attempt: task.attempts });
      return task;
    });
  }

  /**
   * Leases exactly these tasks to `owner` when they are pending, due and not leased by someone else:
   * the webhook submits the tasks it has just recorded, while the sweep may be claiming others.
   */
  async claimPending(taskIds: readonly string[], opts: { owner: string; leaseMs: number }): Promise<TaskRow[]> {
    if (!opts.owner) throw new LedgerInputError('owner', 'required, non-empty string');
    if (!(Number.isFinite(opts.leaseMs) && opts.leaseMs > 0)) throw new LedgerInputError('leaseMs', 'must be a number > 0');
    if (taskIds.length === 0) return [];
    const now = this.nowIso();
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query(
        `WITH mine AS (
           SELECT id FROM tasks
           WHERE id = ANY($1::text[]) AND state = 'pending'
             AND (lease_expires_at IS NULL OR lease_expires_at <= $2::timestamptz)
             AND (next_attempt_at IS NULL OR next_attempt_at <= $2::timestamptz)
           ORDER BY id
           FOR UPDATE SKIP LOCKED)
         UPDATE tasks t SET lease_owner = $3, lease_expires_at = $4::timestamptz, updated_at = $2::timestamptz
         FROM mine WHERE t.id = mine.id
         RETURNING t.*`,
        [[...taskIds], now, opts.owner, this.later(opts.leaseMs)],
      );
      return rows.map(toTask);
    });
  }

  /**
   * Keeps a leased pending task pending until `until` (the cloud refused or failed the submission),
   * recording the error and dropping the lease, so the next claim after `until` tries again.
   */
  async defer(
    taskId: string,
    d: { owner: string; until: TimeInput; reason: string; error?: TaskPatch['lastError'] },
  ): Promise<TaskRow> {
    if (!d.reason) throw new LedgerInputError('reason', 'required, non-empty string');
    const now = this.nowIso();
    const until = toIso(d.until, 'until');
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query(
        `UPDATE tasks SET next_attempt_at = $3::timestamptz, lease_owner = NULL, lease_expires_at = NULL,
                          last_error_code = coalesce($4, last_error_code),
                          last_error_message = coalesce($5, last_error_message),
                          last_error_request_id = CASE WHEN $4::text IS NULL THEN last_error_request_id ELSE $6 END,
                          updated_at = $7::timestamptz
         WHERE id = $1 AND state = 'pending' AND lease_owner = $2 RETURNING *`,
        [taskId, d.owner, until, d.error?.code ?? null, d.error ? d.error.message.slice(0, 4000) : null, d.error?.requestId ?? null, now],
      );
      if (!rows[0]) {
        const cur = await this.requireTask(tx, taskId);
        if (cur.state !== 'pending') throw new StaleStateError(taskId, 'pending', cur.state);
        throw new LeaseLostError(taskId, d.owner, cur.leaseOwner);
      }
      await appendEvent(tx, taskId, now, 'pending', 'pending', d.reason, d.owner, {
        until,
        ...(d.error ? { error: d.error } : {}),
      });
      return toTask(rows[0]);
    });
  }

  /**
   * Writes the cloud's reference for the task (and keeps it in the task's cloud-ref history) without
   * changing state: for adopting a cloud task found after a crash. Prefer transition(pending→submitted,
   * patch.cloudRef) for the normal path: one transaction.
   */
  async recordCloudRef(taskId: string, ref: string, createdAt?: TimeInput | null, opts: { owner?: string } = {}): Promise<TaskRow> {
    if (!ref) throw new LedgerInputError('ref', 'required, non-empty string');
    const now = this.nowIso();
    return this.db.transaction(async (tx) => {
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
        const cur = await this.requireTask(tx, taskId);
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

  /**
   * Asks for a task to be canceled: sets cancel_requested_at (the task becomes due at once) for
   * whoever holds or next claims it. Idempotent; refused (StaleStateError) once the task is terminal.
   */
  async requestCancel(taskId: string, r: { reason: string; actor: string }): Promise<TaskRow> {
    const now = this.nowIso();
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query(
        `UPDATE tasks SET cancel_requested_at = coalesce(cancel_requested_at, $2::timestamptz),
                          cancel_reason = coalesce(cancel_reason, $3), updated_at = $2::timestamptz
         WHERE id = $1 AND state = ANY($4::text[]) RETURNING *`,
        [taskId, now, r.reason, [...OPEN_STATES]],
      );
      if (!rows[0]) {
        const cur = await this.requireTask(tx, taskId);
        throw new StaleStateError(taskId, OPEN_STATES.join('|'), cur.state);
      }
      const task = toTask(rows[0]);
      await appendEvent(tx, taskId, now, task.state, task.state, 'cancel requested', r.actor, { reason: r.reason });
      return task;
    });
  }

  // ---------------------------------------------------------------- reads

  async getTask(id: string): Promise<TaskDetail | null> {
    const t = await this.db.query('SELECT * FROM tasks WHERE id = $1', [id]);
    if (!t.rows[0]) return null;
    const ev = await this.db.query('SELECT * FROM task_events WHERE task_id = $1 ORDER BY id', [id]);
    const refs = await this.db.query('SELECT * FROM task_cloud_refs WHERE task_id = $1 ORDER BY attempt, recorded_at', [id]);
    return { task: toTask(t.rows[0]), events: ev.rows.map(toEvent), cloudRefs: refs.rows.map(toCloudRef) };
  }

  /** The task that ever held this cloud reference (current or earlier attempt). */
  async findTaskByCloudRef(ref: string): Promise<TaskRow | null> {
    const { rows } = await this.db.query(
      `SELECT t.* FROM tasks t WHERE t.cloud_ref = $1
       UNION
       SELECT t.* FROM tasks t JOIN task_cloud_refs c ON c.task_id = t.id WHERE c.cloud_ref = $1
       LIMIT 1`,
      [ref],
    );
    return rows[0] ? toTask(rows[0]) : null;
  }

  /** Newest first, keyset-paged: pass back `nextCursor` (null on the last page). */
  async listTasks(f: ListTasksFilter = {}): Promise<{ items: TaskRow[]; nextCursor: string | null }> {
    const limit = f.limit ?? 50;
    if (!(Number.isInteger(limit) && limit > 0 && limit <= 500)) throw new LedgerInputError('limit', 'integer 1..500');
    const states = f.state === undefined ? null : Array.isArray(f.state) ? [...f.state] : [f.state as TaskState];
    for (const s of states ?? []) if (!isTaskState(s)) throw new LedgerInputError('state', `unknown task state ${String(s)}`);
    if (f.provider !== undefined && !PROVIDERS.includes(f.provider)) throw new LedgerInputError('provider', `one of ${PROVIDERS.join(', ')}`);
    let after: { at: string; id: string } | null = null;
    if (f.cursor) after = decodeCursor(f.cursor);
    const { rows } = await this.db.query(
      `SELECT t.* FROM tasks t
       WHERE ($1::text[] IS NULL OR t.state = ANY($1::text[]))
         AND ($2::text IS NULL OR t.provider = $2)
         AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM replications r WHERE r.id = t.replication_id AND r.repository = $3))
         AND ($4::text IS NULL OR t.replication_id = $4)
         AND ($5::timestamptz IS NULL OR t.created_at >= $5::timestamptz)
         AND ($6::timestamptz IS NULL OR (t.created_at, t.id) < ($6::timestamptz, $7::text))
       ORDER BY t.created_at DESC, t.id DESC
       LIMIT $8`,
      [
        states,
        f.provider ?? null,
        f.repository ?? null,
        f.replicationId ?? null,
        f.since === undefined ? null : toIso(f.since, 'since'),
        after?.at ?? null,
        after?.id ?? null,
        limit + 1,
      ],
    );
    const items = rows.slice(0, limit).map(toTask);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  /** Open tasks (pending, submitted, running) for the sweep, oldest first. */
  async openTasks(f: { provider?: Provider; scope?: string; states?: readonly TaskState[]; limit?: number } = {}): Promise<TaskRow[]> {
    const states = f.states ?? OPEN_STATES;
    const { rows } = await this.db.query(
      `SELECT * FROM tasks
       WHERE state = ANY($1::text[]) AND ($2::text IS NULL OR provider = $2) AND ($3::text IS NULL OR scope = $3)
       ORDER BY created_at, id LIMIT $4`,
      [[...states.filter((s) => OPEN_STATES.includes(s))], f.provider ?? null, f.scope ?? null, f.limit ?? 1000],
    );
    return rows.map(toTask);
  }

  // ---------------------------------------------------------------- retention & health

  /**
   * Deletes finished tasks (terminal, finished more than `olderThanDays` ago) with their events,
   * cloud refs and notifications; then replications left without tasks, finished ECS watches and
   * delivered/dead notifications older than the cutoff. Works in batches so no statement runs long.
   */
  async prune(opts: { olderThanDays: number; batchSize?: number }): Promise<PruneResult> {
    if (!(Number.isFinite(opts.olderThanDays) && opts.olderThanDays >= 0)) {
      throw new LedgerInputError('olderThanDays', 'must be a number >= 0');
    }
    const cutoff = new Date(this.clock() - opts.olderThanDays * DAY_MS).toISOString();
    const batch = opts.batchSize ?? 500;
    const loop = async (sql: string, params: unknown[]) => {
      let total = 0;
      for (;;) {
        const { rows } = await this.db.transaction((tx) => tx.query(sql, [...params, batch]));
        total += rows.length;
        if (rows.length < batch) return total;
      }
    };
    const terminal = [...TERMINAL_STATES];
    const tasks = await loop(
      `DELETE FROM tasks WHERE id IN (
         SELECT id FROM tasks WHERE finished_at < $1::timestamptz AND state = ANY($2::text[]) LIMIT $3)
       RETURNING id`,
      [cutoff, terminal],
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
    return { tasks, replications, ecsTasks, notifications };
  }

  async health(): Promise<Health> {
    const started = performance.now();
    try {
      const version = await schemaVersion(this.db);
      const { rows } = await this.db.query<{ n: unknown }>('SELECT count(*) AS n FROM tasks WHERE state = ANY($1::text[])', [
        [...OPEN_STATES],
      ]);
      return {
        ok: true,
        backend: this.db.backend,
        schemaVersion: version,
        openTasks: Number(rows[0]?.n ?? 0),
        latencyMs: Math.round(performance.now() - started),
      };
    } catch (err) {
      return {
        ok: false,
        backend: this.db.backend,
        latencyMs: Math.round(performance.now() - started),
        error: err instanceof Error ? err.message : String(err),
      };
    }
  }

  private async requireTask(q: Pick<Queryable, 'query'>, id: string): Promise<TaskRow> {
    const { rows } = await q.query('SELECT * FROM tasks WHERE id = $1', [id]);
    if (!rows[0]) throw new NotFoundError('task', id);
    return toTask(rows[0]);
  }
}

function optIso(v: TimeInput | null | undefined, field: string): Iso | null {
  return v == null ? null : toIso(v, field);
}

function byDue(a: TaskRow, b: TaskRow): number {
  return (a.nextAttemptAt ?? '').localeCompare(b.nextAttemptAt ?? '') || a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);
}

async function appendEvent(
  tx: Queryable,
  taskId: string,
  at: Iso,
  from: TaskState | null,
  to: TaskState,
  reason: string,
  actor: string,
  details: Json,
): Promise<void> {
  await tx.query(
    `INSERT INTO task_events (task_id, at, from_state, to_state, reason, actor, details)
     VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7::jsonb)`,
    [taskId, at, from, to, reason, actor, JSON.stringify(details)],
  );
}

async function insertCloudRef(tx: Queryable, task: TaskRow, ref: string, createdAt: TimeInput | null, now: Iso): Promise<void> {
  await tx.query(
    `INSERT INTO task_cloud_refs (task_id, cloud_ref, attempt, created_at, recorded_at)
     VALUES ($1, $2, $3, $4::timestamptz, $5::timestamptz) ON CONFLICT (task_id, cloud_ref) DO NOTHING`,
    [task.id, ref, task.attempts, optIso(createdAt, 'cloudCreatedAt'), now],
  );
}

/**
 * Replication state from its tasks. The replication row is locked first so that two tasks of one
 * replication finishing concurrently cannot both compute from a snapshot missing the other's change.
 */
async function recomputeReplication(tx: Queryable, replicationId: string, now: Iso): Promise<void> {
  await tx.query('SELECT id FROM replications WHERE id = $1 FOR UPDATE', [replicationId]);
  await tx.query(
    `UPDATE replications r SET state = agg.state, updated_at = $2::timestamptz
     FROM (
       SELECT CASE
         WHEN count(*) = 0 OR bool_and(state = 'pending') THEN 'pending'
         WHEN bool_or(state IN ('pending', 'submitted', 'running')) THEN 'in_progress'
         WHEN bool_and(state = 'succeeded') THEN 'succeeded'
         WHEN bool_and(state = 'canceled') THEN 'canceled'
         WHEN bool_or(state = 'succeeded') THEN 'partially_failed'
         ELSE 'failed' END AS state
       FROM tasks WHERE replication_id = $1
     ) agg
     WHERE r.id = $1 AND r.state IS DISTINCT FROM agg.state`,
    [replicationId, now],
  );
}

function encodeCursor(at: Iso, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

function decodeCursor(cursor: string): { at: string; id: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string' && !Number.isNaN(Date.parse(v[0]))) {
      return { at: v[0], id: v[1] };
    }
  } catch {
    // fall through
  }
  throw new LedgerInputError('cursor', 'not a cursor returned by listTasks');
}

