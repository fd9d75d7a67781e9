/**
 * clients: Ferry's ACR client against @alicloud/pop-core (Alibaba's official RPC SDK) making the
 * same calls (GetRepoSyncTask, ListRepoSyncTask alternating) to the same local cloud, same keys,
 * same concurrency, in one run; plus each client's module import time in a fresh node process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { AcrClient } from '../shared/clients/acr.ts';
import { AccountLimiter } from '../shared/clients/transport.ts';
import { startLocalCloud } from '../local/cloud/server.ts';
import { ROOT, freshImportMs, pool, round, type BenchOptions, type ScenarioResult } from './lib.ts';

const require = createRequire(import.meta.url);
type PopCore = new (config: Record<string, unknown>) => { request(action: string, params: Record<string, unknown>, opts?: Record<string, unknown>): Promise<Record<string, unknown>> };

const KEY = { accessKeyId: 'LTAI5tLocalFerryKey', accessKeySecret: 'local-ferry-secret' };
const SRC = 'cri-localsrc001';
const CONCURRENCY = 8;

export async function runClients(opts: BenchOptions): Promise<ScenarioResult> {
  const calls = opts.quick ? 600 : 2000;
  const cloud = await startLocalCloud({ port: 0, log: false, random: 1, speed: 1e-6 });
  try {
    await cloud.acr.push({ instanceId: SRC, namespace: 'team', repo: 'app', tag: 'v1.0.0' });
    const repoId = cloud.acr.repoId(SRC, 'team', 'app')!;
    // Unthrottled limiter: this measures the client, not Ferry's politeness towards the cloud.
    const limiter = new AccountLimiter({ maxConcurrent: CONCURRENCY, ratePerSecond: 1e9, burst: 1e9 });
    const mk = (signatureVersion: 'v3' | 'v1') => new AcrClient({ regionId: 'cn-hangzhou', endpoint: cloud.url, credentials: () => KEY, limiter, signatureVersion, retry: { maxAttempts: 1 } });
    const ferry = mk('v3');
    const ferryV1 = mk('v1');
    const { syncTaskId } = await ferry.createRepoSyncTask({
      instanceId: SRC,
      repoId,
      tag: 'v1.0.0',
      targetInstanceId: 'cri-localdst001',
      targetNamespace: 'team',
      targetRegionId: 'cn-shanghai',
      targetRepoName: 'app',
      targetTag: 'v1.0.0',
    });
    const RPCClient = require('@alicloud/pop-core') as PopCore;
    const pop = new RPCClient({ ...KEY, endpoint: cloud.url, apiVersion: '2018-12-01' });

    const ferryCall = (c: AcrClient) => async (i: number) => {
      if (i % 2 === 0) await c.getRepoSyncTask({ instanceId: SRC, syncTaskId });
      else await c.listRepoSyncTask({ instanceId: SRC, pageSize: 10 });
    };
    const popCall = async (i: number) => {
      if (i % 2 === 0) await pop.request('GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: syncTaskId }, { method: 'POST' });
      else await pop.request('ListRepoSyncTask', { InstanceId: SRC, PageSize: 10 }, { method: 'POST' });
    };
    const measure = async (work: (i: number) => Promise<void>) => {
      await pool(100, CONCURRENCY, work); // warm-up: connections, JIT
      const t = performance.now();
      await pool(calls, CONCURRENCY, work);
      return calls / ((performance.now() - t) / 1000);
    };
    // Interleaved rounds so drift (CPU frequency, GC) hits every client alike; best round kept.
    const rps = { ferryV3: 0, ferryV1: 0, popCore: 0 };
    for (let round = 0; round < 2; round++) {
      rps.ferryV3 = Math.max(rps.ferryV3, await measure(ferryCall(ferry)));
      rps.popCore = Math.max(rps.popCore, await measure(popCall));
      rps.ferryV1 = Math.max(rps.ferryV1, await measure(ferryCall(ferryV1)));
    }

    const imports = await importTimes(opts.quick ? 5 : 9);
    const data = {
      calls,
      concurrency: CONCURRENCY,
      requestsPerSecond: { ferryV3: round(rps.ferryV3), ferryV1: round(rps.ferryV1), popCore: round(rps.popCore) },
      rpsRatioFerryV3VsPopCore: round(rps.ferryV3 / rps.popCore, 2),
      rpsRatioFerryV1VsPopCore: round(rps.ferryV1 / rps.popCore, 2),
      importMs: imports,
      importRatioFerryVsPopCoreBundled: round(imports.ferryAcrBundled / imports.popCoreBundled, 3),
      importRatioFerryVsPopCoreInstalled: round(imports.ferryAcrBundled / imports.popCoreInstalled, 3),
    };
    return {
      data,
      tables: [
        {
          title: `clients: signed requests/s (${calls} calls, GetRepoSyncTask/ListRepoSyncTask alternating, concurrency ${CONCURRENCY}, same local cloud)`,
          head: ['client', 'req/s', 'ratio vs pop-core'],
          rows: [
            ['Ferry AcrClient (V3 ACS3-HMAC-SHA256)', round(rps.ferryV3), `${data.rpsRatioFerryV3VsPopCore}×`],
            ['Ferry AcrClient (V1 HMAC-SHA1)', round(rps.ferryV1), `${data.rpsRatioFerryV1VsPopCore}×`],
            ['@alicloud/pop-core RPCClient (V1)', round(rps.popCore), '1×'],
          ],
        },
        {
          title: 'clients: module import time in a fresh node process (median)',
          head: ['module', 'import ms', 'ratio'],
          rows: [
            ['Ferry AcrClient (esbuild bundle)', round(imports.ferryAcrBundled, 2), '1×'],
            ['@alicloud/pop-core (esbuild bundle)', round(imports.popCoreBundled, 2), `${round(imports.popCoreBundled / imports.ferryAcrBundled, 1)}× Ferry`],
            ['@alicloud/pop-core (node_modules, as installed)', round(imports.popCoreInstalled, 2), `${round(imports.popCoreInstalled / imports.ferryAcrBundled, 1)}× Ferry`],
          ],
        },
      ],
    };
  } finally {
    await cloud.close();
  }
}

async function importTimes(runs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-clients-'));
  try {
    const ferryEntry = join(dir, 'ferry-entry.ts');
    writeFileSync(ferryEntry, `export { AcrClient } from ${JSON.stringify(join(ROOT, 'shared/clients/acr.ts'))};\n`);
    const popEntry = join(dir, 'pop-entry.cjs');
    writeFileSync(popEntry, `module.exports = require('@alicloud/pop-core');\n`);
    const common = { bundle: true, platform: 'node' as const, target: 'node20', minify: true, logLevel: 'silent' as const, absWorkingDir: ROOT, nodePaths: [join(ROOT, 'node_modules')] };
    // The client as the functions ship it: same alias (undici → runtime fetch) and zod diet as scripts/bundle.mjs.
    const shipped = (await import(pathToFileURL(join(ROOT, 'scripts/bundle.mjs')).href)) as { ALIAS: Record<string, string>; zodEnglishOnly: Plugin };
    await build({ ...common, entryPoints: [ferryEntry], format: 'cjs', outfile: join(dir, 'ferry-acr.cjs'), alias: shipped.ALIAS, plugins: [shipped.zodEnglishOnly] });
    await build({ ...common, entryPoints: [popEntry], format: 'cjs', outfile: join(dir, 'pop-core.cjs') });
    return {
      ferryAcrBundled: round(freshImportMs(join(dir, 'ferry-acr.cjs'), runs, 'require'), 2),
      popCoreBundled: round(freshImportMs(join(dir, 'pop-core.cjs'), runs, 'require'), 2),
      popCoreInstalled: round(freshImportMs(require.resolve('@alicloud/pop-core'), runs, 'require'), 2),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
