/**
 * webhook: the webhook app on a loopback socket in front of the local cloud (injected latency),
 * ledger on PGlite (and PostgreSQL when configured), ACR trigger payloads POSTed like ACR does.
 *   - sustained deliveries at 1 target each, 20 ms injected on every ACR call: deliveries/s, p50/p99;
 *     once with Ferry's default per-account cloud limiter (20 req/s), once with it lifted, so the
 *     app's own throughput shows too;
 *   - fan-out of one push to 1, 10, 50 targets, 200 ms injected on CreateRepoSyncTask and
 *     GetRepository: response time as a ratio of one injected round trip.
 */
import { configureAccountLimiters, defaultLimiterOptions } from '../shared/clients/transport.ts';
import { releasesTo, startHarness, type Harness } from '../test/chaos/harness.ts';
import { median, percentile, round, sustained, type BenchOptions, type ScenarioResult, type Table } from './lib.ts';

const CONCURRENCY = 8;

export async function runWebhook(opts: BenchOptions): Promise<ScenarioResult> {
  const sustainMs = opts.quick ? 6_000 : 30_000;
  const liftedMs = opts.quick ? 4_000 : 10_000;
  const backends: { name: string; databaseUrl?: string }[] = [{ name: 'pglite' }];
  if (opts.databaseUrl) backends.push({ name: 'postgresql', databaseUrl: opts.databaseUrl });

  const data: Record<string, unknown> = { concurrency: CONCURRENCY, injectedLatencyMs: 20 };
  const rows: (string | number)[][] = [];
  for (const b of backends) {
    for (const [label, ms, lifted] of [
      ['default limiter (20 req/s/account)', sustainMs, false],
      ['limiter lifted', liftedMs, true],
    ] as const) {
      const r = await sustainedDeliveries(b.databaseUrl, ms, lifted);
      data[`sustained.${b.name}.${lifted ? 'lifted' : 'default'}`] = r;
      rows.push([`${b.name}, ${label}`, Math.round(ms / 1000), r.deliveries, r.perSecond, r.p50Ms, r.p99Ms, r.errors]);
    }
  }

  const fan: (string | number)[][] = [];
  const fanData: Record<string, unknown> = {};
  const schema = opts.databaseUrl ? await import('./ledger.ts') : undefined;
  for (const n of [1, 10, 50]) {
    const r = await fanOut(n, schema && opts.databaseUrl ? { databaseUrl: opts.databaseUrl, fresh: schema.freshPostgresLedger } : undefined);
    fanData[String(n)] = r;
    fan.push([n, r.medianMs, `${r.ratio}×`, r.submittedInResponse, r.deferredToSweep]);
  }
  data.fanOut = { injectedLatencyMs: 200, budgetMs: 3000, limiter: defaultLimiterOptions, targets: fanData };
  const tables: Table[] = [
    {
      title: `webhook: sustained deliveries, 1 target each, ${CONCURRENCY} concurrent senders, 20 ms injected on every ACR call`,
      head: ['ledger / cloud limiter', 's', 'deliveries', 'deliveries/s', 'p50 ms', 'p99 ms', 'errors'],
      rows,
    },
    {
      title: 'webhook: fan-out of one push, 200 ms injected on CreateRepoSyncTask and GetRepository (PGlite; median of 3 pushes)',
      head: ['targets', 'response ms', 'ratio to 1 round trip', 'submitted in response', 'left to sweep'],
      rows: fan,
      note: `Submissions run ${defaultLimiterOptions.maxConcurrent} at a time under the per-account limiter (${defaultLimiterOptions.ratePerSecond} req/s, burst ${defaultLimiterOptions.burst}); the submit budget is 3 s.`,
    },
  ];
  return { data, tables };
}

async function sustainedDeliveries(databaseUrl: string | undefined, ms: number, lifted: boolean) {
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
    if (lifted) configureAccountLimiters({ maxConcurrent: 64, ratePerSecond: 100_000, burst: 100_000 });
    h.cloud.faults.add({ op: 'acr:*', latencyMs: 20 });
    await h.push({ repo: 'app', tag: 'v0.0.0' }); // warm-up: repo id cache, connections
    let seq = 0;
    const res = await sustained(ms, CONCURRENCY, async () => {
      const i = ++seq;
      const r = await h.push({ repo: 'app', tag: `v1.${i}` });
      if (r.status !== 200 && r.status !== 202) throw new Error(`status ${r.status}`);
    });
    const sorted = res.latencies.sort((a, b) => a - b);
    return {
      seconds: round(res.elapsedMs / 1000),
      deliveries: sorted.length,
      perSecond: round(sorted.length / (res.elapsedMs / 1000)),
      p50Ms: round(percentile(sorted, 50)),
      p99Ms: round(percentile(sorted, 99)),
      errors: res.errors,
      cloudCreateCalls: h.cloud.acr.createCallCount(),
    };
  } finally {
    configureAccountLimiters({});
    await h.close();
    await fresh?.dispose();
  }
}

/** The pg `options` search_path is set by Ledger.open's searchPath; the harness only takes a URL, so use libpq's options parameter. */
function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

async function fanOut(n: number, _pg?: unknown) {
  const targets = Array.from({ length: n }, (_, i) => (i === 0 ? 'cri-localdst001' : `cri-benchdst${String(i).padStart(3, '0')}`));
  const h = await startHarness({ config: releasesTo(targets), extraInstances: targets.slice(1) });
  try {
    h.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', latencyMs: 200 });
    h.cloud.faults.add({ op: 'acr:GetRepository', latencyMs: 200 });
    const times: number[] = [];
    let submitted = 0;
    let deferred = 0;
    for (let i = 0; i < 3; i++) {
      // Each push its own repository: every one pays the GetRepository round trip too (cold cache).
      const r = await h.push({ repo: `fan${i}`, tag: 'v1.0.0' });
      times.push(r.ms);
      const entries = (r.body?.replications ?? []).flatMap((x: { targets: { state: string }[] }) => x.targets);
      if (i === 0) {
        submitted = entries.filter((t: { state: string }) => t.state === 'submitted').length;
        deferred = entries.filter((t: { state: string }) => t.state === 'pending').length;
      }
    }
    const m = median(times);
    return { targets: n, responsesMs: times.map((t) => round(t)), medianMs: round(m), ratio: round(m / 200, 2), submittedInResponse: submitted, deferredToSweep: deferred };
  } finally {
    await h.close();
  }
}
