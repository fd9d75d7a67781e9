/**
 * What the status page's overview shows, from five aggregate queries run together: replications
 * received in the window by state, lag percentiles (the same lag as /metrics), per-rule task counts,
 * the oldest open task, and the tasks failing now (finished in failure within the window, or pending
 * a retry after an error). Tasks are read as "finished in the window" plus "open", each part by its
 * index (tasks_finished, tasks_due), never by a scan of the whole history.
 */
import type { Db } from './db.ts';
import { SUCCEEDED_LAG_CTE } from './metrics.ts';
import { type Iso, isoOrNull, type TaskRow, toTask } from './rows.ts';
import { OPEN_STATES } from './states.ts';
import { imageName } from './task-log.ts';

export interface ReplicationCounts {
  succeeded: number;
  /** failed + partially_failed. */
  failed: number;
  canceled: number;
  /** pending + in_progress. */
  open: number;
  total: number;
}

export interface RuleHealth {
  /** '' for tasks recorded without a rule. */
  rule: string;
  succeeded: number;
  /** failed + timed_out. */
  failed: number;
  canceled: number;
  open: number;
  /** Open tasks waiting for a retry after an error. */
  retrying: number;
  lastFailureAt: Iso | null;
}

export interface TaskWithImage {
  task: TaskRow;
  /** `registry/namespace/repository[:tag][@digest]`. */
  image: string;
}

export interface Overview {
  since: Iso;
  replications: ReplicationCounts;
  lag: { count: number; p50Seconds: number | null; p95Seconds: number | null };
  rules: RuleHealth[];
  oldestOpen: TaskWithImage | null;
  failing: TaskWithImage[];
}

const FAILED_STATES = ['failed', 'timed_out'];
const num = (v: unknown) => Number(v ?? 0);
const numOrNull = (v: unknown) => (v == null ? null : Number(v));
const WITH_IMAGE = 't.*, r.source AS img_source, r.namespace AS img_namespace, r.repository AS img_repository, r.tag AS img_tag, r.digest AS img_digest';

function withImage(row: Record<string, unknown>): TaskWithImage {
  const s = (v: unknown) => (v == null ? null : String(v));
  return {
    task: toTask(row),
    image: imageName({ source: String(row.img_source), namespace: String(row.img_namespace), repository: String(row.img_repository), tag: s(row.img_tag), digest: s(row.img_digest) }),
  };
}

export class LedgerOverview {
  readonly #db: Db;
  readonly #now: () => number;

  constructor(db: Db, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  /** The overview over the last `windowMs`; `failingLimit` caps the failing-task list (newest first). */
  async read(opts: { windowMs: number; failingLimit: number }): Promise<Overview> {
    const db = this.#db;
    const since = new Date(this.#now() - opts.windowMs).toISOString();
    const open = [...OPEN_STATES];
    const [reps, lag, rules, oldest, failing] = await Promise.all([
      db.query<Record<string, unknown>>(`SELECT state, count(*) AS n FROM replications WHERE received_at >= $1::timestamptz GROUP BY state`, [since]),
      db.query<Record<string, unknown>>(
        `${SUCCEEDED_LAG_CTE}
         SELECT count(s) AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY s) AS p95 FROM lag`,
        [since],
      ),
      db.query<Record<string, unknown>>(
        `SELECT coalesce(rule, '') AS rule,
                count(*) FILTER (WHERE state = 'succeeded') AS succeeded,
                count(*) FILTER (WHERE state = ANY($3::text[])) AS failed,
                count(*) FILTER (WHERE state = 'canceled') AS canceled,
                count(*) FILTER (WHERE state = ANY($2::text[])) AS open,
                count(*) FILTER (WHERE state = 'pending' AND last_error_code IS NOT NULL) AS retrying,
                max(finished_at) FILTER (WHERE state = ANY($3::text[])) AS last_failure_at
         FROM (SELECT rule, state, last_error_code, finished_at FROM tasks WHERE finished_at >= $1::timestamptz AND NOT (state = ANY($2::text[]))
               UNION ALL
               SELECT rule, state, last_error_code, finished_at FROM tasks WHERE state = ANY($2::text[])) AS t
         GROUP BY 1 ORDER BY 1`,
        [since, open, FAILED_STATES],
      ),
      db.query<Record<string, unknown>>(
        `SELECT ${WITH_IMAGE} FROM tasks t JOIN replications r ON r.id = t.replication_id
         WHERE t.state = ANY($1::text[]) ORDER BY t.created_at, t.id LIMIT 1`,
        [open],
      ),
      db.query<Record<string, unknown>>(
        `SELECT ${WITH_IMAGE} FROM (
           SELECT * FROM tasks WHERE finished_at >= $1::timestamptz AND state = ANY($2::text[])
           UNION ALL
           SELECT * FROM tasks WHERE state = 'pending' AND last_error_code IS NOT NULL) AS t
         JOIN replications r ON r.id = t.replication_id
         ORDER BY t.updated_at DESC, t.id DESC LIMIT $3`,
        [since, FAILED_STATES, opts.failingLimit],
      ),
    ]);
    const byState = new Map(reps.rows.map((r) => [String(r.state), num(r.n)]));
    const n = (...states: string[]) => states.reduce((sum, s) => sum + (byState.get(s) ?? 0), 0);
    const l = lag.rows[0] ?? {};
    return {
      since,
      replications: {
        succeeded: n('succeeded'),
        failed: n('failed', 'partially_failed'),
        canceled: n('canceled'),
        open: n('pending', 'in_progress'),
        total: [...byState.values()].reduce((a, b) => a + b, 0),
      },
      lag: { count: num(l.n), p50Seconds: numOrNull(l.p50), p95Seconds: numOrNull(l.p95) },
      rules: rules.rows.map((r) => ({
        rule: String(r.rule),
        succeeded: num(r.succeeded),
        failed: num(r.failed),
        canceled: num(r.canceled),
        open: num(r.open),
        retrying: num(r.retrying),
        lastFailureAt: isoOrNull(r.last_failure_at),
      })),
      oldestOpen: oldest.rows[0] ? withImage(oldest.rows[0]) : null,
      failing: failing.rows.map(withImage),
    };
  }
}
