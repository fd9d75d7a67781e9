/**
 * The local cloud's registries over real HTTP: the OCI distribution API (uploads, manifests, tags,
 * referrers, errors) and the clouds' logins (ACR GetAuthorizationToken, SWR AK/SK) through the
 * Bearer-token challenge.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AcrClient } from '../shared/clients/acr.ts';
import { CloudAuthError } from '../shared/clients/errors.ts';
import { swrLoginPassword } from '../shared/providers/swr/registry-login.ts';
import { startLocalCloud, type LocalCloud } from '../local/cloud/server.ts';

const KEY = { accessKeyId: 'LTAI5tLocalFerryKey', accessKeySecret: 'local-ferry-secret' };
const HW = { accessKey: 'HWLOCALFERRYAK', secretKey: 'local-ferry-sk' };
const SRC = 'cri-localsrc001';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

let cloud: LocalCloud;
let acrUrl: string;
let swrUrl: string;

beforeAll(async () => {
  // Virtual time stands still unless a test advances it.
  cloud = await startLocalCloud({ port: 0, speed: 1e-6, registry: { ports: 'ephemeral' } });
  acrUrl = cloud.registries.acr[SRC]!;
  swrUrl = cloud.registries.swr['cn-north-4']!;
});
afterAll(() => cloud?.close());
beforeEach(() => cloud.reset());

function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** fetch's body type wants a plain ArrayBuffer-backed view. */
function bytes(b: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b);
}

function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

function acrClient(secret = KEY.accessKeySecret): AcrClient {
  return new AcrClient({ regionId: 'cn-hangzhou', endpoint: cloud.url, credentials: () => ({ accessKeyId: KEY.accessKeyId, accessKeySecret: secret }), retry: { maxAttempts: 1 } });
}

/** Follows the registry's challenge: GET <realm>?service=&scope= with Basic credentials. */
async function tokenFrom(base: string, authorization: string | undefined, scope: string): Promise<Response> {
  const challenge = (await fetch(`${base}/v2/`)).headers.get('www-authenticate') ?? '';
  const realm = /realm="([^"]+)"/.exec(challenge)![1]!;
  const service = /service="([^"]+)"/.exec(challenge)![1]!;
  const url = `${realm}?service=${encodeURIComponent(service)}&scope=${encodeURIComponent(scope)}`;
  return fetch(url, { headers: authorization ? { authorization } : {} });
}

async function bearer(base: string, authorization: string, name = 'team/app', actions = 'pull,push'): Promise<string> {
  const res = await tokenFrom(base, authorization, `repository:${name}:${actions}`);
  expect(res.status).toBe(200);
  return `Bearer ${((await res.json()) as { token: string }).token}`;
}

async function swrAuth(name = 'team/app'): Promise<string> {
  return bearer(swrUrl, basic(`cn-north-4@${HW.accessKey}`, swrLoginPassword(HW.accessKey, HW.secretKey)), name);
}

async function acrAuth(name = 'team/app'): Promise<string> {
  const t = await acrClient().getAuthorizationToken(SRC);
  return bearer(acrUrl, basic(t.tempUsername, t.authorizationToken), name);
}

async function pushBlob(base: string, auth: string, name: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const res = await fetch(`${base}/v2/${name}/blobs/uploads/?digest=${digest}`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/octet-stream' }, body: bytes(data) });
  expect(res.status).toBe(201);
  return digest;
}

function imageManifest(config: { digest: string; size: number }, layers: { digest: string; size: number }[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
      ...extra,
    }),
  );
}

/** A config and one layer in `name`, and a manifest referencing them (not pushed). */
async function image(base: string, auth: string, name: string, extra: Record<string, unknown> = {}) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = randomBytes(2048);
  const manifest = imageManifest({ digest: await pushBlob(base, auth, name, config), size: config.length }, [{ digest: await pushBlob(base, auth, name, layer), size: layer.length }], extra);
  return { manifest, digest: sha256(manifest), layer };
}

async function putManifest(base: string, auth: string, name: string, ref: string, body: Buffer, type = OCI_MANIFEST): Promise<Response> {
  return fetch(`${base}/v2/${name}/manifests/${ref}`, { method: 'PUT', headers: { authorization: auth, 'content-type': type }, body: bytes(body) });
}

async function errorCode(res: Response): Promise<string | undefined> {
  return ((await res.json()) as { errors: { code: string }[] }).errors[0]?.code;
}

