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
  if (n.replicationId) return `replication:${n.replicationId}`;
  throw new LedgerInputError('taskId', 'taskId or replicationId is required');
}

/** Queues a notification inside the caller's transaction; a second enqueue of the same (subject, kind, target) is a no-op. */
export async function enqueueNotificationIn(tx: Queryable, now: Iso, n: NotificationInput): Promise<Enqueued> {
  const subject = subjectOf(n);
  if (!n.kind) throw new LedgerInputError('kind', 'required, non-empty string');
  if (!n.target) throw new LedgerInputError('target', 'required, non-empty string');
  const id = newRowId();
  const ins = await tx.query<{ id: string }>(
    `INSERT INTO notifications (id, subject, task_id, replication_id, kind, target, payload, max_attempts,
                                next_attempt_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9::timestamptz, $9::timestamptz, $9::timestamptz)
     ON CONFLICT (subject, kind, target) DO NOTHING
     RETURNING id`,
    [id, subject, n.taskId ?? null, n.replicationId ?? null, n.kind, n.target, JSON.stringify(n.payload ?? {}), n.maxAttempts ?? 10, now],
  );
  if (ins.rows[0]) return { id: ins.rows[0].id, created: true };
  const existing = await tx.query<{ id: string }>('SELECT id FROM notifications WHERE subject = $1 AND kind = $2 AND target = $3', [subject, n.kind, n.target]);
  return { id: existing.rows[0]!.id, created: false };
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

  /** Leases due pending notifications to `owner` (expired leases are claimable). */
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

  private async guarded(id: string, owner: string, set: string, extra: unknown[]): Promise<NotificationRow> {
    const { rows } = await this.db.query(`UPDATE notifications SET ${set} WHERE id = $1 AND ${byIdState(`state = 'pending'`)} AND lease_owner = $2 RETURNING *`, [id, owner, ...extra]);
    if (rows[0]) return toNotification(rows[0]);
    const cur = await this.get(id);
    if (!cur) throw new NotFoundError('notification', id);
    if (cur.state !== 'pending') throw new StaleStateError(id, 'pending', cur.state);
    throw new LeaseLostError(id, owner, cur.leaseOwner);
  }
}
