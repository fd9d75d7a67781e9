/**
 * Referrers copied for real: the local cloud's registries have the OCI 1.1 referrers API (ACR logged
 * in with GetAuthorizationToken, SWR with the AK/SK login), CNCF distribution 2.8 has not. From an
 * API to an API the target lists them itself; to distribution the engine keeps the referrers tag
 * schema; from distribution's tag schema to an API the target lists what the tag listed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../local/cloud/server.ts';
import { type CopyResult, copyImage, type ImageRef, type RegistryEndpoint, resolveDigest } from '../shared/copy/index.ts';
import { referrersTag } from '../shared/copy/referrers-tag.ts';
import { RegistryClient } from '../shared/copy/registry-client.ts';
import { type Pushed, pushBlob, pushManifest, pushReferrer, type Registry, stopAllRegistries } from './helpers/registry/index.ts';
import { startCloudRegistries } from './helpers/registry/local-cloud.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const EMPTY = 'application/vnd.oci.empty.v1+json';
const SIGNATURE = 'application/vnd.example.signature.v1+json';
const SBOM = 'application/spdx+json';

let cloud: LocalCloud;
let acr: RegistryEndpoint;
let swr: RegistryEndpoint;
let plain: Registry;
let plainEndpoint: RegistryEndpoint;

beforeAll(async () => {
  ({ cloud, acr, swr, plain, plainEndpoint } = await startCloudRegistries());
}, 60_000);

afterAll(async () => {
  await stopAllRegistries();
  await cloud?.close();
});

beforeEach(() => cloud.reset());

const at = (registry: RegistryEndpoint, repository: string, tag?: string, digest?: string): ImageRef => ({ registry, repository, tag, digest });

function done(r: CopyResult): Extract<CopyResult, { status: 'done' }> {
  if (r.status !== 'done') throw new Error(`copy ${r.status}`);
  return r;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Pushes to a registry behind the Bearer challenge, with the engine's own client (it does the token dance). */
function pusher(endpoint: RegistryEndpoint, repo: string) {
  const client = new RegistryClient(endpoint, [`repository:${repo}:pull,push`], { fetch, now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), stats: { requests: 0 } });
  return {
    async blob(bytes: Uint8Array, mediaType: string): Promise<Pushed> {
      const digest = sha256(bytes);
      const res = await client.request('POST', client.url(`${repo}/blobs/uploads/?digest=${digest}`), { what: 'blob', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
      await res.body?.cancel();
      return { mediaType, digest, size: bytes.byteLength };
    },
    async manifest(reference: string | null, manifest: object, mediaType: string): Promise<Pushed> {
      const bytes = Buffer.from(JSON.stringify(manifest));
      const res = await client.request('PUT', client.url(`${repo}/manifests/${reference ?? sha256(bytes)}`), { what: 'manifest', headers: { 'content-type': mediaType }, body: bytes });
      await res.body?.cancel();
      return { mediaType, digest: sha256(bytes), size: bytes.byteLength };
    },
    async json(path: string, accept = OCI_INDEX): Promise<{ status: number; body: any }> {
      const res = await client.request('GET', client.url(`${repo}/${path}`), { what: path, headers: { accept }, ok: [404] });
      return { status: res.status, body: res.status === 200 ? await res.json() : await res.text() };
    },
  };
}

/** Either registry kind, for the same artifacts: the local cloud's behind its login, distribution's anonymous. */
interface Push {
  blob(bytes: Uint8Array, mediaType: string): Promise<Pushed>;
  manifest(reference: string | null, manifest: object, mediaType: string): Promise<Pushed>;
}
const plainPush = (repo: string): Push => ({
  blob: (bytes, mediaType) => pushBlob(plain.url, repo, bytes, mediaType),
  manifest: (reference, manifest, mediaType) => pushManifest(plain.url, repo, reference, manifest, mediaType),
});

async function pushImage(p: Push, tag: string): Promise<Pushed> {
  const config = await p.blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })), 'application/vnd.oci.image.config.v1+json');
  const layer = await p.blob(randomBytes(4096), 'application/vnd.oci.image.layer.v1.tar+gzip');
  return p.manifest(tag, { schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] }, OCI_MANIFEST);
}

