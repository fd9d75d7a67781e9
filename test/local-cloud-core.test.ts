/** The local cloud's core: virtual clock, fault rules, admin API, routing, standalone CLI. */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopback } from '../local/cloud/admin.ts';
import { createVirtualClock } from '../local/cloud/clock.ts';
import { FaultRegistry, globMatch } from '../local/cloud/faults.ts';
import { seededRandom, startLocalCloud, type LocalCloud } from '../local/cloud/server.ts';

const require = createRequire(import.meta.url);
const RPCClient = require('@alicloud/pop-core');
const KEY = { accessKeyId: 'LTAI5tLocalFerryKey', accessKeySecret: 'local-ferry-secret' };

describe('virtual clock', () => {
  it('runs `speed` times faster than a fake real clock, keeps time continuous across setSpeed, and advances', () => {
    let real = 1_000;
    const clock = createVirtualClock({ start: 50_000, speed: 10, realNow: () => real });
    real += 100;
    expect(clock.now()).toBe(51_000);
    clock.setSpeed(1);
    expect(clock.now()).toBe(51_000);
    real += 100;
    expect(clock.now()).toBe(51_100);
    clock.advance(3_600_000);
    expect(clock.now()).toBe(3_651_100);
    expect(() => clock.advance(-1)).toThrow(/non-negative/);
    expect(() => clock.setSpeed(0)).toThrow(/positive/);
  });

  it('sleep wakes when advance passes its deadline, and after real time at high speed', async () => {
    const clock = createVirtualClock({ speed: 1 });
    let woke = false;
    const sleeping = clock.sleep(3_600_000).then(() => (woke = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(woke).toBe(false);
    clock.advance(3_600_000);
    await sleeping;
    expect(woke).toBe(true);
    const fast = createVirtualClock({ speed: 1000 });
    const started = Date.now();
    await fast.sleep(20_000); // 20 s virtual = 20 ms real
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('fault registry', () => {
  it('matches by exact name or glob, scope and account; count limits how often a rule fires', () => {
    expect(globMatch('acr:*', 'acr:CreateRepoSyncTask')).toBe(true);
    expect(globMatch('acr:*', 'ecs:CancelTask')).toBe(false);
    expect(globMatch('*:Cancel*', 'ecs:CancelTask')).toBe(true);
    const faults = new FaultRegistry(seededRandom(1));
    faults.add({ op: 'acr:*', scope: 'cri-a', count: 2, serverError: 503 });
    faults.add({ op: 'acr:ListRepoSyncTask', latencyMs: 5 });
    const latencyOnly = faults.decide('acr:ListRepoSyncTask', 'cri-b', undefined);
    expect(latencyOnly.latencyMs).toBe(5);
    expect(latencyOnly.action).toBeUndefined();
    expect(faults.decide('acr:ListRepoSyncTask', 'cri-a', undefined)).toMatchObject({ latencyMs: 5, action: { kind: 'serverError', status: 503 } });
    expect(faults.decide('acr:GetRepoSyncTask', 'cri-a', undefined).action).toEqual({ kind: 'serverError', status: 503 });
    expect(faults.decide('acr:GetRepoSyncTask', 'cri-a', undefined).action).toBeUndefined();
    faults.add({ op: 'ecs:*', account: '42', drop: true });
    expect(faults.decide('ecs:CancelTask', undefined, '41').action).toBeUndefined();
    expect(faults.decide('ecs:CancelTask', undefined, '42').action).toEqual({ kind: 'drop' });
  });

  it('probability uses the seeded random source', () => {
    const faults = new FaultRegistry(seededRandom(123));
    faults.add({ op: '*', probability: 0.3, throttle: true });
    let fired = 0;
    for (let i = 0; i < 1000; i++) if (faults.decide('acr:X', undefined, undefined).action) fired++;
    expect(fired).toBeGreaterThan(240);
    expect(fired).toBeLessThan(360);
  });

  it('rejects rules without an effect or with two terminal effects, naming the problem', () => {
    const faults = new FaultRegistry(Math.random);
    expect(() => faults.add({ op: 'acr:*' })).toThrow(/needs an effect/);
    expect(() => faults.add({ op: 'acr:*', drop: true, malformed: true })).toThrow(/at most one/);
    expect(() => faults.add({ op: 'acr:*', drop: true, count: 0 })).toThrow(/count/);
    expect(() => faults.add({ op: '', drop: true })).toThrow(/op/);
  });
});

describe('server and admin API', () => {
  let cloud: LocalCloud;
  const lines: string[] = [];
  beforeAll(async () => {
    cloud = await startLocalCloud({ port: 0, random: 3, log: (l) => lines.push(l), alibaba: { timestampCheck: 'virtual' } });
  });
  afterAll(async () => {
    await cloud?.close();
  });

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${cloud.url}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('answers unknown routes with 404 JSON and logs one line per request', async () => {
    const res = await admin('GET', '/nothing/here');
    expect(res).toMatchObject({ status: 404, body: { error: 'NotFound' } });
    expect((await admin('GET', '/_local/nothing')).status).toBe(404);
    const client = new RPCClient({ ...KEY, endpoint: cloud.url, apiVersion: '2018-12-01' });
    await client.request('ListRepoSyncTask', { InstanceId: 'cri-localsrc001' }, { method: 'POST' });
    expect(lines.some((l) => /acr:ListRepoSyncTask \[cri-localsrc001\] 200 \d+ms/.test(l))).toBe(true);
  });

  it('routes Huawei and FC paths to their services, not to Alibaba', async () => {
    const swr = await fetch(`${cloud.url}/v2/manage/namespaces/team/repos/app/sync_images`, { method: 'POST', body: '{}' });
    expect(swr.status).not.toBe(404);
    await swr.body?.cancel();
    expect(cloud.services.huawei.name).toBe('huawei');
    expect(cloud.services.fc.name).toBe('fc');
  });

  it('state, faults, clock and reset', async () => {
    const added = await admin('POST', '/_local/faults', { op: 'ecs:*', count: 3, serverError: 500 });
    expect(added.body.id).toMatch(/^fault-/);
    expect((await admin('POST', '/_local/faults', { op: 'ecs:*', drop: true, throttle: true })).status).toBe(400);
    await cloud.acr.push({ instanceId: 'cri-localsrc001', namespace: 'team', repo: 'app', tag: 'v1' });
    const state = await admin('GET', '/_local/state');
    expect(state.body.faults).toHaveLength(1);
    expect(Object.keys(state.body.services).sort()).toEqual(['alibaba', 'fc', 'huawei']);
    expect(state.body.services.alibaba.acr.instances[0].namespaces[0].repos[0].tags).toHaveProperty('v1');

    const before = (await admin('GET', '/_local/clock')).body.now as number;
    const after = await admin('POST', '/_local/clock', { advanceMs: 3_600_000, speed: 2 });
    expect(after.body.now - before).toBeGreaterThanOrEqual(3_600_000);
    expect(after.body.speed).toBe(2);
    expect((await admin('POST', '/_local/clock', { speed: -1 })).status).toBe(400);

    expect((await admin('POST', '/_local/reset')).body).toEqual({ ok: true });
    const fresh = await admin('GET', '/_local/state');
    expect(fresh.body.faults).toEqual([]);
    expect(fresh.body.services.alibaba.acr.instances[0].namespaces[0].repos[0].tags).toEqual({});
    expect((await admin('DELETE', '/_local/faults')).body).toEqual({ ok: true });
  });

  it("with timestampCheck 'virtual', an SDK signing with the wall clock is rejected once virtual time moved on", async () => {
    cloud.clock.advance(3_600_000);
    const client = new RPCClient({ ...KEY, endpoint: cloud.url, apiVersion: '2018-12-01' });
    await expect(client.request('ListRepoSyncTask', { InstanceId: 'cri-localsrc001' }, { method: 'POST' })).rejects.toMatchObject({ code: 'InvalidTimeStamp.Expired' });
  });

  it('realism modes: listed, switched all at once or by name, unknown names refused', async () => {
    expect((await admin('GET', '/_local/realism')).body.modes).toEqual([]);
    const all = await admin('POST', '/_local/realism', { modes: 'all' });
    expect(all.body.modes).toContain('acr.foreign-tasks');
    expect(all.body.modes).toContain('swr.delete-missing-400');
    expect((await admin('POST', '/_local/realism', { modes: ['ecs.foreign-tasks'] })).body.modes).toEqual(['ecs.foreign-tasks']);
    const bad = await admin('POST', '/_local/realism', { modes: ['acr.nope'] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/unknown realism mode\(s\) acr\.nope/);
    expect((await admin('POST', '/_local/realism', { modes: [] })).body.modes).toEqual([]);
  });

  it('admin is for loopback callers only', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('10.0.0.5')).toBe(false);
    expect(isLoopback(undefined)).toBe(false);
  });
});

describe('standalone CLI', () => {
  it('starts on FERRY_CLOUD_PORT and says where it listens', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/cloud/cli.ts'], {
      env: { ...process.env, FERRY_CLOUD_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no "listening on" line: ${out}`)), 15_000);
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const res = await fetch(`${url}/_local/state`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).services).toHaveProperty('alibaba');
    } finally {
      child.kill('SIGTERM');
    }
  });
});
