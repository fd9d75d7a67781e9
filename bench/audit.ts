/**
 * audit: the drift audit's cost. 1,000 ACR repositories × 20 tags at the source, all but 10 images
 * already at the target; sweeps (default budget, 50 s) run until one audit pass ends. Reports cloud
 * calls per audited repository, sweeps and wall time per pass, and what the default per-account
 * limit (20 calls/s) makes of those calls. The local cloud runs in-process (see bench/sweep.ts).
 */
import { configureAccountLimiters, defaultLimiterOptions } from '../shared/clients/transport.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { startTestStack } from '../test/helpers/stack.ts';
import { round, type BenchOptions, type ScenarioResult } from './lib.ts';

const DST = 'cri-localdst001';

export async function runAuditBench(opts: BenchOptions): Promise<ScenarioResult> {
  const repos = opts.quick ? 200 : 1000;
  const tags = 20;
  const digest = (r: number, t: number) => `sha256:${(r * 100 + t).toString(16).padStart(64, 'a')}`;
  const src = Array.from({ length: repos }, (_, r) => ({ name: `app${r}`, tags: Object.fromEntries(Array.from({ length: tags }, (_, t) => [`v${t}`, digest(r, t)])) }));
  // Drift: every 100th repository lacks its v0 at the target.
  const dst = src.map((r, i) => ({ name: r.name, tags: Object.fromEntries(Object.entries(r.tags).filter(([t]) => !(i % 100 === 0 && t === 'v0'))) }));
  const stack = await startTestStack({
    cloud: {
      seed: {
        alibaba: {
          instances: [
            { instanceId: 'cri-localsrc001', region: 'cn-hangzhou', namespaces: [{ name: 'team', repos: src }] },
            { instanceId: DST, region: 'cn-shanghai', namespaces: [{ name: 'team', repos: dst }] },
            { instanceId: 'cri-localdst002', region: 'cn-beijing', namespaces: [{ name: 'team', repos: [] }] },
          ],
        },
      },
    },
    config: (base) => ({
      ...base,
      rules: [{ name: 'all', source: 'acr-hangzhou', namespace: 'team', targets: [{ provider: 'acr', instanceId: DST, region: 'cn-shanghai' }], audit: { every: '6h' } }],
    }),
  });
  // The intrinsic cost first: the account limiter lifted; its default cap is applied to the call count below.
  configureAccountLimiters({ maxConcurrent: 8, ratePerSecond: 100_000, burst: 100_000 });
  try {
    const calls: Record<string, number> = {};
    let sweeps = 0;
    let wallMs = 0;
    let auditRepos = 0;
    let repaired = 0;
    let passes = 0;
    while (passes === 0 && sweeps < 50) {
      const t = performance.now();
      const s = await runSweep(stack.deps);
      wallMs += performance.now() - t;
      sweeps++;
      for (const [api, n] of Object.entries(s.cloudCalls)) if (/ListRepository|ListRepoTag|GetRepoTag/.test(api)) calls[api] = (calls[api] ?? 0) + n;
      auditRepos += s.events['audit.repositories'] ?? 0;
      repaired += s.events['audit.drift.repaired'] ?? 0;
      passes += s.events['audit.passes'] ?? 0;
    }
    const total = Object.values(calls).reduce((a, b) => a + b, 0);
    const cappedSeconds = total / defaultLimiterOptions.ratePerSecond;
    const data = {
      repositories: repos,
      tagsPerRepository: tags,
      sweeps,
      wallMs: Math.round(wallMs),
      calls,
      callsTotal: total,
      callsPerRepository: round(total / repos, 2),
      auditedRepositories: auditRepos,
      driftRepaired: repaired,
      secondsAtDefaultLimit: round(cappedSeconds, 1),
    };
    return {
      data,
      tables: [
        {
          title: `audit: one pass over ${repos} ACR repositories × ${tags} tags (10 images missing at the target), sweeps of the default 50 s budget`,
          head: ['repos', 'sweeps', 'wall s', 'ListRepository', 'ListRepoTag', 'GetRepoTag', 'calls/repo', 'repaired', 's at 20 calls/s'],
          rows: [
            [
              repos,
              sweeps,
              round(wallMs / 1000, 1),
              calls['acr:ListRepository'] ?? 0,
              calls['acr:ListRepoTag'] ?? 0,
              calls['acr:GetRepoTag'] ?? 0,
              round(total / repos, 2),
              repaired,
              round(cappedSeconds, 1),
            ],
          ],
          note: 'GetRepoTag: one per image × target the ledger has no task for (the first pass checks every image; later passes only new ones). Last column: the calls at the default per-account limit.',
        },
      ],
    };
  } finally {
    await stack.close();
  }
}
