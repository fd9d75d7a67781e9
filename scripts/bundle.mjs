#!/usr/bin/env node
/**
 * Bundles each function entry (functions/<name>.ts) for Function Compute:
 *   dist/<name>/index.js   CJS — the handler target (`dist/<name>/index.handler`): FC 2.0 (what the
 *                          serverless-aliyun plugin deploys) resolves `index.handler` to index.js via require.
 *   dist/<name>/index.mjs  ESM — for FC 3.0 / Serverless Devs (`handler: index.handler` with .mjs).
 * Both minified, tree-shaken, with external source maps; npm packages bundled, node builtins external.
 * Dev-only packages are forbidden: the build fails if one shows up in the metafile.
 * `@electric-sql/pglite` is external: deployed functions use PostgreSQL (DATABASE_URL), and the code
 * must only reach pglite through a dynamic import() on the no-DATABASE_URL path.
 *
 * Usage: node scripts/bundle.mjs [--outdir dist] [--entry name=path ...] [--no-minify] [--quiet]
 * Writes <outdir>/bundles.json: { name: { bytes, gzipBytes, esmBytes, file, largest } } and <outdir>/package.json
 * ({"type":"commonjs"}: index.js is CJS even below this repo's "type": "module").
 * `largest` (also printed): what weighs most in index.js, by package (node_modules) or project folder.
 */
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Packages that must never be in a function bundle (dev tooling, deploy-time SDKs, test libs). */
export const FORBIDDEN = [
  /^@alicloud\/fc2$/,
  /^@alicloud\/pop-core$/,
  /^@alicloud\/openapi-client$/,
  /^@alicloud\/fc$/,
  /^serverless(-.*)?$/,
  /^@serverless\//,
  /^@huaweicloud\//,
  /^fast-check$/,
  /^vitest$/,
  /^@vitest\//,
  /^esbuild$/,
  /^typescript$/,
];

/**
 * Cold-start diet, both measured by `npm run bench -- bundles`:
 * - `undici` → scripts/shims/undici-lite.ts (the same API on Node's built-in fetch, which is undici);
 * - zod's ~40 message locales → English only (the one Ferry uses): 264 KB of the 454 KB zod adds;
 * - `yaml` → a stub: `npm run package` ships the config as dist/ferry.config.json (scripts/package.mjs).
 */
export const ALIAS = { undici: './scripts/shims/undici-lite.ts', yaml: './scripts/shims/yaml-absent.ts' };
export const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /locales\/index\.js$/ }, (a) => (/[\\/]zod[\\/]/.test(a.importer) ? { path: 'zod-locales', namespace: 'ferry-stub' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'ferry-stub' }, () => ({ contents: "export { default as en } from 'zod/v4/locales/en.js';", resolveDir: ROOT, loader: 'js' }));
  },
};

/**
 * pg, as Node runs it: its runtime probe (lib/stream.js builds a `Response`, loading Node's built-in
 * undici at require time) → scripts/shims/pg-stream-node.cjs; its native client (lib/native, only for
 * `pg.native` with pg-native installed, which functions never have) → "module not found", as pg expects.
 */
