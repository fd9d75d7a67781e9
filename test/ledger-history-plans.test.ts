// Cost follows work, not history: the statements that move one open task (by id) must find it through the
// primary key even when the planner's statistics were taken over history alone and still call the
// open-state partial indexes empty (a burst of pushes since the last ANALYZE). Checked on the plans of the
// very statements the ledger sends, captured on their way to the database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, Queryable } from '../shared/ledger/db.ts';
import { newRowId } from '../shared/ledger/keys.ts';
import { Ledger } from '../shared/ledger/ledger.ts';
import { uuidParam } from '../shared/api/schemas.ts';
import { migrate } from '../shared/ledger/migrate.ts';
import { BACKENDS, type TestDatabase, manualClock } from './ledger-fixtures.ts';

const HISTORY = 20_000;
const OPEN = 300;

interface Sent {
  sql: string;
  params: readonly unknown[];
}

/** `db`, recording every statement sent through it or its transactions. */
function recording(db: Db, sent: Sent[]): Db {
  const wrap = (q: Queryable): Queryable => ({
    query: (sql, params = []) => {
      sent.push({ sql, params });
      return q.query(sql, params);
    },
    exec: (sql) => q.exec(sql),
  });
  return { ...db, ...wrap(db), transaction: (fn) => db.transaction((tx) => fn(wrap(tx))), close: () => db.close() };
}

/** Finished tasks (with their replications) written in two statements, then ANALYZE: statistics of history only. */
async function writeHistory(db: Db, n: number): Promise<void> {
  await db.exec(`
    INSERT INTO replications (id, source_key, source_kind, source, region, namespace, repository, tag, digest, received_at, rules, state, created_at, updated_at)
    SELECT 'hr' || r, 'v1|acr|hist|team/app|h' || r || '@sha256:' || md5(r::text), 'acr', 'hist', 'cn-hangzhou', 'team', 'app', 'h' || r,
           'sha256:' || md5(r::text), now() - r * interval '1 minute', '["releases"]', 'succeeded', now() - r * interval '1 minute', now()
    FROM generate_series(1, ${n}) AS r;
    INSERT INTO tasks (id, replication_id, idempotency_key, provider, scope, target, target_key, rule, state, attempts, cloud_ref, created_at, updated_at, finished_at)
    SELECT md5('t' || r)::uuid::text, 'hr' || r, 'v1|acr|hist|team/app|h' || r || '|acr:cri-localdst001:cn-shanghai:team/app:h' || r, 'acr', 'cri-localsrc001',
           '{}'::jsonb, 'acr:cri-localdst001:cn-shanghai:team/app:h' || r, 'releases', CASE WHEN r % 10 = 0 THEN 'failed' ELSE 'succeeded' END, 1,
           'rst-h' || r, now() - r * interval '1 minute', now(), now() - r * interval '1 minute' + interval '3 minutes'
    FROM generate_series(1, ${n}) AS r;
  `);
  await db.exec('VACUUM ANALYZE replications');
  await db.exec('VACUUM ANALYZE tasks');
}

/** The index names a statement's plan reads. */
async function indexesOf(db: Db, s: Sent): Promise<string[]> {
  const { rows } = await db.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${s.sql}`, s.params);
  const plan = rows[0]!['QUERY PLAN'];
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n);
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'Index Name') out.push(String(v));
        else walk(v);
      }
    }
  };
  walk(typeof plan === 'string' ? JSON.parse(plan) : plan);
  return out;
}

describe.each(BACKENDS)('ledger plans with history on $name', (backend) => {
  let database: TestDatabase;
  let db: Db;
  let ledger: Ledger;
  const sent: Sent[] = [];
  const clock = manualClock(Date.now());

  beforeAll(async () => {
    database = await backend.fresh({ ownInstance: true });
    db = await database.connect();
    await migrate(db);
    await writeHistory(db, HISTORY);
    ledger = new Ledger(recording(db, sent), { now: clock.now });
  }, 120_000);

  afterAll(async () => {
    await ledger?.close().catch(() => {});
    await database?.dispose();
  });

  it('moving open tasks by id reads the primary key, not an open-state index the statistics call empty', async () => {
    const target = (i: number) => ({
      provider: 'acr',
      target: { to: { provider: 'acr', instanceId: 'cri-localdst001', region: 'cn-shanghai', namespace: 'team', repo: 'app', tag: `v${i}` } },
      targetKey: `acr:cri-localdst001:cn-shanghai:team/app:v${i}`,
      rule: 'releases',
      scope: 'cri-localsrc001',
    });
    const ids: string[] = [];
    for (let i = 0; i < OPEN; i++) {
      const r = await ledger.recordReplication(
        { sourceKind: 'acr', source: 'acr-hangzhou', namespace: 'team', repository: 'app', tag: `v${i}`, digest: `sha256:${String(i).padStart(64, '0')}`, rules: ['releases'] },
        [target(i)],
      );
      ids.push(r.tasks[0]!.taskId);
    }
    const owner = 'plans';
    sent.length = 0;
    const [a, b, c] = ids as [string, string, string];
    const claimed = await ledger.claimPending([a, b, c], { owner, leaseMs: 60_000 });
    expect(claimed.map((t) => t.id).sort()).toEqual([a, b, c].sort());
    await ledger.beginSubmission(a, owner);
    expect((await ledger.beginSubmissions([b], owner)).map((t) => t.id)).toEqual([b]);
    await ledger.transition(a, { from: 'pending', to: 'submitted', owner, actor: owner, reason: 'accepted', patch: { cloudRef: 'rst-plan-a' } });
    expect(await ledger.markRunningMany([a], { owner, cloudStatus: 'SYNCHRONIZING', reason: 'running' })).toEqual([a]);
    await ledger.requestCancel(b, { reason: 'operator', actor: 'op' });
    await ledger.defer(c, { owner, until: clock.now() + 60_000, reason: 'later' });
    await ledger.transition(a, { from: 'running', to: 'succeeded', actor: owner, reason: 'cloud task SUCCESS', patch: { cloudStatus: 'SUCCESS' } });

    const byId = sent.filter((s) => /^\s*(WITH due AS|WITH moved AS|WITH begun AS|UPDATE tasks)/.test(s.sql) && /\bid = (ANY\(|\$1)/.test(s.sql));
    expect(byId).toHaveLength(8);
    for (const s of byId) {
      const used = await indexesOf(db, s);
      expect(used, s.sql).toContain('tasks_pkey');
      expect(
        used.filter((i) => i === 'tasks_open_scope' || i === 'tasks_due'),
        s.sql,
      ).toEqual([]);
    }
  }, 120_000);
});

describe('new row ids', () => {
  it('are UUIDs (version 7) that sort by creation time, so id-keyed indexes grow at one end', () => {
    const t = Date.parse('2030-01-01T00:00:00.000Z');
    const ids = Array.from({ length: 50 }, (_, i) => newRowId(t + i));
    for (const id of ids) {
      expect(uuidParam.safeParse(id).success, id).toBe(true);
      expect(id[14]).toBe('7');
    }
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(Array.from({ length: 1000 }, () => newRowId(t))).size).toBe(1000);
  });
});