/** An OCI 1.1 artifact referring to `subject`: empty config, one layer, `artifactType` and annotations. */
async function pushArtifact(p: Push, subject: Pushed, artifactType: string, payload: string, annotations: Record<string, string>): Promise<Pushed> {
  const config = await p.blob(Buffer.from('{}'), EMPTY);
  const layer = await p.blob(Buffer.from(payload), artifactType);
  return p.manifest(null, { schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType, config, layers: [layer], subject, annotations }, OCI_MANIFEST);
}

/** An image with a signature and an SBOM at the ACR instance (which indexes them: OCI-Subject). */
async function signedImageAtAcr(repo: string) {
  const p = pusher(acr, repo);
  const image = await pushImage(p, 'v1');
  const signature = await pushArtifact(p, image, SIGNATURE, 'signature-bytes', { 'org.example.signer': 'ci' });
  const sbom = await pushArtifact(p, image, SBOM, '{"spdxVersion":"SPDX-2.3"}', { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' });
  const listed = await p.json(`referrers/${image.digest}`);
  expect(listed.body.manifests).toHaveLength(2);
  return { image, signature, sbom, listed: listed.body.manifests as object[] };
}

const byDigest = (entries: Array<{ digest: string }>) => [...entries].sort((x, y) => x.digest.localeCompare(y.digest));

describe('referrers API → referrers API', () => {
  it('ACR → SWR: both referrers listed by the target itself, same digests, no tag-schema tag', async () => {
    const { image, signature, sbom, listed } = await signedImageAtAcr('team/app');
    const r = done(await copyImage(at(acr, 'team/app', 'v1'), at(swr, 'team/app', 'v1'), { referrers: true }));
    expect(r.targetDigest).toBe(image.digest);
    expect(r.stats.referrers).toBe(2);

    const target = pusher(swr, 'team/app');
    const there = await target.json(`referrers/${image.digest}`);
    expect(there.status).toBe(200);
    expect(byDigest(there.body.manifests)).toEqual(byDigest(listed as Array<{ digest: string }>));
    expect(there.body.manifests.map((m: { digest: string }) => m.digest).sort()).toEqual([signature.digest, sbom.digest].sort());
    expect(await resolveDigest(at(swr, 'team/app', referrersTag(image.digest)))).toBeNull();
  });
});

describe('referrers API → distribution (no API): the engine keeps the referrers tag schema', () => {
  it('writes the subject’s <alg>-<hex> index listing both, as the referrers API would', async () => {
    const { image, signature, sbom, listed } = await signedImageAtAcr('team/app');
    const r = done(await copyImage(at(acr, 'team/app', 'v1'), at(plainEndpoint, 'mirror/app', 'v1'), { referrers: true }));
    expect(r.stats.referrers).toBe(3);
    expect(await resolveDigest(at(plainEndpoint, 'mirror/app', 'v1'))).toBe(image.digest);
    for (const d of [signature.digest, sbom.digest]) expect(await resolveDigest(at(plainEndpoint, 'mirror/app', undefined, d))).toBe(d);

    const tag = referrersTag(image.digest);
    expect(tag).toBe(image.digest.replace(':', '-'));
    const res = await fetch(`${plain.url}/v2/mirror/app/manifests/${tag}`, { headers: { accept: OCI_INDEX } });
    expect(res.headers.get('content-type')).toBe(OCI_INDEX);
    const index = (await res.json()) as { schemaVersion: number; mediaType: string; manifests: Array<{ digest: string }> };
    expect(index).toMatchObject({ schemaVersion: 2, mediaType: OCI_INDEX });
    // mediaType, digest, size, artifactType (from the manifest) and annotations, exactly as the source's API lists them.
    expect(byDigest(index.manifests)).toEqual(byDigest(listed as Array<{ digest: string }>));
  });

  it('adds to a list already at the target, without duplicates; a second copy leaves it unchanged', async () => {
    const { image, listed } = await signedImageAtAcr('team/app');
    // Someone else's referrer of the same image, already listed at the target the way clients keep the schema.
    await copyImage(at(acr, 'team/app', 'v1'), at(plainEndpoint, 'merge/app', 'v1'));
    const theirs = await pushReferrer(plain.url, 'merge/app', image, 'application/vnd.example.provenance');
    const tag = referrersTag(image.digest);
    const list = async () => (await (await fetch(`${plain.url}/v2/merge/app/manifests/${tag}`, { headers: { accept: OCI_INDEX } })).json()) as { manifests: Array<{ digest: string }> };
    expect((await list()).manifests).toHaveLength(1);

    done(await copyImage(at(acr, 'team/app', 'v1'), at(plainEndpoint, 'merge/app', 'v1'), { referrers: true }));
    const merged = await list();
    expect(merged.manifests[0]!.digest).toBe(theirs.digest);
    expect(byDigest(merged.manifests.slice(1))).toEqual(byDigest(listed as Array<{ digest: string }>));
    const listDigest = await resolveDigest(at(plainEndpoint, 'merge/app', tag));

    const again = done(await copyImage(at(acr, 'team/app', 'v1'), at(plainEndpoint, 'merge/app', 'v1'), { referrers: true }));
    expect(again.stats.referrers).toBe(2);
    expect(await resolveDigest(at(plainEndpoint, 'merge/app', tag))).toBe(listDigest);
    expect((await list()).manifests).toHaveLength(3);
  });

  it('refuses to overwrite a tag-schema tag that holds something other than an OCI index: no tag written', async () => {
    const { image } = await signedImageAtAcr('team/app');
    const squatter = await pushImage(plainPush('odd/app'), referrersTag(image.digest));
    await expect(copyImage(at(acr, 'team/app', 'v1'), at(plainEndpoint, 'odd/app', 'v1'), { referrers: true })).rejects.toMatchObject({
      name: 'CopyError',
      code: 'MANIFEST_INVALID',
      retryable: false,
      message: expect.stringContaining(`not the OCI image index that lists the referrers of ${image.digest}`),
    });
    expect(await resolveDigest(at(plainEndpoint, 'odd/app', referrersTag(image.digest)))).toBe(squatter.digest);
    expect(await resolveDigest(at(plainEndpoint, 'odd/app', 'v1'))).toBeNull();
  });
});

describe('tag schema (distribution) → referrers API', () => {
  it('a referrer found through the source’s <alg>-<hex> tag is listed by the target’s referrers API', async () => {
    const source = plainPush('team/signed');
    const image = await pushImage(source, 'v1');
    const sbom = await pushReferrer(plain.url, 'team/signed', image, SBOM);
    const r = done(await copyImage(at(plainEndpoint, 'team/signed', 'v1'), at(swr, 'team/signed', 'v1'), { referrers: true }));
    expect(r.targetDigest).toBe(image.digest);

    const there = await pusher(swr, 'team/signed').json(`referrers/${image.digest}`);
    expect(there.body.manifests).toEqual([{ mediaType: OCI_MANIFEST, digest: sbom.digest, size: sbom.size, artifactType: SBOM }]);
    // The source's list itself is copied too, byte for byte (as before: the tag is part of what the source has).
    expect(await resolveDigest(at(swr, 'team/signed', sbom.tag))).toBe(await resolveDigest(at(plainEndpoint, 'team/signed', sbom.tag)));
  });
});

describe('referrersTag', () => {
  it('truncates the algorithm to 32 and the encoded part to 64 characters, as the spec’s table does', () => {
    expect(referrersTag(`sha256:${'a'.repeat(64)}`)).toBe(`sha256-${'a'.repeat(64)}`);
    expect(referrersTag(`sha512:${'b'.repeat(128)}`)).toBe(`sha512-${'b'.repeat(64)}`);
    expect(
      referrersTag(
        'test+algorithm+using+algorithm+separators+and+lots+of+characters+to+excercise+overall+truncation:alsoSome=InTheEncodedSectionToShowHyphenReplacementAndLotsAndLotsOfCharactersToExcerciseEncodedTruncation',
      ),
    ).toBe('test-algorithm-using-algorithm-s-alsoSome-InTheEncodedSectionToShowHyphenReplacementAndLotsAndLot');
  });
});
