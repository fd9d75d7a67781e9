/**
 * Finished history for the scale bench, written in bulk (INSERT … SELECT generate_series, one statement
 * per table) into a migrated ledger schema: `tasks` finished tasks, two targets per replication, with the
 * rows the real code leaves behind — a task_event per transition (recorded, submitted, running, the end),
 * the cloud ref, and a delivered notification per failure. Spread over the last 29 days (inside the
 * default 30-day retention, as a ledger in its steady state), 11 ACR sources (the sweep bench's ten and
 * the webhook's), 5 namespaces, 200 repositories, 2 rules and 2 target instances.
 * Outcomes: 85% of replications succeeded, 5% failed, 5% partially failed, 5% canceled.
 */
import pg from 'pg';

const SPAN_DAYS = 29;
const FILLED = ['replications', 'tasks', 'task_events', 'task_cloud_refs', 'notifications'];

/** Writes `tasks` finished tasks into `schema` (already migrated), then VACUUM ANALYZE. Returns the seconds taken. */
export async function fillHistory(databaseUrl: string, schema: string, tasks: number): Promise<{ seconds: number; rows: Record<string, number>; steps: Record<string, number> }> {
  const started = performance.now();
  const c = new pg.Client({ connectionString: databaseUrl, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    await c.query('SET statement_timeout = 0');
    await c.query("SET maintenance_work_mem = '256MB'");
    await c.query("SET work_mem = '64MB'");
    await c.query('SET synchronous_commit = off');
    // Indexes and keys are built once after the load (a sorted build) instead of row by row: drop them
    // (foreign keys first), load, then put every one back as it was.
    const constraints = await c.query<{ table: string; name: string; def: string; kind: string }>(
      `SELECT k.conrelid::regclass::text AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS def, k.contype AS kind
       FROM pg_constraint k
       WHERE k.connamespace = current_schema()::regnamespace AND k.contype IN ('p', 'u', 'f')
         AND (k.conrelid::regclass::text = ANY($1::text[]) OR k.confrelid::regclass::text = ANY($1::text[]))
       ORDER BY k.contype = 'f' DESC`,
      [FILLED],
    );
    const indexes = await c.query<{ name: string; def: string }>(
      `SELECT i.indexname AS name, i.indexdef AS def FROM pg_indexes i
       WHERE i.schemaname = current_schema() AND i.tablename = ANY($1::text[])
         AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname AND k.connamespace = current_schema()::regnamespace)`,
      [FILLED],
    );
    for (const k of constraints.rows) await c.query(`ALTER TABLE ${k.table} DROP CONSTRAINT ${k.name}`);
    for (const i of indexes.rows) await c.query(`DROP INDEX ${i.name}`);
    const steps: Record<string, number> = {};
    const step = async (name: string, sql: string, params?: unknown[]) => {
      const t = performance.now();
      await c.query(sql, params);
      steps[name] = Math.round(performance.now() - t);
    };
    const replications = Math.ceil(tasks / 2);
    // One row per replication with everything its rows derive from; m (0..19) picks the outcome.
    await step(
      'hist',
      `CREATE TEMP TABLE hist AS
       SELECT r, r % 20 AS m,
              CASE WHEN r % 11 = 10 THEN 'cri-localsrc001' ELSE 'cri-benchsrc00' || (r % 11) END AS instance,
              CASE WHEN r % 11 = 10 THEN 'acr-hangzhou' ELSE 'bench-src-' || (r % 11) END AS src,
              CASE WHEN r % 5 = 0 THEN 'team' ELSE 'ns' || (r % 5) END AS ns,
              CASE WHEN r % 200 = 0 THEN 'app' ELSE 'app' || (r % 200) END AS repo,
              'h' || r AS tag,
              'sha256:' || md5('a' || r) || md5('b' || r) AS digest,
              CASE WHEN r % 3 = 0 THEN 'nightly' ELSE 'releases' END AS rule,
              md5('rep' || r)::uuid::text AS rep_id,
              now() - interval '1 hour' - (r::float8 / $1) * interval '${SPAN_DAYS} days' AS at
       FROM generate_series(1, $1::int) AS r`,
      [replications],
    );
    await step(
      'replications',
      `INSERT INTO replications (id, source_key, source_kind, source, region, namespace, repository, tag, digest,
                                 pushed_at, received_at, rules, details, state, created_at, updated_at)
       SELECT rep_id, 'v1|acr|' || src || '|' || ns || '/' || repo || '|' || tag || '@' || digest, 'acr', src, 'cn-hangzhou',
              ns, repo, tag, digest, at - interval '2 seconds', at, jsonb_build_array(rule), '{}'::jsonb,
              CASE WHEN m < 17 THEN 'succeeded' WHEN m = 17 THEN 'failed' WHEN m = 18 THEN 'partially_failed' ELSE 'canceled' END,
              at, at + interval '3 minutes'
       FROM hist`,
    );
    // Target k: 0 → cri-localdst001 (cn-shanghai), 1 → cri-localdst002 (cn-beijing).
    await step(
      'hist_tasks',
      `CREATE TEMP TABLE hist_tasks AS
       SELECT h.*, k, md5('task' || h.r || ':' || k)::uuid::text AS id,
              CASE WHEN h.m < 17 OR (h.m = 18 AND k = 0) THEN 'succeeded' WHEN h.m = 19 THEN 'canceled' ELSE 'failed' END AS state,
              CASE k WHEN 0 THEN 'cn-shanghai' ELSE 'cn-beijing' END AS dst_region,
              CASE k WHEN 0 THEN 'cri-localdst001' ELSE 'cri-localdst002' END AS dst,
              'rst-h' || h.r || 'x' || k AS cloud_ref
       FROM hist h CROSS JOIN (VALUES (0), (1)) AS t(k)
       WHERE 2 * (h.r - 1) + k < $1`,
      [tasks],
    );
    await step(
      'tasks',
      `INSERT INTO tasks (id, replication_id, idempotency_key, provider, scope, target, target_key, rule, state, attempts, max_attempts,
                          next_attempt_at, deadline_at, submit_started_at, cloud_ref, cloud_created_at, cloud_status,
                          last_error_code, last_error_message, last_error_request_id, policy, created_at, updated_at, finished_at)
       SELECT id, rep_id,
              'v1|acr|' || src || '|' || ns || '/' || repo || '|' || tag || '@' || digest || '|acr:' || dst || ':' || dst_region || ':' || ns || '/' || repo || ':' || tag,
              'acr', instance,
              jsonb_build_object(
                'from', jsonb_build_object('source', src, 'kind', 'acr', 'instanceId', instance, 'region', 'cn-hangzhou', 'namespace', ns, 'repository', repo, 'tag', tag, 'digest', digest),
                'to', jsonb_build_object('provider', 'acr', 'instanceId', dst, 'region', dst_region, 'namespace', ns, 'repo', repo, 'tag', tag, 'override', false)),
              'acr:' || dst || ':' || dst_region || ':' || ns || '/' || repo || ':' || tag,
              rule, state, CASE WHEN state = 'failed' THEN 5 ELSE 1 END, 5,
              NULL, at + interval '1 hour', at, cloud_ref, at + interval '1 second',
              CASE state WHEN 'succeeded' THEN 'SUCCESS' WHEN 'failed' THEN 'FAILED' ELSE 'CANCELED' END,
              CASE WHEN state = 'failed' THEN 'SYNC_FAILED' END,
              CASE WHEN state = 'failed' THEN 'the repository sync task failed at the cloud' END,
              CASE WHEN state = 'failed' THEN md5('req' || r || k) END,
              '{}'::jsonb, at, at + interval '3 minutes', at + interval '3 minutes'
       FROM hist_tasks`,
    );
    await step(
      'task_cloud_refs',
      `INSERT INTO task_cloud_refs (task_id, cloud_ref, attempt, created_at, recorded_at)
       SELECT id, cloud_ref, 1, at + interval '1 second', at + interval '1 second' FROM hist_tasks`,
    );
    await step(
      'task_events',
      `INSERT INTO task_events (task_id, at, from_state, to_state, reason, actor, details)
       SELECT id, at + e.step * interval '1 minute', e.from_state,
              CASE WHEN e.to_state = 'end' THEN state ELSE e.to_state END,
              CASE WHEN e.to_state <> 'end' THEN e.reason WHEN state = 'succeeded' THEN 'cloud task SUCCESS'
                   WHEN state = 'failed' THEN 'cloud task FAILED' ELSE 'canceled by operator' END,
              CASE WHEN e.step = 0 THEN 'ledger' ELSE 'sweep' END,
              CASE WHEN e.step = 1 THEN jsonb_build_object('cloudRef', cloud_ref)
                   WHEN e.to_state = 'end' AND state = 'failed' THEN jsonb_build_object('error', jsonb_build_object('code', 'SYNC_FAILED', 'message', 'the repository sync task failed at the cloud'))
                   ELSE '{}'::jsonb END
       FROM hist_tasks CROSS JOIN (VALUES
         (0, NULL, 'pending', 'recorded'),
         (1, 'pending', 'submitted', 'CreateRepoSyncTask accepted'),
         (2, 'submitted', 'running', 'cloud task SYNCHRONIZING'),
         (3, 'running', 'end', '')) AS e(step, from_state, to_state, reason)
       `,
    );
    await step(
      'notifications',
      `INSERT INTO notifications (id, subject, task_id, kind, target, payload, state, attempts, next_attempt_at, created_at, updated_at, sent_at)
       SELECT md5('n' || id)::uuid::text, 'task:' || id, id, 'task.failed', 'ops', '{}'::jsonb, 'sent', 1,
              at + interval '3 minutes', at + interval '3 minutes', at + interval '4 minutes', at + interval '4 minutes'
       FROM hist_tasks WHERE state = 'failed'`,
    );
    await c.query('DROP TABLE hist_tasks; DROP TABLE hist');
    const t = performance.now();
    for (const k of [...constraints.rows].reverse()) await c.query(`ALTER TABLE ${k.table} ADD CONSTRAINT ${k.name} ${k.def}`);
    for (const i of indexes.rows) await c.query(i.def);
    steps.indexes = Math.round(performance.now() - t);
    await step('vacuum', `VACUUM ANALYZE ${FILLED.join(', ')}`);
    const counts = await c.query<Record<string, string>>(
      `SELECT (SELECT count(*) FROM replications) AS replications, (SELECT count(*) FROM tasks) AS tasks,
              (SELECT count(*) FROM task_events) AS task_events, (SELECT count(*) FROM task_cloud_refs) AS task_cloud_refs,
              (SELECT count(*) FROM notifications) AS notifications`,
    );
    const rows = Object.fromEntries(Object.entries(counts.rows[0]!).map(([k, v]) => [k, Number(v)]));
    return { seconds: Math.round((performance.now() - started) / 100) / 10, rows, steps };
  } finally {
    await c.end();
  }
}
