// ACR → SWR, which no cloud sync does: an ACR trigger reaches Ferry, and the copy provider moves the
// image between the local cloud's registries, logging in with GetAuthorizationToken at ACR and the
// AK/SK-derived login at SWR.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcrClient } from '../shared/clients/acr.ts';
import { parseConfig } from '../shared/config/index.ts';
import { copyImage, resolveDigest } from '../shared/copy/index.ts';
import { acrRegistryLogin } from '../shared/providers/acr/registry-login.ts';
import { swrRegistryLogin } from '../shared/providers/swr/registry-login.ts';
import { makeDeps } from '../shared/replicate/deps.ts';
import { createLogger } from '../shared/log.ts';
import { serveNode, type NodeServer } from '../shared/runtime/node-http.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { pushNewImage, type Registry, startRegistry } from './helpers/registry/index.ts';
import { baseConfig, startTestStack, TEST_ENV, TEST_TOKENS, type TestStack } from './helpers/stack.ts';
import { fixture } from './webhook-harness.ts';

const HW = { HUAWEI_AK: 'HWLOCALFERRYAK', HUAWEI_SK: 'local-ferry-sk' };
let stack: TestStack;
let staging: Registry;
let webhook: NodeServer;
let acrUrl: string;
let swrUrl: string;

beforeAll(async () => {
  staging = await startRegistry();
  stack = await startTestStack({ cloud: { speed: 1, registry: { ports: 'ephemeral' } } });
  acrUrl = stack.cloud.registries.acr['cri-localsrc001']!;
  swrUrl = stack.cloud.registries.swr['cn-north-4']!;
}, 60_000);

afterAll(async () => {
  await webhook?.close();
  await staging?.stop();
  await stack?.close();
});

describe('copy provider on the local cloud', () => {
  it('an ACR push is copied to SWR by Ferry itself', async () => {
    // The image at the ACR instance's registry, put there with ACR's own temporary login.
    await pushNewImage(`${staging.host}/team/app:v1.2.3`, { layers: [1200, 3400] });
    const acr = new AcrClient({
      regionId: 'cn-hangzhou',
      endpoint: stack.cloud.url,
      credentials: () => ({ accessKeyId: TEST_ENV.ALIBABA_CLOUD_ACCESS_KEY_ID!, accessKeySecret: TEST_ENV.ALIBABA_CLOUD_ACCESS_KEY_SECRET! }),
    });
    const atAcr = { url: acrUrl, name: 'acr', login: acrRegistryLogin(acr, 'cri-localsrc001') };
    const seeded = await copyImage(
      { registry: { url: staging.url, name: 'staging', login: async () => null }, repository: 'team/app', tag: 'v1.2.3' },
      { registry: atAcr, repository: 'team/app', tag: 'v1.2.3' },
    );
    if (seeded.status !== 'done') throw new Error('seeding failed');

    const raw = baseConfig(stack.cloud.url);
    const config = parseConfig(
      {
        ...raw,
        sources: [
          { kind: 'acr', name: 'acr-hangzhou', instanceId: 'cri-localsrc001', region: 'cn-hangzhou', registry: acrUrl },
          { kind: 'swr', name: 'swr-beijing', region: 'cn-north-4', namespaces: ['team'], registry: swrUrl },
        ],
        rules: [{ name: 'acr-to-swr', source: 'acr-hangzhou', targets: [{ provider: 'copy', registry: 'swr-beijing' }] }],
        clouds: { ...(raw.clouds as object), huawei: { accessKey: '${HUAWEI_AK}', secretKey: '${HUAWEI_SK}', endpoints: { swr: stack.cloud.url, iam: stack.cloud.url } } },
      },
      { ...stack.env, ...HW },
    );
    const deps = makeDeps({ config, ledger: stack.ledger, clock: stack.clock, log: createLogger({ test: true }, 'error'), env: { ...stack.env, ...HW }, workerId: 'local-cloud-copy' });
    webhook = await serveNode(createWebhookApp(deps));

    const body = JSON.parse(fixture('acr-trigger.json'));
    body.push_data.digest = seeded.sourceDigest;
    const res = await fetch(`${webhook.url}/webhooks/acr`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKENS.webhook}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(202);
    const entry = ((await res.json()) as any).replications[0].targets[0];
    expect(entry).toMatchObject({ targetKey: 'copy:swr-beijing:team/app:v1.2.3', state: 'submitted' });

    const sum = await runSweep(deps, { budgetMs: 15_000 });
    expect(sum.transitions['submitted→succeeded']).toBe(1);
    const atSwr = { url: swrUrl, name: 'swr', login: swrRegistryLogin('cn-north-4', HW.HUAWEI_AK, HW.HUAWEI_SK) };
    expect(await resolveDigest({ registry: atSwr, repository: 'team/app', tag: 'v1.2.3' })).toBe(seeded.sourceDigest);
    const events = (await stack.ledger.getTask(entry.taskId))!.events;
    expect(events.at(-1)!.details).toMatchObject({ sourceDigest: seeded.sourceDigest, targetDigest: seeded.sourceDigest });
  }, 60_000);
});
