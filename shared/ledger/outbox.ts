import { byIdState } from './core.ts';
import type { Db, Queryable } from './db.ts';
import { newRowId } from './keys.ts';
import { type Iso, type Json, type NotificationRow, toNotification } from './rows.ts';
import { LeaseLostError, LedgerInputError, NotFoundError, StaleStateError } from './states.ts';

export interface NotificationInput {
  /** Exactly one of taskId / replicationId: what the notification is about. */
  taskId?: string;
  replicationId?: string;
  /** The task's rerun it is about: a re-opened task that fails again is notified again (`task:<id>#<n>`). */
  rerun?: number;
  kind: string;
  /** Where it goes (a webhook URL name, a channel id…); never a secret. */
  target: string;
  payload?: Json;
  maxAttempts?: number;
  /** About a replication: due only once none of its tasks is open (enqueueSettledNotificationIn sets it). */
  untilSettled?: boolean;
}

export interface Enqueued {
  id: string;
  created: boolean;
}

const DEFAULT_BACKOFF_BASE_MS = 30_000;
const MAX_BACKOFF_MS = 3_600_000;

export function subjectOf(n: Pick<NotificationInput, 'taskId' | 'replicationId' | 'rerun'>): string {
  if (n.taskId && n.replicationId) throw new LedgerInputError('taskId', 'give taskId or replicationId, not both');
  if (n.taskId) return `task:${n.taskId}${n.rerun ? `#${n.rerun}` : ''}`;
  if (n.replicationId) return `replication:${n.replicationId}${n.rerun ? `#${n.rerun}` : ''}`;
  throw new LedgerInputError('taskId', 'taskId or replicationId is required');
}

/** Queues a notification inside the caller's transaction; a second enqueue of the same (subject, kind, target) is a no-op. */
export async function enqueueNotificationIn(tx: Queryable, now: Iso, n: NotificationInput): Promise<Enqueued> {
  const subject = subjectOf(n);
  if (n.untilSettled && !n.replicationId) throw new LedgerInputError('untilSettled', 'only a notification about a replication waits for it to settle');
  if (!n.kind) throw new LedgerInputError('kind', 'required, non-empty string');
  if (!n.target) throw new LedgerInputError('target', 'required, non-empty string');
  const id = newRowId();
  const ins = await tx.query<{ id: string }>(
    `INSERT INTO notifications (id, subject, task_id, replication_id, kind, target, payload, max_attempts,
                                next_attempt_at, created_at, updated_at, until_settled)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::timestamptz, $9::timestamptz, $9::timestamptz, $10)
     ON CONFLICT (subject, kind, target) DO NOTHING
     RETURNING id`,
    [id, subject, n.taskId ?? null, n.replicationId ?? null, n.kind, n.target, JSON.stringify(n.payload ?? {}), n.maxAttempts ?? 10, now, n.untilSettled === true],
  );
  if (ins.rows[0]) return { id: ins.rows[0].id, created: true };
  const existing = await tx.query<{ id: string }>('SELECT id FROM notifications WHERE subject = $1 AND kind = $2 AND target = $3', [subject, n.kind, n.target]);
  return { id: existing.rows[0]!.id, created: false };
}

/**
 * Queues a notification about a replication that waits for it to settle (`until_settled`: claimDue
 * holds it while any of its tasks is open): one per round of failures. A second enqueue while one is still pending is a
 * no-op; once that one is sent, a failure after a rerun queues the next (the subject carries the
 * replication's rerun count, which every rerun raises). Called inside a transition, which holds the
 * replication's row lock (recomputeReplication), so two tasks failing at once cannot both queue.
 */
export async function enqueueSettledNotificationIn(tx: Queryable, now: Iso, n: Omit<NotificationInput, 'taskId' | 'rerun'> & { replicationId: string }): Promise<Enqueued> {
  const open = await tx.query<{ id: string }>(`SELECT id FROM notifications WHERE replication_id = $1 AND kind = $2 AND target = $3 AND state = 'pending' LIMIT 1`, [
    n.replicationId,
    n.kind,
    n.target,
  ]);
  if (open.rows[0]) return { id: open.rows[0].id, created: false };
  const { rows } = await tx.query<{ reruns: number | string }>('SELECT COALESCE(SUM(reruns), 0) AS reruns FROM tasks WHERE replication_id = $1', [n.replicationId]);
  return enqueueNotificationIn(tx, now, { ...n, rerun: Number(rows[0]?.reruns ?? 0), untilSettled: true });
}

export class NotificationOutbox {
  constructor(
    private readonly db: Db,
    private readonly now: () => Iso,
  ) {}

  enqueue(n: NotificationInput): Promise<Enqueued> {
    return this.db.transaction((tx) => enqueueNotificationIn(tx, this.now(), n));
  }

