/**
 * A real OCI client against the local cloud's registries: skopeo copies an image from an OCI
 * layout into an ACR instance's registry (GetAuthorizationToken credentials) and into an SWR
 * region's registry (AK/SK login), between them, and out again; every copy keeps the digest.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcrClient } from '../shared/clients/acr.ts';
import { swrLoginPassword } from '../shared/providers/swr/registry-login.ts';
import { startLocalCloud, type LocalCloud } from '../local/cloud/server.ts';

const run = promisify(execFile);
const SRC = 'cri-localsrc001';
const HW = { accessKey: 'HWLOCALFERRYAK', secretKey: 'local-ferry-sk' };

let cloud: LocalCloud;
let work: string;

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** An OCI image layout with one image (two random gzip layers), tagged `tag`; returns its manifest digest. */
function ociLayout(dir: string, tag: string): string {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (data: Buffer) => {
    const digest = sha256(data);
    writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), data);
    return { digest, size: data.length };
  };
  const layers = [gzipSync(randomBytes(40_000)), gzipSync(randomBytes(3_000))].map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(l) }));
  const config = put(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) }, config: {} })));
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers }),
  );
  const m = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': tag } }] }),
  );
  return m.digest;
}

async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await run('skopeo', ['--insecure-policy', ...args], { timeout: 60_000, env: { ...process.env, HOME: work } });
  return stdout;
}

/** `docker://127.0.0.1:PORT/<name>` for a registry base URL. */
function ref(base: string, name: string): string {
  return `docker://${new URL(base).host}/${name}`;
}

async function rawDigest(base: string, name: string, creds: string): Promise<string> {
  const raw = await run('skopeo', ['--insecure-policy', 'inspect', '--raw', '--tls-verify=false', '--creds', creds, ref(base, name)], {
    timeout: 60_000,
    encoding: 'buffer',
    env: { ...process.env, HOME: work },
  });
  return sha256(raw.stdout);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ferry-skopeo-'));
  cloud = await startLocalCloud({ port: 0, registry: { ports: 'ephemeral', dataDir: join(work, 'registry') } });
});
afterAll(async () => {
  await cloud?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('skopeo against the local cloud registries', () => {
  it('copies an image into an ACR instance and an SWR region, between them, and out again with the same digest', { timeout: 120_000 }, async () => {
    const layout = join(work, 'in');
    const digest = ociLayout(layout, 'v1');
    const acr = cloud.registries.acr[SRC]!;
    const swr = cloud.registries.swr['cn-north-4']!;
    const t = await new AcrClient({
      regionId: 'cn-hangzhou',
      endpoint: cloud.url,
      credentials: () => ({ accessKeyId: 'LTAI5tLocalFerryKey', accessKeySecret: 'local-ferry-secret' }),
    }).getAuthorizationToken(SRC);
    const acrCreds = `${t.tempUsername}:${t.authorizationToken}`;
    const swrCreds = `cn-north-4@${HW.accessKey}:${swrLoginPassword(HW.accessKey, HW.secretKey)}`;

    await skopeo('copy', '--preserve-digests', '--dest-tls-verify=false', '--dest-creds', acrCreds, `oci:${layout}:v1`, ref(acr, 'team/app:v1'));
    expect(await rawDigest(acr, 'team/app:v1', acrCreds)).toBe(digest);
    expect(cloud.acr.tagsOf(SRC, 'team', 'app')).toEqual({ v1: digest });

    await skopeo('copy', '--preserve-digests', '--dest-tls-verify=false', '--dest-creds', swrCreds, `oci:${layout}:v1`, ref(swr, 'team/app:v1'));
    expect(await rawDigest(swr, 'team/app:v1', swrCreds)).toBe(digest);

    await skopeo(
      'copy',
      '--preserve-digests',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--src-creds',
      acrCreds,
      '--dest-creds',
      swrCreds,
      ref(acr, 'team/app:v1'),
      ref(swr, 'team/copied:v2'),
    );
    expect(await rawDigest(swr, 'team/copied:v2', swrCreds)).toBe(digest);
    expect(cloud.services.huawei.imageDigest({ region: 'cn-north-4', namespace: 'team', repo: 'copied', tag: 'v2' })).toBe(digest);

    const out = join(work, 'out');
    await skopeo('copy', '--preserve-digests', '--src-tls-verify=false', '--src-creds', swrCreds, ref(swr, 'team/copied:v2'), `oci:${out}:v2`);
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests.map((m) => m.digest)).toEqual([digest]);
    const tags = JSON.parse(await skopeo('list-tags', '--tls-verify=false', '--creds', acrCreds, ref(acr, 'team/app'))) as { Tags: string[] };
    expect(tags.Tags).toEqual(['v1']);
  });

  it('skopeo without credentials, or with wrong ones, is refused', { timeout: 60_000 }, async () => {
    const swr = cloud.registries.swr['cn-north-4']!;
    await expect(skopeo('inspect', '--raw', '--tls-verify=false', '--no-creds', ref(swr, 'team/app:v1'))).rejects.toThrow(/unauthorized|authentication required|401/i);
    await expect(skopeo('inspect', '--raw', '--tls-verify=false', '--creds', `cn-north-4@${HW.accessKey}:wrong`, ref(swr, 'team/app:v1'))).rejects.toThrow(/unauthorized|authentication required|401/i);
  });
});
