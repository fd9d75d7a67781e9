/**
 * sweep: one sweep over 1,000 and 10,000 open ACR tasks across 10 source instances, 20 ms injected
 * on every ACR call; each run in a fresh child process (bench/sweep-child.ts) so its peak RSS is
 * that workload's. Cloud calls are counted at the local cloud, against the minimum
 * ceil(open / 100 per page) + instances. Goals (10,000): ≤ 2× the minimum, < 30 s, < 128 MB;
 * issue #19: PGlite process peak < 400 MiB (PGlite in a data directory, as `npm start` runs it).
 */
import { join } from 'node:path';
import { atMost, goalsTable, type GoalRow, ROOT, round, runChild, type BenchOptions, type ScenarioResult } from './lib.ts';

interface ChildResult {
  openTasks: number;
  backend: string;
  cloudCallsAtCloud: number;
  cloudCallsBySweep: number;
  minimumCalls: number;
  wallMs: number;
  transitions: Record<string, number>;
  leftover: boolean;
  errors: number;
  stillOpen: number;
  rssBeforeMiB: number;
  peakRssMiB: number;
}

export async function runSweepBench(opts: BenchOptions): Promise<ScenarioResult> {
  const sizes = [1000, 10_000];
  const backends: (string | undefined)[] = [undefined];
  if (opts.databaseUrl) backends.push(opts.databaseUrl);
  const results: ChildResult[] = [];
  for (const url of backends) {
    for (const n of sizes) {
      results.push(await runChild<ChildResult>(join(ROOT, 'bench', 'sweep-child.ts'), [String(n), '20', ...(url ? ['--pg', url] : [])], {}, 300_000));
    }
  }
  // PGlite as the tests run it (in memory): the database's files are in the process, for comparison.
  results.push(await runChild<ChildResult>(join(ROOT, 'bench', 'sweep-child.ts'), ['10000', '20', '--pglite-memory'], {}, 300_000));
  const pglite10k = results.find((r) => r.backend === 'pglite' && r.openTasks === 10_000);
  const goals: GoalRow[] = pglite10k ? [atMost('sweep, 10,000 open tasks, PGlite bench process peak RSS', pglite10k.peakRssMiB, 400, `${pglite10k.peakRssMiB} MiB`, '< 400 MiB', true)] : [];
  return {
    data: { latencyMs: 20, instances: 10, pageSize: 100, mix: '90% SYNCHRONIZING, 10% SUCCESS', runs: results, goals },
    tables: [
      {
        title: 'sweep: one run, open ACR tasks across 10 instances, 20 ms injected per ACR call (90% still syncing, 10% finished)',
        head: ['ledger', 'open tasks', 'cloud calls', 'minimum', 'calls/min', 'wall s', 'peak RSS MiB', 'RSS before MiB', 'finished→succeeded', 'errors'],
        rows: results.map((r) => [
          r.backend,
          r.openTasks,
          r.cloudCallsAtCloud,
          r.minimumCalls,
          `${round(r.cloudCallsAtCloud / r.minimumCalls, 2)}×`,
          round(r.wallMs / 1000, 2),
          r.peakRssMiB,
          r.rssBeforeMiB,
          r.transitions['running→succeeded'] ?? 0,
          r.errors,
        ]),
        note: 'RSS is the whole child process, local cloud included. PGlite keeps its data directory on disk as `npm start` does; "pglite in memory" (as the tests run it) also holds the database files in the process.',
      },
      goalsTable('sweep: goals', goals),
    ],
  };
}