describe('auth: a Bearer challenge like the real registries', () => {
  it('refuses anonymous callers with 401 and a challenge naming the realm and service (SWR: dockyard; ACR: per instance)', async () => {
    const swr = await fetch(`${swrUrl}/v2/`);
    expect(swr.status).toBe(401);
    expect(swr.headers.get('www-authenticate')).toBe(`Bearer realm="${swrUrl}/swr/auth/v2/registry/auth/",service="dockyard"`);
    expect(swr.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await errorCode(swr)).toBe('UNAUTHORIZED');

    const acr = await fetch(`${acrUrl}/v2/team/app/manifests/latest`);
    expect(acr.status).toBe(401);
    expect(acr.headers.get('www-authenticate')).toBe(`Bearer realm="${acrUrl}/auth",service="registry.aliyuncs.com:cn-hangzhou:china:${SRC}",scope="repository:team/app:pull"`);
  });

  it('SWR: <region>@<AK> with hex HMAC-SHA256(SK, AK) gets a token; a wrong password, region or AK does not', async () => {
    const good = swrLoginPassword(HW.accessKey, HW.secretKey);
    const auth = await swrAuth();
    expect((await fetch(`${swrUrl}/v2/`, { headers: { authorization: auth } })).status).toBe(200);
    for (const wrong of [
      basic(
        `cn-north-4@${HW.accessKey}`,
        good.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
      ),
      basic(`cn-east-3@${HW.accessKey}`, good),
      basic('cn-north-4@NOSUCHAK', good),
      undefined,
    ]) {
      const res = await tokenFrom(swrUrl, wrong, 'repository:team/app:pull');
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    }
  });

  it('refuses Basic credentials sent to /v2/ directly, and unknown or insufficient tokens with the scope needed', async () => {
    const direct = await fetch(`${swrUrl}/v2/`, { headers: { authorization: basic(`cn-north-4@${HW.accessKey}`, swrLoginPassword(HW.accessKey, HW.secretKey)) } });
    expect(direct.status).toBe(401);
    const unknown = await fetch(`${swrUrl}/v2/team/app/tags/list`, { headers: { authorization: 'Bearer nope' } });
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const pullOnly = await bearer(swrUrl, basic(`cn-north-4@${HW.accessKey}`, swrLoginPassword(HW.accessKey, HW.secretKey)), 'team/app', 'pull');
    const push = await fetch(`${swrUrl}/v2/team/app/blobs/uploads/`, { method: 'POST', headers: { authorization: pullOnly } });
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toContain('scope="repository:team/app:pull,push",error="insufficient_scope"');
  });

  it('ACR: GetAuthorizationToken (signed like every action) answers cr_temp_user, a token and ExpireTime one hour ahead', async () => {
    const now = cloud.clock.now();
    const t = await acrClient().getAuthorizationToken(SRC);
    expect(t.tempUsername).toBe('cr_temp_user');
    expect(t.authorizationToken.length).toBeGreaterThan(20);
    expect(t.expireTime).toBeGreaterThanOrEqual(now + 3600_000);
    expect(t.expireTime).toBeLessThan(now + 3600_000 + 60_000);
    const err = await acrClient('wrong-secret')
      .getAuthorizationToken(SRC)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CloudAuthError);
    expect((err as CloudAuthError).code).toBe('SignatureDoesNotMatch');
    await expect(acrClient().getAuthorizationToken('cri-nosuchinstance')).rejects.toMatchObject({ code: 'INSTANCE_NOT_EXIST' });
  });

  it('ACR: the temporary credentials log in to their own instance only, and not after ExpireTime', async () => {
    const t = await acrClient().getAuthorizationToken(SRC);
    const creds = basic(t.tempUsername, t.authorizationToken);
    expect((await tokenFrom(acrUrl, creds, 'repository:team/app:pull')).status).toBe(200);
    expect((await tokenFrom(cloud.registries.acr['cri-localdst001']!, creds, 'repository:team/app:pull')).status).toBe(401);
    expect((await tokenFrom(acrUrl, basic('cr_temp_user', 'made-up'), 'repository:team/app:pull')).status).toBe(401);
    const auth = await bearer(acrUrl, creds);
    cloud.clock.advance(3600_000 + 1);
    const expired = await tokenFrom(acrUrl, creds, 'repository:team/app:pull');
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    // The bearer token issued before (900 s) has lapsed too.
    const late = await fetch(`${acrUrl}/v2/`, { headers: { authorization: auth } });
    expect(late.status).toBe(401);
    expect(late.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

describe('blob uploads', () => {
  it('chunked: PATCH with Content-Range, status with Range, 416 out of order, PUT with digest; then HEAD and GET', async () => {
    const auth = await swrAuth();
    const data = randomBytes(100_000);
    const start = await fetch(`${swrUrl}/v2/team/app/blobs/uploads/`, { method: 'POST', headers: { authorization: auth } });
    expect(start.status).toBe(202);
    expect(start.headers.get('range')).toBe('0-0');
    const uuid = start.headers.get('docker-upload-uuid')!;
    let location = start.headers.get('location')!;
    expect(location).toBe(`/v2/team/app/blobs/uploads/${uuid}`);

    const chunk1 = await fetch(`${swrUrl}${location}`, {
      method: 'PATCH',
      headers: { authorization: auth, 'content-type': 'application/octet-stream', 'content-range': '0-59999' },
      body: bytes(data.subarray(0, 60_000)),
    });
    expect(chunk1.status).toBe(202);
    expect(chunk1.headers.get('range')).toBe('0-59999');
    location = chunk1.headers.get('location')!;

    const outOfOrder = await fetch(`${swrUrl}${location}`, { method: 'PATCH', headers: { authorization: auth, 'content-range': '70000-79999' }, body: bytes(data.subarray(70_000, 80_000)) });
    expect(outOfOrder.status).toBe(416);
    expect(outOfOrder.headers.get('range')).toBe('0-59999');

    const status = await fetch(`${swrUrl}${location}`, { headers: { authorization: auth } });
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-59999');

    const digest = sha256(data);
    const done = await fetch(`${swrUrl}${location}?digest=${digest}`, { method: 'PUT', headers: { authorization: auth, 'content-range': '60000-99999' }, body: bytes(data.subarray(60_000)) });
    expect(done.status).toBe(201);
    expect(done.headers.get('docker-content-digest')).toBe(digest);
    expect(done.headers.get('location')).toBe(`/v2/team/app/blobs/${digest}`);

    const head = await fetch(`${swrUrl}/v2/team/app/blobs/${digest}`, { method: 'HEAD', headers: { authorization: auth } });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('100000');
    const got = Buffer.from(await (await fetch(`${swrUrl}/v2/team/app/blobs/${digest}`, { headers: { authorization: auth } })).arrayBuffer());
    expect(got.equals(data)).toBe(true);
    expect((await fetch(`${swrUrl}${location}`, { headers: { authorization: auth } })).status).toBe(404);
  });

  it('streamed PATCH without Content-Range appends; a wrong digest is 400 DIGEST_INVALID and stores nothing', async () => {
    const auth = await swrAuth();
    const start = await fetch(`${swrUrl}/v2/team/app/blobs/uploads/`, { method: 'POST', headers: { authorization: auth } });
    const location = start.headers.get('location')!;
    await fetch(`${swrUrl}${location}`, { method: 'PATCH', headers: { authorization: auth }, body: 'hello ' });
    const second = await fetch(`${swrUrl}${location}`, { method: 'PATCH', headers: { authorization: auth }, body: 'world' });
    expect(second.headers.get('range')).toBe('0-10');
    const wrong = sha256('something else');
    const res = await fetch(`${swrUrl}${location}?digest=${wrong}`, { method: 'PUT', headers: { authorization: auth } });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('DIGEST_INVALID');
    expect((await fetch(`${swrUrl}/v2/team/app/blobs/${wrong}`, { method: 'HEAD', headers: { authorization: auth } })).status).toBe(404);

    const monolithic = await fetch(`${swrUrl}/v2/team/app/blobs/uploads/?digest=${wrong}`, { method: 'POST', headers: { authorization: auth }, body: 'not it' });
    expect(monolithic.status).toBe(400);
    expect(await errorCode(monolithic)).toBe('DIGEST_INVALID');
  });

  it('mounts a blob from another repository the token may pull; otherwise opens a session (202)', async () => {
    const auth = await bearer(swrUrl, basic(`cn-north-4@${HW.accessKey}`, swrLoginPassword(HW.accessKey, HW.secretKey)), 'team/app');
    const digest = await pushBlob(swrUrl, auth, 'team/app', randomBytes(512));
    const res = await tokenFrom(swrUrl, basic(`cn-north-4@${HW.accessKey}`, swrLoginPassword(HW.accessKey, HW.secretKey)), 'repository:team/other:pull,push');
    const otherOnly = `Bearer ${((await res.json()) as { token: string }).token}`;
    const refused = await fetch(`${swrUrl}/v2/team/other/blobs/uploads/?mount=${digest}&from=team/app`, { method: 'POST', headers: { authorization: otherOnly } });
    expect(refused.status).toBe(202);

    const both = await tokenFrom(swrUrl, basic(`cn-north-4@${HW.accessKey}`, swrLoginPassword(HW.accessKey, HW.secretKey)), 'repository:team/other:pull,push repository:team/app:pull');
    const auth2 = `Bearer ${((await both.json()) as { token: string }).token}`;
    const mounted = await fetch(`${swrUrl}/v2/team/other/blobs/uploads/?mount=${digest}&from=team/app`, { method: 'POST', headers: { authorization: auth2 } });
    expect(mounted.status).toBe(201);
    expect(mounted.headers.get('location')).toBe(`/v2/team/other/blobs/${digest}`);
    expect((await fetch(`${swrUrl}/v2/team/other/blobs/${digest}`, { method: 'HEAD', headers: { authorization: auth2 } })).status).toBe(200);
  });

  it('refuses pushes into an organization/namespace the cloud does not know (403 DENIED)', async () => {
    const auth = await swrAuth('ghost/app');
    const res = await fetch(`${swrUrl}/v2/ghost/app/blobs/uploads/`, { method: 'POST', headers: { authorization: auth } });
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe('DENIED');
    const acr = await acrAuth('ghost/app');
    expect((await fetch(`${acrUrl}/v2/ghost/app/blobs/uploads/`, { method: 'POST', headers: { authorization: acr } })).status).toBe(403);
  });
});

describe('manifests, tags and referrers', () => {
  it('PUT by tag (201 + Docker-Content-Digest), GET/HEAD by tag and digest return the exact bytes; the ACR API sees the tag', async () => {
    const auth = await acrAuth();
    const img = await image(acrUrl, auth, 'team/app');
    const put = await putManifest(acrUrl, auth, 'team/app', 'v1', img.manifest);
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(img.digest);
    for (const ref of ['v1', img.digest]) {
      const got = await fetch(`${acrUrl}/v2/team/app/manifests/${ref}`, { headers: { authorization: auth, accept: OCI_MANIFEST } });
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toBe(OCI_MANIFEST);
      expect(got.headers.get('docker-content-digest')).toBe(img.digest);
      expect(Buffer.from(await got.arrayBuffer()).equals(img.manifest)).toBe(true);
    }
    const head = await fetch(`${acrUrl}/v2/team/app/manifests/v1`, { method: 'HEAD', headers: { authorization: auth } });
    expect(head.headers.get('content-length')).toBe(String(img.manifest.length));
    expect(cloud.acr.tagsOf(SRC, 'team', 'app')).toEqual({ v1: img.digest });
  });

  it('refuses a manifest whose blobs are missing, a digest that does not match, and answers unknown names and tags', async () => {
    const auth = await swrAuth();
    const missing = imageManifest({ digest: sha256('no config'), size: 9 }, []);
    const res = await putManifest(swrUrl, auth, 'team/app', 'v1', missing);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('MANIFEST_BLOB_UNKNOWN');
    const img = await image(swrUrl, auth, 'team/app');
    const mismatch = await putManifest(swrUrl, auth, 'team/app', sha256('other'), img.manifest);
    expect(mismatch.status).toBe(400);
    expect(await errorCode(mismatch)).toBe('DIGEST_INVALID');
    const unknownTag = await fetch(`${swrUrl}/v2/team/app/manifests/nope`, { headers: { authorization: auth } });
    expect(unknownTag.status).toBe(404);
    expect(await errorCode(unknownTag)).toBe('MANIFEST_UNKNOWN');
    const other = await swrAuth('team/none');
    const unknownRepo = await fetch(`${swrUrl}/v2/team/none/manifests/v1`, { headers: { authorization: other } });
    expect(await errorCode(unknownRepo)).toBe('NAME_UNKNOWN');
  });

  it('lists tags in order, paged by n and last with a Link to the next page', async () => {
    const auth = await swrAuth();
    const img = await image(swrUrl, auth, 'team/app');
    for (const tag of ['c', 'a', 'b', 'd']) expect((await putManifest(swrUrl, auth, 'team/app', tag, img.manifest)).status).toBe(201);
    const first = await fetch(`${swrUrl}/v2/team/app/tags/list?n=2`, { headers: { authorization: auth } });
    expect(await first.json()).toEqual({ name: 'team/app', tags: ['a', 'b'] });
    expect(first.headers.get('link')).toBe('</v2/team/app/tags/list?n=2&last=b>; rel="next"');
    const second = await fetch(`${swrUrl}/v2/team/app/tags/list?n=2&last=b`, { headers: { authorization: auth } });
    expect(await second.json()).toEqual({ name: 'team/app', tags: ['c', 'd'] });
    expect(second.headers.get('link')).toBeNull();
    expect(await (await fetch(`${swrUrl}/v2/team/app/tags/list`, { headers: { authorization: auth } })).json()).toEqual({ name: 'team/app', tags: ['a', 'b', 'c', 'd'] });
  });

  it('referrers: a manifest with a subject answers OCI-Subject and is listed (filterable by artifactType); DELETE removes it', async () => {
    const auth = await swrAuth();
    const subject = await image(swrUrl, auth, 'team/app');
    await putManifest(swrUrl, auth, 'team/app', 'v1', subject.manifest);
    const emptyConfig = Buffer.from('{}');
    const configDigest = await pushBlob(swrUrl, auth, 'team/app', emptyConfig);
    const sig = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: configDigest, size: 2 },
        layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: configDigest, size: 2 }],
        subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length },
        annotations: { 'org.example': 'yes' },
      }),
    );
    const put = await putManifest(swrUrl, auth, 'team/app', sha256(sig), sig);
    expect(put.status).toBe(201);
    expect(put.headers.get('oci-subject')).toBe(subject.digest);

    const list = await fetch(`${swrUrl}/v2/team/app/referrers/${subject.digest}`, { headers: { authorization: auth } });
    expect(list.status).toBe(200);
    expect(list.headers.get('content-type')).toBe(OCI_INDEX);
    expect(await list.json()).toEqual({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: sha256(sig), size: sig.length, artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json', annotations: { 'org.example': 'yes' } }],
    });
    const filtered = await fetch(`${swrUrl}/v2/team/app/referrers/${subject.digest}?artifactType=other`, { headers: { authorization: auth } });
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(((await filtered.json()) as { manifests: unknown[] }).manifests).toEqual([]);

    expect((await fetch(`${swrUrl}/v2/team/app/manifests/${sha256(sig)}`, { method: 'DELETE', headers: { authorization: auth } })).status).toBe(202);
    expect(((await (await fetch(`${swrUrl}/v2/team/app/referrers/${subject.digest}`, { headers: { authorization: auth } })).json()) as { manifests: unknown[] }).manifests).toEqual([]);
  });

  it('an index needs its child manifests first; reset empties the registry', async () => {
    const auth = await swrAuth();
    const child = await image(swrUrl, auth, 'team/app');
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.manifest.length, platform: { os: 'linux', architecture: 'amd64' } }],
      }),
    );
    const early = await putManifest(swrUrl, auth, 'team/app', 'multi', index, OCI_INDEX);
    expect(await errorCode(early)).toBe('MANIFEST_BLOB_UNKNOWN');
    expect((await putManifest(swrUrl, auth, 'team/app', child.digest, child.manifest)).status).toBe(201);
    expect((await putManifest(swrUrl, auth, 'team/app', 'multi', index, OCI_INDEX)).status).toBe(201);
    expect(cloud.services.huawei.imageDigest({ region: 'cn-north-4', namespace: 'team', repo: 'app', tag: 'multi' })).toBe(sha256(index));
    cloud.reset();
    const after = await swrAuth();
    expect((await fetch(`${swrUrl}/v2/team/app/manifests/multi`, { headers: { authorization: after } })).status).toBe(404);
  });
});

describe('admin', () => {
  it('GET /_local/registries lists the endpoints and SWR logins; POST …/acr/<id>/login issues temporary credentials', async () => {
    const view = (await (await fetch(`${cloud.url}/_local/registries`)).json()) as Record<string, Record<string, { url: string; logins?: { username: string; password: string }[] }>>;
    expect(view.acr![SRC]!.url).toBe(acrUrl);
    expect(view.swr!['cn-north-4']!.logins).toEqual([{ username: `cn-north-4@${HW.accessKey}`, password: swrLoginPassword(HW.accessKey, HW.secretKey) }]);
    const login = (await (await fetch(`${cloud.url}/_local/registries/acr/${SRC}/login`, { method: 'POST' })).json()) as { username: string; password: string };
    expect((await tokenFrom(acrUrl, basic(login.username, login.password), 'repository:team/app:pull')).status).toBe(200);
  });
});
