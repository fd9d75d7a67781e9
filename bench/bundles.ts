/**
 * bundles: size and module init time (fresh `node` process requiring the CJS handler file) of
 * each function bundle, built by scripts/bundle.mjs into a temporary directory, next to the same
 * function built on @alicloud/pop-core: the same entry and code, with Ferry's Alibaba RPC layer
 * (shared/clients/alibaba-rpc.ts) swapped for a thin adapter over pop-core's RPCClient, bundled
 * with the same esbuild options, aliases and plugins. Goals (issue #19): < 300 KB per function, init
 * ≤ 0.4× the pop-core build's. Ferry and its peer are started in turns, so both see the same load;
 * wall time is the measure, CPU time (less sensitive to a busy machine) is printed beside it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';
import { ROOT, kib, median, round, type BenchOptions, type ScenarioResult } from './lib.ts';

const SIZE_GOAL_BYTES = 300_000;
const INIT_RATIO_GOAL = 0.4;

interface InitTimes {
  wallMs: number;
  cpuMs: number;
}

/** `require(file)` in fresh node processes, `files` taken in turns; median wall and CPU time of each. */
function initTimes(files: string[], runs: number): InitTimes[] {
  const code = (f: string) =>
    `const c=process.cpuUsage(),t=performance.now(); require(${JSON.stringify(f)}); const w=performance.now()-t,u=process.cpuUsage(c); console.log(w, (u.user+u.system)/1000);`;
  const samples = files.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  for (let i = 0; i < runs; i++) {
    files.forEach((f, j) => {
      const r = spawnSync(process.execPath, ['-e', code(f)], { cwd: ROOT, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`fresh require of ${f} failed: ${r.stderr.slice(-1500)}`);
      const [wall, cpu] = (r.stdout.trim().split('\n').pop() ?? '').split(' ').map(Number);
      samples[j]?.wall.push(wall ?? Number.NaN);
      samples[j]?.cpu.push(cpu ?? Number.NaN);
    });
  }
  return samples.map((s) => ({ wallMs: median(s.wall), cpuMs: median(s.cpu) }));
}

interface BundleReport {
  [name: string]: { bytes: number; gzipBytes: number; esmBytes: number; file: string; largest?: { input: string; bytes: number }[] };
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
      ALIAS: Record<string, string>;
      PLUGINS: Plugin[];
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
    const largestRows: (string | number)[][] = [];
    const goals: { measure: string; now: string; goal: string; ratioToGoal: number; met: boolean }[] = [];
    const data: Record<string, unknown> = {};
    for (const [name, r] of Object.entries(ferry)) {
      const popFile = join(dir, 'pop', name, 'index.js');
      // The peer as measured before (issue #19's 0.55×): pop-core without Ferry's build diet (it also
      // carried undici, yaml and zod's 40 locales, which Ferry's build leaves out). Shown, not a goal.
      const plainPopFile = join(dir, 'pop-plain', name, 'index.js');
      for (const [outfile, diet] of [
        [popFile, true],
        [plainPopFile, false],
      ] as const) {
        await build({
          entryPoints: [join(ROOT, 'functions', `${name}.ts`)],
          bundle: true,
          platform: 'node',
          target: 'node20',
          minify: true,
          treeShaking: true,
          format: 'cjs',
          outfile,
          external: mod.EXTERNAL,
          ...(diet ? { alias: mod.ALIAS } : {}),
          logLevel: 'silent',
          legalComments: 'none',
          absWorkingDir: ROOT,
          nodePaths: [join(ROOT, 'node_modules')],
          resolveExtensions: ['.ts', '.mts', '.js', '.mjs', '.cjs', '.json'],
          define: { 'import.meta.url': '__ferryImportMetaUrl' },
          banner: { js: "const __ferryImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
          plugins: diet ? [swapRpc, ...mod.PLUGINS] : [swapRpc],
        });
      }
      const popBytes = readFileSync(popFile).length;
      const popGzip = gzipSync(readFileSync(popFile), { level: 9 }).length;
      const ferryFile = join(dir, 'ferry', name, 'index.js');
      const [ferryInit, popInit, plainInit] = initTimes([ferryFile, popFile, plainPopFile], runs) as [InitTimes, InitTimes, InitTimes];
      const plainRatio = ferryInit.wallMs / plainInit.wallMs;
      const initRatio = ferryInit.wallMs / popInit.wallMs;
      const cpuRatio = ferryInit.cpuMs / popInit.cpuMs;
      data[name] = {
        ferry: { bytes: r.bytes, gzipBytes: r.gzipBytes, initMs: round(ferryInit.wallMs, 2), initCpuMs: round(ferryInit.cpuMs, 2) },
        popCore: { bytes: popBytes, gzipBytes: popGzip, initMs: round(popInit.wallMs, 2), initCpuMs: round(popInit.cpuMs, 2) },
        initRatioFerryVsPopCore: round(initRatio, 2),
        initCpuRatioFerryVsPopCore: round(cpuRatio, 2),
        popCoreWithoutDiet: { bytes: readFileSync(plainPopFile).length, initMs: round(plainInit.wallMs, 2), initCpuMs: round(plainInit.cpuMs, 2) },
        initRatioFerryVsPopCoreWithoutDiet: round(plainRatio, 2),
        largest: r.largest,
      };
      rows.push([
        name,
        kib(r.bytes),
        kib(r.gzipBytes),
        round(ferryInit.wallMs, 1),
        round(ferryInit.cpuMs, 1),
        kib(popBytes),
        round(popInit.wallMs, 1),
        round(popInit.cpuMs, 1),
        `${round(initRatio, 2)}×`,
        `${round(cpuRatio, 2)}×`,
        `${round(plainRatio, 2)}× (CPU ${round(ferryInit.cpuMs / plainInit.cpuMs, 2)}×)`,
      ]);
      largestRows.push([name, ...(r.largest ?? []).slice(0, 6).map((l) => `${l.input} ${kib(l.bytes)}`)]);
      goals.push(
        { measure: `${name} bundle size (minified)`, now: `${r.bytes} B (${kib(r.bytes)})`, goal: '< 300 KB', ratioToGoal: round(r.bytes / SIZE_GOAL_BYTES, 2), met: r.bytes < SIZE_GOAL_BYTES },
        {
          measure: `${name} init (fresh require) vs pop-core`,
          now: `${round(initRatio, 2)}× (${round(ferryInit.wallMs, 1)} / ${round(popInit.wallMs, 1)} ms; CPU ${round(cpuRatio, 2)}×)`,
          goal: `≤ ${INIT_RATIO_GOAL}×`,
          ratioToGoal: round(initRatio / INIT_RATIO_GOAL, 2),
          met: initRatio <= INIT_RATIO_GOAL,
        },
      );
    }
    return {
      data: { runs, functions: data, goals },
      tables: [
        {
          title: `bundles: size and init time (fresh node process, require(index.js), median of ${runs}, Ferry and pop-core in turns)`,
          head: ['function', 'Ferry size', 'gzip', 'init ms', 'CPU ms', 'on pop-core size', 'init ms', 'CPU ms', 'init Ferry/pop-core', 'CPU Ferry/pop-core', 'init vs pop-core w/o diet'],
          rows,
          note:
            '"on pop-core" = the same function with Ferry\'s Alibaba RPC layer replaced by @alicloud/pop-core, same esbuild options, aliases and plugins. ' +
            '"w/o diet": that peer built without Ferry\'s aliases and plugins (bundled undici, yaml, all zod locales), as the bench measured before; not a goal.',
        },
        { title: 'bundles: largest inputs of each function (by package or project folder)', head: ['function', '1', '2', '3', '4', '5', '6'], rows: largestRows },
        {
          title: 'bundles: goals (issue #19); ratio to goal ≤ 1 is met',
          head: ['measure', 'now', 'goal', 'ratio to goal', 'met'],
          rows: goals.map((g) => [g.measure, g.now, g.goal, g.ratioToGoal, g.met ? 'yes' : 'no']),
        },
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