export const pgNodeOnly = {
  name: 'pg-node-only',
  setup(b) {
    const inPg = (a) => /[\\/]pg[\\/]lib[\\/]/.test(a.importer);
    b.onResolve({ filter: /^\.\/stream(\.js)?$/ }, (a) => (inPg(a) ? { path: join(ROOT, 'scripts/shims/pg-stream-node.cjs') } : undefined));
    b.onResolve({ filter: /^\.\/native(\/index\.js)?$/ }, (a) => (inPg(a) ? { path: 'pg-native', namespace: 'ferry-pg-stub' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'ferry-pg-stub' }, () => ({
      contents: "throw Object.assign(new Error(\"Cannot find module 'pg-native'\"), { code: 'MODULE_NOT_FOUND' });",
      loader: 'js',
    }));
  },
};

/** Hono with its smallest router (PatternRouter): a function serves a dozen routes, not thousands. */
export const honoTiny = {
  name: 'hono-tiny',
  setup(b) {
    b.onResolve({ filter: /^hono$/ }, (a) => b.resolve('hono/tiny', { kind: a.kind, resolveDir: a.resolveDir }));
  },
};

/** The plugins every function bundle is built with (the bench builds its peers with them too). */
export const PLUGINS = [zodEnglishOnly, pgNodeOnly, honoTiny];

/**
 * The OpenAPI document is the same for every request and every deployment of a build: it is written
 * next to the bundle (dist/<fn>/openapi.json) at build time and read on the first GET /openapi.json,
 * so a function carries neither its builder nor zod's JSON Schema generator (~36 KiB).
 */
const OPENAPI_MODULE = /[\\/]shared[\\/]api[\\/]openapi\.ts$/;
const OPENAPI_FILE = 'openapi.json';

async function buildOpenApiDocument(outRoot) {
  const file = join(outRoot, '.openapi-builder.cjs');
  await build({ ...common(false), plugins: PLUGINS, entryPoints: [join(ROOT, 'shared/api/openapi.ts')], format: 'cjs', outfile: file, sourcemap: false, metafile: false });
  try {
    const { buildOpenApi } = createRequire(import.meta.url)(file);
    return `${JSON.stringify(buildOpenApi())}\n`;
  } finally {
    rmSync(file, { force: true });
  }
}

function openApiFromFile(used) {
  return {
    name: 'openapi-from-file',
    setup(b) {
      b.onResolve({ filter: /openapi\.ts$/ }, (a) => {
        if (!a.path.startsWith('.') || !OPENAPI_MODULE.test(resolve(a.resolveDir, a.path))) return undefined;
        used.add(b.initialOptions.format);
        return { path: 'openapi-from-file', namespace: 'ferry-openapi-stub' };
      });
      b.onLoad({ filter: /.*/, namespace: 'ferry-openapi-stub' }, () => ({
        contents: [
          "import { readFileSync } from 'node:fs';",
          "import { join } from 'node:path';",
          `export function buildOpenApi() { return JSON.parse(readFileSync(join(__dirname, ${JSON.stringify(OPENAPI_FILE)}), 'utf8')); }`,
        ].join('\n'),
        loader: 'js',
        resolveDir: ROOT,
      }));
    },
  };
}

/** Left out of the bundle on purpose (see header). Node builtins are external via platform: 'node'. */
export const EXTERNAL = ['@electric-sql/pglite', '@electric-sql/pglite/*', 'pg-native'];

function parseArgs(argv) {
  const opts = { outdir: 'dist', entries: [], minify: true, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--outdir') opts.outdir = argv[++i];
    else if (a === '--entry') {
      const spec = argv[++i] ?? '';
      const eq = spec.indexOf('=');
      if (eq <= 0) throw new Error(`--entry expects name=path, got ${JSON.stringify(spec)}`);
      opts.entries.push({ name: spec.slice(0, eq), path: spec.slice(eq + 1) });
    } else if (a === '--no-minify') opts.minify = false;
    else if (a === '--quiet') opts.quiet = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

function discoverEntries() {
  const dir = join(ROOT, 'functions');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.test.ts'))
    .sort()
    .map((f) => ({ name: basename(f, '.ts'), path: join('functions', f) }));
}

/** `node_modules/@scope/pkg/...` or `node_modules/pkg/...` → package name (innermost node_modules). */
export function packageOf(inputPath) {
  const parts = inputPath.split(/[\\/]/);
  const i = parts.lastIndexOf('node_modules');
  if (i < 0) return null;
  const first = parts[i + 1];
  if (!first) return null;
  return first.startsWith('@') ? `${first}/${parts[i + 2]}` : first;
}

/** Project folders that only run locally (emulator, `npm start` stack, fixtures, tests, benchmarks): never shipped. */
export const LOCAL_ONLY = /^local[\\/]/;

function localOnlyIn(metafile) {
  return Object.keys(metafile.inputs).filter((input) => LOCAL_ONLY.test(input));
}

/** Bytes each input contributes to the output, grouped by package (node_modules) or folder, largest first. */
export function largestInputs(metafile, top = 10) {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint);
  const byName = new Map();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const name = packageOf(input) ?? `${dirname(input)}/`;
    byName.set(name, (byName.get(name) ?? 0) + bytesInOutput);
  }
  return [...byName]
    .map(([input, bytes]) => ({ input, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top);
}

/** zod's classic API (method chains) weighs ~150 KB more than zod/mini: functions use `zod/mini`. */
const ZOD_CLASSIC = /(^|[\\/])node_modules[\\/]zod[\\/]v4[\\/]classic[\\/]/;

function zodClassicIn(metafile) {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint);
  if (!Object.keys(output?.inputs ?? {}).some((input) => ZOD_CLASSIC.test(input))) return [];
  return Object.entries(metafile.inputs)
    .filter(([file, input]) => !ZOD_CLASSIC.test(file) && input.imports.some((i) => /^zod(\/v4)?(\/classic)?$/.test(i.original ?? '')))
    .map(([file]) => file);
}

function forbiddenIn(metafile) {
  const hits = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    const pkg = packageOf(input);
    if (pkg && FORBIDDEN.some((re) => re.test(pkg))) {
      if (!hits.has(pkg)) hits.set(pkg, input);
    }
  }
  return [...hits].map(([pkg, file]) => `${pkg} (via ${file})`);
}

const common = (minify) => ({
  bundle: true,
  platform: 'node',
  target: 'node20',
  minify,
  treeShaking: true,
  sourcemap: 'linked', // separate .map file + sourceMappingURL comment (node --enable-source-maps)
  packages: 'bundle',
  external: EXTERNAL,
  alias: ALIAS,
  plugins: PLUGINS,
  metafile: true,
  logLevel: 'silent',
  legalComments: 'none',
  absWorkingDir: ROOT,
  // Consumers of our .ts sources expect `.ts` import extensions to resolve.
  resolveExtensions: ['.ts', '.mts', '.js', '.mjs', '.cjs', '.json'],
});

// ESM output: CJS dependencies (pg) call require() for builtins; give them one.
const ESM_BANNER = [
  "import { createRequire as __ferryCreateRequire } from 'node:module';",
  "import { fileURLToPath as __ferryFileURLToPath } from 'node:url';",
  "import { dirname as __ferryDirname } from 'node:path';",
  'const require = __ferryCreateRequire(import.meta.url);',
  'const __filename = __ferryFileURLToPath(import.meta.url);',
  'const __dirname = __ferryDirname(__filename);',
].join('\n');

export async function bundleAll({ outdir = 'dist', entries, minify = true, quiet = false } = {}) {
  const list = entries?.length ? entries : discoverEntries();
  if (!list.length) throw new Error('bundle: no entries (functions/*.ts is empty and no --entry given)');
  const outRoot = resolve(ROOT, outdir);
  const report = {};
  let openApiDocument;
  for (const { name, path } of list) {
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) throw new Error(`bundle: entry name ${JSON.stringify(name)} must match [A-Za-z_][A-Za-z0-9_-]*`);
    const entry = resolve(ROOT, path);
    if (!existsSync(entry)) throw new Error(`bundle: entry ${path} does not exist`);
    const dir = join(outRoot, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const openApiUsed = new Set();
    const plugins = [...PLUGINS, openApiFromFile(openApiUsed)];
    let cjs, esm;
    try {
      cjs = await build({
        ...common(minify),
        entryPoints: [entry],
        plugins,
        format: 'cjs',
        outfile: join(dir, 'index.js'),
        // import.meta is empty in CJS; give code that reads import.meta.url the file's real URL.
        define: { 'import.meta.url': '__ferryImportMetaUrl' },
        banner: { js: "const __ferryImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
      });
      esm = await build({
        ...common(minify),
        entryPoints: [entry],
        plugins,
        format: 'esm',
        outfile: join(dir, 'index.mjs'),
        banner: { js: ESM_BANNER },
      });
    } catch (err) {
      const msgs = (err.errors ?? []).map((e) => `  ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`);
      throw new Error(`bundle: ${name} (${path}) failed:\n${msgs.join('\n') || err.message}`);
    }
    if (openApiUsed.size) {
      openApiDocument ??= await buildOpenApiDocument(outRoot);
      writeFileSync(join(dir, OPENAPI_FILE), openApiDocument);
    }
    if (process.env.FERRY_BUNDLE_METAFILE) writeFileSync(join(dir, 'meta.json'), JSON.stringify(cjs.metafile));
    const bad = [...new Set([...forbiddenIn(cjs.metafile), ...forbiddenIn(esm.metafile)])];
    if (bad.length) {
      throw new Error(`bundle: ${name} pulls in forbidden dev-only packages:\n  ${bad.join('\n  ')}\n` + 'Keep deploy/test tooling out of code reachable from functions/.');
    }
    const local = [...new Set([...localOnlyIn(cjs.metafile), ...localOnlyIn(esm.metafile)])];
    if (local.length) {
      throw new Error(
        `bundle: ${name} pulls in code that only runs locally:\n  ${local.join('\n  ')}\n` + 'The emulator, the local stack, fixtures and tests stay out of code reachable from functions/.',
      );
    }
    const classic = zodClassicIn(cjs.metafile);
    if (classic.length) {
      throw new Error(
        `bundle: ${name} bundles zod's classic API (~150 KB more than zod/mini), imported by:\n  ${classic.join('\n  ')}\n` +
          'Code reachable from functions/ uses zod/mini through shared/zod.ts (scripts/codemods/zod-mini.mjs converts a file).',
      );
    }
    const staticPglite = new Set();
    for (const [file, input] of Object.entries(esm.metafile.inputs)) {
      for (const imp of input.imports ?? []) {
        if (/^@electric-sql\/pglite/.test(imp.path) && imp.kind !== 'dynamic-import') staticPglite.add(file);
      }
    }
    if (staticPglite.size) {
      throw new Error(
        `bundle: ${name} reaches @electric-sql/pglite through a static import in ${[...staticPglite].join(', ')}; ` +
          "pglite may only be reached through await import('@electric-sql/pglite') (use `import type` for its types)",
      );
    }
    const js = readFileSync(join(dir, 'index.js'));
    const mjs = readFileSync(join(dir, 'index.mjs'));
    report[name] = {
      bytes: js.length,
      gzipBytes: gzipSync(js, { level: 9 }).length,
      esmBytes: mjs.length,
      file: relative(ROOT, join(dir, 'index.js')),
      largest: largestInputs(cjs.metafile),
    };
  }
  mkdirSync(outRoot, { recursive: true });
  // The repo's package.json says "type": "module"; without this, node would load index.js as ESM
  // anywhere under the repo. Shipped in the zip too, so FC's loader sees the same thing.
  writeFileSync(join(outRoot, 'package.json'), JSON.stringify({ type: 'commonjs' }) + '\n');
  writeFileSync(join(outRoot, 'bundles.json'), JSON.stringify(report, null, 2) + '\n');
  if (!quiet) printTable(report);
  return report;
}

function printTable(report) {
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  const rows = [['function', 'index.js', 'gzip', 'index.mjs'], ...Object.entries(report).map(([n, r]) => [n, kb(r.bytes), kb(r.gzipBytes), kb(r.esmBytes)])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
  for (const [n, r] of Object.entries(report)) {
    console.log(`\n${n}: largest inputs of index.js`);
    for (const { input, bytes } of r.largest) console.log(`  ${kb(bytes).padStart(10)}  ${input}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await bundleAll(parseArgs(process.argv.slice(2)));
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
