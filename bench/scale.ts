/**
 * scale (PostgreSQL only): cost grows with work, not with history. A fresh ledger schema is filled
 * with 1,000,000 finished tasks (bench/scale-history.ts: their events, cloud refs, notifications),
 * then, side by side with an empty ledger:
 *   - the sweep bench's sweep (bench/sweep-child.ts: 10,000 open ACR tasks over 10 instances, 20 ms
 *     per ACR call, a child process each, written into each ledger): cloud calls and sweep time, goal
 *     ≤ 1.1× the empty ledger's;
 *   - the webhook's accept time (one target, the cloud limiter lifted and no injected latency, so the
 *     ledger's share shows): median and p99 for one sender and for 4 concurrent ones, goal ≤ 1.1×;
 *     the two ledgers take turns (4 rounds), so load on the machine falls on both;
 *   - GET /metrics and GET /healthz (in process, the API app): median time (no goal; reported).
 */
import { join } from 'node:path';
import { createApiApp } from '../shared/api/app.ts';
import { configureAccountLimiters } from '../shared/clients/transport.ts';
import { releasesTo, startHarness, TEST_TOKENS, type Harness } from '../test/chaos/harness.ts';
import { freshPostgresLedger } from './ledger.ts';
import { median, percentile, pool, ROOT, round, runChild, type BenchOptions, type ScenarioResult, type Table, type GoalRow } from './lib.ts';
import { fillHistory } from './scale-history.ts';

const GOAL = 1.1;

interface SweepRun {
  cloudCallsAtCloud: number;
  wallMs: number;
  transitions: Record<string, number>;
  errors: number;
  leftover: boolean;
}

export async function runScaleBench(opts: BenchOptions): Promise<ScenarioResult> {
  const title = 'scale: the sweep and the webhook with 1,000,000 finished tasks in the ledger vs none (PostgreSQL)';
  if (!opts.databaseUrl) {
    return { data: { skipped: 'needs DATABASE_URL' }, tables: [{ title, head: ['measure', 'result'], rows: [['scale', 'skipped: needs DATABASE_URL (PostgreSQL)']] }] };
  }
  const url = opts.databaseUrl;
  const finished = opts.quick ? 100_000 : 1_000_000;
  const open = opts.quick ? 2_000 : 10_000;
  const deliveries = opts.quick ? 60 : 300;

  const empty = await freshPostgresLedger(url);
  const full = await freshPostgresLedger(url);
  await empty.ledger.close();
  await full.ledger.close();
  try {
    const fill = await fillHistory(url, full.schema, finished);
    console.log(`  scale: ${finished} finished tasks written in ${fill.seconds} s`);

    // The sweep on each (the same open tasks written into both), so the webhook and the probes after it
    // also find the same open work on both ledgers and differ only by history.
    const child = join(ROOT, 'bench', 'sweep-child.ts');
    const sweepEmpty = await runChild<SweepRun>(child, [String(open), '20', '--pg', url, '--schema', empty.schema], {}, 600_000);
    const sweepFull = await runChild<SweepRun>(child, [String(open), '20', '--pg', url, '--schema', full.schema], {}, 600_000);

    const web = await webhookSideBySide(url, empty.schema, full.schema, deliveries);
    const probes = await probeSideBySide(url, empty.schema, full.schema, opts.quick ? 5 : 15);

    const ratio = (a: number, b: number) => round(b > 0 ? a / b : a > 0 ? Infinity : 1, 3);
    const calls = ratio(sweepFull.cloudCallsAtCloud, sweepEmpty.cloudCallsAtCloud);
    const time = ratio(sweepFull.wallMs, sweepEmpty.wallMs);
    const goals: GoalRow[] = [
      goal(`sweep cloud calls, ${open} open, ${finished} finished vs none`, calls, `${sweepFull.cloudCallsAtCloud} vs ${sweepEmpty.cloudCallsAtCloud}`),
      goal(`sweep time, ${open} open, ${finished} finished vs none`, time, `${round(sweepFull.wallMs / 1000, 2)} s vs ${round(sweepEmpty.wallMs / 1000, 2)} s`),
      ...web.flatMap((w) => [
        goal(`webhook accept p50, ${w.senders} sender(s), ${finished} tasks vs empty`, ratio(w.full.p50Ms, w.empty.p50Ms), `${w.full.p50Ms} ms vs ${w.empty.p50Ms} ms`),
        goal(`webhook accept p99, ${w.senders} sender(s), ${finished} tasks vs empty`, ratio(w.full.p99Ms, w.empty.p99Ms), `${w.full.p99Ms} ms vs ${w.empty.p99Ms} ms`),
      ]),
    ];
    const tables: Table[] = [
      {
        title: `scale: one sweep, ${open} open ACR tasks over 10 instances, 20 ms per ACR call, PostgreSQL`,
        head: ['ledger', 'finished tasks', 'cloud calls', 'wall s', 'finished→succeeded', 'errors', 'leftover'],
        rows: [
          ['empty', 0, sweepEmpty.cloudCallsAtCloud, round(sweepEmpty.wallMs / 1000, 2), sweepEmpty.transitions['running→succeeded'] ?? 0, sweepEmpty.errors, String(sweepEmpty.leftover)],
          ['history', finished, sweepFull.cloudCallsAtCloud, round(sweepFull.wallMs / 1000, 2), sweepFull.transitions['running→succeeded'] ?? 0, sweepFull.errors, String(sweepFull.leftover)],
        ],
        note: `history written in ${fill.seconds} s: ${Object.entries(fill.rows)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ')}`,
      },
      {
        title: `scale: webhook accept time, 1 target, limiter lifted, no injected latency, ${deliveries} deliveries per ledger and sender count (ledgers take turns)`,
        head: ['senders', 'ledger', 'p50 ms', 'p99 ms', 'errors'],
        rows: web.flatMap((w) => [
          [w.senders, 'empty', w.empty.p50Ms, w.empty.p99Ms, w.empty.errors],
          [w.senders, `${finished} tasks`, w.full.p50Ms, w.full.p99Ms, w.full.errors],
        ]),
      },
      {
        title: 'scale: GET /metrics and GET /healthz (API app in process), median ms',
        head: ['endpoint', 'empty ledger', `${finished} tasks`, 'ratio'],
        rows: probes.map((p) => [p.path, p.emptyMs, p.fullMs, `${ratio(p.fullMs, p.emptyMs)}×`]),
        note: 'No goal: reported so a query that reads all of history shows.',
      },
      goalTable(goals),
    ];
    return {
      data: { finishedTasks: finished, openTasks: open, fill, sweep: { empty: sweepEmpty, history: sweepFull }, webhook: web, probes, goals },
      tables,
    };
  } finally {
    await empty.dispose();
    await full.dispose();
  }
}

