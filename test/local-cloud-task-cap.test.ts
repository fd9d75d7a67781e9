/**
 * The local cloud forgets finished tasks beyond seed.keepFinishedTasks per scope (task-cap.ts), so a
 * long-running `npm start` does not grow without bound; open tasks are never forgotten. ACR and ECS
 * through the real API over a socket (pop-core), SWR sync jobs on the state the API serves.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../local/cloud/server.ts';
import { SwrState } from '../local/cloud/swr-state.ts';
import { pruneFinished } from '../local/cloud/task-cap.ts';

const require = createRequire(import.meta.url);
const RPCClient = require('@alicloud/pop-core') as new (
  config: Record<string, unknown>,
) => {
  request(action: string, params?: Record<string, unknown>, opts?: Record<string, unknown>): Promise<Record<string, any>>;
};

const KEY = { accessKeyId: 'LTAI5tLocalFerryKey', accessKeySecret: 'local-ferry-secret' };
const SRC = 'cri-localsrc001';
const SRC2 = 'cri-localsrc002';
const DST = 'cri-localdst001';
const KEEP = 5;
/** Pruner slack: the list may hold this many more than open + KEEP per scope between prunes. */
const SLACK = 64;

let cloud: LocalCloud;
let acr: InstanceType<typeof RPCClient>;
let ecs: InstanceType<typeof RPCClient>;

beforeAll(async () => {
  cloud = await startLocalCloud({
    port: 0,
    random: 11,
    speed: 1e-6,
    seed: {
      keepFinishedTasks: KEEP,
      syncDurationMs: { min: 1000, max: 1000 },
      alibaba: {
        accounts: [{ accountId: '1000000000000001', ...KEY }],
        instances: [
          { instanceId: SRC, region: 'cn-hangzhou', namespaces: [{ name: 'team', repos: [{ name: 'app', tags: {} }] }] },
          { instanceId: SRC2, region: 'cn-hangzhou', namespaces: [{ name: 'team', repos: [{ name: 'app', tags: {} }] }] },
          { instanceId: DST, region: 'cn-shanghai', namespaces: [{ name: 'team', repos: [] }] },
        ],
        ecsRegions: ['cn-hangzhou', 'cn-shanghai'],
      },
    },
  });
  acr = new RPCClient({ ...KEY, endpoint: cloud.url, apiVersion: '2018-12-01' });
  ecs = new RPCClient({ ...KEY, endpoint: cloud.url, apiVersion: '2014-05-26' });
}, 30_000);

afterAll(async () => {
  await cloud?.close();
});

beforeEach(() => {
  cloud.reset();
});

async function call(client: InstanceType<typeof RPCClient>, action: string, params: Record<string, unknown>) {
  try {
    return { status: 200, body: await client.request(action, params, { method: 'POST' }) };
  } catch (err: any) {
    if (!err.data) throw err;
    return { status: err.entry.response.statusCode as number, body: err.data as Record<string, any> };
  }
}

async function createSync(instanceId: string, tag: string): Promise<string> {
  await cloud.acr.push({ instanceId, namespace: 'team', repo: 'app', tag });
  const repoId = cloud.acr.repoId(instanceId, 'team', 'app')!;
  const res = await call(acr, 'CreateRepoSyncTask', {
    InstanceId: instanceId,
    RegionId: 'cn-hangzhou',
    RepoId: repoId,
    Tag: tag,
    TargetInstanceId: DST,
    TargetRegionId: 'cn-shanghai',
    TargetNamespace: 'team',
    TargetRepoName: 'app',
    TargetTag: tag,
  });
  expect(res.status).toBe(200);
  return res.body.SyncTaskId as string;
}

async function listed(instanceId: string): Promise<number> {
  const res = await call(acr, 'ListRepoSyncTask', { InstanceId: instanceId, PageSize: 100 });
  expect(res.status).toBe(200);
  return Number(res.body.TotalCount);
}

describe('ACR sync tasks', () => {
  it('keeps every open task and the newest finished ones per source instance, however many are made', async () => {
    cloud.acr.addOutcome({ outcome: 'stuck', repo: 'app', count: 3 });
    const stuck: string[] = [];
    const finished: string[] = [];
    let most = 0;
    for (let i = 0; i < 300; i++) {
      const id = await createSync(SRC, `v${i}`);
      (i < 3 ? stuck : finished).push(id);
      cloud.clock.advance(2000);
      most = Math.max(most, await listed(SRC));
    }
    // A few creates in another instance: its own quota, untouched by SRC's pruning.
    const other = [await createSync(SRC2, 'w1'), await createSync(SRC2, 'w2')];
    cloud.clock.advance(2000);

    expect(most).toBeLessThanOrEqual(stuck.length + KEEP + SLACK);
    expect(await listed(SRC)).toBeLessThanOrEqual(stuck.length + KEEP + SLACK);
    for (const id of stuck) {
      const res = await call(acr, 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: id });
      expect(res.body.TaskStatus).toBe('SYNCHRONIZING');
    }
    for (const id of finished.slice(-KEEP)) expect((await call(acr, 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: id })).body.TaskStatus).toBe('SUCCESS');
    const oldest = await call(acr, 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: finished[0] });
    expect(oldest).toMatchObject({ status: 400, body: { Code: 'SYNC_TASK_NOT_EXIST' } });
    for (const id of other) expect((await call(acr, 'GetRepoSyncTask', { InstanceId: SRC2, SyncTaskId: id })).body.TaskStatus).toBe('SUCCESS');
    // The tags landed all the same (all but the stuck tasks'): pruning forgets task records, not their effects.
    expect(Object.keys(cloud.acr.tagsOf(DST, 'team', 'app'))).toHaveLength(300 - stuck.length + other.length);
    // The create-call log (a test record) is bounded too, keeping the newest calls.
    const calls = cloud.acr.createCalls;
    expect(calls.length).toBeGreaterThanOrEqual(10 * KEEP);
    expect(calls.length).toBeLessThanOrEqual(20 * KEEP);
    expect(calls.at(-1)!.syncTaskId).toBe(other[1]);
  }, 60_000);
});

