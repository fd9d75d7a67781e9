import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { configureAccountLimiters, resetAccountLimiters } from '../shared/clients/transport.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { fixture, startWebhook, type WebhookHarness } from './webhook-harness.ts';

/** One stack for the file (PGlite start-up is the slow part); each test uses its own tag. */
const SRC = { instanceId: 'cri-localsrc001', namespace: 'team', repo: 'app' };
const FANOUT = Array.from({ length: 10 }, (_, i) => `cri-fanout${String(i).padStart(2, '0')}`);
const acrBody = (tag: string) => {
  const b = JSON.parse(fixture('acr-trigger.json'));
  b.push_data.tag = tag;
  return b;
};
const createCalls = (tag: string, target?: string) => h.stack.cloud.acr.createCalls.filter((c: any) => c.target.tag === tag && (!target || c.target.instanceId === target)).length;

let h: WebhookHarness;
beforeAll(async () => {
  h = await startWebhook({
    cloud: {
      seed: {
        alibaba: {
          instances: [
            { instanceId: 'cri-localsrc001', region: 'cn-hangzhou', namespaces: [{ name: 'team', repos: [{ name: 'app', tags: {} }] }] },
            { instanceId: 'cri-localdst001', region: 'cn-shanghai', namespaces: [{ name: 'team' }] },
            { instanceId: 'cri-localdst002', region: 'cn-beijing', namespaces: [{ name: 'team' }] },
            ...FANOUT.map((instanceId) => ({ instanceId, region: 'cn-shanghai', namespaces: [{ name: 'team' }] })),
          ],
        },
      },
    },
  });
});
afterAll(() => h?.close());
beforeEach(() => h.stack.cloud.faults.clear());

describe('cloud errors, throttling and the submit budget', () => {
  test('one target refused with NoPrivilege, the other submitted; the error is on the task with the cloud code', async () => {
    await h.stack.cloud.acr.push({ ...SRC, tag: 'v1.0.0' });
    h.stack.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', scope: 'cri-localsrc001', count: 1, error: { status: 403, code: 'NoPrivilege', message: 'no privilege' } });
    const r = await h.post('acr', acrBody('v1.0.0'));
    expect(r.status).toBe(202);
    const targets = r.body.replications[0].targets;
    expect(targets.map((t: any) => t.state).sort()).toEqual(['failed', 'submitted']);
    const failed = targets.find((t: any) => t.state === 'failed');
    expect(failed.error.code).toBe('NoPrivilege');
    const task = await h.stack.ledger.getTask(failed.taskId);
    expect(task!.task).toMatchObject({ state: 'failed', lastError: { code: 'NoPrivilege' } });
    expect(createCalls('v1.0.0')).toBe(1);
  });

  test('throttling is retried within the budget', async () => {
    await h.stack.cloud.acr.push({ ...SRC, tag: 'v1.0.1' });
    const id = h.stack.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', count: 2, throttle: { waitMs: 100 } });
    const r = await h.post('acr', acrBody('v1.0.1'));
    expect(r.status).toBe(202);
    expect(r.body.replications[0].targets.map((t: any) => t.state)).toEqual(['submitted', 'submitted']);
    expect(h.stack.cloud.faults.list().find((f) => f.id === id)!.fired).toBe(2);
    expect(createCalls('v1.0.1')).toBe(2);
  });

  test('throttling that would outlast the budget leaves the task pending for the sweep, without waiting', async () => {
    await h.stack.cloud.acr.push({ ...SRC, tag: 'v1.0.3' });
    h.stack.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', count: 2, throttle: { waitMs: 10_000 } });
    const r = await h.post('acr', acrBody('v1.0.3'));
    expect(r.status).toBe(202);
    expect(r.ms).toBeLessThan(2000);
    expect(r.body.replications[0].targets.map((t: any) => t.state)).toEqual(['pending', 'pending']);
    expect(createCalls('v1.0.3')).toBe(0);
  });

  test('budget exceeded: 202 with pending, answered near the budget, nothing of ours runs afterwards', async () => {
    const app = await h.withConfig((c) => ({ ...c, webhook: { submitBudgetMs: 300 } }));
    await h.stack.cloud.acr.push({ ...SRC, tag: 'v1.0.2' });
    h.stack.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', latencyMs: 1000 });
    const r = await app.post('acr', acrBody('v1.0.2'));
    expect(r.status).toBe(202);
    expect(r.ms).toBeLessThan(900);
    const targets = r.body.replications[0].targets;
    expect(targets.map((t: any) => t.state)).toEqual(['pending', 'pending']);
    const snapshot = async () => (await h.stack.ledger.getReplication(r.body.replicationId))!.tasks.map((t) => ({ id: t.id, state: t.state, updatedAt: t.updatedAt, lease: t.leaseOwner }));
    const atAnswer = await snapshot();
    for (const t of atAnswer) expect(t).toMatchObject({ state: 'pending', lease: null });
    await new Promise((res) => setTimeout(res, 1300));
    // The cloud finishes the two calls it received (the sweep adopts them through the crash-window
    // lookup); no retry was sent, and no code of ours touched the ledger after the answer.
    expect(createCalls('v1.0.2')).toBe(2);
    expect(await snapshot()).toEqual(atAnswer);
    await app.close();
  });
});

