/**
 * The copy engine when things go wrong, against a real registry behind a fault proxy: throttling,
 * corrupted bytes, dropped connections, pauses, resumes and cancellations. The tag is never written
 * by a copy that did not finish.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CopyCheckpoint, copyImage, type ImageRef, resolveDigest } from '../shared/copy/index.ts';
import {
  type BuiltImage,
  buildOciImage,
  type FaultProxy,
  pushSignatureTag,
  pushWithSkopeo,
  type Registry,
  skopeoDigest,
  startFaultProxy,
  startRegistry,
  stopAllRegistries,
} from './helpers/registry/index.ts';

const MiB = 1024 * 1024;
let reg: Registry;
let proxy: FaultProxy;
let work: string;
let small: BuiltImage;
let big: BuiltImage;
let bigLayer: { digest: string; size: number };
let n = 0;

const anonymous = async () => null;
const direct = (repository: string, tag?: string): ImageRef => ({ registry: { url: reg.url, name: 'direct', login: anonymous }, repository, tag });
const proxied = (repository: string, tag?: string): ImageRef => ({ registry: { url: proxy.url, name: 'proxied', login: anonymous }, repository, tag });
const fresh = () => `dst/t${++n}`;
const noSleep = () => vi.fn(async (_ms: number) => {});
const isBigBlobGet = (r: { method: string; path: string }) => r.method === 'GET' && r.path.includes(`/blobs/${bigLayer.digest}`);
/** Blob bytes the registry received through the proxy since log entry `from`. */
const uploadedBytes = (from: number) => proxy.log.slice(from).reduce((sum, e) => sum + ((e.method === 'PATCH' || e.method === 'PUT') && e.path.includes('/blobs/uploads/') ? e.forwardedBytes : 0), 0);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ferry-copy-faults-'));
  reg = await startRegistry();
  proxy = await startFaultProxy(reg.url);
  small = await buildOciImage(join(work, 'small'), { layers: [1000, 20_000], tag: 'v1' });
  big = await buildOciImage(join(work, 'big'), { layers: [5 * MiB], tag: 'v1' });
  bigLayer = big.manifests[0]!.layers[0]!;
  await pushWithSkopeo(small.dir, 'v1', `${reg.host}/src/small:v1`);
  await pushWithSkopeo(big.dir, 'v1', `${reg.host}/src/big:v1`);
}, 60_000);

beforeEach(() => {
  proxy.fault = () => null;
});

afterAll(async () => {
  await proxy.close();
  await stopAllRegistries();
  rmSync(work, { recursive: true, force: true });
});