describe('ECS tasks', () => {
  it('keeps running tasks and the newest finished ones per region', async () => {
    const stuck = [cloud.ecs.createTask({ regionId: 'cn-hangzhou', stuck: true }).taskId, cloud.ecs.createTask({ regionId: 'cn-hangzhou', stuck: true }).taskId];
    const done: string[] = [];
    for (let i = 0; i < 200; i++) {
      done.push(cloud.ecs.createTask({ regionId: 'cn-hangzhou', durationMs: 10 }).taskId);
      cloud.clock.advance(100);
    }
    const there = cloud.ecs.createTask({ regionId: 'cn-shanghai', durationMs: 10 }).taskId;
    cloud.clock.advance(100);

    const res = await call(ecs, 'DescribeTasks', { RegionId: 'cn-hangzhou', PageSize: 100 });
    expect(res.status).toBe(200);
    expect(Number(res.body.TotalCount)).toBeLessThanOrEqual(stuck.length + KEEP + SLACK);
    for (const id of stuck) expect((await call(ecs, 'DescribeTaskAttribute', { RegionId: 'cn-hangzhou', TaskId: id })).body.TaskStatus).toBe('Processing');
    expect((await call(ecs, 'DescribeTaskAttribute', { RegionId: 'cn-hangzhou', TaskId: done.at(-2) })).body.TaskStatus).toBe('Finished');
    expect(await call(ecs, 'DescribeTaskAttribute', { RegionId: 'cn-hangzhou', TaskId: done[0] })).toMatchObject({ status: 400, body: { Code: 'InvalidTaskId.NotFound' } });
    expect((await call(ecs, 'DescribeTaskAttribute', { RegionId: 'cn-shanghai', TaskId: there })).body.TaskStatus).toBe('Finished');
  }, 30_000);
});

describe('SWR sync jobs', () => {
  it('keeps unfinished jobs and the newest finished ones per region', () => {
    const swr = new SwrState(cloud.env);
    const ref = { region: 'cn-north-4', namespace: 'team', repo: 'app', tag: 'v1' };
    swr.planOutcome({ tag: 'stuck' }, 'stuck', 2);
    const now = () => cloud.clock.now();
    swr.startJob({ ...ref, tag: 'stuck' }, 'cn-south-1', 'team', false, now(), 'op', 'op');
    swr.startJob({ ...ref, tag: 'stuck' }, 'cn-south-1', 'team', false, now(), 'op', 'op');
    let most = 0;
    for (let i = 0; i < 300; i++) {
      swr.startJob({ ...ref, tag: `v${i}` }, 'cn-south-1', 'team', false, now(), 'op', 'op');
      cloud.clock.advance(2000);
      most = Math.max(most, swr.listJobs(ref.region, ref.namespace, ref.repo, now(), 'asc').length);
    }
    const jobs = swr.listJobs(ref.region, ref.namespace, ref.repo, now(), 'desc');
    expect(most).toBeLessThanOrEqual(2 + KEEP + SLACK);
    expect(jobs.filter((j) => j.tag === 'stuck')).toHaveLength(2);
    expect(jobs[0]!.tag).toBe('v299');
  });
});

describe('pruneFinished', () => {
  it('drops only finished items beyond the cap, oldest first, per scope, keeping order', () => {
    const items = [
      { id: 'a1', scope: 'a', at: 1 },
      { id: 'a-open', scope: 'a', at: undefined },
      { id: 'a3', scope: 'a', at: 3 },
      { id: 'b1', scope: 'b', at: 1 },
      { id: 'a2', scope: 'a', at: 2 },
    ];
    const kept = pruneFinished(items, { keep: 1, scopeOf: (i) => i.scope, finishedAt: (i) => i.at });
    expect(kept.map((i) => i.id)).toEqual(['a-open', 'a3', 'b1']);
    expect(pruneFinished(items, { keep: 3, scopeOf: (i) => i.scope, finishedAt: (i) => i.at })).toBe(items);
  });
});
