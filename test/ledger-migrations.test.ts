import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '../shared/ledger/db.ts';
import { readSqlMigrations, renderMigrationsModule } from '../shared/ledger/embed-migrations.ts';
import { Ledger, openLedgerDb } from '../shared/ledger/ledger.ts';
import { migrate, schemaVersion } from '../shared/ledger/migrate.ts';
import { MIGRATIONS } from '../shared/ledger/migrations.ts';
import { BACKENDS, type TestDatabase, closeSharedPglite } from './ledger-fixtures.ts';

const LATEST = MIGRATIONS.at(-1)!.version;

describe('embedded migrations', () => {
  it('match the .sql files exactly (regenerate: npx tsx shared/ledger/embed-migrations.ts)', () => {
    const files = readSqlMigrations();
    expect(MIGRATIONS).toEqual(files);
    const onDisk = readFileSync(new URL('../shared/ledger/migrations.ts', import.meta.url), 'utf8');
    expect(onDisk).toBe(renderMigrationsModule(files));
  });
  it('are numbered 1..n without gaps, at least two of them', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(MIGRATIONS.length).toBeGreaterThanOrEqual(2);
  });
});

async function tables(db: { query: TestDbQuery }) {
  const { rows } = await db.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`);
  return rows.map((r) => r.t);
}
type TestDbQuery = <T>(sql: string, params?: readonly unknown[]) => Promise<{ rows: T[] }>;

describe.each(BACKENDS)('migrations on $name', (backend) => {
  const cleanup: TestDatabase[] = [];
  afterAll(async () => {
    for (const d of cleanup) await d.dispose();
    await closeSharedPglite();
  });

  it('apply to an empty database, twice concurrently, each version once', async () => {
    const database = await backend.fresh();
    cleanup.push(database);
    const [a, b] = [await database.connect(), await database.connect()];
    expect(await schemaVersion(a)).toBe(0);
    const results = await Promise.all([migrate(a), migrate(b)]);
    expect(results.flatMap((r) => r.applied).sort((x, y) => x - y)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(results.map((r) => r.version)).toEqual([LATEST, LATEST]);
    const { rows } = await a.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await tables(a)).toEqual(expect.arrayContaining(['replications', 'tasks', 'task_events', 'task_cloud_refs', 'ecs_tasks', 'notifications']));
    expect(await tables(a)).not.toContain('swr_sync_tasks'); // dropped by version 4
    expect(await migrate(a)).toEqual({ applied: [], version: LATEST });
    await a.close();
    await b.close();
  });

  it('upgrade a database at version 1 with data in it, concurrently', async () => {
    const database = await backend.fresh();
    cleanup.push(database);
    const a = await database.connect();
    expect(await migrate(a, { toVersion: 1 })).toEqual({ applied: [1], version: 1 });
    expect(await tables(a)).not.toContain('notifications');
    const v1 = new Ledger(a);
    const rec = await v1.recordReplication({ sourceKind: 'acr', source: 'cri-1', namespace: 'ns', repository: 'repo', tag: 'v1', digest: 'sha256:1', rules: ['r'] }, [
      { provider: 'acr', target: { region: 'cn-shanghai' }, targetKey: 'acr:cn-shanghai' },
    ]);
    const taskId = rec.tasks[0]!.taskId;
    await expect(a.query(`UPDATE tasks SET provider = 'gcr' WHERE id = $1`, [taskId])).rejects.toThrow(/tasks_provider_check/);
    const b = await database.connect();
    const results = await Promise.all([migrate(a), migrate(b)]);
    expect(results.flatMap((r) => r.applied).sort((x, y) => x - y)).toEqual(MIGRATIONS.filter((m) => m.version > 1).map((m) => m.version));
    const ledger = new Ledger(b);
    expect((await ledger.getTask(taskId))!.task.state).toBe('pending');
    expect((await ledger.outbox.enqueue({ taskId, kind: 'k', target: 't' })).created).toBe(true);
    // Version 4: any provider name (providers are registered in code), never an empty one.
    await b.query(`UPDATE tasks SET provider = 'gcr' WHERE id = $1`, [taskId]);
    expect((await ledger.getTask(taskId))!.task.provider).toBe('gcr');
    await expect(b.query(`UPDATE tasks SET provider = '' WHERE id = $1`, [taskId])).rejects.toThrow(/tasks_provider_check/);
    await a.close();
    await b.close();
  });

  it('roll back a failing migration entirely', async () => {
    const database = await backend.fresh();
    cleanup.push(database);
    const a = await database.connect();
    const broken = [...MIGRATIONS, { version: LATEST + 1, name: 'broken', sql: 'CREATE TABLE x_ok (id int); SELECT no_such_fn();' }];
    await expect(migrate(a, { migrations: broken })).rejects.toThrow(/no_such_fn/);
    expect(await schemaVersion(a)).toBe(0);
    expect(await tables(a)).toEqual([]);
    await a.close();
  });
});

describe('PGlite backend', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-ledger-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('persists under a data directory across reopen', async () => {
    const dataDir = join(dir, 'data');
    const first = await Ledger.open({ dataDir });
    const rec = await first.recordReplication({ sourceKind: 'swr', source: 'cn-north-4', namespace: 'ns', repository: 'repo', tag: 'v1', pushedAt: 0, rules: [] }, [
      { provider: 'swr', target: { region: 'cn-east-3' }, targetKey: 'swr:cn-east-3/ns/repo:v1' },
    ]);
    await first.close();
    const db = await openLedgerDb({ dataDir });
    const again = new Ledger(db);
    expect((await again.getTask(rec.tasks[0]!.taskId))!.task.targetKey).toBe('swr:cn-east-3/ns/repo:v1');
    expect((await again.health()).schemaVersion).toBe(LATEST);
    expect(
      (
        await again.recordReplication({ sourceKind: 'swr', source: 'cn-north-4', namespace: 'ns', repository: 'repo', tag: 'v1', pushedAt: 0, rules: [] }, [
          { provider: 'swr', target: { region: 'cn-east-3' }, targetKey: 'swr:cn-east-3/ns/repo:v1' },
        ])
      ).tasks[0]!.created,
    ).toBe(false);

    // One connection: concurrent transactions are serialised, a failing one rolls back alone,
    // and the outer handle is refused inside a transaction instead of deadlocking.
    await db.exec('CREATE TABLE counter (n int); INSERT INTO counter VALUES (0);');
    const bump = () =>
      db.transaction(async (tx) => {
        const { rows } = await tx.query<{ n: number }>('SELECT n FROM counter');
        await new Promise((r) => setTimeout(r, 1));
        await tx.query('UPDATE counter SET n = $1', [rows[0]!.n + 1]);
      });
    const failing = db.transaction(async (tx) => {
      await tx.query('UPDATE counter SET n = n + 1000');
      throw new Error('boom');
    });
    await Promise.all([bump(), bump(), expect(failing).rejects.toThrow('boom'), bump(), bump()]);
    expect((await db.query<{ n: number }>('SELECT n FROM counter')).rows[0]!.n).toBe(4);
    await expect(db.transaction(() => db.query('SELECT 1'))).rejects.toThrow(/transaction handle/);
    await again.close();
  });

  it('refuses a bad search path for PostgreSQL before connecting', async () => {
    await expect(openDb({ databaseUrl: 'postgres://127.0.0.1:1/x', searchPath: 'a; drop' })).rejects.toThrow(/searchPath/);
  });
});