describe('throttling and failures', () => {
  it('429: waits Retry-After (seconds) and goes on', async () => {
    proxy.fault = (r) =>
      r.index === proxy.log.find((e) => e.path.includes('/manifests/v1'))?.index && r.method === 'GET'
        ? { status: 429, headers: { 'retry-after': '7' }, body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}' }
        : null;
    const sleep = noSleep();
    const dst = fresh();
    const r = await copyImage(proxied('src/small', 'v1'), direct(dst, 'v1'), { sleep });
    expect(r.status).toBe('done');
    expect(sleep).toHaveBeenCalledWith(7000);
    expect(await skopeoDigest(`${reg.host}/${dst}:v1`)).toBe(small.digest);
  });

  it('429 with an HTTP date; still throttled after the retries: TOOMANYREQUESTS, retryable', async () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    proxy.fault = () => ({ status: 429, headers: { 'retry-after': new Date(now + 5000).toUTCString() }, body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"pull rate limit"}]}' });
    const sleep = noSleep();
    const err = await copyImage(proxied('src/small', 'v1'), direct(fresh(), 'v1'), { sleep, now: () => now }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TOOMANYREQUESTS', retryable: true, status: 429, message: expect.stringMatching(/pull rate limit/) });
    expect(sleep.mock.calls).toEqual([[5000], [5000], [5000]]);
  });

  it('5xx: bounded retries, then TRANSIENT, retryable', async () => {
    proxy.fault = () => ({ status: 503, body: 'unavailable' });
    const sleep = noSleep();
    await expect(copyImage(proxied('src/small', 'v1'), direct(fresh(), 'v1'), { sleep })).rejects.toMatchObject({ code: 'TRANSIENT', retryable: true, status: 503 });
    expect(sleep).toHaveBeenCalledTimes(3);
  });

  it('Docker Hub quota nearly spent (ratelimit-remaining ≤ 2): pauses before the next manifest GET', async () => {
    await pushSignatureTag(reg.url, 'src/small', small.digest);
    const lowQuota: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).includes('/manifests/') || init?.method !== 'GET') return res;
      const headers = new Headers(res.headers);
      headers.set('ratelimit-remaining', '1;w=21600');
      return new Response(res.body, { status: res.status, headers });
    };
    const sleep = noSleep();
    const r = await copyImage(direct('src/small', 'v1'), direct(fresh(), 'v1'), { fetch: lowQuota, sleep, referrers: true });
    expect(r).toMatchObject({ status: 'done', stats: { referrers: 1 } });
    // The first manifest GET learns the quota; each later one waits.
    expect(sleep.mock.calls.length).toBeGreaterThanOrEqual(3);
    expect(sleep).toHaveBeenCalledWith(2000);
  });

  it('refuses a schema 1 manifest with UNSUPPORTED and says why', async () => {
    proxy.fault = (r) =>
      r.path.includes('/manifests/')
        ? { status: 200, headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' }, body: '{"schemaVersion":1,"name":"src/small","tag":"v1","fsLayers":[]}' }
        : null;
    await expect(copyImage(proxied('src/small', 'v1'), direct(fresh(), 'v1'))).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      retryable: false,
      message: expect.stringMatching(/schema 1.*byte for byte/),
    });
  });
});

