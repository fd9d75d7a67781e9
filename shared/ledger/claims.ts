/**
 * Leases: who may work on a task right now. Every claim is one statement that locks the chosen rows
 * with FOR UPDATE SKIP LOCKED and leases them in the same breath, so two claimers never get one row
 * and never wait on each other.
 */
import { type LedgerCore, byIdState, laterIso, nowIso } from './core.ts';
import { type Provider, type TaskRow, toTask } from './rows.ts';
import { LedgerInputError, OPEN_STATES, type TaskState, isTaskState, isTerminal } from './states.ts';

export interface ClaimOptions {
  owner: string;
  leaseMs: number;
  states?: readonly TaskState[];
  limit?: number;
  provider?: Provider;
  scope?: string;
}

export interface SubmissionClaimOptions {
  owner: string;
  leaseMs: number;
  limit: number;
  /** First-time tasks younger than this are left to the webhook that recorded them. */
  graceMs: number;
}

/** Adds a parameter to the statement being built; returns its placeholder (`$n`). */
type Param = (value: unknown) => string;

interface ClaimQuery {
  /** Conditions on `tasks`, ANDed with "not leased, or the lease expired". `$1` is the ledger's now. */
  where: (param: Param) => string[];
  order: string;
  limit?: number;
}

/**
 * The one claim statement: picks the rows `q` selects that nobody holds, skipping rows a concurrent
 * transaction has locked, and leases them to `owner` until now + `leaseMs`. Returned in due order.
 */
async function claimTasks(core: LedgerCore, lease: { owner: string; leaseMs: number }, q: ClaimQuery): Promise<TaskRow[]> {
  checkLease(lease);
  const params: unknown[] = [nowIso(core), lease.owner, laterIso(core, lease.leaseMs)];
  const param: Param = (value) => {
    params.push(value);
    return `$${params.length}`;
  };
  const where = ['(lease_expires_at IS NULL OR lease_expires_at <= $1::timestamptz)', ...q.where(param)];
  const limit = q.limit === undefined ? '' : `\n       LIMIT ${param(q.limit)}`;
  const sql = `WITH due AS (
       SELECT id FROM tasks
       WHERE ${where.join('\n         AND ')}
       ORDER BY ${q.order}${limit}
       FOR UPDATE SKIP LOCKED)
     UPDATE tasks t SET lease_owner = $2, lease_expires_at = $3::timestamptz, updated_at = $1::timestamptz
     FROM due WHERE t.id = due.id
     RETURNING t.*`;
  const { rows } = await core.db.transaction((tx) => tx.query(sql, params));
  return rows.map(toTask).sort(byDue);
}

function checkLease(lease: { owner: string; leaseMs: number }): void {
  if (!lease.owner) throw new LedgerInputError('owner', 'required, non-empty string');
  if (!(Number.isFinite(lease.leaseMs) && lease.leaseMs > 0)) throw new LedgerInputError('leaseMs', 'must be a number > 0');
}

const DUE_ORDER = 'next_attempt_at NULLS FIRST, created_at, id';

function byDue(a: TaskRow, b: TaskRow): number {
  return (a.nextAttemptAt ?? '').localeCompare(b.nextAttemptAt ?? '') || a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id);
}

export async function claimDue(core: LedgerCore, opts: ClaimOptions): Promise<TaskRow[]> {
  const states = opts.states ?? OPEN_STATES;
  for (const s of states) {
    if (!isTaskState(s) || isTerminal(s)) throw new LedgerInputError('states', `${String(s)} is not an open task state`);
  }
  const limit = opts.limit ?? 10;
  if (!(Number.isInteger(limit) && limit > 0 && limit <= 1000)) throw new LedgerInputError('limit', 'integer 1..1000');
  return claimTasks(core, opts, {
    where: (p) => [
      `state = ANY(${p([...states])}::text[])`,
      `(next_attempt_at IS NULL OR next_attempt_at <= $1::timestamptz
               OR deadline_at <= $1::timestamptz OR cancel_requested_at IS NOT NULL)`,
      ...(opts.provider !== undefined ? [`provider = ${p(opts.provider)}`] : []),
      ...(opts.scope !== undefined ? [`scope = ${p(opts.scope)}`] : []),
    ],
    order: DUE_ORDER,
    limit,
  });
}

export async function claimPending(core: LedgerCore, taskIds: readonly string[], opts: { owner: string; leaseMs: number }): Promise<TaskRow[]> {
  checkLease(opts);
  if (taskIds.length === 0) return [];
  return claimTasks(core, opts, {
    where: (p) => [`id = ANY(${p([...taskIds])}::text[])`, byIdState(`state = 'pending'`), `(next_attempt_at IS NULL OR next_attempt_at <= $1::timestamptz)`],
    order: 'id',
  });
}

export async function claimForSubmission(core: LedgerCore, o: SubmissionClaimOptions): Promise<TaskRow[]> {
  if (!(Number.isInteger(o.limit) && o.limit > 0)) throw new LedgerInputError('limit', 'integer > 0');
  if (!(Number.isFinite(o.graceMs) && o.graceMs >= 0)) throw new LedgerInputError('graceMs', 'must be a number >= 0');
  const graceCutoff = new Date(core.now() - o.graceMs).toISOString();
  return claimTasks(core, o, {
    where: (p) => [
      `state = 'pending'`,
      `(next_attempt_at IS NULL OR next_attempt_at <= $1::timestamptz OR cancel_requested_at IS NOT NULL)`,
      // An expired lease (not none) is a task its recorder handed off: no grace to wait out.
      `(created_at <= ${p(graceCutoff)}::timestamptz OR submit_started_at IS NOT NULL OR attempts > 0
               OR cancel_requested_at IS NOT NULL OR lease_expires_at IS NOT NULL)`,
    ],
    order: DUE_ORDER,
    limit: o.limit,
  });
}

export async function release(core: LedgerCore, taskId: string, owner: string): Promise<boolean> {
  return (await releaseMany(core, [taskId], owner)) > 0;
}

export async function releaseMany(core: LedgerCore, ids: readonly string[], owner: string): Promise<number> {
  if (ids.length === 0) return 0;
  const { rows } = await core.db.query(
    `UPDATE tasks SET lease_owner = NULL, lease_expires_at = NULL, updated_at = $3::timestamptz
     WHERE id = ANY($1::text[]) AND lease_owner = $2 RETURNING id`,
    [[...ids], owner, nowIso(core)],
  );
  return rows.length;
}
