/**
 * ledger: operations per second per backend (PGlite in memory; PostgreSQL when DATABASE_URL or
 * FERRY_TEST_DATABASE_URL is set, in a fresh schema dropped afterwards):
 *   insert-intent  recordReplication of one push with one target (what the webhook writes first)
 *   claim-batch    claimDue(limit 50) over due pending tasks
 *   transition     pending → submitted with a cloud ref (one transaction, event, recompute)
 * Sequential calls: the latency a single worker sees.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Db, Ledger, openLedgerDb } from '../shared/ledger/index.ts';
import { round, type BenchOptions, type ScenarioResult } from './lib.ts';

export interface LedgerBackend {
  name: string;
  open: () => Promise<{ ledger: Ledger; db: Db; dispose: () => Promise<void> }>;
}

/** PGlite in memory, and a fresh PostgreSQL schema when the run has a database. */
export function ledgerBackends(opts: BenchOptions): LedgerBackend[] {
  const backends: LedgerBackend[] = [
    {
      name: 'pglite (memory)',
      open: async () => {
        const db = await openLedgerDb({ memory: true });
        const ledger = new Ledger(db);
        return { ledger, db, dispose: () => ledger.close() };
      },
    },
  ];
  const url = opts.databaseUrl;
  if (url) backends.push({ name: 'postgresql', open: () => freshPostgresLedger(url) });
  return backends;
}

export async function runLedger(opts: BenchOptions): Promise<ScenarioResult> {
  const n = opts.quick ? 300 : 1500;
  const backends = ledgerBackends(opts);
  const results: Record<string, Record<string, number>> = {};
  for (const b of backends) {
    const { ledger, db, dispose } = await b.open();
    try {
      results[b.name] = await measure(ledger, db, n);
    } finally {
      await dispose();
    }
  }
  return {
    data: { operations: n, sequential: true, opsPerSecond: results },
    tables: [
      {
        title: `ledger: operations/s, sequential (${n} each; claim-batch = claimDue limit 50)`,
        head: ['backend', 'insert-intent/s', 'claim-batch/s', 'claimed tasks/s', 'transition/s'],
        rows: Object.entries(results).map(([name, r]) => [name, r.insertIntent!, r.claimBatch!, r.claimedTasks!, r.transition!]),
        note: opts.databaseUrl ? undefined : 'PostgreSQL: set DATABASE_URL (or FERRY_TEST_DATABASE_URL) to measure it too.',
      },
    ],
  };
}

export async function freshPostgresLedger(url: string): Promise<{ ledger: Ledger; db: Db; schema: string; dispose: () => Promise<void> }> {
  const schema = `ferry_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const db = await openLedgerDb({ databaseUrl: url, searchPath: schema, poolMax: 5 });
  const ledger = new Ledger(db);
  return {
    ledger,
    db,
    schema,
    async dispose() {
      await ledger.close().catch(() => {});
      const a = new pg.Client({ connectionString: url });
      await a.connect();
      await a.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await a.end();
    },
  };
}

function push(i: number) {
  return {
    sourceKind: 'acr',
    source: 'cri-localsrc001',
    region: 'cn-hangzhou',
    namespace: 'team',
    repository: `app${i % 50}`,
    tag: `v1.${i}`,
    digest: 'sha256:' + i.toString(16).padStart(64, '0'),
    rules: ['releases'],
  };
}

function spec(i: number) {
  return {
    provider: 'acr' as const,
    target: { to: { provider: 'acr', instanceId: 'cri-localdst001', region: 'cn-shanghai', namespace: 'team', repo: `app${i % 50}`, tag: `v1.${i}` } },
    targetKey: `acr:cn-shanghai/cri-localdst001/team/app${i % 50}:v1.${i}`,
    rule: 'releases',
    scope: 'cri-localsrc001',
  };
}

/** `db`: the ledger's database, read directly only to pick the leased rows (outside the timings). */
async function measure(ledger: Ledger, db: Db, n: number): Promise<Record<string, number>> {
  // warm-up (plans, JIT)
  for (let i = 0; i < 20; i++) await ledger.recordReplication(push(-1 - i), [spec(-1 - i)]);

  let t = performance.now();
  const taskIds: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await ledger.recordReplication(push(i), [spec(i)]);
    taskIds.push(r.tasks[0]!.taskId);
  }
  const insertIntent = n / ((performance.now() - t) / 1000);

  // claim-batch: every task is due now; claim 50 at a time with a fresh owner until none left
  // (or n claims), releasing nothing: each call scans past the leased rows.
  const claims = Math.min(n / 50, 60);
  let claimed = 0;
  t = performance.now();
  for (let i = 0; i < claims; i++) claimed += (await ledger.claimDue({ owner: `bench-${i}`, leaseMs: 600_000, limit: 50, states: ['pending'] })).length;
  const claimSeconds = (performance.now() - t) / 1000;

  // transition: pending → submitted, as the submitter does once the cloud accepted.
  const leased = await db.query<{ id: string; lease_owner: string }>(`SELECT id, lease_owner FROM tasks WHERE state = 'pending' AND lease_owner IS NOT NULL`);
  const rows = leased.rows.slice(0, n);
  t = performance.now();
  for (const [i, row] of rows.entries()) {
    await ledger.transition(row.id, {
      from: 'pending',
      to: 'submitted',
      owner: row.lease_owner,
      actor: 'bench',
      reason: 'CreateRepoSyncTask accepted',
      patch: { cloudRef: `rst-bench${i}`, cloudCreatedAt: Date.now(), nextAttemptAt: Date.now() },
    });
  }
  const transition = rows.length / ((performance.now() - t) / 1000);
  return {
    insertIntent: round(insertIntent),
    claimBatch: round(claims / claimSeconds),
    claimedTasks: round(claimed / claimSeconds),
    transition: round(transition),
  };
}