describe('digests', () => {
  it('a corrupted blob: DIGEST_MISMATCH, not retryable, and no tag at the target', async () => {
    const layer = small.manifests[0]!.layers[1]!;
    proxy.fault = (r) => (r.method === 'GET' && r.path.includes(`/blobs/${layer.digest}`) ? { corruptResponseAt: 100 } : null);
    const dst = fresh();
    const err = await copyImage(proxied('src/small', 'v1'), direct(dst, 'v1')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH', retryable: false, message: expect.stringContaining(layer.digest) });
    expect(await resolveDigest(direct(dst, 'v1'))).toBeNull();
    const head = await fetch(`${reg.url}/v2/${dst}/blobs/${layer.digest}`, { method: 'HEAD' });
    expect(head.status).toBe(404);
  });

  it('a manifest whose bytes do not match its digest: DIGEST_MISMATCH', async () => {
    proxy.fault = (r) => (r.path.includes(`/manifests/${small.digest}`) ? { corruptResponseAt: 5 } : null);
    await expect(copyImage({ ...proxied('src/small'), digest: small.digest }, direct(fresh(), 'v1'))).rejects.toMatchObject({ code: 'DIGEST_MISMATCH', retryable: false });
  });
});

describe('chunked uploads: pause, resume, interruptions, cancel', () => {
  it("pauses mid-blob on shouldStop 'slice' (no tag), resumes from the registry's offset without sending those bytes again", async () => {
    const dst = fresh();
    const saved: CopyCheckpoint[] = [];
    let chunks = 0;
    const first = await copyImage(
      direct('src/big', 'v1'),
      proxied(dst, 'v1'),
      { chunkBytes: MiB },
      {
        checkpoint: async (c) => {
          saved.push(c);
          if (c.uploads.length) chunks++;
        },
        shouldStop: () => (chunks >= 2 ? 'slice' : null),
      },
    );
    expect(first.status).toBe('paused');
    if (first.status !== 'paused') return;
    expect(first.checkpoint.sourceDigest).toBe(big.digest);
    expect(first.checkpoint.uploads).toEqual([{ digest: bigLayer.digest, location: expect.stringContaining(proxy.url), offset: 2 * MiB }]);
    expect(first.checkpoint.bytesCopied).toBe(2 * MiB + big.manifests[0]!.config.size);
    expect(saved.at(-1)).toEqual(first.checkpoint);
    expect(await resolveDigest(direct(dst, 'v1'))).toBeNull();

    const mark = proxy.log.length;
    const second = await copyImage(direct('src/big', 'v1'), proxied(dst, 'v1'), { chunkBytes: MiB }, {}, JSON.parse(JSON.stringify(first.checkpoint)) as CopyCheckpoint);
    expect(second).toMatchObject({ status: 'done', targetDigest: big.digest, stats: { blobsCopied: 2 } });
    // Only what the target lacked went over the wire the second time; the config blob was in `done`, not even asked about.
    expect(uploadedBytes(mark)).toBe(bigLayer.size - 2 * MiB);
    expect(proxy.log.slice(mark).some((e) => e.method === 'HEAD' && e.path.includes(big.manifests[0]!.config.digest))).toBe(false);
    expect(second.status === 'done' && second.stats.bytesCopied).toBe(bigLayer.size + big.manifests[0]!.config.size);
    expect(await skopeoDigest(`${reg.host}/${dst}:v1`)).toBe(big.digest);
  });

  it('a connection lost during a chunk upload: the copy asks the registry where it is and continues from there', async () => {
    const dst = fresh();
    let patches = 0;
    proxy.fault = (r) => (r.method === 'PATCH' && ++patches === 3 ? { dropRequestAfter: 1000 } : null);
    const mark = proxy.log.length;
    const r = await copyImage(direct('src/big', 'v1'), proxied(dst, 'v1'), { chunkBytes: MiB, sleep: noSleep() });
    expect(r).toMatchObject({ status: 'done', targetDigest: big.digest });
    const log = proxy.log.slice(mark);
    expect(log.some((e) => e.method === 'GET' && e.path.includes('/blobs/uploads/') && e.status === 204)).toBe(true);
    // Every byte of the layer reached the registry exactly once.
    expect(uploadedBytes(mark)).toBe(bigLayer.size + big.manifests[0]!.config.size);
    expect(await skopeoDigest(`${reg.host}/${dst}:v1`)).toBe(big.digest);
  });

  it('a source connection lost mid-blob: retried, verified, copied', async () => {
    let gets = 0;
    proxy.fault = (r) => (isBigBlobGet(r) && ++gets === 1 ? { dropResponseAfter: 2 * MiB + 123 } : null);
    const dst = fresh();
    const r = await copyImage(proxied('src/big', 'v1'), direct(dst, 'v1'), { chunkBytes: MiB, sleep: noSleep() });
    expect(r).toMatchObject({ status: 'done', targetDigest: big.digest });
    expect(gets).toBe(2);
    expect(await skopeoDigest(`${reg.host}/${dst}:v1`)).toBe(big.digest);
  });

  it('a session the registry lost: starts the blob over', async () => {
    const dst = fresh();
    let chunks = 0;
    // Through the proxy the target is another registry URL: no mount.
    const first = await copyImage(
      direct('src/big', 'v1'),
      proxied(dst, 'v1'),
      { chunkBytes: MiB },
      { checkpoint: async (c) => void (c.uploads.length && chunks++), shouldStop: () => (chunks >= 1 ? 'slice' : null) },
    );
    if (first.status !== 'paused') throw new Error(first.status);
    const upload = first.checkpoint.uploads[0]!;
    await fetch(upload.location, { method: 'DELETE' });
    const second = await copyImage(direct('src/big', 'v1'), proxied(dst, 'v1'), { chunkBytes: MiB }, {}, first.checkpoint);
    expect(second).toMatchObject({ status: 'done', targetDigest: big.digest });
    expect(await skopeoDigest(`${reg.host}/${dst}:v1`)).toBe(big.digest);
  });

  it("cancel: 'canceled', no tag", async () => {
    const dst = fresh();
    let chunks = 0;
    const r = await copyImage(
      direct('src/big', 'v1'),
      proxied(dst, 'v1'),
      { chunkBytes: MiB },
      { checkpoint: async (c) => void (c.uploads.length && chunks++), shouldStop: () => (chunks >= 1 ? 'cancel' : null) },
    );
    expect(r.status).toBe('canceled');
    expect(await resolveDigest(direct(dst, 'v1'))).toBeNull();
  });
});