  async get(id: string): Promise<NotificationRow | null> {
    const { rows } = await this.db.query('SELECT * FROM notifications WHERE id = $1', [id]);
    return rows[0] ? toNotification(rows[0]) : null;
  }

  async list(filter: { subject?: string; state?: NotificationRow['state'] } = {}): Promise<NotificationRow[]> {
    const { rows } = await this.db.query(
      `SELECT * FROM notifications
       WHERE ($1::text IS NULL OR subject = $1) AND ($2::text IS NULL OR state = $2)
       ORDER BY created_at, id`,
      [filter.subject ?? null, filter.state ?? null],
    );
    return rows.map(toNotification);
  }

  /**
   * Leases due pending notifications to `owner` (expired leases are claimable). One queued
   * `untilSettled` is due only once none of its replication's tasks is open.
   */
  async claimDue(opts: { owner: string; limit?: number; leaseMs: number }): Promise<NotificationRow[]> {
    if (!opts.owner) throw new LedgerInputError('owner', 'required, non-empty string');
    if (!(opts.leaseMs > 0)) throw new LedgerInputError('leaseMs', 'must be > 0');
    const now = this.now();
    const until = new Date(Date.parse(now) + opts.leaseMs).toISOString();
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query(
        `WITH due AS (
           SELECT id FROM notifications
           WHERE state = 'pending' AND next_attempt_at <= $1::timestamptz
             AND (lease_expires_at IS NULL OR lease_expires_at <= $1::timestamptz)
             AND (NOT until_settled OR NOT EXISTS (
                   SELECT 1 FROM tasks t WHERE t.replication_id = notifications.replication_id AND t.state IN ('pending', 'submitted', 'running')))
           ORDER BY next_attempt_at, id
           LIMIT $2
           FOR UPDATE SKIP LOCKED)
         UPDATE notifications n SET lease_owner = $3, lease_expires_at = $4::timestamptz, updated_at = $1::timestamptz
         FROM due WHERE n.id = due.id
         RETURNING n.*`,
        [now, opts.limit ?? 20, opts.owner, until],
      );
      return rows.map(toNotification).sort((a, b) => a.nextAttemptAt.localeCompare(b.nextAttemptAt));
    });
  }

  async markSent(id: string, owner: string): Promise<NotificationRow> {
    const now = this.now();
    return this.guarded(
      id,
      owner,
      `state = 'sent', sent_at = $3::timestamptz, updated_at = $3::timestamptz,
      lease_owner = NULL, lease_expires_at = NULL, last_error = NULL`,
      [now],
    );
  }

  /** Records a failed delivery: back to pending after a backoff, or 'dead' once attempts reach max_attempts. */
  async markFailed(id: string, opts: { owner: string; error: string; backoffMs?: number }): Promise<NotificationRow> {
    const now = this.now();
    const cur = await this.get(id);
    if (!cur) throw new NotFoundError('notification', id);
    const attempts = cur.attempts + 1;
    const backoff = opts.backoffMs ?? Math.min(DEFAULT_BACKOFF_BASE_MS * 2 ** (attempts - 1), MAX_BACKOFF_MS);
    const next = new Date(Date.parse(now) + backoff).toISOString();
    return this.guarded(
      id,
      opts.owner,
      `attempts = attempts + 1, last_error = $4, updated_at = $3::timestamptz,
       state = CASE WHEN attempts + 1 >= max_attempts THEN 'dead' ELSE 'pending' END,
       next_attempt_at = $5::timestamptz, lease_owner = NULL, lease_expires_at = NULL`,
      [now, opts.error.slice(0, 2000), next],
    );
  }

  /** Drops a leased entry that has nothing left to say (a grouped failure whose targets all succeeded on a retry). */
  async withdraw(id: string, owner: string): Promise<void> {
    const { rows } = await this.db.query(`DELETE FROM notifications WHERE id = $1 AND state = 'pending' AND lease_owner = $2 RETURNING id`, [id, owner]);
    if (rows[0]) return;
    const cur = await this.get(id);
    if (!cur) throw new NotFoundError('notification', id);
    if (cur.state !== 'pending') throw new StaleStateError(id, 'pending', cur.state);
    throw new LeaseLostError(id, owner, cur.leaseOwner);
  }

  private async guarded(id: string, owner: string, set: string, extra: unknown[]): Promise<NotificationRow> {
    const { rows } = await this.db.query(`UPDATE notifications SET ${set} WHERE id = $1 AND ${byIdState(`state = 'pending'`)} AND lease_owner = $2 RETURNING *`, [id, owner, ...extra]);
    if (rows[0]) return toNotification(rows[0]);
    const cur = await this.get(id);
    if (!cur) throw new NotFoundError('notification', id);
    if (cur.state !== 'pending') throw new StaleStateError(id, 'pending', cur.state);
    throw new LeaseLostError(id, owner, cur.leaseOwner);
  }
}
