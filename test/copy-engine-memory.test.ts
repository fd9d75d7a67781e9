/**
 * A 200 MB layer (LAYER_MB to change it) copied between two real registries in a child process, whose
 * peak RSS must not grow with the layer: bodies are streamed, 64 MiB chunks included. Measured on the
 * dev machine (Node 20.20, 2 shared cores), growth of the peak RSS over the warmed-up baseline:
 * ≈ 77 MB for 50 MB, ≈ 127 MB for 200 MB, ≈ 134 MB for 500 MB — it levels off (V8 collecting the
 * streamed buffers lazily), it does not follow the layer size.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BuiltImage, buildOciImage, pushWithSkopeo, type Registry, skopeoDigest, startRegistry, stopAllRegistries } from './helpers/registry/index.ts';

const MB = 1_000_000;
const LAYER = Number(process.env['LAYER_MB'] ?? 200) * MB;
let a: Registry;
let b: Registry;
let work: string;
let image: BuiltImage;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ferry-copy-memory-'));
  [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  image = await buildOciImage(join(work, 'img'), { layers: [LAYER, 1000], tag: 'big' });
  await pushWithSkopeo(image.dir, 'big', `${a.host}/team/big:big`);
  // The layout is on the registry now; its 200 MB need not stay on disk.
  rmSync(join(work, 'img'), { recursive: true, force: true });
}, 120_000);

afterAll(async () => {
  await stopAllRegistries();
  rmSync(work, { recursive: true, force: true });
});

it('copies a 200 MB layer in chunks with bounded memory', async () => {
  const args = { src: { url: a.url, repository: 'team/big', tag: 'big' }, dst: { url: b.url, repository: 'mirror/big', tag: 'big' } };
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'helpers/registry/measure-copy.ts'), JSON.stringify(args)], { maxBuffer: 1 << 20 });
  const out = JSON.parse(stdout) as { result: { status: string; targetDigest: string; stats: { bytesCopied: number } }; growth: number; peak: number; ms: number };
  console.log(`${LAYER / MB} MB layer: RSS growth ${(out.growth / MB).toFixed(1)} MB (peak ${(out.peak / MB).toFixed(1)} MB) in ${out.ms} ms`);
  expect(out.result).toMatchObject({ status: 'done', targetDigest: image.digest });
  expect(out.result.stats.bytesCopied).toBeGreaterThan(LAYER);
  expect(out.growth).toBeLessThan(150 * MB);
  expect(await skopeoDigest(`${b.host}/mirror/big:big`)).toBe(image.digest);
}, 120_000);
