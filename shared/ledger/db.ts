import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { type DataDirLock, lockDataDir } from './dir-lock.ts';

/** Something SQL can be sent to: the database itself, or one open transaction. */
export interface Queryable {
  /** One statement, `$1`-style parameters. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<{ rows: T[] }>;
  /** A script of several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly backend: 'postgres' | 'pglite';
  /**
   * Runs `fn` inside BEGIN … COMMIT on one connection (ROLLBACK when it throws).
   * Inside `fn`, send SQL through `tx` only: on PGlite the outer handle would wait for this very
   * transaction, so using it is refused with an error instead of deadlocking.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenDbOptions {
  /** postgres://… — PostgreSQL via a `pg` Pool. Without it: PGlite. */
  databaseUrl?: string;
  /**
   * PGlite data directory (created if missing). Default `.ferry/ledger`. Opening it takes an
   * exclusive lock (`<dataDir>/ferry.lock`, see dir-lock.ts) held until close(): a second process
   * gets DataDirLockedError.
   */
  dataDir?: string;
  /** PGlite in memory (tests). Wins over dataDir. */
  memory?: boolean;
  /** pg pool size. Default 3: Function Compute instances are many and small. */
  poolMax?: number;
  /** Per-statement limit on PostgreSQL, ms. Default 10 s. */
  statementTimeoutMs?: number;
  /** PostgreSQL `search_path` for every pooled connection (tests isolate themselves in a schema). */
  searchPath?: string;
}

export const DEFAULT_DATA_DIR = '.ferry/ledger';

/** Where PGlite keeps the ledger for a Ferry data directory (`store.dataDir`, FERRY_DATA_DIR): `<dir>/ledger`. */
export function ledgerDirOf(dataDir: string): string {
  return join(dataDir, 'ledger');
}

export async function openDb(opts: OpenDbOptions = {}): Promise<Db> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts);
  return openPglite(opts);
}

function openPostgres(url: string, opts: OpenDbOptions): Db {
  if (opts.searchPath !== undefined && !/^[a-z_][a-z0-9_]*(,\s*[a-z_][a-z0-9_]*)*$/i.test(opts.searchPath)) {
    throw new Error(`searchPath: must be comma-separated plain identifiers, got ${JSON.stringify(opts.searchPath)}`);
  }
  const timeout = opts.statementTimeoutMs ?? 10_000;
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolMax ?? 3,
    statement_timeout: timeout,
    idle_in_transaction_session_timeout: Math.max(timeout * 3, 30_000),
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 10_000,
    ...(opts.searchPath ? { options: `-c search_path=${opts.searchPath}` } : {}),
  });
  // An idle client that errors (server restart) must not crash the process; the pool drops it.
  pool.on('error', () => {});

  const on = (client: pg.Pool | pg.PoolClient): Queryable => ({
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const res = await client.query(sql, params as unknown[]);
      return { rows: res.rows as T[] };
    },
    async exec(sql: string) {
      await client.query(sql);
    },
  });
  const direct = on(pool);

  return {
    backend: 'postgres',
    query: direct.query,
    exec: direct.exec,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      // A checked-out client has no pool listener: a connection the server drops mid-transaction
      // would otherwise be an uncaught 'error' that ends the process. The query in flight fails instead.
      const onError = () => {
        broken = true;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        try {
          const out = await fn(on(client));
          await client.query('COMMIT');
          return out;
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {
            broken = true;
          });
          throw err;
        }
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

/** FIFO lock: PGlite has one connection, so one transaction (or lone query) at a time. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async run<T>(fn: () => Promise<T>): Promise<T> {
    let unlock!: () => void;
    const next = new Promise<void>((r) => (unlock = r));
    const prev = this.tail;
    this.tail = prev.then(() => next);
    await prev;
    try {
      return await fn();
    } finally {
      unlock();
    }
  }
}

async function openPglite(opts: OpenDbOptions): Promise<Db> {
  let dataDir: string | undefined;
  let lock: DataDirLock | undefined;
  if (!opts.memory) {
    dataDir = opts.dataDir ?? DEFAULT_DATA_DIR;
    mkdirSync(dataDir, { recursive: true });
    // PGlite is single-process: a second process on this directory would lose the first one's work.
    lock = lockDataDir(dataDir);
  }
  let lite: PGlite;
  try {
    // Loaded only here: deployed functions use PostgreSQL and ship without PGlite.
    const [{ PGlite: Lite }, init] = await Promise.all([import('@electric-sql/pglite'), import('./pglite-init.ts')]);
    const startParams = init.pgliteStartParams(Lite.defaultStartParams);
    if (dataDir && init.needsInitdb(dataDir)) await init.initdbInChild(dataDir, startParams);
    lite = await Lite.create(dataDir, { startParams });
  } catch (err) {
    lock?.release();
    throw err;
  }
  const mutex = new Mutex();
  const inTx = new AsyncLocalStorage<boolean>();
  let closed = false;

  const raw: Queryable = {
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const res = await lite.query<T>(sql, params as unknown[]);
      return { rows: res.rows };
    },
    async exec(sql: string) {
      await lite.exec(sql);
    },
  };
  const guard = () => {
    if (inTx.getStore()) {
      throw new Error('ledger db: use the transaction handle inside transaction(); the outer handle would deadlock');
    }
    if (closed) throw new Error('ledger db: closed');
  };

  return {
    backend: 'pglite',
    async query<T>(sql: string, params?: readonly unknown[]) {
      guard();
      return mutex.run(() => raw.query<T>(sql, params));
    },
    async exec(sql: string) {
      guard();
      return mutex.run(() => raw.exec(sql));
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      guard();
      return mutex.run(async () => {
        await lite.query('BEGIN');
        try {
          const out = await inTx.run(true, () => fn(raw));
          await lite.query('COMMIT');
          return out;
        } catch (err) {
          await lite.query('ROLLBACK').catch(() => {});
          throw err;
        }
      });
    },
    async close() {
      if (closed) return;
      await mutex.run(async () => {
        closed = true;
        try {
          await lite.close();
        } finally {
          lock?.release();
        }
      });
    },
  };
}
