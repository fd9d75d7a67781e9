/**
 * What /metrics and /healthz read: the last completed sweep (one row, replaced by each sweep), monotonic
 * counters kept in the ledger (one upsert per increment), and a few aggregate queries over tasks,
 * replications and their history. Everything comes from the database, so every function instance
 * reports the same numbers.
 */
import type { Db } from './db.ts';
import { type Iso, isoOrNull } from './rows.ts';
import { LedgerInputError, OPEN_STATES } from './states.ts';

/** Counters kept in metric_counters, by name. */
export const COUNTERS = {
  webhookDeliveries: 'webhook_deliveries',
  driftFound: 'drift_found',
  driftRepaired: 'drift_repaired',
} as const;
export type CounterName = (typeof COUNTERS)[keyof typeof COUNTERS];

export interface SweepRecord {
  owner: string;
  durationMs: number;
  cloudCalls: number;
  leftover: boolean;
  errors: number;
  /** Drift the audit found and repaired in this sweep (added to the counters). */
  driftFound: number;
  driftRepaired: number;
  summary: Record<string, unknown>;
}

export interface LastSweep {
  owner: string;
  completedAt: Iso;
  durationMs: number;
  cloudCalls: number;
  leftover: boolean;
  errors: number;
}

export interface CounterRow {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface LagHistogram {
  /** Upper bounds (seconds) → replications with lag ≤ bound (cumulative). */
  buckets: Array<{ le: number; count: number }>;
  count: number;
  sumSeconds: number;
}

export interface MetricsSnapshot {
  tasks: Array<{ state: string; provider: string; rule: string; count: number }>;
  lag: LagHistogram;
  oldestOpenTaskAgeSeconds: number;
  failures: Array<{ code: string; count: number }>;
  lastSweep: LastSweep | null;
  counters: CounterRow[];
}

const num = (v: unknown) => Number(v ?? 0);

/**
 * `lag(s)`: seconds from push received to the last task finished, one row per replication that
 * succeeded at or after `$1` (the metrics histogram and the status page read the same definition).
 * A join and GROUP BY, not a subquery per replication: one pass over the window's tasks (and on
 * PostgreSQL a plan cheap enough not to trigger JIT compilation, which alone cost ~0.5 s).
 */
export const SUCCEEDED_LAG_CTE = `WITH lag AS (
           SELECT greatest(0, extract(epoch FROM max(t.finished_at) - r.received_at))::float8 AS s
           FROM replications r JOIN tasks t ON t.replication_id = r.id
           WHERE r.state = 'succeeded' AND r.updated_at >= $1::timestamptz
           GROUP BY r.id, r.received_at)`;

function labelsOf(v: unknown): Record<string, string> {
  const o = typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
  const out: Record<string, string> = {};
  if (o && typeof o === 'object') for (const [k, x] of Object.entries(o)) out[k] = String(x);
  return out;
}

export class LedgerMetrics {
  readonly #db: Db;
  readonly #now: () => number;

