/**
 * webhook: the webhook app on a loopback socket in front of the local cloud (injected latency),
 * ledger on PGlite (and PostgreSQL when configured), ACR trigger payloads POSTed like ACR does.
 *   - fan-out of one push to 1, 10 (and 50) targets, 200 ms injected on CreateRepoSyncTask and
 *     GetRepository: the answer in round trips (answer time / 200 ms), warm (the source repository's id
 *     known: another tag of a repository pushed before) and cold (a repository never seen);
 *   - sustained deliveries at 1 target each, 20 ms injected on every ACR call, 32 concurrent senders,
 *     Ferry's default per-account cloud limiter (20 req/s): accepted deliveries/s and answer p50/p99, and
 *     where a delivery's time goes (ledger statements and the time the ledger was busy per delivery).
 * Goals (issue #19): fan-out 10 targets ≤ 1.5 round trips warm, ≤ 2.5 cold; accept rate ≥ 150/s on
 * PGlite, ≥ 300/s on PostgreSQL; answer p99 ≤ 2.5 s at concurrency 32.
 */
import { configureAccountLimiters, defaultLimiterOptions, type LimiterOptions } from '../shared/clients/transport.ts';
import type { Db } from '../shared/ledger/db.ts';
import { releasesTo, startHarness, TEST_TOKENS, type Harness } from '../test/chaos/harness.ts';
import { atLeast, atMost, goalsTable, median, percentile, round, sustained, type BenchOptions, type GoalRow, type ScenarioResult, type Table } from './lib.ts';

const CONCURRENCY = 32;
const ROUND_TRIP_MS = 200;

export async function runWebhook(opts: BenchOptions): Promise<ScenarioResult> {
  const sustainMs = opts.quick ? 8_000 : 30_000;
  const backends: { name: string; databaseUrl?: string }[] = [{ name: 'pglite' }];
  if (opts.databaseUrl) backends.push({ name: 'postgresql', databaseUrl: opts.databaseUrl });
  const goals: GoalRow[] = [];

  const fan: (string | number)[][] = [];
  const fanData: Record<string, unknown> = {};
  for (const n of opts.quick ? [1, 10] : [1, 10, 50]) {
    const r = await fanOut(n);
    fanData[String(n)] = r;
    for (const k of ['warm', 'cold'] as const) fan.push([n, k, r[k].medianMs, `${r[k].roundTrips}`, r[k].submittedInResponse, r[k].deferredToSweep, r[k].statementsPerPush, r[k].ledgerMsPerPush]);
  }
  const ten = fanData['10'] as Awaited<ReturnType<typeof fanOut>>;
  goals.push(atMost('webhook fan-out, 10 targets, warm (round trips)', ten.warm.roundTrips, 1.5, `${ten.warm.roundTrips}`, '≤ 1.5'));
  goals.push(atMost('webhook fan-out, 10 targets, cold (round trips)', ten.cold.roundTrips, 2.5, `${ten.cold.roundTrips}`, '≤ 2.5'));

  const rows: (string | number)[][] = [];
  const sustainedData: Record<string, unknown> = {};
  // The accept rate must not follow the cloud's: the same run with the account limiter at a tenth.
  const slow = await sustainedDeliveries(undefined, sustainMs, { ratePerSecond: 2, burst: 2 });
  sustainedData['pglite.limiter2'] = slow;
  for (const b of backends) {
    const r = await sustainedDeliveries(b.databaseUrl, sustainMs);
    sustainedData[b.name] = r;
    rows.push([
      `${b.name}, limiter 20 req/s`,
      r.seconds,
      r.deliveries,
      r.perSecond,
      r.p50Ms,
      r.p99Ms,
      r.submittedInAnswer,
      r.deferredToSweep,
      r.statementsPerDelivery,
      r.ledgerMsPerDelivery,
      r.errors,
    ]);
    const floor = b.name === 'pglite' ? 150 : 300;
    goals.push(atLeast(`webhook sustained accept rate, limiter on (${b.name})`, r.perSecond, floor, `${r.perSecond}/s`, `≥ ${floor}/s`));
    goals.push(atMost(`webhook answer p99 at concurrency ${CONCURRENCY} (${b.name})`, r.p99Ms, 2_500, `p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`, 'p99 ≤ 2.5 s'));
  }
  rows.push([
    'pglite, limiter 2 req/s',
    slow.seconds,
    slow.deliveries,
    slow.perSecond,
    slow.p50Ms,
    slow.p99Ms,
    slow.submittedInAnswer,
    slow.deferredToSweep,
    slow.statementsPerDelivery,
    slow.ledgerMsPerDelivery,
    slow.errors,
  ]);

  const data: Record<string, unknown> = {
    fanOut: { injectedLatencyMs: ROUND_TRIP_MS, limiter: defaultLimiterOptions, targets: fanData },
    sustained: { concurrency: CONCURRENCY, injectedLatencyMs: 20, limiter: defaultLimiterOptions, backends: sustainedData },
    goals,
  };
  const tables: Table[] = [
    {
      title: `webhook: fan-out of one push, ${ROUND_TRIP_MS} ms injected on CreateRepoSyncTask and GetRepository (PGlite; median of 3 pushes)`,
      head: ['targets', 'repository id', 'answer ms', 'round trips', 'submitted in answer', 'left to sweep', 'SQL statements/push', 'ledger busy ms/push'],
      rows: fan,
      note: `warm: the source repository's id is known (cached per instance); cold: a repository never seen (one GetRepository, shared by the targets). Limiter: ${defaultLimiterOptions.maxConcurrent} in flight, ${defaultLimiterOptions.ratePerSecond} req/s, burst ${defaultLimiterOptions.burst}.`,
    },
    {
      title: `webhook: sustained deliveries, 1 target each, ${CONCURRENCY} concurrent senders, 20 ms injected on every ACR call, default cloud limiter`,
      head: ['ledger, cloud limiter', 's', 'deliveries', 'deliveries/s', 'p50 ms', 'p99 ms', 'submitted in answer', 'left to sweep', 'SQL statements/delivery', 'ledger busy ms/delivery', 'errors'],
      rows,
      note: 'A delivery the limiter has no room for is recorded and left to the sweep (deferredToSweep); the answer never queues for the cloud. Ledger busy: wall time with at least one statement in flight, per delivery (PGlite runs them one at a time).',
    },
    goalsTable('webhook goals (issue #19)', goals),
  ];
  return { data, tables };
}

