/**
 * Manifests of a media type the engine does not know, copied as-is: the local cloud's registries take
 * any schemaVersion 2 JSON under any media type (checking the blobs a config/layers shape names), so
 * ACR → SWR must carry the bytes, the Content-Type and those blobs unchanged. CNCF distribution 2.8
 * refuses such a type (400 MANIFEST_INVALID "manifest invalid"): the copy fails naming it, for good,
 * and writes no tag.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../local/cloud/server.ts';
import { type CopyResult, copyImage, type ImageRef, type RegistryEndpoint, resolveDigest } from '../shared/copy/index.ts';
import { RegistryClient } from '../shared/copy/registry-client.ts';
import { type Pushed, stopAllRegistries } from './helpers/registry/index.ts';
import { startCloudRegistries } from './helpers/registry/local-cloud.ts';

const THING = 'application/vnd.example.thing.v1+json';
const NOTE = 'application/vnd.example.note.v1+json';

let cloud: LocalCloud;
let acr: RegistryEndpoint;
let swr: RegistryEndpoint;
let plainEndpoint: RegistryEndpoint;

beforeAll(async () => {
  ({ cloud, acr, swr, plainEndpoint } = await startCloudRegistries());
}, 60_000);

afterAll(async () => {
  await stopAllRegistries();
  await cloud?.close();
});

const at = (registry: RegistryEndpoint, repository: string, tag?: string): ImageRef => ({ registry, repository, tag });

function done(r: CopyResult): Extract<CopyResult, { status: 'done' }> {
  if (r.status !== 'done') throw new Error(`copy ${r.status}`);
  return r;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The engine's own client, for the Bearer challenge of the local cloud's registries. */
function client(endpoint: RegistryEndpoint, repo: string) {
  const c = new RegistryClient(endpoint, [`repository:${repo}:pull,push`], { fetch, now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), stats: { requests: 0 } });
  return {
    async blob(bytes: Uint8Array, mediaType: string): Promise<Pushed> {
      const digest = sha256(bytes);
      const res = await c.request('POST', c.url(`${repo}/blobs/uploads/?digest=${digest}`), { what: 'blob', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
      await res.body?.cancel();
      return { mediaType, digest, size: bytes.byteLength };
    },
    /** Pushes exactly these bytes under `tag`, with `mediaType` as the Content-Type. */
    async manifest(tag: string, bytes: Uint8Array, mediaType: string): Promise<string> {
      const res = await c.request('PUT', c.url(`${repo}/manifests/${tag}`), { what: 'manifest', headers: { 'content-type': mediaType }, body: bytes });
      await res.body?.cancel();
      return sha256(bytes);
    },
    /** A GET as a client that asks for nothing in particular. */
    async raw(reference: string): Promise<{ contentType: string | null; bytes: Buffer }> {
      const res = await c.request('GET', c.url(`${repo}/manifests/${reference}`), { what: 'manifest', headers: { accept: '*/*' } });
      return { contentType: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
    },
  };
}

/** Key order and spacing of our own choosing: a registry or engine that re-serializes would change the digest. */
function odd(json: object): Uint8Array {
  return Buffer.from(`${JSON.stringify(json, null, 3)}\n`);
}

async function thingAtAcr(repo: string, tag: string) {
  const src = client(acr, repo);
  const config = await src.blob(Buffer.from('{"thing":"config"}'), 'application/vnd.example.thing.config.v1+json');
  const layer = await src.blob(randomBytes(5000), 'application/vnd.example.thing.layer.v1');
  const bytes = odd({ schemaVersion: 2, mediaType: THING, layers: [layer], config, annotations: { 'org.example.kind': 'thing' } });
  return { digest: await src.manifest(tag, bytes, THING), bytes, blobs: [config, layer] };
}

describe('an unknown manifest media type', () => {
  it('with a config + layers shape: ACR → SWR byte for byte, Content-Type kept, its blobs copied', async () => {
    const thing = await thingAtAcr('team/thing', 't1');
    const r = done(await copyImage(at(acr, 'team/thing', 't1'), at(swr, 'team/thing', 't1')));
    expect(r.sourceDigest).toBe(thing.digest);
    expect(r.targetDigest).toBe(thing.digest);
    expect(r.stats).toMatchObject({ blobsCopied: 2, bytesCopied: thing.blobs.reduce((n, b) => n + b.size, 0), manifests: 1 });

    const there = await client(swr, 'team/thing').raw('t1');
    expect(there.contentType).toBe(THING);
    expect(Buffer.compare(there.bytes, Buffer.from(thing.bytes))).toBe(0);
    expect(await resolveDigest(at(swr, 'team/thing', 't1'))).toBe(thing.digest);
  });

  it('with no blobs at all (arbitrary JSON): copied byte for byte', async () => {
    const bytes = odd({ schemaVersion: 2, mediaType: NOTE, note: 'opaque to Ferry', items: [3, 1, 2], nested: { z: true, a: null } });
    const digest = await client(acr, 'team/note').manifest('n1', bytes, NOTE);
    const r = done(await copyImage(at(acr, 'team/note', 'n1'), at(swr, 'team/note', 'n1')));
    expect(r.targetDigest).toBe(digest);
    expect(r.stats.blobsCopied).toBe(0);
    const there = await client(swr, 'team/note').raw('n1');
    expect(there.contentType).toBe(NOTE);
    expect(Buffer.compare(there.bytes, Buffer.from(bytes))).toBe(0);
  });

  it('to a registry that refuses the type (distribution 2.8): a CopyError naming it, not retryable, no tag', async () => {
    await thingAtAcr('team/thing', 't2');
    const failed = copyImage(at(acr, 'team/thing', 't2'), at(plainEndpoint, 'mirror/thing', 't2'));
    await expect(failed).rejects.toMatchObject({ name: 'CopyError', code: 'UNSUPPORTED', retryable: false, status: 400 });
    await expect(failed).rejects.toThrow(`the registry does not accept manifests of media type ${THING}`);
    expect(await resolveDigest(at(plainEndpoint, 'mirror/thing', 't2'))).toBeNull();
  });
});