  constructor(db: Db, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  /** Adds `by` to a counter: one upsert. */
  async count(name: CounterName, labels: Record<string, string>, by = 1): Promise<void> {
    if (!Number.isInteger(by) || by < 0) throw new LedgerInputError('by', 'a non-negative integer');
    if (by === 0) return;
    await this.#db.query(
      `INSERT INTO metric_counters (name, labels, value, updated_at) VALUES ($1, $2::jsonb, $3, $4::timestamptz)
       ON CONFLICT (name, labels) DO UPDATE SET value = metric_counters.value + EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
      [name, JSON.stringify(labels), by, new Date(this.#now()).toISOString()],
    );
  }

  /** Replaces the last completed sweep and adds its drift to the counters, in one transaction. */
  /** A sweep starts (until `untilMs` at most, when its row stops counting): it is running for sweepRunning(). */
  async sweepStarted(owner: string, untilMs: number): Promise<void> {
    const now = new Date(this.#now()).toISOString();
    await this.#db.query(
      `WITH gone AS (DELETE FROM sweep_active WHERE expires_at <= $2::timestamptz)
       INSERT INTO sweep_active (owner, started_at, expires_at) VALUES ($1, $2::timestamptz, $3::timestamptz)
       ON CONFLICT (owner) DO UPDATE SET started_at = EXCLUDED.started_at, expires_at = EXCLUDED.expires_at`,
      [owner, now, new Date(untilMs).toISOString()],
    );
  }

  /** Whether some sweep has started and not yet recorded its summary (nor run past its time). */
  async sweepRunning(): Promise<boolean> {
    const { rows } = await this.#db.query(`SELECT 1 FROM sweep_active WHERE expires_at > $1::timestamptz LIMIT 1`, [new Date(this.#now()).toISOString()]);
    return rows.length > 0;
  }

  async recordSweep(r: SweepRecord): Promise<void> {
    const now = new Date(this.#now()).toISOString();
    await this.#db.transaction(async (tx) => {
      await tx.query('DELETE FROM sweep_active WHERE owner = $1', [r.owner]);
      await tx.query(
        `INSERT INTO sweep_runs (id, owner, completed_at, duration_ms, cloud_calls, leftover, errors, summary)
         VALUES ('last', $1, $2::timestamptz, $3, $4, $5, $6, $7::jsonb)
         ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, completed_at = EXCLUDED.completed_at, duration_ms = EXCLUDED.duration_ms,
           cloud_calls = EXCLUDED.cloud_calls, leftover = EXCLUDED.leftover, errors = EXCLUDED.errors, summary = EXCLUDED.summary`,
        [r.owner, now, Math.round(r.durationMs), r.cloudCalls, r.leftover, r.errors, JSON.stringify(r.summary)],
      );
      for (const [name, by] of [
        [COUNTERS.driftFound, r.driftFound],
        [COUNTERS.driftRepaired, r.driftRepaired],
      ] as const) {
        if (by <= 0) continue;
        await tx.query(
          `INSERT INTO metric_counters (name, labels, value, updated_at) VALUES ($1, '{}'::jsonb, $2, $3::timestamptz)
           ON CONFLICT (name, labels) DO UPDATE SET value = metric_counters.value + EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
          [name, by, now],
        );
      }
    });
  }

  async lastSweep(): Promise<LastSweep | null> {
    const { rows } = await this.#db.query<Record<string, unknown>>(`SELECT * FROM sweep_runs WHERE id = 'last'`);
    const r = rows[0];
    if (!r) return null;
    return {
      owner: String(r.owner),
      completedAt: isoOrNull(r.completed_at)!,
      durationMs: num(r.duration_ms),
      cloudCalls: num(r.cloud_calls),
      leftover: Boolean(r.leftover),
      errors: num(r.errors),
    };
  }

  /**
   * Everything /metrics shows. `lagBuckets`: the histogram's upper bounds in seconds, ascending;
   * lag is push received → the last task of a succeeded replication finished, over replications that
   * succeeded within `lagWindowMs`.
   */
  async snapshot(opts: { lagBuckets: readonly number[]; lagWindowMs: number }): Promise<MetricsSnapshot> {
    const db = this.#db;
    const now = this.#now();
    const since = new Date(now - opts.lagWindowMs).toISOString();
    const [tasks, lag, lagBuckets, oldest, failures, lastSweep, counters] = await Promise.all([
      db.query<Record<string, unknown>>(`SELECT state, provider, coalesce(rule, '') AS rule, count(*) AS n FROM tasks GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`),
      db.query<Record<string, unknown>>(
        `${SUCCEEDED_LAG_CTE}
         SELECT count(s) AS n, coalesce(sum(s), 0) AS total FROM lag`,
        [since],
      ),
      db.query<Record<string, unknown>>(
        `${SUCCEEDED_LAG_CTE}
         SELECT b.le, count(lag.s) AS n FROM unnest($2::float8[]) AS b(le) LEFT JOIN lag ON lag.s <= b.le GROUP BY b.le ORDER BY b.le`,
        [since, [...opts.lagBuckets]],
      ),
      db.query<Record<string, unknown>>(`SELECT min(created_at) AS t FROM tasks WHERE state = ANY($1::text[])`, [[...OPEN_STATES]]),
      db.query<Record<string, unknown>>(
        `SELECT coalesce(e.details->'error'->>'code', t.last_error_code, 'unknown') AS code, count(*) AS n
         FROM task_events e JOIN tasks t ON t.id = e.task_id
         WHERE e.to_state = 'failed' AND e.from_state IS DISTINCT FROM 'failed'
         GROUP BY 1 ORDER BY 1`,
      ),
      this.lastSweep(),
      db.query<Record<string, unknown>>(`SELECT name, labels, value FROM metric_counters ORDER BY name, labels::text`),
    ]);
    const oldestAt = oldest.rows[0]?.t;
    return {
      tasks: tasks.rows.map((r) => ({ state: String(r.state), provider: String(r.provider), rule: String(r.rule), count: num(r.n) })),
      lag: {
        buckets: lagBuckets.rows.map((r) => ({ le: num(r.le), count: num(r.n) })),
        count: num(lag.rows[0]?.n),
        sumSeconds: num(lag.rows[0]?.total),
      },
      oldestOpenTaskAgeSeconds: oldestAt == null ? 0 : Math.max(0, (now - Date.parse(isoOrNull(oldestAt)!)) / 1000),
      failures: failures.rows.map((r) => ({ code: String(r.code), count: num(r.n) })),
      lastSweep,
      counters: counters.rows.map((r) => ({ name: String(r.name), labels: labelsOf(r.labels), value: num(r.value) })),
    };
  }
}
