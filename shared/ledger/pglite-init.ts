/**
 * PGlite's start-up settings, and the first-time creation of a data directory in a child process.
 *
 * Why a child: PGlite creates a missing database (initdb) inside the opening process, with a second,
 * temporary PGlite instance and the initdb WebAssembly module. That peaks at ~800 MiB and V8 keeps
 * most of it until some later full GC (measured: 650 MiB still resident after the ledger opened).
 * Done in a short-lived process, the memory goes back to the system when it exits, and the ledger
 * process only ever opens an existing directory (~140 MiB).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

/**
 * Postgres settings on top of PGlite's own start parameters. The ledger is small and its hot rows
 * are few: 128 MB of shared buffers (the default, all of it touched at start in WebAssembly memory)
 * buy nothing over 16 MB that the OS page cache does not give back anyway.
 */
export const PGLITE_SETTINGS: readonly string[] = ['shared_buffers=16MB', 'wal_buffers=512kB', 'max_connections=5', 'temp_buffers=2MB'];

export function pgliteStartParams(defaults: readonly string[]): string[] {
  return [...defaults, ...PGLITE_SETTINGS.flatMap((s) => ['-c', s])];
}

/** True when `dir` holds no database yet (PGlite would run initdb on open). */
export function needsInitdb(dir: string): boolean {
  return !existsSync(join(dir, 'PG_VERSION'));
}

const CHILD = `
const [dir, params] = JSON.parse(process.argv[1]);
const { PGlite } = await import('@electric-sql/pglite');
const db = await PGlite.create(dir, { startParams: params });
await db.close();
`;

/** Creates the database in `dir` from a child process and waits for it to finish. */
export async function initdbInChild(dir: string, startParams: readonly string[]): Promise<void> {
  // The child resolves PGlite the way this module did: from the package's own folder (an eval has no file of its own).
  const pgliteDir = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, JSON.stringify([resolve(dir), startParams])], {
    cwd: pgliteDir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 8192) stderr += chunk;
  });
  const code = await new Promise<number | null>((done, reject) => {
    child.on('error', reject);
    child.on('close', (c) => done(c));
  });
  if (code !== 0) throw new Error(`PGlite could not create the ledger database in ${dir} (exit ${code}): ${stderr.trim() || 'no output'}`);
}
