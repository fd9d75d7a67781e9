/**
 * What README's quick start promises of `npm start`, on the real apps: a sample image pushed to the
 * plain registry `lan` notifies Ferry's webhook and is copied into ACR cri-localdst001 by Ferry itself;
 * one pushed to ACR cri-localsrc001 team/web fires its trigger and is copied to SWR cn-north-4. The
 * digests at the destinations are read back over the OCI API with each cloud's own login.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AcrClient } from '../shared/clients/acr.ts';
import { resolveDigest } from '../shared/copy/index.ts';
import { acrRegistryLogin } from '../shared/providers/acr/registry-login.ts';
import { swrRegistryLogin } from '../shared/providers/swr/registry-login.ts';
import { type LocalStack, startLocalStack } from '../local/stack/stack.ts';
import { readEnvFile } from '../local/stack/env.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-copy-demo-'));
const local = readEnvFile(join(import.meta.dirname, '..', 'examples', 'local.env'));
let stack: LocalStack;
let banner = '';

beforeAll(async () => {
  stack = await startLocalStack({
    env: { PORT: '0', FERRY_CLOUD_PORT: '0', FERRY_DATA_DIR: join(dir, 'data'), FERRY_SWEEP_INTERVAL: '200ms', FERRY_LOG_LEVEL: 'warn' },
    print: (t) => (banner += t),
  });
}, 60_000);

afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function pushSample(kind: string, key: string, repository: string, tag: string): Promise<{ digest: string }> {
  const res = await fetch(`${stack.cloudUrl}/_local/registries/${kind}/${key}/images`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ repository, tag }) });
  expect(res.status).toBe(200);
  return (await res.json()) as { digest: string };
}

async function tasks(): Promise<Array<{ state: string; provider: string; target: { to: { registry?: string } } }>> {
  const res = await fetch(`${stack.apiUrl}/tasks?limit=50`, { headers: { authorization: `Bearer ${local.FERRY_API_TOKEN}` } });
  return ((await res.json()) as { items: never[] }).items;
}

it('the banner shows both copy demos', () => {
  expect(banner).toContain(`${stack.cloudUrl}/_local/registries/generic/lan/images`);
  expect(banner).toContain(`${stack.cloudUrl}/_local/registries/acr/cri-localsrc001/images`);
  expect(banner).toMatch(/registry lan\s+127\.0\.0\.1:\d+\s+\(plain, user dev/);
});

it('a push to the plain registry is copied into ACR, and an ACR push into SWR', async () => {
  const lan = await pushSample('generic', 'lan', 'tools/cli', 'v1.0.0');
  const web = await pushSample('acr', 'cri-localsrc001', 'team/web', 'v1.0.0');
  await expect.poll(async () => (await tasks()).filter((t) => t.provider === 'copy' && t.state === 'succeeded').length, { timeout: 30_000, interval: 250 }).toBe(2);

  const acr = new AcrClient({
    regionId: 'cn-shanghai',
    endpoint: stack.cloudUrl,
    credentials: () => ({ accessKeyId: local.ALIBABA_CLOUD_ACCESS_KEY_ID!, accessKeySecret: local.ALIBABA_CLOUD_ACCESS_KEY_SECRET! }),
  });
  const shanghai = { url: stack.cloud.registries.acr['cri-localdst001']!, name: 'acr-shanghai', login: acrRegistryLogin(acr, 'cri-localdst001') };
  expect(await resolveDigest({ registry: shanghai, repository: 'team/cli', tag: 'v1.0.0' })).toBe(lan.digest);
  const beijing = { url: stack.cloud.registries.swr['cn-north-4']!, name: 'swr-beijing', login: swrRegistryLogin('cn-north-4', local.HUAWEICLOUD_SDK_AK!, local.HUAWEICLOUD_SDK_SK!) };
  expect(await resolveDigest({ registry: beijing, repository: 'team/web', tag: 'v1.0.0' })).toBe(web.digest);
}, 60_000);
