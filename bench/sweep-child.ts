/**
 * One sweep over N open ACR tasks across 10 source instances, in its own process so its peak RSS is
 * this workload's (the process also holds the local cloud and, without DATABASE_URL, PGlite).
 * Usage: tsx bench/sweep-child.ts <openTasks> <latencyMs> [--pg <url> [--schema <existing schema>] | --pglite-memory]
 * PGlite runs in a temporary data directory, as `npm start` runs it; `--pglite-memory` keeps it in
 * memory as the tests do (the database's files then count in this process's RSS). --schema: sweep in
 * that schema, kept afterwards (the scale bench fills it with history first).
 * Prints `@@result {json}`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { SyncTask } from '../local/cloud/acr.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { startTestStack } from '../test/helpers/stack.ts';
import { reportToParent } from './lib.ts';

const INSTANCES = 10;
const PAGE = 100;
const DST = 'cri-localdst001';

async function main() {
  const n = Number(process.argv[2] ?? 1000);
  const latencyMs = Number(process.argv[3] ?? 20);
  const pgUrl = process.argv[4] === '--pg' ? process.argv[5] : undefined;
  const pgliteMemory = process.argv[4] === '--pglite-memory';
  const pgliteDir = pgUrl || pgliteMemory ? undefined : mkdtempSync(join(tmpdir(), 'ferry-sweep-bench-'));
  const existingSchema = process.argv[6] === '--schema' ? process.argv[7] : undefined;
  const srcs = Array.from({ length: INSTANCES }, (_, i) => `cri-benchsrc${String(i).padStart(3, '0')}`);
  let schema: string | undefined;
  let databaseUrl: string | undefined;
  if (pgUrl && existingSchema) {
    databaseUrl = withSearchPath(pgUrl, existingSchema);
  } else if (pgUrl) {
    schema = `ferry_bench_${randomBytes(5).toString('hex')}`;
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.end();
    databaseUrl = withSearchPath(pgUrl, schema);
  }
  let calls = 0;
  const stack = await startTestStack({
    ...(databaseUrl ? { databaseUrl } : {}),
    ...(pgliteDir ? { pgliteDir } : {}),
    cloud: {
      log: (line) => {
        if (/acr:/.test(line)) calls++;
      },
      seed: {
        alibaba: {
          instances: [
            ...srcs.map((instanceId) => ({ instanceId, region: 'cn-hangzhou', namespaces: [{ name: 'team', repos: [{ name: 'app', tags: {} }] }] })),
            { instanceId: 'cri-localsrc001', region: 'cn-hangzhou', namespaces: [{ name: 'team', repos: [{ name: 'app', tags: {} }] }] },
            { instanceId: DST, region: 'cn-shanghai', namespaces: [{ name: 'team', repos: [] }] },
            { instanceId: 'cri-localdst002', region: 'cn-beijing', namespaces: [{ name: 'team', repos: [] }] },
          ],
        },
      },
    },
    config: (base) => ({
      ...base,
      sources: [...(base.sources as unknown[]), ...srcs.map((instanceId, i) => ({ kind: 'acr', name: `bench-src-${i}`, instanceId, region: 'cn-hangzhou' }))],
      sweep: { graceSeconds: 60, budgetMs: 120_000, batchSize: 50 },
    }),
  });
  try {
    const now = stack.clock.now();
    const created = now - 10 * 60_000;
    // The cloud side: N sync tasks, 90% still SYNCHRONIZING (stuck), 10% finished SUCCESS.
    const acr = stack.cloud.services.alibaba.acr;
    const tasks: SyncTask[] = [];
    for (let i = 0; i < n; i++) {
      const src = srcs[i % INSTANCES]!;
      const tag = `v${i}`;
      const done = i % 10 === 0;
      tasks.push({
        syncTaskId: `rst-bench${i.toString(36).padStart(6, '0')}`,
        syncBatchTaskId: `BATCH-${i}`,
        source: { instanceId: src, region: 'cn-hangzhou', namespace: 'team', repo: 'app', tag, repoId: 'crr-bench0000', digest: 'sha256:' + i.toString(16).padStart(64, '0'), size: 1_000_000 },
        target: { instanceId: DST, region: 'cn-shanghai', namespace: 'team', repo: 'app', tag },
        override: false,
        crossUser: false,
        createTime: created + i,
        pendingMs: 1,
        syncMs: 1,
        forced: done ? undefined : { kind: 'stuck' },
      });
    }
    acr.tasks.push(...tasks);
    // The ledger side, in bulk: one replication and one running task per cloud task.
    const db = stack.db;
    const iso = (ms: number) => new Date(ms).toISOString();
    for (let start = 0; start < n; start += 1000) {
      const ids = tasks.slice(start, start + 1000);
      const rep: unknown[] = [];
      const tsk: unknown[] = [];
      for (const [j, t] of ids.entries()) {
        const i = start + j;
        rep.push(
          `('rep-${i}', 'key-${i}', 'acr', '${t.source.instanceId}', 'cn-hangzhou', 'team', 'app', '${t.source.tag}', '${t.source.digest}', '${iso(created)}', '${iso(created)}', '["releases"]', 'in_progress', '${iso(created)}', '${iso(created)}')`,
        );
        const target = JSON.stringify({
          from: {
            source: `bench-src-${i % INSTANCES}`,
            kind: 'acr',
            instanceId: t.source.instanceId,
            region: 'cn-hangzhou',
            namespace: 'team',
            repository: 'app',
            tag: t.source.tag,
            digest: t.source.digest,
          },
          to: { provider: 'acr', instanceId: DST, region: 'cn-shanghai', namespace: 'team', repo: 'app', tag: t.source.tag, override: false },
        });
        tsk.push(
          `('task-${i}', 'rep-${i}', 'idem-${i}', 'acr', '${t.source.instanceId}', '${target}', 'acr:${DST}:cn-shanghai:team/app:${t.source.tag}', 'releases', 'running', 1, 5, '${iso(created)}', '${iso(now + 3600_000)}', '${iso(created)}', '${t.syncTaskId}', '${iso(t.createTime)}', 'SYNCHRONIZING', '{}', '${iso(created)}', '${iso(created)}')`,
        );
      }
      await db.exec(
        `INSERT INTO replications (id, source_key, source_kind, source, region, namespace, repository, tag, digest, pushed_at, received_at, rules, state, created_at, updated_at) VALUES ${rep.join(',')};
         INSERT INTO tasks (id, replication_id, idempotency_key, provider, scope, target, target_key, rule, state, attempts, max_attempts, next_attempt_at, deadline_at, submit_started_at, cloud_ref, cloud_created_at, cloud_status, policy, created_at, updated_at) VALUES ${tsk.join(',')};`,
      );
    }
    stack.cloud.faults.add({ op: 'acr:*', latencyMs });
    calls = 0;
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const t = performance.now();
    const summary = await runSweep(stack.deps);
    const wallMs = performance.now() - t;
    const open = (await db.query<{ n: string }>(`SELECT count(*) AS n FROM tasks WHERE state IN ('pending','submitted','running')`)).rows[0]!.n;
    reportToParent({
      openTasks: n,
      instances: INSTANCES,
      latencyMs,
      backend: databaseUrl ? 'postgresql' : pgliteDir ? 'pglite' : 'pglite in memory',
      cloudCallsAtCloud: calls,
      cloudCallsBySweep: summary.cloudCallsTotal,
      cloudCallsByApi: summary.cloudCalls,
      minimumCalls: Math.ceil(n / PAGE) + INSTANCES,
      wallMs: Math.round(wallMs),
      sweepDurationMs: summary.durationMs,
      transitions: summary.transitions,
      leftover: summary.leftover,
      errors: summary.errors,
      stillOpen: Number(open),
      rssBeforeMiB: Math.round(rssBefore / 1048576),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    });
  } finally {
    await stack.close();
    if (pgliteDir) rmSync(pgliteDir, { recursive: true, force: true });
    if (schema && pgUrl) {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  }
}

/** Keeps any `options` the URL already has (e.g. logging settings) and adds the search_path. */
function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `${u.searchParams.get('options') ?? ''} -c search_path=${schema}`.trim());
  return u.toString();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
