import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { serveNode, type NodeServer } from '../shared/runtime/node-http.ts';
import { main } from '../shared/cli/main.ts';
import { startApiStack, type ApiStack } from './api-helpers.ts';
import { TEST_TOKENS } from './helpers/stack.ts';

/**
 * `ferry triggers` against the local cloud: rule `releases` matches `team/**` of cri-localsrc001, so
 * team/app, team/web and team/tools/cli need a trigger; other/x does not. The webhook is served for real
 * and is the public URL, so a push at the cloud after `--apply` reaches Ferry through the new trigger.
 */
const INSTANCE = 'cri-localsrc001';
let s: ApiStack;
let webhook: NodeServer;

const triggersAt = async (ns: string, repo: string) => {
  const repoId = s.cloud.acr.repoId(INSTANCE, ns, repo)!;
  return (await s.clients.acr.region('cn-hangzhou').listRepoTrigger({ instanceId: INSTANCE, repoId })).triggers;
};

beforeAll(async () => {
  s = await startApiStack({
    config: (c) => ({ ...c, webhook: { ...(c.webhook as object), publicUrl: 'http://127.0.0.1:9/' } }),
    cloud: {
      seed: {
        alibaba: {
          instances: [
            {
              instanceId: INSTANCE,
              region: 'cn-hangzhou',
              namespaces: [
                {
                  name: 'team',
                  repos: [
                    { name: 'app', tags: {} },
                    { name: 'web', tags: {} },
                    { name: 'tools/cli', tags: {} },
                  ],
                },
                { name: 'other', repos: [{ name: 'x', tags: {} }] },
              ],
            },
            { instanceId: 'cri-localdst001', region: 'cn-shanghai', namespaces: [{ name: 'team' }] },
            { instanceId: 'cri-localdst002', region: 'cn-beijing', namespaces: [{ name: 'team' }] },
          ],
        },
      },
    },
  });
  webhook = await serveNode(createWebhookApp(s.deps));
  // The public URL is the webhook's address, known only once it listens.
  (s.deps.config.webhook as { publicUrl?: string }).publicUrl = webhook.url;
});
afterAll(async () => {
  await webhook?.close();
  await s?.close();
});

describe('ferry triggers', () => {
  test('lists the matched repositories without a trigger, creates them once, and never shows the token', async () => {
    // A trigger calling this Ferry with an old token: reported, not duplicated.
    const webId = s.cloud.acr.repoId(INSTANCE, 'team', 'web')!;
    const old = new URL('/webhooks/acr', webhook.url);
    old.searchParams.set('token', 'an-old-rotated-token-000');
    old.searchParams.set('instance', INSTANCE);
    await s.clients.acr.region('cn-hangzhou').createRepoTrigger({ instanceId: INSTANCE, repoId: webId, triggerName: 'old', triggerUrl: old.toString(), triggerType: 'ALL' });

    const listed = await s.call('GET', '/triggers');
    expect(listed.status).toBe(200);
    const repos = listed.body.sources[0].repositories.map((r: any) => `${r.namespace}/${r.repository}:${r.state}`).sort();
    expect(repos).toEqual(['team/app:missing', 'team/tools/cli:missing', 'team/web:token_differs']);
    expect(JSON.stringify(listed.body)).not.toContain(TEST_TOKENS.webhook);
    expect(JSON.stringify(listed.body)).not.toContain('an-old-rotated-token-000');
    expect(await triggersAt('team', 'app')).toHaveLength(0);

    const applied = await s.call('POST', '/triggers/apply');
    expect(applied.status).toBe(200);
    expect(applied.body.counts).toMatchObject({ created: 2, token_differs: 1, missing: 0, failed: 0 });
    expect(JSON.stringify(applied.body)).not.toContain(TEST_TOKENS.webhook);
    expect(await triggersAt('team', 'app')).toHaveLength(1);
    expect(await triggersAt('team', 'tools/cli')).toHaveLength(1);
    expect(await triggersAt('team', 'web')).toHaveLength(1);
    expect(await triggersAt('other', 'x')).toHaveLength(0);
    const [made] = await triggersAt('team', 'app');
    expect(made).toMatchObject({ triggerName: 'ferry', triggerType: 'ALL' });
    expect(new URL(made!.triggerUrl!).searchParams.get('token')).toBe(TEST_TOKENS.webhook);
    expect(new URL(made!.triggerUrl!).searchParams.get('instance')).toBe(INSTANCE);

    const again = await s.call('POST', '/triggers/apply');
    expect(again.body.counts).toMatchObject({ created: 0, present: 2, token_differs: 1 });
    expect(await triggersAt('team', 'app')).toHaveLength(1);

    // The created trigger delivers a push to Ferry's real webhook, which records the replication.
    const pushed = await s.cloud.acr.push({ instanceId: INSTANCE, namespace: 'team', repo: 'app', tag: 'v9.0.0' });
    expect(pushed.deliveries).toEqual([expect.objectContaining({ status: 202 })]);
    const tasks = await s.ledger.listTasks({ repository: 'app', limit: 10 });
    expect(tasks.items.filter((t) => t.targetKey.endsWith(':v9.0.0'))).toHaveLength(2);
  });

  test('the CLI prints the table without the token and exits 0 once nothing is missing', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    const code = await main(['triggers', '--url', s.api.url], { env: { FERRY_API_TOKEN: TEST_TOKENS.admin }, io });
    expect(code).toBe(0);
    expect(out.join('\n')).toContain('team/tools/cli');
    expect(out.join('\n')).toContain('token_differs');
    expect(out.join('\n')).not.toContain(TEST_TOKENS.webhook);
  });

  test('a read-only token may list but not apply', async () => {
    expect((await s.call('GET', '/triggers', { token: TEST_TOKENS.read })).status).toBe(200);
    const r = await s.call('POST', '/triggers/apply', { token: TEST_TOKENS.read });
    expect(r.status).toBe(403);
  });

  test('without webhook.publicUrl: 422 naming the config field', async () => {
    const cfg = s.deps.config.webhook as { publicUrl?: string };
    const saved = cfg.publicUrl;
    cfg.publicUrl = undefined;
    try {
      const r = await s.call('GET', '/triggers');
      expect(r.status).toBe(422);
      expect(r.body.error).toMatchObject({ code: 'NotConfigured', field: 'webhook.publicUrl' });
    } finally {
      cfg.publicUrl = saved;
    }
  });
});
