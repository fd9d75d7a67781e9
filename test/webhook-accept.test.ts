/**
 * Accept fast, submit as capacity allows (issue #19): the webhook takes a limiter slot only when one
 * is free now, hands the rest to the sweep (due at once, no grace) and wakes it; one push's creates
 * go out together, the source repository's id resolved once per instance. Real HTTP on loopback,
 * the real local cloud with injected latency, the real ledger.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { configureAccountLimiters, resetAccountLimiters } from '../shared/clients/transport.ts';
import { RepoIdCache } from '../shared/providers/acr/repo-ids.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { serveNode } from '../shared/runtime/node-http.ts';
import { releasesTo, startHarness, SRC, TEST_TOKENS, type Harness } from './chaos/harness.ts';

const RTT = 200;
let open: Harness[] = [];

afterEach(async () => {
  configureAccountLimiters({});
  resetAccountLimiters();
  await Promise.all(open.map((h) => h.close()));
  open = [];
});

async function harness(targets: string[]): Promise<Harness> {
  const h = await startHarness({ config: releasesTo(targets), extraInstances: targets.filter((t) => t.startsWith('cri-fan')) });
  open.push(h);
  return h;
}

const targetsOf = (n: number) => Array.from({ length: n }, (_, i) => (i === 0 ? 'cri-localdst001' : `cri-fan${String(i).padStart(3, '0')}`));
const fired = (h: Harness, op: string) => h.cloud.faults.list().find((r) => r.op === op)?.fired ?? 0;
const states = (r: { body: any }) => r.body.replications[0].targets.map((t: { state: string }) => t.state);

describe('fan-out: one round trip for the creates, one more for an unknown repository', () => {
  test('10 targets cost what 1 target costs, warm and cold: creates sent together, one GetRepository per repository', async () => {
    const measured: Record<string, { warm: number; cold: number }> = {};
    for (const n of [1, 10]) {
      const h = await harness(targetsOf(n));
      // Round trips are under test, not the rate: three pushes of 11 calls within a second outrun the
      // default 20 req/s on a fast machine and leave a create to the sweep. (The harness resets limiters.)
      configureAccountLimiters({ ratePerSecond: 10_000, burst: 10_000 });
      await h.push({ repo: 'warmup', tag: 'v0' }); // process warm (connections, JIT); 'app' still unknown
      h.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', latencyMs: RTT });
      h.cloud.faults.add({ op: 'acr:GetRepository', latencyMs: RTT });
      const cold = await h.push({ repo: 'app', tag: 'v1.0.0' });
      expect(states(cold)).toEqual(Array(n).fill('submitted'));
      expect(fired(h, 'acr:GetRepository')).toBe(1);
      const warm = await h.push({ repo: 'app', tag: 'v1.0.1' });
      expect(states(warm)).toEqual(Array(n).fill('submitted'));
      expect(fired(h, 'acr:GetRepository')).toBe(1);
      expect(fired(h, 'acr:CreateRepoSyncTask')).toBe(2 * n);
      // Sent together: the creates of one push reach the cloud within less than one round trip of
      // each other (waves of the limiter's old 8 in flight would be a round trip apart).
      for (const tag of ['v1.0.0', 'v1.0.1']) {
        const at = h.cloud.acr.createCalls.filter((c) => c.source.tag === tag).map((c) => c.at);
        expect(Math.max(...at) - Math.min(...at)).toBeLessThan(RTT * 0.75);
      }
      measured[n] = { warm: warm.ms / RTT, cold: cold.ms / RTT };
      console.log(`fan-out ${n} target(s): cold ${cold.ms.toFixed(0)} ms = ${(cold.ms / RTT).toFixed(2)} RT, warm ${warm.ms.toFixed(0)} ms = ${(warm.ms / RTT).toFixed(2)} RT`);
    }
    // Cold pays GetRepository then the creates; warm the creates alone.
    for (const n of [1, 10]) {
      expect(measured[n]!.cold).toBeGreaterThanOrEqual(2);
      expect(measured[n]!.warm).toBeGreaterThanOrEqual(1);
    }
  }, 120_000);

  test('a cached repository id the cloud no longer knows is forgotten: resolved again, the create made once', async () => {
    const h = await harness(['cri-localdst001']);
    h.deps.clouds.of('acr'); // connected: its cache made
    const cache = h.deps.clouds.options.instanceState!.of<RepoIdCache>('acr.repoIds', () => {
      throw new Error('the ACR connection made no repository id cache');
    });
    cache.remember(`${SRC}/team/app`, 'crr-gone0000000000');
    h.cloud.faults.add({ op: 'acr:GetRepository', latencyMs: 1 });
    const r = await h.push({ repo: 'app', tag: 'v3.0.0' });
    expect(states(r)).toEqual(['submitted']);
    expect(fired(h, 'acr:GetRepository')).toBe(1);
    expect(h.cloud.acr.createCallCount({ tag: 'v3.0.0' })).toBe(1);
  }, 60_000);
});

describe('the repository id cache', () => {
  test('bounded (least recently used first), entries expire, one load per key at a time, failures not kept', async () => {
    let now = 0;
    let loads = 0;
    const cache = new RepoIdCache({ maxEntries: 2, ttlMs: 1_000, now: () => now });
    const load = (id: string) => async () => {
      loads++;
      return id;
    };
    expect(await Promise.all([cache.get('a', load('A')), cache.get('a', load('A2'))])).toEqual(['A', 'A']);
    expect(loads).toBe(1);
    await cache.get('b', load('B'));
    await cache.get('a', load('x')); // a is now the most recent
    await cache.get('c', load('C')); // b goes
    expect(cache.size).toBe(2);
    expect(await cache.get('b', load('B2'))).toBe('B2');
    now += 1_001;
    expect(await cache.get('c', load('C2'))).toBe('C2');
    await expect(cache.get('d', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('d', load('D'))).toBe('D');
  });
});

describe('the answer never queues for the cloud', () => {
  test('targets beyond the limiter’s room now are left to the sweep, which submits them at once, each once', async () => {
    const targets = targetsOf(5);
    const h = await harness(targets);
    await h.push({ repo: 'app', tag: 'v4.0.0-warm' }); // the repository's id known: a create is the only call
    resetAccountLimiters();
    configureAccountLimiters({ maxConcurrent: 16, ratePerSecond: 0.01, burst: 2 });
    const r = await h.push({ repo: 'app', tag: 'v4.0.0' });
    expect(r.status).toBe(202);
    expect(r.ms).toBeLessThan(1000);
    const entries = r.body.replications[0].targets as { state: string; deferredToSweep?: boolean; taskId: string }[];
    expect(entries.filter((t) => t.state === 'submitted')).toHaveLength(2);
    expect(entries.filter((t) => t.deferredToSweep)).toHaveLength(3);
    expect(r.body.deferredToSweep).toBe(3);
    for (const t of entries.filter((e) => e.deferredToSweep)) {
      const row = (await h.ledger.getTask(t.taskId))!.task;
      // Nothing reached the cloud: no attempt counted, no submission in doubt (no lookup before the create).
      expect(row).toMatchObject({ state: 'pending', attempts: 0, submitStartedAt: null, leaseOwner: null });
    }
    expect(h.cloud.acr.createCallCount({ tag: 'v4.0.0' })).toBe(2);
    // The sweep takes them now, though the grace period (60 s) has not passed: no clock is moved.
    configureAccountLimiters({});
    resetAccountLimiters();
    await h.sweep();
    const rep = (await h.ledger.getReplication(r.body.replicationId))!;
    expect(rep.tasks.filter((t) => t.state === 'pending')).toEqual([]);
    for (const to of targets) expect(h.cloud.acr.createCallCount({ tag: 'v4.0.0', instanceId: to })).toBe(1);
  }, 60_000);

  test('a delivery that left work wakes the sweep before it answers; one that submitted everything does not', async () => {
    const h = await harness(['cri-localdst001']);
    let wakes = 0;
    // A slow wake: counted only once sent, so the answer must have waited for it (nothing runs after the answer).
    const app = createWebhookApp(h.deps, {
      wakeSweep: async () => {
        await new Promise((r) => setTimeout(r, 100));
        wakes++;
      },
    });
    const server = await serveNode(app, { port: 0, host: '127.0.0.1', context: { functionName: 'ferry-webhook' } });
    try {
      const post = async (tag: string) => {
        const payload = await h.acrPayload({ repo: 'app', tag });
        const res = await fetch(new URL(`/webhooks/acr?instance=${SRC}`, server.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_TOKENS.webhook}` },
          body: JSON.stringify(payload),
        });
        return (await res.json()) as { deferredToSweep: number };
      };
      expect((await post('v5.0.0')).deferredToSweep).toBe(0); // also makes the repository's id known
      expect(wakes).toBe(0);
      resetAccountLimiters();
      configureAccountLimiters({ maxConcurrent: 16, ratePerSecond: 0.01, burst: 1 });
      expect((await post('v5.0.1')).deferredToSweep).toBe(0);
      expect((await post('v5.0.2')).deferredToSweep).toBe(1);
      expect(wakes).toBe(1);
    } finally {
      await server.close();
    }
  }, 60_000);

  test('a process gone after the answer leaves nothing lost: a sweep of a fresh stack process submits the rest', async () => {
    const h = await harness(targetsOf(3));
    await h.push({ repo: 'app', tag: 'v6.0.0-warm' });
    resetAccountLimiters();
    configureAccountLimiters({ maxConcurrent: 16, ratePerSecond: 0.01, burst: 1 });
    const r = await h.push({ repo: 'app', tag: 'v6.0.0' });
    expect(r.body.deferredToSweep).toBe(2);
    configureAccountLimiters({});
    resetAccountLimiters();
    // Another instance (its own worker id, no shared memory but the ledger) runs the sweep.
    await runSweep({ ...h.deps, workerId: 'other-instance' });
    await runSweep({ ...h.deps, workerId: 'other-instance' });
    for (const to of targetsOf(3)) expect(h.cloud.acr.createCallCount({ tag: 'v6.0.0', instanceId: to })).toBe(1);
  }, 60_000);
});
