/**
 * Accepted pushes: one replication row per source image, one task per target, written in one
 * transaction before any cloud is called; and the replication reads the sweep and the API need.
 */
import * as z from '../zod.ts';
import { type LedgerCore, nowIso, REPLICATION_STATE_SQL } from './core.ts';
import { imageFromRow, loggingChanges } from './task-log.ts';
import { deletionImageKey, idempotencyKey, newRowId, sourceImageKey, toIso } from './keys.ts';
import { type ReplicationRow, type TaskRow, toReplication, toTask } from './rows.ts';
import { LedgerInputError, type TaskState } from './states.ts';

const time = z.union([z.date(), z.string().check(z.minLength(1)), z.number()]);

const replicationInput = z.object({
  /** `delete`: a deletion at the source, whose tasks delete what Ferry copied (the digest is then required). */
  action: z._default(z.enum(['copy', 'delete']), 'copy'),
  sourceKind: z.string().check(z.minLength(1)),
  source: z.string().check(z.minLength(1)),
  region: z.nullish(z.string().check(z.minLength(1))),
  namespace: z.string().check(z.minLength(1)),
  repository: z.string().check(z.minLength(1)),
  tag: z.nullish(z.string().check(z.minLength(1))),
  digest: z.nullish(z.string().check(z.minLength(1))),
  pushedAt: z.nullish(time),
  eventId: z.nullish(z.string().check(z.minLength(1)).check(z.maxLength(1024))),
  receivedAt: z.optional(time),
  rules: z._default(z.array(z.string().check(z.minLength(1))), []),
  details: z.optional(z.record(z.string(), z.unknown())),
});
export type ReplicationInput = z.input<typeof replicationInput>;

/** What a task records of its rule's policy; fields left out take the defaults when the row is read. */
const policyInput = z.object({
  maxAttempts: z.optional(z.int().check(z.gte(1))),
  backoff: z.optional(
    z.object({ initialSeconds: z.optional(z.number().check(z.positive())), maxSeconds: z.optional(z.number().check(z.positive())), multiplier: z.optional(z.number().check(z.gte(1))) }),
  ),
  deadlineMinutes: z.optional(z.number().check(z.positive())),
  retryOnTimeout: z.optional(z.boolean()),
});

const taskSpec = z.object({
  /** The provider that submits and reconciles the task; any registered provider name. */
  provider: z.string().check(z.minLength(1)),
  target: z.record(z.string(), z.unknown()),
  /** Stable, canonical description of the destination (e.g. `acr:cn-shanghai/cri-x/ns/repo:tag`). */
  targetKey: z.string().check(z.minLength(1)),
  rule: z.nullish(z.string().check(z.minLength(1))),
  /** Where the cloud task lives / is listed. Default: the replication's source. */
  scope: z.optional(z.string().check(z.minLength(1))),
  maxAttempts: z.optional(z.int().check(z.gte(1)).check(z.lte(1000))),
  deadlineAt: z.nullish(time),
  nextAttemptAt: z.nullish(time),
  policy: z.optional(policyInput),
});
export type TaskSpec = z.input<typeof taskSpec>;