/**
 * Counts the statements sent through `db` (a transaction's own included) and the wall time during
 * which at least one was in flight (so overlapping statements count once: on PGlite, which runs one at
 * a time, that is the time the ledger was busy).
 */
function meterDb(db: Db): { statements: number; busyMs: number; stop(): void } {
  const m = { statements: 0, busyMs: 0, stop: () => {} };
  let inFlight = 0;
  let since = 0;
  const query = db.query.bind(db);
  const transaction = db.transaction.bind(db);
  const original = { query: db.query, transaction: db.transaction };
  m.stop = () => Object.assign(db, original);
  const timed = async <T>(p: () => Promise<T>): Promise<T> => {
    if (inFlight++ === 0) since = performance.now();
    try {
      return await p();
    } finally {
      if (--inFlight === 0) m.busyMs += performance.now() - since;
    }
  };
  (db as { query: Db['query'] }).query = ((sql: string, params?: unknown[]) => {
    m.statements++;
    return timed(() => query(sql, params));
  }) as Db['query'];
  (db as { transaction: Db['transaction'] }).transaction = (fn) =>
    timed(() =>
      transaction((tx) => {
        m.statements += 2; // BEGIN, COMMIT
        const txQuery = tx.query.bind(tx);
        return fn({
          ...tx,
          query: ((sql: string, params?: unknown[]) => {
            m.statements++;
            return txQuery(sql, params);
          }) as Db['query'],
        });
      }),
    );
  return m;
}

