/**
 * ui: how long the status page's overview takes over a large ledger, per backend, against its peer
 * `GET /metrics` (aggregates over the same tables) measured in the same process, interleaved.
 * The ledger is seeded by bulk SQL: replications over the last 48 h (half in the overview's window),
 * two tasks each, 80 % succeeded, 10 % failed with a cloud error, 10 % open. Real HTTP on loopback.
 */
import { createApiApp } from '../shared/api/app.ts';
import { parseConfig } from '../shared/config/index.ts';
import type { Db, Ledger } from '../shared/ledger/index.ts';
import { createLogger } from '../shared/log.ts';
import { makeDeps } from '../shared/replicate/deps.ts';
import { serveNode } from '../shared/runtime/node-http.ts';
import { ledgerBackends } from './ledger.ts';
import { goalsTable, type GoalRow, percentile, round, type BenchOptions, type ScenarioResult } from './lib.ts';

const TOKEN = 'bench-ui-read-token-0123456789';
/** Goals: the overview costs at most twice /metrics, and answers within 500 ms at the full size. */
const RATIO_GOAL = 2;
const ABSOLUTE_GOAL_MS = 500;

export async function runUiBench(opts: BenchOptions): Promise<ScenarioResult> {
  const replications = opts.quick ? 5_000 : 50_000;
  const requests = opts.quick ? 15 : 40;
  const backends = ledgerBackends(opts);
  const rows: (string | number)[][] = [];
  const goals: GoalRow[] = [];
  const data: Record<string, unknown> = { replications, tasks: replications * 2, requests };
  for (const b of backends) {
    const { ledger, db, dispose } = await b.open();
    try {
      const now = Date.now();
      await seed(db, replications, now);
      const m = await measure(ledger, requests);
      data[b.name] = m;
      rows.push([b.name, replications * 2, m.uiP50Ms, m.uiP95Ms, m.metricsP50Ms, m.ratio, m.pageBytes]);
      goals.push(
        { measure: `${b.name}: GET /ui p50 / GET /metrics p50`, now: `${m.ratio}×`, goal: `≤ ${RATIO_GOAL}×`, ratioToGoal: round(m.ratio / RATIO_GOAL, 2), met: m.ratio <= RATIO_GOAL },
        {
          measure: `${b.name}: GET /ui p50 at ${replications * 2} tasks`,
          now: `${m.uiP50Ms} ms`,
          goal: `≤ ${ABSOLUTE_GOAL_MS} ms`,
          ratioToGoal: round(m.uiP50Ms / ABSOLUTE_GOAL_MS, 2),
          met: m.uiP50Ms <= ABSOLUTE_GOAL_MS,
        },
      );
    } finally {
      await dispose();
    }
  }
  data.goals = goals;
  return {
    data,
    tables: [
      {
        title: `ui: the status page's overview vs /metrics over the same ledger (${requests} requests each, interleaved, loopback HTTP)`,
        head: ['backend', 'tasks', 'ui p50 ms', 'ui p95 ms', 'metrics p50 ms', 'ui/metrics', 'page bytes'],
        rows,
        note: opts.databaseUrl ? undefined : 'PostgreSQL: set DATABASE_URL (or FERRY_TEST_DATABASE_URL) to measure it too.',
      },
      goalsTable('ui: goals', goals),
    ],
  };
}

export async function seed(db: Db, n: number, now: number): Promise<void> {
  const nowIso = new Date(now).toISOString();
  const stepMs = Math.floor((48 * 3600_000) / n);
  await db.query(
    `INSERT INTO replications (id, source_key, source_kind, source, region, namespace, repository, tag, received_at, rules, state, created_at, updated_at)
     SELECT 'r' || g, 'seed|' || g, 'acr', 'cri-src', 'cn-hangzhou', 'team', 'app' || (g % 50), 'v' || g,
            $1::timestamptz - make_interval(secs => g * $2::float8 / 1000), jsonb_build_array('rule-' || (g % 5)),
            CASE WHEN g % 10 = 0 THEN 'failed' WHEN g % 10 = 1 THEN 'in_progress' ELSE 'succeeded' END,
            $1::timestamptz - make_interval(secs => g * $2::float8 / 1000), $1::timestamptz - make_interval(secs => g * $2::float8 / 1000 - 60)
     FROM generate_series(1, $3::int) AS g`,
    [nowIso, stepMs, n],
  );
  await db.query(
    `INSERT INTO tasks (id, replication_id, idempotency_key, provider, scope, target, target_key, rule, state, attempts, max_attempts,
                        last_error_code, last_error_message, last_error_request_id, created_at, updated_at, finished_at)
     SELECT 't' || r.g || '-' || k, 'r' || r.g, 'seed|' || r.g || '|' || k, 'acr', 'cri-src', '{}'::jsonb, 'acr:dst' || k || '/team/app:v' || r.g, 'rule-' || (r.g % 5),
            r.state, 1, 3,
            CASE WHEN r.state = 'failed' THEN 'NoPrivilege' END, CASE WHEN r.state = 'failed' THEN 'Access denied.' END,
            CASE WHEN r.state = 'failed' THEN 'req-' || r.g END,
            r.at, r.at + interval '60 seconds', CASE WHEN r.state IN ('succeeded', 'failed') THEN r.at + make_interval(secs => 30 + r.g % 90) END
     FROM (SELECT g, $1::timestamptz - make_interval(secs => g * $2::float8 / 1000) AS at,
                  CASE WHEN g % 10 = 0 THEN 'failed' WHEN g % 10 = 1 THEN 'running' ELSE 'succeeded' END AS state
           FROM generate_series(1, $3::int) AS g) AS r, generate_series(1, 2) AS k`,
    [nowIso, stepMs, n],
  );
  await db.exec('ANALYZE');
}

async function measure(ledger: Ledger, requests: number) {
  const config = parseConfig({ sources: [], rules: [], auth: { webhookTokens: ['${T}'], apiTokens: [{ name: 'bench', token: '${T}', role: 'read' }] } }, { T: TOKEN });
  const deps = makeDeps({
    config,
    ledger,
    clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
    log: createLogger({ bench: true }, 'error'),
    env: {},
    workerId: 'bench',
    random: Math.random,
  });
  const server = await serveNode(createApiApp(deps));
  try {
    const login = await fetch(`${server.url}/ui/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${TOKEN}` });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const timed = async (path: string, headers: Record<string, string>) => {
      const t = performance.now();
      const res = await fetch(server.url + path, { headers });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 200)}`);
      return { ms: performance.now() - t, bytes: body.length };
    };
    const ui: number[] = [];
    const metrics: number[] = [];
    let pageBytes = 0;
    // One warm-up each, then interleaved so both see the same machine.
    await timed('/ui', { cookie });
    await timed('/metrics', { authorization: `Bearer ${TOKEN}` });
    for (let i = 0; i < requests; i++) {
      const u = await timed('/ui', { cookie });
      ui.push(u.ms);
      pageBytes = u.bytes;
      metrics.push((await timed('/metrics', { authorization: `Bearer ${TOKEN}` })).ms);
    }
    ui.sort((a, b) => a - b);
    metrics.sort((a, b) => a - b);
    const uiP50 = percentile(ui, 50);
    const metricsP50 = percentile(metrics, 50);
    return { uiP50Ms: round(uiP50, 1), uiP95Ms: round(percentile(ui, 95), 1), metricsP50Ms: round(metricsP50, 1), ratio: round(uiP50 / metricsP50, 2), pageBytes };
  } finally {
    await server.close();
  }
}