function parse<S extends z.ZodMiniType>(schema: S, value: unknown, prefix: string): z.output<S> {
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

/** A replication as the success notice needs it, with how many of its other tasks have not succeeded. */
export interface ReplicationForSuccess {
  state: string;
  source: string;
  namespace: string;
  repository: string;
  tag: string | null;
  digest: string | null;
  othersNotSucceeded: number;
}

export async function recordReplication(core: LedgerCore, event: ReplicationInput, specs: readonly TaskSpec[]): Promise<RecordResult> {
  const ev = parse(replicationInput, event, 'event');
  const tasks = specs.map((s, i) => parse(taskSpec, s, `tasks.${i}`));
  const sourceKey = ev.action === 'delete' ? deletionImageKey(ev) : sourceImageKey(ev);
  const keyed = tasks
    .map((t) => ({ spec: t, key: idempotencyKey(ev, t.targetKey, ev.action) }))
    // Same insert order in every transaction: concurrent recorders wait on each other, never deadlock.
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const seen = new Set<string>();
  for (const k of keyed) {
    if (seen.has(k.key)) throw new LedgerInputError('tasks', `targetKey ${k.spec.targetKey} appears twice`);
    seen.add(k.key);
  }
  const now = nowIso(core);
  const rules = [...new Set(ev.rules)].sort();
  // A copy leaves `action` to its column default, so recording a push needs nothing of schema version 8.
  const deletion = ev.action === 'delete';
  const actionColumn = deletion ? ', action' : '';
  const actionValue = (n: number) => (deletion ? `, $${n}` : '');
  const actionParam = deletion ? ['delete'] : [];

  return loggingChanges((changes) =>
    core.db.transaction(async (tx) => {
      const rep = await tx.query<Record<string, unknown> & { inserted: boolean }>(
        `INSERT INTO replications (id, source_key, source_kind, source, region, namespace, repository, tag, digest,
                                 pushed_at, received_at, rules, details, state, created_at, updated_at${actionColumn})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::timestamptz, $11::timestamptz, $12::jsonb, $13::jsonb,
               'pending', $14::timestamptz, $14::timestamptz${actionValue(15)})
       ON CONFLICT (source_key) DO UPDATE SET
         rules = (SELECT coalesce(jsonb_agg(DISTINCT r ORDER BY r), '[]'::jsonb)
                  FROM jsonb_array_elements_text(replications.rules || EXCLUDED.rules) AS r),
         updated_at = EXCLUDED.updated_at
       RETURNING *, (xmax = 0) AS inserted`,
        [
          newRowId(),
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
          ...actionParam,
        ],
      );
      const repRow = rep.rows[0]!;
      const replicationId = repRow.id as string;
      const out: RecordedTask[] = [];
      for (const { spec, key } of keyed) {
        const id = newRowId();
        // The task and its first event in one statement.
        const ins = await tx.query<{ id: string; state: TaskState }>(
          `WITH ins AS (
             INSERT INTO tasks (id, replication_id, idempotency_key, provider, scope, target, target_key, rule, state,
                              max_attempts, next_attempt_at, deadline_at, policy, created_at, updated_at${actionColumn})
             VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, 'pending', $9, $10::timestamptz, $11::timestamptz, $12::jsonb,
                     $13::timestamptz, $13::timestamptz${actionValue(14)})
             ON CONFLICT (idempotency_key) DO NOTHING
             RETURNING id, state
           ), recorded AS (
             INSERT INTO task_events (task_id, at, from_state, to_state, reason, actor, details)
             SELECT id, $13::timestamptz, NULL, 'pending', 'recorded', 'ledger', jsonb_build_object('idempotencyKey', $3::text) FROM ins
           )
           SELECT id, state FROM ins`,
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
            ...actionParam,
          ],
        );
        if (ins.rows[0]) {
          const task = { id, replicationId, targetKey: spec.targetKey, rule: spec.rule ?? null, provider: spec.provider, action: ev.action ?? 'copy', attempts: 0 };
          changes.push({ task, image: imageFromRow(repRow), from: null, to: 'pending', reason: 'recorded' });
          out.push({ targetKey: spec.targetKey, idempotencyKey: key, taskId: id, created: true, state: 'pending' });
        } else {
          const existing = await tx.query<{ id: string; state: TaskState }>('SELECT id, state FROM tasks WHERE idempotency_key = $1', [key]);
          const e = existing.rows[0]!;
          out.push({ targetKey: spec.targetKey, idempotencyKey: key, taskId: e.id, created: false, state: e.state });
        }
      }
      // The replication's row is this transaction's (inserted, or locked by ON CONFLICT DO UPDATE): its
      // state recomputed and read back in one statement.
      const fresh = await tx.query(
        `UPDATE replications r SET state = agg.state,
                updated_at = CASE WHEN r.state IS DISTINCT FROM agg.state THEN $2::timestamptz ELSE r.updated_at END
         FROM (${REPLICATION_STATE_SQL}) agg
         WHERE r.id = $1 RETURNING r.*`,
        [replicationId, now],
      );
      return { replication: toReplication(fresh.rows[0]!), replicationCreated: Boolean(repRow.inserted), tasks: out };
    }),
  );
}

export async function getReplication(core: LedgerCore, id: string): Promise<{ replication: ReplicationRow; tasks: TaskRow[] } | null> {
  const rep = await core.db.query('SELECT * FROM replications WHERE id = $1', [id]);
  if (!rep.rows[0]) return null;
  const tasks = await core.db.query('SELECT * FROM tasks WHERE replication_id = $1 ORDER BY created_at, id', [id]);
  return { replication: toReplication(rep.rows[0]), tasks: tasks.rows.map(toTask) };
}

export async function replicationForSuccess(core: LedgerCore, replicationId: string, taskId: string): Promise<ReplicationForSuccess | null> {
  const { rows } = await core.db.query<Record<string, unknown>>(
    `SELECT r.state, r.source, r.namespace, r.repository, r.tag, r.digest,
            (SELECT count(*) FROM tasks t WHERE t.replication_id = r.id AND t.id <> $2 AND t.state <> 'succeeded') AS others
     FROM replications r WHERE r.id = $1`,
    [replicationId, taskId],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    state: String(r.state),
    source: String(r.source),
    namespace: String(r.namespace),
    repository: String(r.repository),
    tag: r.tag == null ? null : String(r.tag),
    digest: r.digest == null ? null : String(r.digest),
    othersNotSucceeded: Number(r.others),
  };
}
