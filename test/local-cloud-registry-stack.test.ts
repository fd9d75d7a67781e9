/**
 * `npm start`'s registries (local/stack with stand-in apps): the banner names every endpoint with a
 * copy-paste skopeo push for each cloud, content lands under <data dir>/registry, and a tag pushed
 * into the ACR source instance's registry fires its trigger at Ferry's webhook, as a real push does.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FerryApps, type LocalStack, startLocalStack } from '../local/stack/stack.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'ferry-registry-stack-'));
const webhooks: string[] = [];
const apps: FerryApps = {
  createWebhookApp: () => async (req) => {
    webhooks.push(await req.text());
    return Response.json({ accepted: true }, { status: 202 });
  },
  createApiApp: () => async () => Response.json({ ok: true }),
  runSweep: async () => ({ claimed: 0 }),
};

let stack: LocalStack;
let banner = '';
beforeAll(async () => {
  stack = await startLocalStack({
    env: { PORT: '0', FERRY_CLOUD_PORT: '0', FERRY_DATA_DIR: join(dir, 'data'), FERRY_SWEEP_INTERVAL: '10s' },
    apps,
    print: (t) => (banner += t),
  });
}, 20_000);
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A one-layer OCI layout tagged `latest`. */
function layout(path: string): void {
  mkdirSync(join(path, 'blobs', 'sha256'), { recursive: true });
  const put = (data: Buffer) => {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    writeFileSync(join(path, 'blobs', 'sha256', digest.slice(7)), data);
    return { digest, size: data.length };
  };
  const layer = put(randomBytes(1000));
  const config = put(Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'));
  const m = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
      }),
    ),
  );
  writeFileSync(join(path, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(path, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }),
  );
}

describe('npm start registries', () => {
  it('prints every registry endpoint and a push command per cloud', () => {
    for (const [id, url] of Object.entries(stack.cloud.registries.acr)) expect(banner).toMatch(new RegExp(`ACR ${id}\\s+${new URL(url).host}`));
    for (const [region, url] of Object.entries(stack.cloud.registries.swr)) expect(banner).toMatch(new RegExp(`SWR ${region}\\s+${new URL(url).host}`));
    expect(banner).toContain(`--dest-creds "$(curl -s -X POST '${stack.cloudUrl}/_local/registries/acr/cri-localsrc001/login?format=creds')"`);
    expect(banner).toContain('--dest-creds cn-north-4@HWLOCALFERRYAK:8b3d9379d99a05a796a1fcda86f8945c7360820dc88933b4dcb70786e9cccd85');
    expect(banner).toContain(`docker://${new URL(stack.cloud.registries.acr['cri-localsrc001']!).host}/team/app:v1.0.0`);
  });

  it('the printed ACR push works: content under <data dir>/registry, and the trigger reaches the webhook', { timeout: 60_000 }, async () => {
    layout(join(dir, 'image'));
    const creds = await (await fetch(`${stack.cloudUrl}/_local/registries/acr/cri-localsrc001/login?format=creds`, { method: 'POST' })).text();
    const host = new URL(stack.cloud.registries.acr['cri-localsrc001']!).host;
    await run('skopeo', ['copy', '--insecure-policy', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${join(dir, 'image')}:latest`, `docker://${host}/team/app:v1.0.0`], {
      timeout: 60_000,
      env: { ...process.env, HOME: dir },
    });
    // skopeo may re-serialize the manifest (no --preserve-digests): the digest is whatever the registry got.
    const digest = stack.cloud.acr.tagsOf('cri-localsrc001', 'team', 'app')['v1.0.0']!;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(existsSync(join(dir, 'data', 'registry', 'acr', 'cri-localsrc001', 'blobs', 'sha256', digest.slice(7)))).toBe(true);
    await expect.poll(() => webhooks.length).toBe(1);
    expect(JSON.parse(webhooks[0]!)).toMatchObject({ push_data: { tag: 'v1.0.0', digest }, repository: { namespace: 'team', name: 'app' } });
  });
});
