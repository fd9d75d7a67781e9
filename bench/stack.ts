/**
 * stack: `npm start`'s process at rest. Starts `node scripts/start.mjs` (what `npm start` runs) on
 * free ports with a temporary data directory, waits for its banner, lets it idle (its sweep loop
 * keeps running every 5 s) while sampling VmRSS from /proc every second, then reads VmHWM. A first
 * start (the ledger is created), a restart on the same directory, and for comparison a restart
 * through the TypeScript loader (`node --import tsx local/stack/start.ts`, what `npm start` ran
 * before). Goal: idle RSS < 300 MiB, taken as the highest sample of the idle window.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atMost, goalsTable, ROOT, type BenchOptions, type ScenarioResult } from './lib.ts';

const IDLE_GOAL_MIB = 300;

interface IdleRun {
  start: 'first' | 'restart' | 'restart, tsx';
  readyMs: number;
  idleMs: number;
  /** Highest and last VmRSS sample of the idle window. */
  rssMiB: number;
  lastRssMiB: number;
  hwmMiB: number;
}

const COMMANDS: Record<IdleRun['start'], string[]> = {
  first: ['scripts/start.mjs'],
  restart: ['scripts/start.mjs'],
  'restart, tsx': ['--import', 'tsx', 'local/stack/start.ts'],
};

function procMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Math.round(Number(m[1]) / 1024);
}

/** Starts the stack as `npm start` does, idles `idleMs` after the banner, measures, stops it (SIGTERM). */
async function idleRun(dataDir: string, start: IdleRun['start'], idleMs: number): Promise<IdleRun> {
  const t = performance.now();
  // The embedded ledger, as a newcomer's `npm start` runs it: the bench's own database must not leak in.
  const { DATABASE_URL: _db, FERRY_TEST_DATABASE_URL: _testDb, ...env } = process.env;
  const child = spawn(process.execPath, COMMANDS[start], {
    cwd: ROOT,
    env: { ...env, PORT: '0', FERRY_CLOUD_PORT: '0', FERRY_DATA_DIR: dataDir, FERRY_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  try {
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`the stack did not start within 180 s; stderr: ${stderr.slice(-1500)}`)), 180_000);
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        if (stderr.includes('Ferry is running')) {
          clearTimeout(timer);
          ready();
        }
      });
      child.on('error', fail);
      void exited.then((code) => fail(new Error(`the stack exited (${code}) before its banner; stderr: ${stderr.slice(-1500)}`)));
    });
    const readyMs = Math.round(performance.now() - t);
    const pid = child.pid!;
    const samples: number[] = [];
    for (let waited = 0; waited < idleMs; waited += 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      samples.push(procMiB(pid, 'VmRSS'));
    }
    return { start, readyMs, idleMs, rssMiB: Math.max(...samples), lastRssMiB: samples.at(-1)!, hwmMiB: procMiB(pid, 'VmHWM') };
  } finally {
    child.kill('SIGTERM');
    const stop = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(stop);
  }
}

export async function runStackBench(opts: BenchOptions): Promise<ScenarioResult> {
  const idleMs = opts.quick ? 5_000 : 15_000;
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-bench-stack-'));
  const runs: IdleRun[] = [];
  try {
    runs.push(await idleRun(dataDir, 'first', idleMs));
    runs.push(await idleRun(dataDir, 'restart', idleMs));
    runs.push(await idleRun(dataDir, 'restart, tsx', idleMs));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  const goals = runs
    .filter((r) => r.start !== 'restart, tsx')
    .map((r) => atMost(`local stack idle RSS (npm start, ${r.start === 'first' ? 'first start' : 'restart'})`, r.rssMiB, IDLE_GOAL_MIB, `${r.rssMiB} MiB`, `< ${IDLE_GOAL_MIB} MiB`, true));
  const label: Record<IdleRun['start'], string> = { first: 'npm start, first (ledger created)', restart: 'npm start, restart (ledger exists)', 'restart, tsx': 'restart through tsx (before)' };
  return {
    data: { idleMs, runs, goals },
    tables: [
      {
        title: `stack: npm start's process (PGlite ledger, local cloud, sweep every 5 s), ${idleMs / 1000} s idle after the banner`,
        head: ['start', 'ready s', 'idle RSS MiB (highest sample)', 'idle RSS MiB (last)', 'peak RSS (VmHWM) MiB'],
        rows: runs.map((r) => [label[r.start], Math.round(r.readyMs / 100) / 10, r.rssMiB, r.lastRssMiB, r.hwmMiB]),
        note: 'A first start creates the PGlite database in a short-lived child process, so its peak is not in this process. VmRSS sampled every second while idle.',
      },
      goalsTable('stack: goals', goals),
    ],
  };
}
