/** Reads of tasks: by id, by cloud reference, paged listings, and the open-task views the sweep uses. */
import type { LedgerCore } from './core.ts';
import { toIso } from './keys.ts';
import { type CloudRefRow, type Provider, type ReplicationRow, toReplication, type TaskAction, type TaskEvent, type TaskRow, type TimeInput, toCloudRef, toEvent, toTask } from './rows.ts';
import { LedgerInputError, OPEN_STATES, REPLICATION_STATES, type ReplicationState, type TaskState, isTaskState } from './states.ts';

export interface ListTasksFilter {
  state?: TaskState | readonly TaskState[];
  provider?: Provider;
  action?: TaskAction;
  repository?: string;
  /** The source namespace (with `repository`: the image `namespace/repository`). */
  namespace?: string;
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

export interface ScopeSummary {
  scope: string;
  open: number;
  /** Oldest cloud creation time (else ledger creation time) among the scope's submitted/running tasks. */
  oldestAt: number;
}

export interface OpenTasksFilter {
  provider?: Provider;
  scope?: string;
  states?: readonly TaskState[];
  limit?: number;
}

export async function getTask(core: LedgerCore, id: string): Promise<TaskDetail | null> {
  const t = await core.db.query('SELECT * FROM tasks WHERE id = $1', [id]);
  if (!t.rows[0]) return null;
  const ev = await core.db.query('SELECT * FROM task_events WHERE task_id = $1 ORDER BY id', [id]);
  const refs = await core.db.query('SELECT * FROM task_cloud_refs WHERE task_id = $1 ORDER BY attempt, recorded_at', [id]);
  return { task: toTask(t.rows[0]), events: ev.rows.map(toEvent), cloudRefs: refs.rows.map(toCloudRef) };
}

export async function findTaskByCloudRef(core: LedgerCore, ref: string): Promise<TaskRow | null> {
  const { rows } = await core.db.query(
    `SELECT t.* FROM tasks t WHERE t.cloud_ref = $1
     UNION
     SELECT t.* FROM tasks t JOIN task_cloud_refs c ON c.task_id = t.id WHERE c.cloud_ref = $1
     LIMIT 1`,
    [ref],
  );
  return rows[0] ? toTask(rows[0]) : null;
}

/** The tasks holding these idempotency keys (a dry run asks what a push would find). */
export async function tasksByKeys(core: LedgerCore, keys: readonly string[]): Promise<TaskRow[]> {
  if (keys.length === 0) return [];
  const { rows } = await core.db.query('SELECT * FROM tasks WHERE idempotency_key = ANY($1::text[])', [[...keys]]);
  return rows.map(toTask);
}

export async function listTasks(core: LedgerCore, f: ListTasksFilter): Promise<{ items: TaskRow[]; nextCursor: string | null }> {
  const limit = f.limit ?? 50;
  if (!(Number.isInteger(limit) && limit > 0 && limit <= 500)) throw new LedgerInputError('limit', 'integer 1..500');
  const states = f.state === undefined ? null : Array.isArray(f.state) ? [...f.state] : [f.state as TaskState];
  for (const s of states ?? []) if (!isTaskState(s)) throw new LedgerInputError('state', `unknown task state ${String(s)}`);
  if (f.provider !== undefined && (typeof f.provider !== 'string' || f.provider === '')) {
    throw new LedgerInputError('provider', 'non-empty string');
  }
  let after: { at: string; id: string } | null = null;
  if (f.cursor) after = decodeCursor(f.cursor);
  const { rows } = await core.db.query(
    `SELECT t.* FROM tasks t
     WHERE ($1::text[] IS NULL OR t.state = ANY($1::text[]))
       AND ($2::text IS NULL OR t.provider = $2)
       AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM replications r WHERE r.id = t.replication_id AND r.repository = $3))
       AND ($4::text IS NULL OR t.replication_id = $4)
       AND ($5::timestamptz IS NULL OR t.created_at >= $5::timestamptz)
       AND ($6::timestamptz IS NULL OR (t.created_at, t.id) < ($6::timestamptz, $7::text))
       AND ($9::text IS NULL OR t.action = $9)
       AND ($10::text IS NULL OR EXISTS (SELECT 1 FROM replications r WHERE r.id = t.replication_id AND r.namespace = $10))
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
      f.action ?? null,
      f.namespace ?? null,
    ],
  );
  const items = rows.slice(0, limit).map(toTask);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null };
}

export interface ListReplicationsFilter {
  state?: ReplicationState | readonly ReplicationState[];
  namespace?: string;
  repository?: string;
  /** Replications received at or after. */
  since?: TimeInput;
  cursor?: string | null;
  limit?: number;
}

/** Replications, newest received first, paged like listTasks (the cursor names a received time and id). */
export async function listReplications(core: LedgerCore, f: ListReplicationsFilter): Promise<{ items: ReplicationRow[]; nextCursor: string | null }> {
  const limit = f.limit ?? 50;
  if (!(Number.isInteger(limit) && limit > 0 && limit <= 500)) throw new LedgerInputError('limit', 'integer 1..500');
  const states = f.state === undefined ? null : Array.isArray(f.state) ? [...f.state] : [f.state as ReplicationState];
  for (const s of states ?? []) if (!(REPLICATION_STATES as readonly string[]).includes(s)) throw new LedgerInputError('state', `unknown replication state ${String(s)}`);
  const after = f.cursor ? decodeCursor(f.cursor) : null;
  const { rows } = await core.db.query(
    `SELECT * FROM replications
     WHERE ($1::text[] IS NULL OR state = ANY($1::text[]))
       AND ($2::text IS NULL OR namespace = $2)
       AND ($3::text IS NULL OR repository = $3)
       AND ($4::timestamptz IS NULL OR received_at >= $4::timestamptz)
       AND ($5::timestamptz IS NULL OR (received_at, id) < ($5::timestamptz, $6::text))
     ORDER BY received_at DESC, id DESC
     LIMIT $7`,
    [states, f.namespace ?? null, f.repository ?? null, f.since === undefined ? null : toIso(f.since, 'since'), after?.at ?? null, after?.id ?? null, limit + 1],
  );
  const items = rows.slice(0, limit).map(toReplication);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.receivedAt, last.id) : null };
}

export async function openTasks(core: LedgerCore, f: OpenTasksFilter): Promise<TaskRow[]> {
  const states = f.states ?? OPEN_STATES;
  const { rows } = await core.db.query(
    `SELECT * FROM tasks
     WHERE state = ANY($1::text[]) AND ($2::text IS NULL OR provider = $2) AND ($3::text IS NULL OR scope = $3)
     ORDER BY created_at, id LIMIT $4`,
    [[...states.filter((s) => OPEN_STATES.includes(s))], f.provider ?? null, f.scope ?? null, f.limit ?? 1000],
  );
  return rows.map(toTask);
}

export async function activeScopes(core: LedgerCore, provider: Provider): Promise<ScopeSummary[]> {
  const { rows } = await core.db.query<{ scope: string; open: unknown; oldest: unknown }>(
    `SELECT scope, count(*) AS open, min(coalesce(cloud_created_at, created_at)) AS oldest
     FROM tasks WHERE provider = $1 AND state IN ('submitted', 'running')
     GROUP BY scope ORDER BY count(*), scope`,
    [provider],
  );
  return rows.map((r) => ({ scope: r.scope, open: Number(r.open), oldestAt: new Date(r.oldest as string).getTime() }));
}

export function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const CURSOR_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The position a nextCursor names, or null when it is not one encodeCursor made (a row's ISO time and task id). */
function parseCursor(cursor: string): { at: string; id: string } | null {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    // Exactly what encodeCursor writes: anything else could carry what SQL cannot take (NUL, year 0).
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && CURSOR_AT.test(v[0]) && CURSOR_ID.test(v[1])) {
      const at = Date.parse(v[0]);
      if (!Number.isNaN(at) && new Date(at).toISOString() === v[0] && v[0] >= '0001') return { at: v[0], id: v[1] };
    }
  } catch {
    // fall through
  }
  return null;
}

/** null when `cursor` is a nextCursor listTasks returned, else why not (for the API's boundary check). */
export function checkListCursor(cursor: string): string | null {
  return parseCursor(cursor) ? null : 'not a cursor returned by listTasks';
}

export function decodeCursor(cursor: string): { at: string; id: string } {
  const at = parseCursor(cursor);
  if (!at) throw new LedgerInputError('cursor', 'not a cursor returned by listTasks');
  return at;
}
