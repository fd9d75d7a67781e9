/**
 * The copy engine against two real registries (CNCF distribution), digests checked with skopeo:
 * single images, a 3-platform index (all, and a platform subset), skipped and mounted blobs,
 * cosign signature tags and the referrers tag schema.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyImage, resolveDigest, type ImageRef, type CopyResult } from '../shared/copy/index.ts';
import { type BuiltImage, buildOciImage, pushReferrer, pushSignatureTag, pushWithSkopeo, type Registry, skopeoDigest, skopeoRaw, startRegistry, stopAllRegistries } from './helpers/registry/index.ts';

let a: Registry;
let b: Registry;
let work: string;
let single: BuiltImage;
let multi: BuiltImage;

const anonymous = async () => null;
const ref = (r: Registry, repository: string, tag?: string, digest?: string): ImageRef => ({ registry: { url: r.url, name: r.host, login: anonymous }, repository, tag, digest });

function done(r: CopyResult): Extract<CopyResult, { status: 'done' }> {
  if (r.status !== 'done') throw new Error(`copy ${r.status}`);
  return r;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ferry-copy-'));
  [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  single = await buildOciImage(join(work, 'single'), { layers: [3000, 70_000, 1_500_000], tag: 'v1' });
  multi = await buildOciImage(join(work, 'multi'), { layers: [2000, 40_000], platforms: ['linux/amd64', 'linux/arm64/v8', 'linux/s390x'], tag: 'v2' });
  await pushWithSkopeo(single.dir, 'v1', `${a.host}/team/app:v1`);
  await pushWithSkopeo(multi.dir, 'v2', `${a.host}/team/multi:v2`);
}, 60_000);

afterAll(async () => {
  await stopAllRegistries();
  rmSync(work, { recursive: true, force: true });
});

describe('copy between registries', () => {
  it('copies an OCI image byte for byte, tag last, and a second copy sends nothing', async () => {
    const first = done(await copyImage(ref(a, 'team/app', 'v1'), ref(b, 'mirror/app', 'v1')));
    expect(first.sourceDigest).toBe(single.digest);
    expect(first.targetDigest).toBe(single.digest);
    expect(await skopeoDigest(`${b.host}/mirror/app:v1`)).toBe(single.digest);
    expect(first.stats).toMatchObject({ blobsCopied: 4, blobsSkipped: 0, blobsMounted: 0, manifests: 1 });
    expect(first.stats.bytesCopied).toBe(single.manifests[0]!.layers.reduce((n, l) => n + l.size, 0) + single.manifests[0]!.config.size);
    expect(await resolveDigest(ref(b, 'mirror/app', 'v1'))).toBe(single.digest);
    expect(await resolveDigest(ref(b, 'mirror/app', 'nope'))).toBeNull();

    const second = done(await copyImage(ref(a, 'team/app', 'v1'), ref(b, 'mirror/app', 'v1-again')));
    expect(second.stats).toMatchObject({ bytesCopied: 0, blobsCopied: 0, blobsSkipped: 4 });
    expect(await skopeoDigest(`${b.host}/mirror/app:v1-again`)).toBe(single.digest);
  });

  it('copies a Docker schema2 image unchanged', async () => {
    // skopeo converts the OCI layout to Docker schema 2 on the way to the registry; the engine then copies that.
    const { execFile } = await import('node:child_process');
    await new Promise<void>((resolve, reject) =>
      execFile('skopeo', ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${single.dir}:v1`, `docker://${a.host}/team/docker:v1`], (e) =>
        e ? reject(e) : resolve(),
      ),
    );
    const raw = JSON.parse((await skopeoRaw(`${a.host}/team/docker:v1`)).toString()) as { mediaType: string };
    expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    const r = done(await copyImage(ref(a, 'team/docker', 'v1'), ref(b, 'mirror/docker', 'v1')));
    expect(r.targetDigest).toBe(await skopeoDigest(`${a.host}/team/docker:v1`));
    expect(await skopeoDigest(`${b.host}/mirror/docker:v1`)).toBe(r.sourceDigest);
  });

  it('copies a 3-platform index with every platform, byte for byte', async () => {
    const r = done(await copyImage(ref(a, 'team/multi', 'v2'), ref(b, 'mirror/multi', 'v2')));
    expect(r.targetDigest).toBe(multi.digest);
    expect(await skopeoDigest(`${b.host}/mirror/multi:v2`)).toBe(multi.digest);
    for (const m of multi.manifests) expect(await skopeoDigest(`${b.host}/mirror/multi@${m.digest}`)).toBe(m.digest);
    expect(r.stats.manifests).toBe(4);
    expect(r.stats.blobsCopied).toBe(9);
  });

  it('writes a new index with only the wanted platforms', async () => {
    const r = done(await copyImage(ref(a, 'team/multi', 'v2'), ref(b, 'mirror/subset', 'v2'), { platforms: ['linux/amd64', 'linux/arm64/v8'] }));
    expect(r.sourceDigest).toBe(multi.digest);
    expect(r.targetDigest).not.toBe(multi.digest);
    expect(await skopeoDigest(`${b.host}/mirror/subset:v2`)).toBe(r.targetDigest);
    const index = JSON.parse((await skopeoRaw(`${b.host}/mirror/subset:v2`)).toString()) as { mediaType: string; manifests: Array<{ digest: string; platform: { architecture: string } }> };
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
    expect(index.manifests.map((m) => m.digest)).toEqual([multi.manifests[0]!.digest, multi.manifests[1]!.digest]);
    expect(await resolveDigest(ref(b, 'mirror/subset', undefined, multi.manifests[2]!.digest))).toBeNull();
  });

  it('refuses a platform the index does not have', async () => {
    await expect(copyImage(ref(a, 'team/multi', 'v2'), ref(b, 'mirror/none', 'v2'), { platforms: ['windows/amd64'] })).rejects.toMatchObject({ code: 'PLATFORM_UNKNOWN', retryable: false });
    expect(await resolveDigest(ref(b, 'mirror/none', 'v2'))).toBeNull();
  });

  it('mounts blobs from another repository of the same registry', async () => {
    const r = done(await copyImage(ref(a, 'team/app', 'v1'), ref(a, 'other/app', 'v1')));
    expect(r.stats).toMatchObject({ blobsMounted: 4, blobsCopied: 0, bytesCopied: 0 });
    expect(await skopeoDigest(`${a.host}/other/app:v1`)).toBe(single.digest);
  });

  it('pins a source digest and copies a tag-less source by digest', async () => {
    const r = done(await copyImage(ref(a, 'team/app', undefined, single.digest), ref(b, 'pinned/app')));
    expect(r.targetDigest).toBe(single.digest);
    expect(await resolveDigest(ref(b, 'pinned/app', undefined, single.digest))).toBe(single.digest);
  });

  it('copies cosign signature tags and the referrers tag schema with referrers: true', async () => {
    const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: single.digest, size: single.manifests[0]!.size };
    const sig = await pushSignatureTag(a.url, 'team/app', single.digest);
    const sbom = await pushReferrer(a.url, 'team/app', subject, 'application/vnd.example.sbom');
    const without = done(await copyImage(ref(a, 'team/app', 'v1'), ref(b, 'plain/app', 'v1')));
    expect(without.stats.referrers).toBe(0);
    expect(await resolveDigest(ref(b, 'plain/app', sig.tag))).toBeNull();

    const r = done(await copyImage(ref(a, 'team/app', 'v1'), ref(b, 'signed/app', 'v1'), { referrers: true }));
    expect(r.stats.referrers).toBe(3);
    expect(await skopeoDigest(`${b.host}/signed/app:${sig.tag}`)).toBe(sig.digest);
    expect(await skopeoDigest(`${b.host}/signed/app:${sbom.tag}`)).toBe(await skopeoDigest(`${a.host}/team/app:${sbom.tag}`));
    expect(await skopeoDigest(`${b.host}/signed/app@${sbom.digest}`)).toBe(sbom.digest);
    expect(await skopeoDigest(`${b.host}/signed/app:v1`)).toBe(single.digest);
  });
});
