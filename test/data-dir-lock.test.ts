// One process per embedded ledger (shared/ledger/dir-lock.ts). PGlite is single-process: two Ferry
// processes on one FERRY_DATA_DIR would both accept webhooks and lose one side's work. The real
// processes: `node --import tsx local/stack/start.ts` (what `npm start` runs) and `node bin/ferry.js
// sweep`. A second one on the same directory exits 1 naming the directory and the holder; a lock left
// by a SIGKILLed process does not block the next start; a clean stop removes it.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../local/cloud/server.ts';
import { DataDirLockedError, LOCK_FILE, openDb } from '../shared/ledger/index.ts';
import { cleanEnv, killAll, ROOT, startStackProcess } from './helpers/stack-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-lock-'));
let cloud: LocalCloud | undefined;

afterAll(async () => {
  await killAll();
  await cloud?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `node bin/ferry.js sweep` in local mode on the example config, against `dataDir`. */
function ferrySweep(dataDir: string, cloudUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const localEnv = Object.fromEntries(
    readFileSync(join(ROOT, 'examples', 'local.env'), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const env = { ...cleanEnv(), ...localEnv, FERRY_MODE: 'local', FERRY_LOCAL_CLOUD_URL: cloudUrl, FERRY_DATA_DIR: dataDir, FERRY_LOG_LEVEL: 'error' };
  return new Promise((done) => {
    execFile(process.execPath, [join(ROOT, 'bin', 'ferry.js'), 'sweep'], { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 99) : 0;
      done({ code, stdout, stderr });
    });
  });
}

async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => p.on('exit', r));
  return p.pid!;
}

describe('npm start and ferry sweep: one process per data directory', () => {
  it('a second process refuses with the directory and the holder; a SIGKILLed holder does not block the next start', { timeout: 120_000 }, async () => {
    const data = join(dir, 'shared');
    const ledgerDir = join(data, 'ledger');
    const lockFile = join(ledgerDir, LOCK_FILE);
    cloud = await startLocalCloud({ port: 0, log: false });

    const first = startStackProcess(data);
    const firstUrl = (await first.ready).apiUrl;

    // A second `npm start` on the same directory: exit 1 before it serves anything.
    const second = startStackProcess(data);
    await expect(second.ready).rejects.toThrow(/exited before it was ready/);
    expect((await second.exit).code).toBe(1);
    expect(second.out.stderr).toContain('ferry: could not start the local stack:');
    expect(second.out.stderr).toContain(`the ledger directory ${ledgerDir} is in use by another Ferry process (pid ${first.proc.pid} on this host`);
    expect(second.out.stderr).toContain('local/stack/start.ts');
    expect(second.out.stdout).not.toContain('local stack ready');

    // `ferry sweep` on it: refused the same way.
    const sweepWhileHeld = await ferrySweep(data, cloud.url);
    expect(sweepWhileHeld.code).toBe(1);
    expect(sweepWhileHeld.stderr).toContain(`ferry: the ledger directory ${ledgerDir} is in use by another Ferry process (pid ${first.proc.pid} on this host`);

    // The holder never noticed.
    expect((await request(`${firstUrl}/healthz`)).statusCode).toBe(200);

    // SIGKILL: the lock file stays behind, with a pid that no longer runs.
    first.proc.kill('SIGKILL');
    expect((await first.exit).signal).toBe('SIGKILL');
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: first.proc.pid, host: hostname() });

    // … and blocks nobody: `ferry sweep` runs, and releases the directory when done.
    const sweep = await ferrySweep(data, cloud.url);
    expect(sweep.code, sweep.stderr).toBe(0);
    expect(sweep.stdout).toContain('sweep done');
    expect(existsSync(lockFile)).toBe(false);

    // Nor does it block `npm start`; a clean stop (SIGINT) removes the lock.
    const third = startStackProcess(data);
    const thirdUrl = (await third.ready).apiUrl;
    expect((await request(`${thirdUrl}/healthz`)).statusCode).toBe(200);
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: third.proc.pid });
    expect(await third.stop()).toBe(0);
    expect(existsSync(lockFile)).toBe(false);
  });
});

describe('the lock in one process (openDb)', () => {
  it('a second open of the same directory is refused until the first closes', async () => {
    const d = join(dir, 'same-process');
    const a = await openDb({ dataDir: d });
    const err = await openDb({ dataDir: d }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect((err as Error).message).toContain(`the ledger directory ${d} is already open in this process (pid ${process.pid})`);
    await a.close();
    expect(existsSync(join(d, LOCK_FILE))).toBe(false);
    const b = await openDb({ dataDir: d });
    await b.close();
  }, 60_000);

  it('takes over a stale lock (dead pid, our own pid from an earlier process, half-written file); respects a live one and another host', async () => {
    const d = join(dir, 'stale');
    mkdirSync(d, { recursive: true });
    const file = join(d, LOCK_FILE);
    const lock = (over: Record<string, unknown>) => JSON.stringify({ pid: 1, host: hostname(), command: 'node x', since: '2020-01-01T00:00:00.000Z', id: 'old', ...over });

    for (const stale of [lock({ pid: await deadPid() }), lock({ pid: process.pid, id: 'an-earlier-process' }), '{"pid": 12']) {
      writeFileSync(file, stale);
      if (!stale.endsWith('}')) utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000)); // crashed mid-write long ago
      const db = await openDb({ dataDir: d });
      expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
      await db.close();
      expect(existsSync(file)).toBe(false);
    }

    // A live process (our parent, the vitest runner) on this host: refused, with its pid.
    writeFileSync(file, lock({ pid: process.ppid, procStart: undefined }));
    await expect(openDb({ dataDir: d })).rejects.toThrow(`in use by another Ferry process (pid ${process.ppid} on this host, since 2020-01-01T00:00:00.000Z: node x)`);
    // Another host cannot be checked: refused, naming the file to delete.
    writeFileSync(file, lock({ pid: 4242, host: 'elsewhere.example' }));
    const err = await openDb({ dataDir: d }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('pid 4242 on host elsewhere.example');
    expect((err as Error).message).toContain(`if none runs there any more, delete ${file}`);
    expect(readFileSync(file, 'utf8')).toContain('elsewhere.example');
  }, 60_000);
});
