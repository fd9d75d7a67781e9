/**
 * The ledger: Ferry's only way into its database. Each method is one guarded statement or one
 * transaction; times are the ledger's own clock, never the caller's. The work is done by the modules
 * this facade delegates to: replications, claims, transitions, queries, maintenance, registries, outbox.
 */
import * as claims from './claims.ts';
import { type CopiedImage, copiesOf } from './copies.ts';
import { CopyJobs } from './copy-jobs.ts';
import type { LedgerCore } from './core.ts';
import { type Db, type OpenDbOptions, openDb } from './db.ts';
import * as maintenance from './maintenance.ts';
import { LedgerMetrics } from './metrics.ts';
import { LedgerOverview } from './overview.ts';
import { migrate } from './migrate.ts';
import { NotificationOutbox } from './outbox.ts';
import * as queries from './queries.ts';
import { EcsTaskRegistry } from './registries.ts';
import * as replications from './replications.ts';
import * as reruns from './reruns.ts';
import type { Provider, ReplicationRow, TaskRow, TimeInput } from './rows.ts';
import * as transitions from './transitions.ts';
import { WalkCursors } from './walks.ts';

export type { CopiedImage } from './copies.ts';
export type { ClaimOptions, SubmissionClaimOptions } from './claims.ts';
export type { Health, PruneOptions, PruneResult } from './maintenance.ts';
export type { ListReplicationsFilter, ListTasksFilter, OpenTasksFilter, ScopeSummary, TaskDetail } from './queries.ts';
export type { RerunFilter, RerunPage, RerunRequest, RerunResult, RerunnableState } from './reruns.ts';
export type { RecordedTask, RecordResult, ReplicationForSuccess, ReplicationInput, TaskSpec } from './replications.ts';
export type { DeferInput, TaskPatch, TransitionInput } from './transitions.ts';

export interface LedgerOptions {
  /** Epoch ms; every time the ledger writes comes from here (tests inject a virtual clock). */
  now?: () => number;
}

/** Opens the database (pg when databaseUrl, else PGlite) and applies pending migrations; closes it if they fail. */
export async function openLedgerDb(opts: OpenDbOptions = {}): Promise<Db> {
  const db = await openDb(opts);
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}

export class Ledger {
  readonly ecs: EcsTaskRegistry;
  readonly outbox: NotificationOutbox;
  /** The copy provider's jobs: one per submission, with the copy's checkpoint. */
  readonly copyJobs: CopyJobs;
  /** Where backfill runs and the drift audit got to in each source's inventory. */
  readonly walks: WalkCursors;
  /** The last completed sweep, counters and the aggregates /metrics and /healthz read. */
  readonly metrics: LedgerMetrics;
  /** The status page's overview: a few aggregate queries. */
  readonly overview: LedgerOverview;
  readonly #core: LedgerCore;

  /**
   * A ledger over a migrated database (see openLedgerDb). The ledger owns `db` from here on: close()
   * closes it. Tests that check rows with SQL keep their own handle to it; production code does not.
   */
  constructor(db: Db, opts: LedgerOptions = {}) {
    const clock = opts.now ?? Date.now;
    this.#core = { db, now: () => clock() };
    const nowIso = () => new Date(clock()).toISOString();
    this.ecs = new EcsTaskRegistry(db, nowIso);
    this.outbox = new NotificationOutbox(db, nowIso);
    this.copyJobs = new CopyJobs(db, () => clock());
    this.walks = new WalkCursors(db, () => clock());
    this.metrics = new LedgerMetrics(db, () => clock());
    this.overview = new LedgerOverview(db, () => clock());
  }

  /** Opens the database (pg when databaseUrl, else PGlite), applies pending migrations, returns the ledger. */
  static async open(opts: OpenDbOptions & LedgerOptions = {}): Promise<Ledger> {
    return new Ledger(await openLedgerDb(opts), opts);
  }

  close(): Promise<void> {
    return this.#core.db.close();
  }

  // ---------------------------------------------------------------- replications

