/**
 * copy: Ferry's copy engine (shared/copy) against `skopeo copy` between two local CNCF distribution
 * registries started here, on the same images: 5 layers × 20 MB, a 3-platform index (3 × 10 MB
 * layers per platform), one 500 MB layer; each copied into a fresh target repository, then again
 * into the same one (the target has every blob). Ferry and skopeo each copy into repositories of
 * their own, so neither benefits from the other's blobs, and take turns going first.
 *
 * Both are measured alike: wall time from spawning the child process to its exit, peak RSS as the
 * child's VmHWM polled from /proc every 20 ms. Ferry's child is bench/copy-child.ts bundled by
 * esbuild at bench start and run on plain node (no tsx loader: a deployed Ferry has none); its own
 * getrusage maxRSS is kept as a cross-check. Median of 3 runs (1 with --quick).
 * Goals: Ferry ≤ skopeo wall time on every row; Ferry peak RSS < 150 MB on the 500 MB row.
 *
 * FERRY_BENCH_COPY_OPTS='{"chunkBytes":…,"concurrency":…}' passes engine options to Ferry's side
 * (to try values; the defaults are what is measured otherwise). FERRY_BENCH_COPY_FETCH=node-http
 * gives the engine a fetch over node:http (CopyOptions.fetch, bench/copy-child.ts) instead of the
 * global fetch: what the engine's requests other than blob bodies cost through undici.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import type { CopyResult } from '../shared/copy/index.ts';
import { type BuildOptions, buildOciImage, pushWithSkopeo, type Registry, skopeoDigest, startRegistry, stopAllRegistries } from '../test/helpers/registry/index.ts';
import { median, ROOT, round, type BenchOptions, type ScenarioResult, type Table } from './lib.ts';

const MB = 1_000_000;
const POLL_MS = 20;
const CHILD_TIMEOUT_MS = 600_000;
const RSS_GOAL_MB = 150;

interface Case {
  id: string;
  label: string;
  build: BuildOptions;
}

const CASES: Case[] = [
  { id: 'layers-5x20', label: '5 layers × 20 MB', build: { layers: Array.from({ length: 5 }, () => 20 * MB) } },
  { id: 'index-3x3x10', label: '3-platform index, 3 × 10 MB layers each', build: { layers: Array.from({ length: 3 }, () => 10 * MB), platforms: ['linux/amd64', 'linux/arm64/v8', 'linux/s390x'] } },
  { id: 'layer-500', label: '1 layer × 500 MB', build: { layers: [500 * MB] } },
];

type Kind = 'fresh' | 'again';
type Tool = 'ferry' | 'skopeo';

interface Measured {
  /** Epoch ms (sub-ms) just before the spawn: the child's phases are told against it. */
  spawnedAt: number;
  wallMs: number;
  /** Max VmHWM seen while polling /proc/<pid>/status. */
  peakRssBytes: number;
  stdout: string;
}

interface FerryChildOutput {
  result: CopyResult;
  maxRssBytes: number;
  /** Epoch ms at which each phase began ('main': the child's code started; 'end': the copy returned). */
  phases: Partial<Record<'main' | 'resolve' | 'blobs' | 'manifests' | 'referrers' | 'tag' | 'end', number>>;
}

interface Sample {
  wallMs: number;
  peakRssBytes: number;
  /** Ferry only. */
  maxRssBytes?: number;
  requests?: number;
  bytesCopied?: number;
  /** Ms since the spawn. */
  phases?: FerryChildOutput['phases'];
}

interface Row {
  caseId: string;
  kind: Kind;
  label: string;
  ferry: Sample[];
  skopeo: Sample[];
  /** Set when the row failed (a copy exited non-zero, or the target's digest is not the source's). */
  failure: string | null;
  digestChecked: { ferry: boolean; skopeo: boolean | null };
}

const current = new Set<ChildProcess>();

function vmHwm(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s*kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // gone (or a zombie without memory lines)
  }
}

