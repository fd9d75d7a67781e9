import type { Db } from './db.ts';
import { toIso } from './keys.ts';
import { type EcsTaskRow, type Iso, type TimeInput, toEcsTask } from './rows.ts';
import { ECS_WATCH_STATES, type EcsWatchState, IllegalTransitionError, LedgerInputError, NotFoundError, StaleStateError } from './states.ts';

function need(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new LedgerInputError(field, 'required, non-empty string');
  return value;
}

export interface WatchEcsTaskInput {
  region: string;
  taskId: string;
  action: string;
  ferryTaskId?: string | null;
  resourceId?: string | null;
  cloudStatus?: string | null;
  deadlineAt?: TimeInput | null;
}

/** ECS ImportImage/ExportImage tasks the sweep watches: watching → finished | failed | canceled | timed_out. */
export class EcsTaskRegistry {
  constructor(
    private readonly db: Db,
    private readonly now: () => Iso,
  ) {}

  /** Inserts or refreshes (status, deadline, links) a watched task; its watch state is left alone. */
  async watch(input: WatchEcsTaskInput): Promise<EcsTaskRow> {
    const now = this.now();
    const { rows } = await this.db.query(
      `INSERT INTO ecs_tasks (region, task_id, action, ferry_task_id, resource_id, cloud_status, deadline_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $8::timestamptz, $8::timestamptz)
       ON CONFLICT (region, task_id) DO UPDATE SET
         cloud_status = coalesce(EXCLUDED.cloud_status, ecs_tasks.cloud_status),
         deadline_at = coalesce(EXCLUDED.deadline_at, ecs_tasks.deadline_at),
         ferry_task_id = coalesce(EXCLUDED.ferry_task_id, ecs_tasks.ferry_task_id),
         resource_id = coalesce(EXCLUDED.resource_id, ecs_tasks.resource_id),
         updated_at = EXCLUDED.updated_at
       RETURNING *`,
      [
        need(input.region, 'region'),
        need(input.taskId, 'taskId'),
        need(input.action, 'action'),
        input.ferryTaskId ?? null,
        input.resourceId ?? null,
        input.cloudStatus ?? null,
        input.deadlineAt == null ? null : toIso(input.deadlineAt, 'deadlineAt'),
        now,
      ],
    );
    return toEcsTask(rows[0]!);
  }

  async get(region: string, taskId: string): Promise<EcsTaskRow | null> {
    const { rows } = await this.db.query('SELECT * FROM ecs_tasks WHERE region = $1 AND task_id = $2', [region, taskId]);
    return rows[0] ? toEcsTask(rows[0]) : null;
  }

  /** Which of these task ids are already recorded for the region (any state), so re-seen ones are not rewritten. */
  async known(region: string, taskIds: readonly string[]): Promise<Set<string>> {
    if (taskIds.length === 0) return new Set();
    const { rows } = await this.db.query<{ task_id: string }>('SELECT task_id FROM ecs_tasks WHERE region = $1 AND task_id = ANY($2::text[])', [region, [...taskIds]]);
    return new Set(rows.map((r) => r.task_id));
  }

  async list(filter: { region?: string; state?: EcsWatchState } = {}): Promise<EcsTaskRow[]> {
    const { rows } = await this.db.query(
      `SELECT * FROM ecs_tasks WHERE ($1::text IS NULL OR region = $1) AND ($2::text IS NULL OR state = $2)
       ORDER BY created_at, region, task_id`,
      [filter.region ?? null, filter.state ?? null],
    );
    return rows.map(toEcsTask);
  }

  /**
   * Leases up to `limit` watched tasks of a region to `owner` (nearest deadline first); rows leased by
   * a concurrent claimer are skipped, expired leases are taken over.
   */
  async claimDue(o: { region: string; owner: string; leaseMs: number; limit: number }): Promise<EcsTaskRow[]> {
    const now = this.now();
    const until = new Date(Date.parse(now) + o.leaseMs).toISOString();
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query(
        `WITH due AS (
           SELECT region, task_id FROM ecs_tasks
           WHERE region = $1 AND state = 'watching'
             AND (lease_expires_at IS NULL OR lease_expires_at <= $2::timestamptz)
           ORDER BY deadline_at NULLS LAST, task_id
           LIMIT $3
           FOR UPDATE SKIP LOCKED)
         UPDATE ecs_tasks e SET lease_owner = $4, lease_expires_at = $5::timestamptz
         FROM due WHERE e.region = due.region AND e.task_id = due.task_id
         RETURNING e.*`,
        [o.region, now, o.limit, o.owner, until],
      );
      return rows.map(toEcsTask);
    });
  }

  /** Gives back leases this owner holds on these tasks. */
  async release(region: string, taskIds: readonly string[], owner: string): Promise<void> {
    if (taskIds.length === 0) return;
    await this.db.query(
      `UPDATE ecs_tasks SET lease_owner = NULL, lease_expires_at = NULL
       WHERE region = $1 AND task_id = ANY($2::text[]) AND lease_owner = $3`,
      [region, [...taskIds], owner],
    );
  }

  /** Records the latest cloud status of a task still being watched. */
  async observe(region: string, taskId: string, cloudStatus: string): Promise<EcsTaskRow> {
    const { rows } = await this.db.query(
      `UPDATE ecs_tasks SET cloud_status = $3, updated_at = $4::timestamptz
       WHERE region = $1 AND task_id = $2 RETURNING *`,
      [region, taskId, cloudStatus, this.now()],
    );
    if (!rows[0]) throw new NotFoundError('ecs task', `${region}/${taskId}`);
    return toEcsTask(rows[0]);
  }

  /** watching → finished | failed | canceled | timed_out, guarded by the current state. */
  async transition(region: string, taskId: string, t: { from: EcsWatchState; to: EcsWatchState; cloudStatus?: string; error?: { code: string; message: string } }): Promise<EcsTaskRow> {
    if (!ECS_WATCH_STATES.includes(t.to) || t.from !== 'watching' || t.to === 'watching') {
      throw new IllegalTransitionError(t.from, t.to, `${region}/${taskId}`);
    }
    const now = this.now();
    const { rows } = await this.db.query(
      `UPDATE ecs_tasks SET state = $4, cloud_status = coalesce($5, cloud_status), updated_at = $6::timestamptz,
              finished_at = $6::timestamptz, last_error_code = $7, last_error_message = $8,
              lease_owner = NULL, lease_expires_at = NULL
       WHERE region = $1 AND task_id = $2 AND state = $3 RETURNING *`,
      [region, taskId, t.from, t.to, t.cloudStatus ?? null, now, t.error?.code ?? null, t.error?.message ?? null],
    );
    if (rows[0]) return toEcsTask(rows[0]);
    const cur = await this.get(region, taskId);
    if (!cur) throw new NotFoundError('ecs task', `${region}/${taskId}`);
    throw new StaleStateError(`${region}/${taskId}`, t.from, cur.state);
  }
}