  /**
   * Records one accepted push and one pending task per target, in one transaction, before any cloud
   * is called. Re-recording the same push (duplicate delivery) creates nothing new and reports the
   * existing tasks; a target not seen before for this push is added.
   */
  recordReplication(event: replications.ReplicationInput, specs: readonly replications.TaskSpec[]): Promise<replications.RecordResult> {
    return replications.recordReplication(this.#core, event, specs);
  }

  getReplication(id: string): Promise<{ replication: ReplicationRow; tasks: TaskRow[] } | null> {
    return replications.getReplication(this.#core, id);
  }

  /** The task's replication and how many of its other tasks are not succeeded (for the success notice). */
  replicationForSuccess(replicationId: string, taskId: string): Promise<replications.ReplicationForSuccess | null> {
    return replications.replicationForSuccess(this.#core, replicationId, taskId);
  }

  /** The copy tasks of a source image and every succeeded copy that wrote their targets (deletion replication's proof). */
  copiesOf(image: CopiedImage): Promise<TaskRow[]> {
    return copiesOf(this.#core, image);
  }

  // ---------------------------------------------------------------- claiming

  /**
   * Leases up to `limit` due tasks to `owner` for `leaseMs`. Due: in one of `states` (default: all open
   * states), not leased (or lease expired), and next_attempt_at reached, deadline passed, or cancel
   * requested. Rows locked by a concurrent claimer are skipped, so two claimers never get one row.
   */
  claimDue(opts: claims.ClaimOptions): Promise<TaskRow[]> {
    return claims.claimDue(this.#core, opts);
  }

  /**
   * Leases exactly these tasks to `owner` when they are pending, due and not leased by someone else:
   * the webhook submits the tasks it has just recorded, while the sweep may be claiming others.
   */
  claimPending(taskIds: readonly string[], opts: { owner: string; leaseMs: number }): Promise<TaskRow[]> {
    return claims.claimPending(this.#core, taskIds, opts);
  }

  /**
   * The sweep's submission claim: like claimDue for pending tasks, but leaves young first-time tasks
   * to the webhook that recorded them. A task is taken only if created at least `graceMs` ago (by the
   * ledger's clock), or a submission already started (in doubt), or it is a retry, or cancel was requested.
   */
  claimForSubmission(o: { owner: string; leaseMs: number; limit: number; graceMs: number }): Promise<TaskRow[]> {
    return claims.claimForSubmission(this.#core, o);
  }

  /** Gives the lease back early. False when `owner` did not hold it. */
  release(taskId: string, owner: string): Promise<boolean> {
    return claims.release(this.#core, taskId, owner);
  }

  /** Gives back, in one statement, the leases `owner` holds on these tasks; returns how many. */
  releaseMany(ids: readonly string[], owner: string): Promise<number> {
    return claims.releaseMany(this.#core, ids, owner);
  }

  // ---------------------------------------------------------------- transitions

  /**
   * Moves a task along one edge of the state machine, guarded by its current state (and lease owner
   * when given), appending a task_event and recomputing the replication in the same transaction.
   * IllegalTransitionError / StaleStateError / LeaseLostError leave the database untouched.
   */
  transition(taskId: string, t: transitions.TransitionInput): Promise<TaskRow> {
    return transitions.transitions(this.#core, taskId, [t]);
  }

  /**
   * Several transitions of one task in one transaction (e.g. running → timed_out → pending), each
   * guarded and recorded as its own event: a crash between them cannot strand the task halfway.
   * Returns the row after the last step.
   */
  transitions(taskId: string, steps: readonly transitions.TransitionInput[]): Promise<TaskRow> {
    return transitions.transitions(this.#core, taskId, steps);
  }

  /**
   * Submitted → running for many tasks `owner` holds, in one statement, with their events, dropping
   * the lease. Returns the ids that moved (tasks someone else moved or holds are left alone).
   */
  markRunningMany(ids: readonly string[], o: { owner: string; cloudStatus: string; reason: string }): Promise<string[]> {
    return transitions.markRunningMany(this.#core, ids, o);
  }

  /**
   * Marks the start of a submission, before the cloud is called: attempts + 1 and submit_started_at.
   * Requires state pending and the lease. If the worker dies after this, the next claimer sees a
   * pending task with submitStartedAt and no cloudRef: it must look for the cloud task first.
   */
  beginSubmission(taskId: string, owner: string): Promise<TaskRow> {
    return transitions.beginSubmission(this.#core, taskId, owner);
  }

  /** beginSubmission for several leased tasks in one statement; returns those begun. */
  beginSubmissions(taskIds: readonly string[], owner: string): Promise<TaskRow[]> {
    return transitions.beginSubmissions(this.#core, taskIds, owner);
  }

  /**
   * Keeps a leased pending task pending until `until` (the cloud refused or failed the submission),
   * recording the error and dropping the lease, so the next claim after `until` tries again.
   */
  defer(taskId: string, d: transitions.DeferInput): Promise<TaskRow> {
    return transitions.defer(this.#core, taskId, d);
  }

  /**
   * Writes the cloud's reference for the task (and keeps it in the task's cloud-ref history) without
   * changing state: for adopting a cloud task found after a crash. Prefer transition(pending→submitted,
   * patch.cloudRef) for the normal path: one transaction.
   */
  recordCloudRef(taskId: string, ref: string, createdAt?: TimeInput | null, opts: { owner?: string } = {}): Promise<TaskRow> {
    return transitions.recordCloudRef(this.#core, taskId, ref, createdAt, opts);
  }

  /**
   * Asks for a task to be canceled: sets cancel_requested_at (the task becomes due at once) for
   * whoever holds or next claims it. Idempotent; refused (StaleStateError) once the task is terminal.
   */
  requestCancel(taskId: string, r: { reason: string; actor: string }): Promise<TaskRow> {
    return transitions.requestCancel(this.#core, taskId, r);
  }

  // ---------------------------------------------------------------- re-runs

  /**
   * Re-opens a failed, canceled or timed-out task (pending, due now, a fresh attempt budget, an event
   * naming actor and reason), under its row lock: concurrent re-runs re-open it once, the others get
   * `already`. Null when there is no such task.
   */
  rerunTask(id: string, r: reruns.RerunRequest): Promise<reruns.RerunResult | null> {
    return reruns.rerunTask(this.#core, id, r);
  }

  /** Re-opens those of these tasks that are failed, canceled or timed out; returns them as re-opened. */
  rerunIds(ids: readonly string[], r: reruns.RerunRequest): Promise<TaskRow[]> {
    return reruns.rerunIds(this.#core, ids, r);
  }

  /** One page of a bulk re-run (or, with dryRun, of what it would re-open), in one transaction. */
  rerunMany(f: reruns.RerunFilter, r: reruns.RerunRequest): Promise<reruns.RerunPage> {
    return reruns.rerunMany(this.#core, f, r);
  }

  /** The drift audit's re-run: re-opens a succeeded, failed or timed-out task the target lacks; null when it is in no such state now. */
  reopenDrifted(id: string, r: reruns.RerunRequest): Promise<TaskRow | null> {
    return reruns.reopenDrifted(this.#core, id, r);
  }

  // ---------------------------------------------------------------- reads

  getTask(id: string): Promise<queries.TaskDetail | null> {
    return queries.getTask(this.#core, id);
  }

  /** The task that ever held this cloud reference (current or earlier attempt). */
  findTaskByCloudRef(ref: string): Promise<TaskRow | null> {
    return queries.findTaskByCloudRef(this.#core, ref);
  }

  /** The tasks holding these idempotency keys. */
  tasksByKeys(keys: readonly string[]): Promise<TaskRow[]> {
    return queries.tasksByKeys(this.#core, keys);
  }

  /** Newest first, keyset-paged: pass back `nextCursor` (null on the last page). */
  listTasks(f: queries.ListTasksFilter = {}): Promise<{ items: TaskRow[]; nextCursor: string | null }> {
    return queries.listTasks(this.#core, f);
  }

  listReplications(f: queries.ListReplicationsFilter = {}): Promise<{ items: ReplicationRow[]; nextCursor: string | null }> {
    return queries.listReplications(this.#core, f);
  }

  /** Open tasks (pending, submitted, running) for the sweep, oldest first. */
  openTasks(f: queries.OpenTasksFilter = {}): Promise<TaskRow[]> {
    return queries.openTasks(this.#core, f);
  }

  /**
   * Scopes of `provider` with submitted/running tasks (the ones the cloud knows about), smallest
   * first so a budget cut leaves few scopes behind.
   */
  activeScopes(provider: Provider): Promise<queries.ScopeSummary[]> {
    return queries.activeScopes(this.#core, provider);
  }

  // ---------------------------------------------------------------- retention & health

  /**
   * Deletes finished tasks (terminal, finished more than `olderThanDays` ago) with their events,
   * cloud refs and notifications; then replications left without tasks, finished ECS watches and
   * delivered/dead notifications older than the cutoff. Works in batches of `batchSize` rows so no
   * statement runs long, and starts no batch once `hasTime()` is false (then `complete` is false).
   */
  prune(opts: maintenance.PruneOptions): Promise<maintenance.PruneResult> {
    return maintenance.prune(this.#core, opts);
  }

  health(): Promise<maintenance.Health> {
    return maintenance.health(this.#core);
  }
}