async function sustainedDeliveries(databaseUrl: string | undefined, ms: number, limiter?: Partial<LimiterOptions>) {
  let fresh: { dispose(): Promise<void>; schema: string } | undefined;
  let h: Harness;
  if (databaseUrl) {
    const { freshPostgresLedger } = await import('./ledger.ts');
    const f = await freshPostgresLedger(databaseUrl);
    await f.ledger.close();
    fresh = f;
    h = await startHarness({ databaseUrl: withSearchPath(databaseUrl, f.schema), config: releasesTo(['cri-localdst001']) });
  } else {
    h = await startHarness({ config: releasesTo(['cri-localdst001']) });
  }
  try {
    if (limiter) configureAccountLimiters(limiter);
    h.cloud.faults.add({ op: 'acr:*', latencyMs: 20 });
    await h.push({ repo: 'app', tag: 'v0.0.0' }); // warm-up: repo id cache, connections
    // The senders' tags are made in the source first: the measured time is the webhook's alone.
    const tags = Array.from({ length: 20_000 }, (_, i) => `v1.${i + 1}`);
    let made = 0;
    const payloads: string[] = [];
    const prepare = async (count: number) => {
      for (; made < count; made++) payloads.push(JSON.stringify(await h.acrPayload({ repo: 'app', tag: tags[made]! })));
    };
    await prepare(payloadsFor(ms));
    const meter = meterDb(h.db);
    let seq = 0;
    let submitted = 0;
    let deferred = 0;
    const res = await sustained(ms, CONCURRENCY, async () => {
      const i = seq++;
      const body = payloads[i] ?? JSON.stringify(await h.acrPayload({ repo: 'app', tag: `v2.${i}` }));
      const r = await h.post(`/webhooks/acr?instance=cri-localsrc001`, body, { authorization: `Bearer ${TEST_TOKENS.webhook}` });
      if (r.status !== 202) throw new Error(`status ${r.status}`);
      submitted += r.body.replications[0].targets.filter((t: { state: string }) => t.state === 'submitted').length;
      deferred += r.body.deferredToSweep ?? 0;
    });
    const sorted = res.latencies.sort((a, b) => a - b);
    const n = sorted.length || 1;
    return {
      seconds: round(res.elapsedMs / 1000),
      deliveries: sorted.length,
      perSecond: round(sorted.length / (res.elapsedMs / 1000)),
      p50Ms: round(percentile(sorted, 50)),
      p99Ms: round(percentile(sorted, 99)),
      submittedInAnswer: submitted,
      deferredToSweep: deferred,
      statementsPerDelivery: round(meter.statements / n, 1),
      ledgerMsPerDelivery: round(meter.busyMs / n, 2),
      errors: res.errors,
    };
  } finally {
    configureAccountLimiters({});
    await h.close();
    await fresh?.dispose();
  }
}

/** Payloads made up front: a generous guess of how many deliveries `ms` takes (more are made on the fly). */
function payloadsFor(ms: number): number {
  return Math.ceil((ms / 1000) * 400);
}

/** The pg `options` search_path is set by Ledger.open's searchPath; the harness only takes a URL, so use libpq's options parameter. */
function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

interface FanRun {
  statementsPerPush: number;
  ledgerMsPerPush: number;
  responsesMs: number[];
  medianMs: number;
  roundTrips: number;
  submittedInResponse: number;
  deferredToSweep: number;
}

async function fanOut(n: number): Promise<{ targets: number; warm: FanRun; cold: FanRun }> {
  const targets = Array.from({ length: n }, (_, i) => (i === 0 ? 'cri-localdst001' : `cri-benchdst${String(i).padStart(3, '0')}`));
  const h = await startHarness({ config: releasesTo(targets), extraInstances: targets.slice(1) });
  try {
    await h.push({ repo: 'warmup', tag: 'v0' }); // the process warm (connections, JIT), the measured repositories unknown
    h.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', latencyMs: ROUND_TRIP_MS });
    h.cloud.faults.add({ op: 'acr:GetRepository', latencyMs: ROUND_TRIP_MS });
    // Cold: each push its own repository, so each pays the GetRepository round trip too.
    const cold = await pushes(h, (i) => ({ repo: `fan${i}`, tag: 'v1.0.0' }));
    // Warm: another tag of a repository pushed above, its id known to this instance.
    const warm = await pushes(h, (i) => ({ repo: 'fan0', tag: `v2.0.${i}` }));
    return { targets: n, warm, cold };
  } finally {
    await h.close();
  }
}

async function pushes(h: Harness, image: (i: number) => { repo: string; tag: string }): Promise<FanRun> {
  const meter = meterDb(h.db);
  const times: number[] = [];
  let submitted = 0;
  let deferred = 0;
  for (let i = 0; i < 3; i++) {
    const r = await h.push(image(i));
    times.push(r.ms);
    const entries = (r.body?.replications ?? []).flatMap((x: { targets: { state: string }[] }) => x.targets);
    submitted += entries.filter((t: { state: string }) => t.state === 'submitted').length;
    deferred += r.body?.deferredToSweep ?? 0;
    // The limiter's burst refills between pushes, as between real pushes.
    await new Promise((res) => setTimeout(res, 1_000));
  }
  const m = median(times);
  meter.stop();
  return {
    statementsPerPush: round(meter.statements / times.length, 1),
    ledgerMsPerPush: round(meter.busyMs / times.length, 1),
    responsesMs: times.map((t) => round(t)),
    medianMs: round(m),
    roundTrips: round(m / ROUND_TRIP_MS, 2),
    submittedInResponse: submitted,
    deferredToSweep: deferred,
  };
}
