// The provider interface, proven with a provider that is not a cloud: registered with one line
// (below), a push → task → reconcile → cancel runs through the real webhook, ledger, sweep and API.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerProvider } from '../shared/providers/registry.ts';
import { createApiApp } from '../shared/api/app.ts';
import { serveNode, type NodeServer } from '../shared/runtime/node-http.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { fakeProvider, fakeService } from './fixtures/fake-provider/provider.ts';
import { fixture, startWebhook, type WebhookHarness } from './webhook-harness.ts';
import { TEST_TOKENS } from './helpers/stack.ts';

registerProvider(fakeProvider);

let h: WebhookHarness;
let api: NodeServer;

const push = (tag: string) => {
  const body = JSON.parse(fixture('acr-trigger.json'));
  body.push_data.tag = tag;
  body.push_data.digest = `sha256:${createHash('sha256').update(tag).digest('hex')}`;
  return h.post('acr', body);
};

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(api.url + path, {
    method,
    headers: { authorization: `Bearer ${TEST_TOKENS.admin}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('a provider registered by one line', () => {
  beforeAll(async () => {
    h = await startWebhook({
      config: (c) => ({
        ...c,
        rules: [{ name: 'to-bucket', source: 'acr-hangzhou', targets: [{ provider: 'fake', bucket: 'copies', name: 'mirror-{repo}' }] }],
      }),
    });
    api = await serveNode(createApiApp(h.stack.deps));
  });
  afterAll(async () => {
    await api?.close();
    await h?.close();
  });

  it('replicates a push through it: webhook → ledger → submit → sweep → succeeded', async () => {
    const r = await push('v1.0.0');
    expect(r.status).toBe(202);
    expect(r.body.created).toBe(1);
    const entry = r.body.replications[0].targets[0];
    expect(entry).toMatchObject({ rule: 'to-bucket', targetKey: 'fake:copies/mirror-app:v1.0.0', state: 'submitted', cloudRef: 'job-1' });
    expect(fakeService.jobs.get('job-1')).toMatchObject({ image: 'team/app:v1.0.0', bucket: 'copies', status: 'copying' });

    let sum = await runSweep(h.stack.deps);
    expect(sum.transitions['submitted→running']).toBe(1);
    fakeService.finish('job-1');
    sum = await runSweep(h.stack.deps);
    expect(sum.transitions['running→succeeded']).toBe(1);
    const task = (await call('GET', `/tasks/${entry.taskId}`)).body;
    expect(task.task).toMatchObject({ provider: 'fake', state: 'succeeded', cloudRef: 'job-1', scope: 'copies' });
    expect(fakeService.calls).toEqual(['submit', 'observe:1', 'observe:1']);
  });

  it('cancels by Ferry id and by the cloud reference, through the provider', async () => {
    const a = (await push('v2.0.0')).body.replications[0].targets[0];
    const byId = await call('POST', `/tasks/${a.taskId}/cancel`, { reason: 'test' });
    expect(byId.status).toBe(200);
    expect(byId.body).toMatchObject({ state: 'canceled', provider: 'fake', alreadyCanceled: false, cloudCall: true });
    expect(fakeService.jobs.get(a.cloudRef)!.status).toBe('canceled');

    const b = (await push('v3.0.0')).body.replications[0].targets[0];
    fakeService.finish(b.cloudRef);
    const byRef = await call('POST', '/cancel', { provider: 'fake', jobId: b.cloudRef });
    expect(byRef.status).toBe(409);
    expect(byRef.body.error).toMatchObject({ code: 'AlreadyFinished', state: 'succeeded' });

    const bad = await call('POST', '/cancel', { provider: 'fake', jobId: 'nope' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('body.jobId');
    expect(fakeService.calls.filter((c) => c.startsWith('cancel'))).toEqual(['cancel', 'cancel']);
  });

  it('its config is validated by its own schema, naming the field', async () => {
    const { parseConfig } = await import('../shared/config/index.ts');
    expect(() =>
      parseConfig({ sources: [{ kind: 'acr', name: 's', instanceId: 'cri-abcd1234', region: 'cn-hangzhou' }], rules: [{ name: 'r', source: 's', targets: [{ provider: 'fake' }] }] }, {}),
    ).toThrow(/rules\[0\]\.targets\[0\]\.bucket/);
    expect(() =>
      parseConfig({ sources: [{ kind: 'acr', name: 's', instanceId: 'cri-abcd1234', region: 'cn-hangzhou' }], rules: [{ name: 'r', source: 's', targets: [{ provider: 'nope' }] }] }, {}),
    ).toThrow(/rules\[0\]\.targets\[0\]\.provider: unknown provider "nope"/);
  });
});
