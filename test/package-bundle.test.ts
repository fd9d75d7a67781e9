import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'ferry-bundle-'));
const rel = relative(ROOT, out);
const bundle = (...args: string[]) => run(process.execPath, ['scripts/bundle.mjs', '--quiet', '--outdir', rel, ...args], { cwd: ROOT });

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('scripts/bundle.mjs', () => {
  beforeAll(async () => {
    await bundle('--entry', 'fixture=test/fixtures/bundle/entry.ts');
  }, 30_000);

  it('emits CJS + ESM bundles with external source maps and a size report', () => {
    for (const f of ['index.js', 'index.js.map', 'index.mjs', 'index.mjs.map']) expect(existsSync(join(out, 'fixture', f))).toBe(true);
    const report = JSON.parse(readFileSync(join(out, 'bundles.json'), 'utf8'));
    expect(report.fixture.bytes).toBe(readFileSync(join(out, 'fixture', 'index.js')).length);
    expect(report.fixture.gzipBytes).toBeGreaterThan(0);
    expect(report.fixture.gzipBytes).toBeLessThan(report.fixture.bytes);
    // The largest inputs, by package or project folder, largest first: pg is the fixture's heaviest package.
    const largest = report.fixture.largest as { input: string; bytes: number }[];
    expect(largest.map((l) => l.input)).toContain('pg');
    expect(largest.every((l, i) => i === 0 || (largest[i - 1]?.bytes ?? 0) >= l.bytes)).toBe(true);
    expect(largest.some((l) => l.input.includes('node_modules'))).toBe(false);
    const js = readFileSync(join(out, 'fixture', 'index.js'), 'utf8');
    // (boolean checks: a failing toContain would print the whole minified bundle)
    expect(js.includes('sourceMappingURL=index.js.map')).toBe(true);
    // pg is bundled; pglite stays outside, reachable only through import().
    expect(js.includes('SCRAM-SHA-256')).toBe(true);
    expect(/import\("@electric-sql\/pglite"\)/.test(js)).toBe(true);
    expect(js.includes('pglite.wasm')).toBe(false);
    expect(readFileSync(join(out, 'fixture', 'index.mjs'), 'utf8').includes('createRequire')).toBe(true);
  });

  it("requiring the bundle leaves Node's built-in undici unloaded (pg's runtime probe is shimmed)", async () => {
    const probe = `require(${JSON.stringify(join(out, 'fixture', 'index.js'))}); console.log(JSON.stringify(process.moduleLoadList.filter((m) => m.includes('undici'))));`;
    const { stdout } = await run(process.execPath, ['-e', probe], { cwd: ROOT });
    expect(JSON.parse(stdout)).toEqual([]);
    const js = readFileSync(join(out, 'fixture', 'index.js'), 'utf8');
    expect(js.includes('CloudflareSocket')).toBe(false);
    expect(js.includes("Cannot find module 'pg-native'")).toBe(true);
  });

  it('the CJS bundle is a working FC handler on the PostgreSQL path (no pglite load)', async () => {
    const prev = process.env.DATABASE_URL;
    process.env.DATABASE_URL = 'postgres://user:pw@127.0.0.1:1/none';
    try {
      const mod = createRequire(import.meta.url)(join(out, 'fixture', 'index.js')) as { handler: (e: unknown, c: unknown) => Promise<{ statusCode: number; body: string }> };
      const r = await mod.handler(Buffer.from(JSON.stringify({ httpMethod: 'GET', path: '/hello' })), { requestId: 'r' });
      expect(r.statusCode).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ db: 'pg:function', path: '/hello' });
      const esm = (await import(pathToFileURL(join(out, 'fixture', 'index.mjs')).href)) as typeof mod;
      expect((await esm.handler({ httpMethod: 'GET', path: '/x' }, {})).statusCode).toBe(200);
    } finally {
      if (prev === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = prev;
    }
  });

  it('fails the build when a dev-only package is reachable', async () => {
    await expect(bundle('--entry', 'bad=test/fixtures/bundle/forbidden.ts')).rejects.toMatchObject({ stderr: expect.stringMatching(/forbidden dev-only packages:[\s\S]*fast-check/) });
  });

  it("fails the build when zod's classic API is bundled, naming the importer", async () => {
    await expect(bundle('--entry', 'bad=test/fixtures/bundle/zod-classic.ts')).rejects.toMatchObject({
      stderr: expect.stringMatching(/bundles zod's classic API[\s\S]*imported by:\n {2}test\/fixtures\/bundle\/zod-classic.ts/),
    });
  });

  it('fails the build when pglite is imported statically', async () => {
    await expect(bundle('--entry', 'bad=test/fixtures/bundle/static-pglite.ts')).rejects.toMatchObject({
      stderr: expect.stringMatching(/static import in test\/fixtures\/bundle\/static-pglite.ts; pglite may only be reached through await import/),
    });
  });

  it('rejects a missing entry clearly', async () => {
    await expect(bundle('--entry', 'x=test/fixtures/bundle/nope.ts')).rejects.toMatchObject({ stderr: expect.stringMatching(/entry test\/fixtures\/bundle\/nope.ts does not exist/) });
  });
});
