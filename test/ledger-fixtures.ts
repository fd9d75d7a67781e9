// Shared setup for the ledger suites: which backends to run, and fresh isolated databases on each.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Db, openDb } from '../shared/ledger/db.ts';

export const PG_URL = process.env.FERRY_TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? '';

export interface TestDatabase {
  /** A new connection (pool) to the same database; on PGlite, the one instance again (single connection). */
  connect(): Promise<Db>;
  dispose(): Promise<void>;
}

export interface Backend {
  name: 'pglite' | 'postgres';
  /**
   * An empty database nobody else uses. PostgreSQL: a new schema. PGlite: its own in-memory instance
   * when `ownInstance`, else (starting PGlite takes seconds) a new schema in one instance shared by the
   * file, every statement preceded by SET LOCAL search_path.
   */
  fresh(opts?: { ownInstance?: boolean }): Promise<TestDatabase>;
}

let sharedLite: Promise<Db> | null = null;

/** Closes the PGlite instance shared by fresh() calls in this file (call from afterAll). */
export async function closeSharedPglite(): Promise<void> {
  const db = sharedLite;
  sharedLite = null;
  if (db) await (await db).close();
}

function inSchema(base: Db, schema: string): Db {
  const set = `SET LOCAL search_path TO ${schema}`;
  return {
    backend: base.backend,
    query: <T>(sql: string, params?: readonly unknown[]) =>
      base.transaction(async (tx) => {
        await tx.query(set);
        return tx.query<T>(sql, params);
      }),
    exec: (sql: string) =>
      base.transaction(async (tx) => {
        await tx.query(set);
        await tx.exec(sql);
      }),
    transaction: (fn) =>
      base.transaction(async (tx) => {
        await tx.query(set);
        return fn(tx);
      }),
    close: async () => {},
  };
}

const pglite: Backend = {
  name: 'pglite',
  async fresh(opts = {}) {
    if (opts.ownInstance) {
      const db = await openDb({ memory: true });
      return { connect: async () => ({ ...db, close: async () => {} }), dispose: () => db.close() };
    }
    sharedLite ??= openDb({ memory: true });
    const base = await sharedLite;
    const schema = `ferry_test_${randomBytes(6).toString('hex')}`;
    await base.exec(`CREATE SCHEMA ${schema}`);
    return {
      connect: async () => inSchema(base, schema),
      dispose: () => base.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`),
    };
  },
};

const postgres: Backend = {
  name: 'postgres',
  async fresh() {
    const schema = `ferry_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const opened: Db[] = [];
    return {
      async connect() {
        const db = await openDb({ databaseUrl: PG_URL, searchPath: schema, poolMax: 10 });
        opened.push(db);
        return db;
      },
      async dispose() {
        await Promise.all(opened.map((d) => d.close().catch(() => {})));
        const a = new pg.Client({ connectionString: PG_URL });
        await a.connect();
        await a.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await a.end();
      },
    };
  },
};

export const BACKENDS: Backend[] = PG_URL ? [pglite, postgres] : [pglite];

/** A clock the test moves by hand. */
export function manualClock(start = Date.parse('2030-01-01T00:00:00.000Z')) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
    set(ms: number) {
      t = ms;
    },
  };
}

export function uid(prefix = 'x'): string {
  return `${prefix}${randomBytes(4).toString('hex')}`;
}
