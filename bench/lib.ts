/**
 * Small helpers shared by the benchmark scenarios: tables, percentiles, results.json,
 * fresh-process timings and child processes that report one JSON line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS_FILE = join(ROOT, 'bench', 'results.json');

export interface BenchOptions {
  /** Shorter runs (CI smoke, development): figures are noisier. */
  quick: boolean;
  /** PostgreSQL for the ledger-backed scenarios, when set. */
  databaseUrl: string | undefined;
}

export interface ScenarioResult {
  /** Printed tables. */
  tables: Table[];
  /** Stored under the scenario's name in bench/results.json. */
  /** `goals` (GoalRow[]) are gathered into the run's goals table. */
  data: Record<string, unknown>;
}

/** One line of issue #19's table: a measure, its goal, and how far from it (≤ 1 is met). */
export interface GoalRow {
  measure: string;
  now: string;
  goal: string;
  /** measured / goal for an upper bound, goal / measured for a lower bound. */
  ratioToGoal: number;
  met: boolean;
}

/** Goal rows for "measured ≤ limit" (`strict`: "<") and "measured ≥ floor". */
export function atMost(measure: string, measured: number, limit: number, now: string, goal: string, strict = false): GoalRow {
  return { measure, now, goal, ratioToGoal: round(measured / limit, 2), met: strict ? measured < limit : measured <= limit };
}
export function atLeast(measure: string, measured: number, floor: number, now: string, goal: string): GoalRow {
  return { measure, now, goal, ratioToGoal: round(floor / measured, 2), met: measured >= floor };
}

export function goalsTable(title: string, goals: GoalRow[]): Table {
  return {
    title,
    head: ['measure', 'now', 'goal', 'ratio to goal', 'met'],
    rows: goals.map((g) => [g.measure, g.now, g.goal, g.ratioToGoal, g.met ? 'yes' : 'NO']),
    note: 'ratio to goal: measured/limit for an upper bound, floor/measured for a lower bound; ≤ 1 is met.',
  };
}

export interface Table {
  title: string;
  head: string[];
  rows: (string | number)[][];
  note?: string;
}

export function printTable(t: Table): void {
  const rows = [t.head, ...t.rows.map((r) => r.map(String))];
  const widths = t.head.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${t.title}`);
  console.log(line(rows[0]!));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows.slice(1)) console.log(line(r));
  if (t.note) console.log(`  ${t.note}`);
}

export function mergeResults(name: string, data: Record<string, unknown>, meta: Record<string, unknown>): void {
  let all: Record<string, unknown> = {};
  if (existsSync(RESULTS_FILE)) {
    try {
      all = JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Record<string, unknown>;
    } catch {
      all = {};
    }
  }
  all[name] = { ...data, measuredAt: new Date().toISOString(), ...meta };
  writeFileSync(RESULTS_FILE, JSON.stringify(all, null, 2) + '\n');
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export const round = (n: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
export const median = (xs: number[]): number =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

/** Runs `work(i)` for i in [0, total) with at most `concurrency` in flight. */
export async function pool(total: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, total) }, async () => {
    for (let i = next++; i < total; i = next++) await work(i);
  });
  await Promise.all(lanes);
}

/** Runs `work()` repeatedly with `concurrency` lanes until `ms` have passed. Returns per-call latencies. */
export async function sustained(ms: number, concurrency: number, work: () => Promise<void>): Promise<{ latencies: number[]; elapsedMs: number; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await work();
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  return { latencies, elapsedMs: performance.now() - started, errors };
}

/**
 * Time to import (ESM) or require (CJS) `file` in a fresh `node` process, measured inside it
 * around the import only (process start excluded). Median of `runs`.
 */
export function freshImportMs(file: string, runs = 7, mode: 'import' | 'require' = 'import'): number {
  const code =
    mode === 'import'
      ? `const t=performance.now(); await import(${JSON.stringify('file://' + resolve(file))}); console.log(performance.now()-t);`
      : `const t=performance.now(); require(${JSON.stringify(resolve(file))}); console.log(performance.now()-t);`;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const args = mode === 'import' ? ['--input-type=module', '-e', code] : ['-e', code];
    const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`fresh import of ${file} failed: ${r.stderr.slice(-1500)}`);
    times.push(Number(r.stdout.trim().split('\n').pop()));
  }
  // The first run pays the cold file cache; the median ignores it.
  return median(times);
}

/**
 * Runs `tsx <script> ...args` in a child process; the child prints one JSON line prefixed with
 * `@@result ` which is returned. stderr is passed through.
 */
export function runChild<T>(script: string, args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 300_000): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
    const child = spawn(tsx, [script, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('@@result '));
      if (code !== 0 || !line) return reject(new Error(`${script} ${args.join(' ')} exited ${code}; stdout tail: ${out.slice(-2000)}`));
      resolvePromise(JSON.parse(line.slice('@@result '.length)) as T);
    });
  });
}

export function reportToParent(value: unknown): void {
  process.stdout.write('@@result ' + JSON.stringify(value) + '\n');
}

export const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
