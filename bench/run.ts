/**
 * `npm run bench [-- <scenario> ...] [-- --quick]`: Ferry's benchmark. Prints a table per
 * scenario and merges the figures into bench/results.json. It measures; it never fails on a figure.
 *
 * Scenarios: clients, ledger, bundles, webhook, sweep, copy, audit (default: all, in that order).
 * PostgreSQL: DATABASE_URL (or FERRY_TEST_DATABASE_URL) adds the PostgreSQL backend where a
 * scenario has a ledger.
 */
import { cpus, totalmem } from 'node:os';
import { goalsTable, mergeResults, printTable, type BenchOptions, type GoalRow, type ScenarioResult } from './lib.ts';

// A log line per request and per cloud call would be measured too: only warnings, unless asked.
process.env.FERRY_LOG_LEVEL ??= 'warn';

const SCENARIOS: Record<string, () => Promise<(o: BenchOptions) => Promise<ScenarioResult>>> = {
  clients: async () => (await import('./clients.ts')).runClients,
  ledger: async () => (await import('./ledger.ts')).runLedger,
  bundles: async () => (await import('./bundles.ts')).runBundles,
  webhook: async () => (await import('./webhook.ts')).runWebhook,
  sweep: async () => (await import('./sweep.ts')).runSweepBench,
  copy: async () => (await import('./copy.ts')).runCopyBench,
  audit: async () => (await import('./audit.ts')).runAuditBench,
};

function usage(): string {
  return `usage: npm run bench -- [${Object.keys(SCENARIOS).join('|')}] ... [--quick]`;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick') || process.env.FERRY_BENCH_QUICK === '1';
  const names = args.filter((a) => !a.startsWith('--'));
  const unknownFlag = args.find((a) => a.startsWith('--') && a !== '--quick');
  if (unknownFlag) {
    console.error(`unknown option ${unknownFlag}\n${usage()}`);
    return 2;
  }
  const unknown = names.filter((n) => !(n in SCENARIOS));
  if (unknown.length) {
    console.error(`unknown scenario ${unknown.join(', ')}\n${usage()}`);
    return 2;
  }
  const selected = names.length ? names : Object.keys(SCENARIOS);
  const opts: BenchOptions = { quick, databaseUrl: process.env.DATABASE_URL || process.env.FERRY_TEST_DATABASE_URL || undefined };
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryMiB: Math.round(totalmem() / 1048576), node: process.version };
  console.log(
    `Ferry bench: ${selected.join(', ')}${quick ? ' (quick)' : ''} on ${machine.cpus} × ${machine.cpuModel}, node ${machine.node}` + (opts.databaseUrl ? ', with PostgreSQL' : ', PGlite only'),
  );
  const started = performance.now();
  const goals: GoalRow[] = [];
  let failed = 0;
  for (const name of selected) {
    const t = performance.now();
    try {
      const run = await SCENARIOS[name]!();
      const result = await run(opts);
      for (const table of result.tables) printTable(table);
      if (Array.isArray(result.data.goals)) goals.push(...(result.data.goals as GoalRow[]));
      const seconds = Math.round((performance.now() - t) / 100) / 10;
      mergeResults(name, result.data, { quick, seconds, machine, postgres: Boolean(opts.databaseUrl) });
      console.log(`  (${name}: ${seconds} s)`);
    } catch (err) {
      // A scenario that cannot run is reported; the others still run.
      failed++;
      console.error(`\n${name}: could not run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
  // Every goal of this run in one table, so a run is read against its goals at a glance.
  if (goals.length) printTable(goalsTable(`goals (${goals.filter((g) => g.met).length} of ${goals.length} met)`, goals));
  console.log(`\nbench done in ${Math.round((performance.now() - started) / 1000)} s; figures in bench/results.json`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