function goal(measure: string, ratio: number, now: string): GoalRow {
  return { measure, now: `${ratio}× (${now})`, goal: `≤ ${GOAL}×`, ratioToGoal: round(ratio / GOAL, 3), met: ratio <= GOAL };
}

export function goalTable(goals: GoalRow[]): Table {
  return {
    title: 'scale: goals (ratio to goal ≤ 1 = met)',
    head: ['measure', 'now', 'goal', 'ratio to goal', 'met'],
    rows: goals.map((g) => [g.measure, g.now, g.goal, g.ratioToGoal, g.met ? 'yes' : 'NO']),
  };
}

function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

interface Latencies {
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** Accept times on both ledgers, one sender and four, in alternating halves so machine load falls on both. */
async function webhookSideBySide(url: string, emptySchema: string, fullSchema: string, deliveries: number) {
  const harnesses: Record<'empty' | 'full', Harness> = {
    empty: await startHarness({ databaseUrl: withSearchPath(url, emptySchema), config: releasesTo(['cri-localdst001']) }),
    full: await startHarness({ databaseUrl: withSearchPath(url, fullSchema), config: releasesTo(['cri-localdst001']) }),
  };
  configureAccountLimiters({ maxConcurrent: 64, ratePerSecond: 100_000, burst: 100_000 });
  try {
    let seq = 0;
    const once = async (h: Harness, into: number[], errors: { n: number }) => {
      // `releases` takes v* tags: every push records one task (else it would measure a no-match answer).
      const r = await h.push({ repo: 'app', tag: `v9.${++seq}` });
      const recorded = (r.body?.replications ?? []).flatMap((x: { targets?: unknown[] }) => x.targets ?? []).length;
      if ((r.status === 200 || r.status === 202) && recorded === 1) into.push(r.ms);
      else errors.n++;
    };
    // Warm-up: connections, plans, the repository id cache.
    for (const h of Object.values(harnesses)) for (let i = 0; i < 20; i++) await once(h, [], { n: 0 });
    const out: Array<{ senders: number; empty: Latencies; full: Latencies }> = [];
    for (const senders of [1, 4]) {
      const times = { empty: [] as number[], full: [] as number[] };
      const errors = { empty: { n: 0 }, full: { n: 0 } };
      const quarter = Math.ceil(deliveries / 4);
      for (let round = 0; round < 4; round++) {
        for (const k of round % 2 === 0 ? (['empty', 'full'] as const) : (['full', 'empty'] as const)) {
          await pool(quarter, senders, () => once(harnesses[k], times[k], errors[k]));
        }
      }
      const stats = (xs: number[], e: { n: number }): Latencies => {
        const s = [...xs].sort((a, b) => a - b);
        return { p50Ms: round(percentile(s, 50)), p99Ms: round(percentile(s, 99)), errors: e.n };
      };
      out.push({ senders, empty: stats(times.empty, errors.empty), full: stats(times.full, errors.full) });
    }
    return out;
  } finally {
    configureAccountLimiters({});
    await harnesses.empty.close();
    await harnesses.full.close();
  }
}

/** GET /metrics and /healthz through the API app on each ledger, alternating; median ms. */
async function probeSideBySide(url: string, emptySchema: string, fullSchema: string, runs: number) {
  const { startTestStack } = await import('../test/helpers/stack.ts');
  const stacks = {
    empty: await startTestStack({ databaseUrl: withSearchPath(url, emptySchema) }),
    full: await startTestStack({ databaseUrl: withSearchPath(url, fullSchema) }),
  };
  try {
    const apps = { empty: createApiApp(stacks.empty.deps), full: createApiApp(stacks.full.deps) };
    const out: Array<{ path: string; emptyMs: number; fullMs: number; status: number }> = [];
    for (const path of ['/metrics', '/healthz']) {
      const times = { empty: [] as number[], full: [] as number[] };
      let status = 0;
      for (let i = 0; i < runs + 1; i++) {
        for (const k of ['empty', 'full'] as const) {
          const t = performance.now();
          const res = await apps[k](new Request(`http://ferry.local${path}`, { headers: { authorization: `Bearer ${TEST_TOKENS.read}` } }), { requestId: `scale-${i}`, functionName: 'ferry-api' });
          await res.text();
          if (k === 'full') status = res.status;
          if (i > 0) times[k].push(performance.now() - t); // the first is a warm-up
        }
      }
      out.push({ path, emptyMs: round(median(times.empty)), fullMs: round(median(times.full)), status });
    }
    return out;
  } finally {
    await stacks.empty.close();
    await stacks.full.close();
  }
}