describe('the budget is a hard ceiling on the answer', () => {
  test('a create started late is cut off at the deadline: answered on time, then adopted once by the sweep', async () => {
    const app = await h.withConfig((c) => ({ ...c, webhook: { submitBudgetMs: 1000 } }));
    await h.stack.cloud.acr.push({ ...SRC, tag: 'v1.0.4' });
    // The repository lookup eats most of the budget; the creates then start with 300 ms left.
    h.stack.cloud.faults.add({ op: 'acr:GetRepository', latencyMs: 700 });
    h.stack.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', latencyMs: 2500 });
    const r = await app.post('acr', acrBody('v1.0.4'));
    expect(r.status).toBe(202);
    expect(r.ms).toBeLessThan(1250);
    expect(r.body.replications[0].targets.map((t: any) => t.state)).toEqual(['pending', 'pending']);
    // The cloud applies the two creates it received; the sweep finds them instead of creating again.
    await new Promise((res) => setTimeout(res, 2600));
    expect(createCalls('v1.0.4')).toBe(2);
    h.stack.cloud.faults.clear();
    h.stack.cloud.clock.advance(120_000);
    await runSweep(h.stack.deps);
    expect(createCalls('v1.0.4')).toBe(2);
    const made = h.stack.cloud.acr.createCalls.filter((c: any) => c.target.tag === 'v1.0.4').map((c: any) => c.syncTaskId);
    const tasks = (await h.stack.ledger.getReplication(r.body.replicationId))!.tasks;
    expect(tasks.map((t) => t.cloudRef).sort()).toEqual(made.sort());
    await app.close();
  });
});

describe('the budget holds under load', () => {
  test('deliveries queued behind the account limiter still answer by the budget; the queued calls are never sent', async () => {
    resetAccountLimiters();
    configureAccountLimiters({ maxConcurrent: 2, ratePerSecond: 4, burst: 2 });
    try {
      const app = await h.withConfig((c) => ({ ...c, webhook: { submitBudgetMs: 800 } }));
      const tags = Array.from({ length: 6 }, (_, i) => `v3.0.${i}`);
      for (const tag of tags) await h.stack.cloud.acr.push({ ...SRC, tag });
      const answers = await Promise.all(tags.map((tag) => app.post('acr', acrBody(tag))));
      for (const a of answers) expect(a.status).toBe(202);
      expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(1100);
      const states = answers.flatMap((a) => a.body.replications[0].targets.map((t: any) => t.state));
      expect(states).toContain('pending');
      const sent = tags.reduce((n, tag) => n + createCalls(tag), 0);
      const submitted = states.filter((s) => s === 'submitted').length;
      // Every create the cloud received is one the webhook recorded or left in doubt, never more.
      await new Promise((res) => setTimeout(res, 1500));
      expect(tags.reduce((n, tag) => n + createCalls(tag), 0)).toBe(sent);
      expect(sent).toBeGreaterThanOrEqual(submitted);
      await app.close();
    } finally {
      configureAccountLimiters({});
      resetAccountLimiters();
    }
  });
});

describe('duplicate storm and fan-out', () => {
  test('50 concurrent identical deliveries create exactly one cloud task per target', async () => {
    await h.stack.cloud.acr.push({ ...SRC, tag: 'v2.0.0' });
    const body = acrBody('v2.0.0');
    const results = await Promise.all(Array.from({ length: 50 }, () => h.post('acr', body)));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(202));
    expect(results.reduce((n, r) => n + r.body.created, 0)).toBe(2);
    expect(results.reduce((n, r) => n + r.body.duplicates, 0)).toBe(98);
    expect(new Set(results.map((r) => r.body.replicationId)).size).toBe(1);
    expect(createCalls('v2.0.0', 'cri-localdst001')).toBe(1);
    expect(createCalls('v2.0.0', 'cri-localdst002')).toBe(1);
    const rep = await h.stack.ledger.getReplication(results[0]!.body.replicationId);
    expect(rep!.tasks.map((t) => t.state)).toEqual(['submitted', 'submitted']);
  });

  test('fan-out to 10 targets with 200 ms cloud latency answers well under 10 round trips', async () => {
    const app = await h.withConfig((c) => ({
      ...c,
      rules: [{ name: 'fan', source: 'acr-hangzhou', tags: { include: ['fan-*'] }, targets: FANOUT.map((instanceId) => ({ provider: 'acr', instanceId, region: 'cn-shanghai' })) }],
    }));
    // A repository this stack has not resolved yet, so GetRepository's latency counts too.
    await h.stack.cloud.acr.push({ ...SRC, repo: 'fanned', tag: 'fan-1' });
    h.stack.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', latencyMs: 200 });
    h.stack.cloud.faults.add({ op: 'acr:GetRepository', latencyMs: 200 });
    const body = acrBody('fan-1');
    body.repository.name = 'fanned';
    const r = await app.post('acr', body);
    expect(r.status).toBe(202);
    expect(r.body.replications[0].targets.map((t: any) => t.state)).toEqual(Array(10).fill('submitted'));
    const ratio = r.ms / 200;
    console.log(`webhook fan-out, 10 targets, 200 ms per cloud call: answered in ${Math.round(r.ms)} ms = ${ratio.toFixed(2)} × one round trip (one by one: ≥ 11)`);
    expect(r.ms).toBeLessThan(5 * 200);
    expect(createCalls('fan-1')).toBe(10);
    await app.close();
  });
});
