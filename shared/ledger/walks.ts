/**
 * Where a walk of a source's inventory got to (backfill runs, the drift audit): one cursor per
 * (run, rule, source), advanced under a lease so two walkers never move one cursor, and the states of
 * the tasks a walk would create (by idempotency key), so it skips what the ledger already has.
 */
import type { Db } from './db.ts';
import { type Iso, isoOrNull, type Json } from './rows.ts';
import { LedgerInputError, type TaskState } from './states.ts';

export interface WalkKey {
  runId: string;
  rule: string;
  source: string;
}

/** The repository page being walked (its inventory cursor), how many of its repositories are done, and the next one's tags up to which (by name). */
export interface WalkPosition {
  pageCursor: string | null;
  pageOffset: number;
  tagAfter: string | null;
}

export interface WalkCursorRow extends WalkKey {
  position: WalkPosition;
  counts: Json;
  passStartedAt: Iso | null;
  finishedAt: Iso | null;
  lastFullPassAt: Iso | null;
}

export type WalkClaim = { state: 'claimed'; row: WalkCursorRow } | { state: 'finished'; row: WalkCursorRow } | { state: 'busy' };

export const START: WalkPosition = { pageCursor: null, pageOffset: 0, tagAfter: null };

function toRow(r: Record<string, unknown>): WalkCursorRow {
  const counts = typeof r.counts === 'string' ? (JSON.parse(r.counts) as Json) : ((r.counts as Json | null) ?? {});
  return {
    runId: String(r.run_id),
    rule: String(r.rule),
    source: String(r.source),
    position: { pageCursor: r.page_cursor == null ? null : String(r.page_cursor), pageOffset: Number(r.page_offset), tagAfter: r.tag_after == null ? null : String(r.tag_after) },
    counts,
    passStartedAt: isoOrNull(r.pass_started_at),
    finishedAt: isoOrNull(r.finished_at),
    lastFullPassAt: isoOrNull(r.last_full_pass_at),
  };
}

function need(value: string, field: string): string {
  if (typeof value !== 'string' || value === '') throw new LedgerInputError(field, 'required, non-empty string');
  return value;
}

export class WalkCursors {
  constructor(
    private readonly db: Db,
    private readonly now: () => number,
  ) {}

  private at(ms = 0): Iso {
    return new Date(this.now() + ms).toISOString();
  }

  async get(k: WalkKey): Promise<WalkCursorRow | null> {
    const { rows } = await this.db.query('SELECT * FROM walk_cursors WHERE run_id = $1 AND rule = $2 AND source = $3', [k.runId, k.rule, k.source]);
    return rows[0] ? toRow(rows[0]) : null;
  }

  async list(runId: string): Promise<WalkCursorRow[]> {
    const { rows } = await this.db.query('SELECT * FROM walk_cursors WHERE run_id = $1 ORDER BY rule, source', [runId]);
    return rows.map(toRow);
  }

