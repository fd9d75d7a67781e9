import type { Db } from './db.ts';
import { MIGRATIONS } from './migrations.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export interface MigrateResult {
  applied: number[];
  version: number;
}

/**
 * Brings the schema to `toVersion` (default: latest). One transaction under a per-schema advisory lock,
 * so instances starting together apply each version once; already-applied versions are skipped.
 */
export async function migrate(db: Db, opts: { toVersion?: number; migrations?: readonly Migration[] } = {}): Promise<MigrateResult> {
  const all = [...(opts.migrations ?? MIGRATIONS)].sort((a, b) => a.version - b.version);
  const target = opts.toVersion ?? all.at(-1)?.version ?? 0;
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('ferry.ledger.migrate:' || current_schema()))`);
    await tx.exec(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of all) {
      if (m.version > target || done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    const version = Math.max(0, ...done, ...applied);
    return { applied, version };
  });
}

export async function schemaVersion(db: Pick<Db, 'query'>): Promise<number> {
  const exists = await db.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
  if (!exists.rows[0]?.t) return 0;
  const { rows } = await db.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return Number(rows[0]?.v ?? 0);
}
