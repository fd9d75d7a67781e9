/**
 * bundles: size and module init time (fresh `node` process requiring the CJS handler file) of
 * each function bundle, built by scripts/bundle.mjs into a temporary directory, next to the same
 * function built on @alicloud/pop-core: the same entry and code, with Ferry's Alibaba RPC layer
 * (shared/clients/alibaba-rpc.ts) swapped for a thin adapter over pop-core's RPCClient, bundled
 * with the same esbuild options. Goals: < 300 KB and < 50 ms per function.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';
import { ROOT, freshImportMs, kib, round, type BenchOptions, type ScenarioResult } from './lib.ts';

interface BundleReport {
  [name: string]: { bytes: number; gzipBytes: number; esmBytes: number; file: string };
}

const POP_CORE_RPC = `
import RPCClient from '@alicloud/pop-core';
export const DEFAULT_API_VERSIONS = { cr: '2018-12-01', ecs: '2014-05-26' };
export function serverWaitMs() { return undefined; }
export class AlibabaRpcClient {
  constructor(options) { this.options = options; }
  get regionId() { return this.options.regionId; }
  async call(action, params, schema) {
    const o = this.options;
    const creds = await o.credentials();
    const client = new RPCClient({
      accessKeyId: creds.accessKeyId, accessKeySecret: creds.accessKeySecret, securityToken: creds.securityToken,
      endpoint: o.endpoint ?? 'https://' + o.product + '.' + o.regionId + '.aliyuncs.com',
      apiVersion: o.version ?? DEFAULT_API_VERSIONS[o.product],
    });
    const clean = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined && v !== null));
    return schema.parse(await client.request(action, { RegionId: o.regionId, ...clean }, { method: 'POST' }));
  }
}
`;

export async function runBundles(opts: BenchOptions): Promise<ScenarioResult> {
  const runs = opts.quick ? 5 : 9;
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-bundles-'));
  try {
    const mod = (await import(pathToFileURL(join(ROOT, 'scripts/bundle.mjs')).href)) as {
      bundleAll(o: { outdir: string; quiet: boolean }): Promise<BundleReport>;
      EXTERNAL: string[];
    };
    const ferry = await mod.bundleAll({ outdir: join(dir, 'ferry'), quiet: true });
    const shim = join(dir, 'pop-core-rpc.mjs');
    writeFileSync(shim, POP_CORE_RPC);
    const swapRpc: Plugin = {
      name: 'pop-core-rpc',
      setup(b) {
        b.onResolve({ filter: /alibaba-rpc\.ts$/ }, () => ({ path: shim }));
      },
    };
    const rows: (string | number)[][] = [];
    const data: Record<string, unknown> = {};
    for (const [name, r] of Object.entries(ferry)) {
      const popFile = join(dir, 'pop', name, 'index.js');
      await build({
        entryPoints: [join(ROOT, 'functions', `${name}.ts`)],
        bundle: true,
        platform: 'node',
        target: 'node20',
        minify: true,
        treeShaking: true,
        format: 'cjs',
        outfile: popFile,
        external: mod.EXTERNAL,
        logLevel: 'silent',
        legalComments: 'none',
        absWorkingDir: ROOT,
        nodePaths: [join(ROOT, 'node_modules')],
        resolveExtensions: ['.ts', '.mts', '.js', '.mjs', '.cjs', '.json'],
        define: { 'import.meta.url': '__ferryImportMetaUrl' },
        banner: { js: "const __ferryImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
        plugins: [swapRpc],
      });
      const popBytes = readFileSync(popFile).length;
      const popGzip = gzipSync(readFileSync(popFile), { level: 9 }).length;
      const ferryFile = join(dir, 'ferry', name, 'index.js');
      const ferryInit = freshImportMs(ferryFile, runs, 'require');
      const popInit = freshImportMs(popFile, runs, 'require');
      data[name] = {
        ferry: { bytes: r.bytes, gzipBytes: r.gzipBytes, initMs: round(ferryInit, 2) },
        popCore: { bytes: popBytes, gzipBytes: popGzip, initMs: round(popInit, 2) },
        sizeRatioPopCoreVsFerry: round(popBytes / r.bytes, 2),
        initRatioPopCoreVsFerry: round(popInit / ferryInit, 2),
      };
      rows.push([name, kib(r.bytes), kib(r.gzipBytes), round(ferryInit, 1), kib(popBytes), round(popInit, 1), `${round(popBytes / r.bytes, 1)}×`, `${round(popInit / ferryInit, 1)}×`]);
    }
    return {
      data: { runs, functions: data, goals: { maxBytes: 300 * 1024, maxInitMs: 50 } },
      tables: [
        {
          title: `bundles: size and init time (fresh node process, require(index.js), median of ${runs}); goals < 300 KB, < 50 ms`,
          head: ['function', 'Ferry size', 'gzip', 'init ms', 'on pop-core size', 'init ms', 'size ×', 'init ×'],
          rows,
          note: '"on pop-core" = the same function with Ferry\'s Alibaba RPC layer replaced by @alicloud/pop-core, same esbuild options.',
        },
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