  /**
   * Leases the cursor to `owner` (creating it at the start). A finished pass is started again from the
   * beginning when it ended at or before `restartFinishedBefore` (the audit's interval; a backfill run
   * done everywhere), else reported `finished`; a cursor someone else holds is `busy`.
   */
  async claim(k: WalkKey, o: { owner: string; leaseMs: number; restartFinishedBefore?: number | null | undefined }): Promise<WalkClaim> {
    need(o.owner, 'owner');
    const now = this.at();
    await this.db.query(
      `INSERT INTO walk_cursors (run_id, rule, source, pass_started_at, updated_at) VALUES ($1, $2, $3, $4::timestamptz, $4::timestamptz)
       ON CONFLICT (run_id, rule, source) DO NOTHING`,
      [need(k.runId, 'runId'), need(k.rule, 'rule'), need(k.source, 'source'), now],
    );
    const restart = o.restartFinishedBefore == null ? null : new Date(o.restartFinishedBefore).toISOString();
    const { rows } = await this.db.query(
      `UPDATE walk_cursors SET lease_owner = $4, lease_expires_at = $6::timestamptz, updated_at = $5::timestamptz,
              page_cursor = CASE WHEN restart THEN NULL ELSE page_cursor END,
              page_offset = CASE WHEN restart THEN 0 ELSE page_offset END,
              tag_after = CASE WHEN restart THEN NULL ELSE tag_after END,
              counts = CASE WHEN restart THEN '{}'::jsonb ELSE counts END,
              pass_started_at = CASE WHEN restart THEN $5::timestamptz ELSE pass_started_at END,
              finished_at = CASE WHEN restart THEN NULL ELSE finished_at END
       FROM (SELECT finished_at IS NOT NULL AND $7::timestamptz IS NOT NULL AND finished_at <= $7::timestamptz AS restart
             FROM walk_cursors WHERE run_id = $1 AND rule = $2 AND source = $3) r
       WHERE run_id = $1 AND rule = $2 AND source = $3
         AND (lease_owner IS NULL OR lease_owner = $4 OR lease_expires_at <= $5::timestamptz)
         AND (finished_at IS NULL OR r.restart)
       RETURNING walk_cursors.*`,
      [k.runId, k.rule, k.source, o.owner, now, this.at(o.leaseMs), restart],
    );
    if (rows[0]) return { state: 'claimed', row: toRow(rows[0]) };
    const row = await this.get(k);
    return row?.finishedAt ? { state: 'finished', row } : { state: 'busy' };
  }

  /** Saves the position and counts under `owner`'s lease (extending it); false when the lease was lost. */
  async save(k: WalkKey, owner: string, position: WalkPosition, counts: Json, leaseMs: number): Promise<boolean> {
    const { rows } = await this.db.query(
      `UPDATE walk_cursors SET page_cursor = $5, page_offset = $6, tag_after = $7, counts = $8::jsonb,
              lease_expires_at = $9::timestamptz, updated_at = $10::timestamptz
       WHERE run_id = $1 AND rule = $2 AND source = $3 AND lease_owner = $4 RETURNING run_id`,
      [k.runId, k.rule, k.source, owner, position.pageCursor, position.pageOffset, position.tagAfter, JSON.stringify(counts), this.at(leaseMs), this.at()],
    );
    return rows.length > 0;
  }

  /** The pass reached the end of the inventory: records it (and when, as the last full pass) and drops the lease. */
  async finish(k: WalkKey, owner: string, counts: Json): Promise<boolean> {
    const now = this.at();
    const { rows } = await this.db.query(
      `UPDATE walk_cursors SET counts = $5::jsonb, finished_at = $6::timestamptz, last_full_pass_at = $6::timestamptz,
              lease_owner = NULL, lease_expires_at = NULL, updated_at = $6::timestamptz
       WHERE run_id = $1 AND rule = $2 AND source = $3 AND lease_owner = $4 RETURNING run_id`,
      [k.runId, k.rule, k.source, owner, JSON.stringify(counts), now],
    );
    return rows.length > 0;
  }

  async release(k: WalkKey, owner: string): Promise<void> {
    await this.db.query(
      `UPDATE walk_cursors SET lease_owner = NULL, lease_expires_at = NULL, updated_at = $5::timestamptz
       WHERE run_id = $1 AND rule = $2 AND source = $3 AND lease_owner = $4`,
      [k.runId, k.rule, k.source, owner, this.at()],
    );
  }

  /** The state of the task of each idempotency key the ledger has (keys it lacks are left out). */
  async taskStates(keys: readonly string[]): Promise<Map<string, TaskState>> {
    if (!keys.length) return new Map();
    const { rows } = await this.db.query<{ idempotency_key: string; state: TaskState }>('SELECT idempotency_key, state FROM tasks WHERE idempotency_key = ANY($1::text[])', [[...keys]]);
    return new Map(rows.map((r) => [r.idempotency_key, r.state]));
  }
}