/** Spawns `cmd`, times it from spawn to exit, polls its VmHWM every POLL_MS; rejects on a non-zero exit. */
function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    current.add(child);
    let peak = 0;
    const poll = () => (peak = Math.max(peak, child.pid ? vmHwm(child.pid) : 0));
    poll();
    const timer = setInterval(poll, POLL_MS);
    const killer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (err = (err + c).slice(-4000)));
    let wallMs = 0;
    let code: number | null = null;
    let signal: NodeJS.Signals | null = null;
    child.once('exit', (c, s) => {
      wallMs = performance.now() - started;
      code = c;
      signal = s;
      clearInterval(timer);
      clearTimeout(killer);
    });
    child.once('error', (e) => {
      clearInterval(timer);
      clearTimeout(killer);
      current.delete(child);
      reject(e);
    });
    // 'close': the exit and every byte of its output.
    child.once('close', () => {
      current.delete(child);
      if (code !== 0) return reject(new Error(`${cmd} exited ${code ?? signal}: ${err.trim().slice(-1500) || out.slice(-1500)}`));
      resolve({ spawnedAt: performance.timeOrigin + started, wallMs, peakRssBytes: peak, stdout: out });
    });
  });
}

/** bench/copy-child.ts as one ESM file for plain node, bundled the way the functions ship (scripts/bundle.mjs). */
async function bundleChild(dir: string): Promise<string> {
  const outfile = join(dir, 'copy-child.mjs');
  const shipped = (await import(pathToFileURL(join(ROOT, 'scripts/bundle.mjs')).href)) as { ALIAS: Record<string, string>; zodEnglishOnly: Plugin };
  await build({
    entryPoints: [join(ROOT, 'bench', 'copy-child.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    outfile,
    absWorkingDir: ROOT,
    alias: shipped.ALIAS,
    plugins: [shipped.zodEnglishOnly],
    logLevel: 'silent',
  });
  return outfile;
}

const FETCH = process.env.FERRY_BENCH_COPY_FETCH === 'node-http' ? 'node-http' : undefined;

function engineOptions(): { chunkBytes?: number; concurrency?: number } {
  const raw = process.env.FERRY_BENCH_COPY_OPTS;
  if (!raw) return {};
  const o = JSON.parse(raw) as { chunkBytes?: number; concurrency?: number };
  return { ...(o.chunkBytes ? { chunkBytes: o.chunkBytes } : {}), ...(o.concurrency ? { concurrency: o.concurrency } : {}) };
}

export async function runCopyBench(opts: BenchOptions): Promise<ScenarioResult> {
  const runs = opts.quick ? 1 : 3;
  const engine = engineOptions();
  const work = mkdtempSync(join(tmpdir(), 'ferry-bench-copy-'));
  const registries: Registry[] = [];
  const onSignal = (sig: NodeJS.Signals) => {
    for (const c of current) c.kill('SIGKILL');
    void stopAllRegistries().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const child = await bundleChild(work);
    const [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
    registries.push(src!, dst!);
    const a = src!;
    const b = dst!;

    const digests = new Map<string, string>();
    for (const c of CASES) {
      const dir = join(work, c.id);
      const image = await buildOciImage(dir, { ...c.build, tag: 'v1' });
      await pushWithSkopeo(image.dir, 'v1', `${a.host}/bench/${c.id}:v1`);
      rmSync(dir, { recursive: true, force: true });
      digests.set(c.id, image.digest);
    }

    const ferryCopy = async (c: Case, repository: string): Promise<Sample & { result: CopyResult }> => {
      const args = { src: { url: a.url, repository: `bench/${c.id}`, tag: 'v1' }, dst: { url: b.url, repository, tag: 'v1' }, opts: engine, ...(FETCH ? { fetch: FETCH } : {}) };
      const m = await measure(process.execPath, [child, JSON.stringify(args)]);
      const line = m.stdout.split('\n').find((l) => l.startsWith('@@result '));
      if (!line) throw new Error(`copy-child printed no result: ${m.stdout.slice(-1000)}`);
      const out = JSON.parse(line.slice('@@result '.length)) as FerryChildOutput;
      if (out.result.status !== 'done') throw new Error(`Ferry's copy ended ${out.result.status}`);
      const s = out.result.stats;
      const phases = Object.fromEntries(Object.entries(out.phases).map(([k, t]) => [k, t - m.spawnedAt]));
      return { wallMs: m.wallMs, peakRssBytes: m.peakRssBytes, maxRssBytes: out.maxRssBytes, requests: s.requests, bytesCopied: s.bytesCopied, phases, result: out.result };
    };
    // skopeo remembers where it has seen each blob (its blob info cache, /var/lib/containers/cache for
    // root) and then mounts the blob from that repository instead of copying it: an earlier run's
    // repository would make a "fresh" copy a few cross-repository mounts. One cache per target
    // repository, like one host copying that image: rootless paths (_CONTAINERS_ROOTLESS_UID) under
    // XDG_DATA_HOME, a temp dir.
    const caches = new Map<string, string>();
    const skopeoEnv = (repository: string): NodeJS.ProcessEnv => {
      let dir = caches.get(repository);
      if (!dir) caches.set(repository, (dir = mkdtempSync(join(work, 'skopeo-cache-'))));
      return { ...process.env, _CONTAINERS_ROOTLESS_UID: '65534', XDG_DATA_HOME: dir };
    };
    const skopeoCopy = async (c: Case, repository: string): Promise<Sample> => {
      // --all: every platform of an index, as Ferry copies it (skopeo copies one platform otherwise).
      const m = await measure(
        'skopeo',
        ['--insecure-policy', 'copy', '--all', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${a.host}/bench/${c.id}:v1`, `docker://${b.host}/${repository}:v1`],
        skopeoEnv(repository),
      );
      return { wallMs: m.wallMs, peakRssBytes: m.peakRssBytes };
    };

    // Untimed warm-up of both (binaries and the registries' files in the page cache, connections).
    await ferryCopy(CASES[0]!, 'warmup/ferry');
    await skopeoCopy(CASES[0]!, 'warmup/skopeo');

    const rows: Row[] = [];
    for (const c of CASES) {
      const fresh: Row = { caseId: c.id, kind: 'fresh', label: c.label, ferry: [], skopeo: [], failure: null, digestChecked: { ferry: false, skopeo: null } };
      const again: Row = { caseId: c.id, kind: 'again', label: `${c.label}, target has every blob`, ferry: [], skopeo: [], failure: null, digestChecked: { ferry: false, skopeo: null } };
      rows.push(fresh, again);
      const expected = digests.get(c.id)!;
      const fail = (row: Row, why: string) => {
        row.failure ??= why;
        console.error(`\ncopy: ROW FAILED: ${row.label}: ${why}`);
      };
      for (let run = 0; run < runs; run++) {
        const order: Tool[] = run % 2 === 0 ? ['ferry', 'skopeo'] : ['skopeo', 'ferry'];
        for (const tool of order) {
          const repository = `${tool}/${c.id}-${run}`;
          for (const row of [fresh, again]) {
            try {
              if (tool === 'ferry') {
                const s = await ferryCopy(c, repository);
                row.ferry.push(s);
                if (!row.digestChecked.ferry) {
                  const atTarget = await skopeoDigest(`${b.host}/${repository}:v1`);
                  if (s.result.status !== 'done' || s.result.targetDigest !== expected || atTarget !== expected) {
                    const reported = s.result.status === 'done' ? s.result.targetDigest : s.result.status;
                    fail(row, `digest mismatch: source ${expected}, Ferry reported ${reported}, the target serves ${atTarget}`);
                  }
                  row.digestChecked.ferry = true;
                }
              } else {
                row.skopeo.push(await skopeoCopy(c, repository));
                if (row.digestChecked.skopeo === null) row.digestChecked.skopeo = (await skopeoDigest(`${b.host}/${repository}:v1`)) === expected;
              }
            } catch (e) {
              fail(row, `${tool}: ${e instanceof Error ? e.message : String(e)}`);
              // Without the first copy, the second is not one into a target that has every blob.
              if (row === fresh) break;
            }
          }
        }
      }
    }
    // What any process costs, measured the same way: plain node on an empty module, and skopeo --version.
    const empty = join(work, 'empty.mjs');
    writeFileSync(empty, '');
    const nodeFloor: Measured[] = [];
    const skopeoFloor: Measured[] = [];
    for (let i = 0; i < 5; i++) {
      nodeFloor.push(await measure(process.execPath, [empty]));
      skopeoFloor.push(await measure('skopeo', ['--version']));
    }
    const floor: Floor = {
      nodeMs: round(median(nodeFloor.map((m) => m.wallMs)), 0),
      nodeRssMB: mb(median(nodeFloor.map((m) => m.peakRssBytes))),
      skopeoMs: round(median(skopeoFloor.map((m) => m.wallMs)), 0),
      skopeoRssMB: mb(median(skopeoFloor.map((m) => m.peakRssBytes))),
    };
    return report(rows, runs, engine, floor);
  } finally {
    for (const c of current) c.kill('SIGKILL');
    await Promise.all(registries.map((r) => r.stop()));
    await stopAllRegistries();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    rmSync(work, { recursive: true, force: true });
  }
}

const med = (xs: (number | undefined)[]): number => median(xs.filter((x): x is number => x !== undefined));
const mb = (bytes: number): number => round(bytes / MB, 1);

function summarize(r: Row) {
  const f = r.ferry;
  const s = r.skopeo;
  const ferryMs = med(f.map((x) => x.wallMs));
  const skopeoMs = med(s.map((x) => x.wallMs));
  const phase = (from: keyof FerryChildOutput['phases'], to: keyof FerryChildOutput['phases']) =>
    med(f.map((x) => (x.phases?.[to] ?? NaN) - (x.phases?.[from] ?? NaN)).filter((n) => !Number.isNaN(n)));
  return {
    row: r.label,
    case: r.caseId,
    kind: r.kind,
    runs: { ferry: f.length, skopeo: s.length },
    ferryMs: round(ferryMs, 0),
    skopeoMs: round(skopeoMs, 0),
    ratio: round(ferryMs / skopeoMs, 2),
    ferryPeakRssMB: mb(med(f.map((x) => x.peakRssBytes))),
    ferryMaxRssMB: mb(med(f.map((x) => x.maxRssBytes))),
    skopeoPeakRssMB: mb(med(s.map((x) => x.peakRssBytes))),
    ferryRequests: med(f.map((x) => x.requests)),
    bytesCopied: med(f.map((x) => x.bytesCopied)),
    ferryWallMsAll: f.map((x) => round(x.wallMs, 0)),
    skopeoWallMsAll: s.map((x) => round(x.wallMs, 0)),
    ferryPhasesMs: {
      startup: round(med(f.map((x) => x.phases?.main)), 0),
      resolveAndPlan: round(phase('main', 'blobs'), 0),
      blobs: round(phase('blobs', 'manifests'), 0),
      manifestsAndTag: round(phase('manifests', 'end'), 0),
      inProcess: round(phase('main', 'end'), 0),
      exit: round(med(f.map((x) => (x.phases?.end === undefined ? undefined : x.wallMs - x.phases.end))), 0),
    },
    digestOk: r.failure === null && r.digestChecked.ferry,
    skopeoDigestOk: r.digestChecked.skopeo,
    failure: r.failure,
  };
}

interface Floor {
  nodeMs: number;
  nodeRssMB: number;
  skopeoMs: number;
  skopeoRssMB: number;
}

function report(rows: Row[], runs: number, engine: { chunkBytes?: number; concurrency?: number }, floor: Floor): ScenarioResult {
  const sums = rows.map(summarize);
  const n = (x: number) => (Number.isNaN(x) ? '–' : x);
  const slower = sums.filter((s) => !(s.ratio <= 1));
  const big = sums.find((s) => s.case === 'layer-500' && s.kind === 'fresh');
  const engineNote =
    (Object.keys(engine).length ? `engine options ${JSON.stringify(engine)}` : 'engine defaults (chunkBytes 64 MiB, concurrency 4)') +
    (FETCH ? '; non-blob requests over node:http (FERRY_BENCH_COPY_FETCH)' : '');
  const tables: Table[] = [
    {
      title: `copy: Ferry's engine vs skopeo copy, two local distribution registries (median of ${runs}; ${engineNote})`,
      head: ['row', 'Ferry ms', 'skopeo ms', 'ratio', 'Ferry RSS MB', '(maxRSS)', 'skopeo RSS MB', 'Ferry requests', 'bytes copied', 'digest'],
      rows: sums.map((s) => [
        s.row,
        n(s.ferryMs),
        n(s.skopeoMs),
        n(s.ratio),
        n(s.ferryPeakRssMB),
        n(s.ferryMaxRssMB),
        n(s.skopeoPeakRssMB),
        n(s.ferryRequests),
        n(s.bytesCopied),
        s.failure ? 'FAILED' : s.digestOk ? 'ok' : '–',
      ]),
      note: [
        "Wall: spawn to exit of the child (Ferry: plain node on an esbuild bundle; skopeo --all). RSS: peak VmHWM polled every 20 ms (MB = 10^6 bytes); (maxRSS): Ferry's own getrusage, a cross-check.",
        `Goal Ferry ≤ skopeo wall time on every row: ${slower.length ? `NOT MET on ${slower.map((s) => `${s.row} (${n(s.ratio)}×)`).join('; ')}` : 'met'}.`,
        `Goal Ferry peak RSS < ${RSS_GOAL_MB} MB on the 500 MB row: ${big && big.ferryPeakRssMB < RSS_GOAL_MB ? 'met' : 'NOT MET'} (${big ? n(big.ferryPeakRssMB) : '–'} MB).`,
        ...sums.filter((s) => s.failure).map((s) => `FAILED ${s.row}: ${s.failure}`),
        ...sums.filter((s) => s.skopeoDigestOk === false).map((s) => `skopeo's target digest differs from the source's on ${s.row}`),
      ].join('\n  '),
    },
    {
      title: "copy: where Ferry's time goes (median ms since the spawn; startup: to the child's first line of code; exit: the copy's return to the parent seeing the exit)",
      head: ['row', 'startup', 'resolve+plan', 'blobs', 'manifests+tag', 'exit', 'in process', 'wall', 'skopeo wall'],
      rows: sums.map((s) => [
        s.row,
        n(s.ferryPhasesMs.startup),
        n(s.ferryPhasesMs.resolveAndPlan),
        n(s.ferryPhasesMs.blobs),
        n(s.ferryPhasesMs.manifestsAndTag),
        n(s.ferryPhasesMs.exit),
        n(s.ferryPhasesMs.inProcess),
        n(s.ferryMs),
        n(s.skopeoMs),
      ]),
      note: `The floor of a process, measured alike: plain node on an empty .mjs ${floor.nodeMs} ms, ${floor.nodeRssMB} MB; \`skopeo --version\` ${floor.skopeoMs} ms${floor.skopeoRssMB > 0 ? `, ${floor.skopeoRssMB} MB` : ' (gone before a poll)'}.`,
    },
  ];
  return {
    tables,
    data: {
      runs,
      engineOptions: engine,
      fetch: FETCH ?? 'global',
      processFloor: floor,
      cases: CASES.map((c) => ({ id: c.id, label: c.label, layers: c.build.layers, platforms: c.build.platforms ?? ['linux/amd64'] })),
      goals: { ferryNotSlowerOnEveryRow: slower.length === 0, ferryPeakRssMB500: big?.ferryPeakRssMB ?? null, ferryPeakRssUnder150MB: Boolean(big && big.ferryPeakRssMB < RSS_GOAL_MB) },
      rows: sums,
    },
  };
}
