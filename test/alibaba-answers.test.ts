/**
 * Ferry's reading of the answers the real Alibaba APIs also give, over real HTTP to the local cloud
 * with its realism modes: listings with other callers' tasks and statuses Ferry does not know,
 * throttling that says its wait in `x-acs-retry-after` only, error bodies in lowercase JSON or XML,
 * ACR cancel errors decided by re-reading the task, ECS tasks that cannot be cancelled.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AcrClient } from '../shared/clients/acr.ts';
import { staticCredentials } from '../shared/clients/credentials.ts';
import { EcsClient } from '../shared/clients/ecs.ts';
import { type CloudError, CloudNotFoundError, CloudPermissionError, CloudTransientError } from '../shared/clients/errors.ts';
import { AccountLimiter } from '../shared/clients/transport.ts';
import type { Clock } from '../shared/clock.ts';
import { createLogger } from '../shared/log.ts';
import { acrProvider } from '../shared/providers/acr/provider.ts';
import type { ConnectOptions } from '../shared/providers/types.ts';
import { startLocalCloud, type LocalCloud } from '../local/cloud/server.ts';
import { ALI_KEY } from './helpers/fidelity-drivers.ts';
import { startApiStack, type ApiStack } from './api-helpers.ts';

const SRC = 'cri-localsrc001'; // cn-hangzhou
const DST = 'cri-localdst001'; // cn-shanghai
const SYNC_MS = 600_000;

let cloud: LocalCloud;
/** What Ferry's clients waited between attempts; each wait moves the cloud's virtual clock on. */
let sleeps: number[];
const clock: Clock = {
  now: () => cloud.clock.now(),
  sleep: async (ms) => {
    sleeps.push(ms);
    cloud.clock.advance(ms);
  },
};
const clientOptions = () => ({
  regionId: 'cn-hangzhou',
  endpoint: cloud.url,
  credentials: staticCredentials(ALI_KEY),
  clock,
  limiter: new AccountLimiter({ maxConcurrent: 8, ratePerSecond: 10_000, burst: 10_000 }),
  // No jitter: without a server wait, a retry waits nothing.
  retry: { random: () => 0 },
});

beforeAll(async () => {
  cloud = await startLocalCloud({ port: 0, random: 3, seed: { syncDurationMs: { min: SYNC_MS, max: SYNC_MS } } });
});
afterAll(() => cloud?.close());
beforeEach(() => {
  cloud.reset();
  cloud.env.realism.set([]);
  sleeps = [];
});

async function failure(p: Promise<unknown>): Promise<CloudError> {
  return p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as CloudError,
  );
}

async function createdTask(acr: AcrClient, tag = 'v1'): Promise<string> {
  const { repoId } = await cloud.acr.push({ instanceId: SRC, namespace: 'team', repo: 'app', tag });
  const input = { instanceId: SRC, repoId, tag, targetInstanceId: DST, targetNamespace: 'team', targetRegionId: 'cn-shanghai', targetRepoName: 'app', targetTag: tag };
  return (await acr.createRepoSyncTask(input)).syncTaskId;
}

describe('a list never fails because of one item', () => {
  it("ListRepoSyncTask with sync rules' tasks: readable items kept (statuses as said), an item without SyncTaskId left out but counted", async () => {
    cloud.env.realism.set(['acr.foreign-tasks']);
    const acr = new AcrClient(clientOptions());
    const own = await createdTask(acr);
    const page = await acr.listRepoSyncTask({ instanceId: SRC, pageSize: 100 });
    expect(page.listed).toBe(6);
    expect(page.totalCount).toBe(6);
    expect(page.items).toHaveLength(5);
    expect(page.items.find((t) => t.syncTaskId === own)).toMatchObject({ taskStatus: 'PENDING', taskTrigger: 'INITIATIVE', imageTo: { instanceId: DST, imageTag: 'v1' } });
    expect(page.items.map((t) => t.taskStatus)).toEqual(expect.arrayContaining(['SUCCESS', 'RETRYING', 'SYNCHRONIZING', undefined]));
    expect(page.items.filter((t) => t.taskTrigger === 'PASSIVE')).toHaveLength(3);
    // Filtered to Ferry's repository, the listing has Ferry's task only.
    expect((await acr.listRepoSyncTask({ instanceId: SRC, repoNamespaceName: 'team', repoName: 'app' })).items.map((t) => t.syncTaskId)).toEqual([own]);
  });

  it('DescribeTasks with tasks missing their optional fields and an item without TaskId', async () => {
    cloud.env.realism.set(['ecs.foreign-tasks']);
    const ecs = new EcsClient(clientOptions());
    const mine = cloud.ecs.createTask({ regionId: 'cn-hangzhou', durationMs: SYNC_MS });
    const page = await ecs.describeTasks({ taskAction: 'ImportImage', taskStatus: 'Processing', pageSize: 100 });
    expect(page.listed).toBe(4);
    expect(page.tasks).toHaveLength(3);
    expect(page.tasks.find((t) => t.taskId === mine.taskId)).toMatchObject({ taskAction: 'ImportImage', taskStatus: 'Processing', supportCancel: true });
    expect(page.tasks.filter((t) => t.taskAction === undefined)).toEqual([{ taskId: expect.stringMatching(/^t-/), taskStatus: 'Processing' }]);
  });
});

describe('throttling and error bodies of other gateways (realism acr.error-bodies)', () => {
  it('a throttle that says its wait in x-acs-retry-after (ms) only is waited out', async () => {
    const acr = new AcrClient(clientOptions());
    const id = await createdTask(acr);
    cloud.env.realism.set(['acr.error-bodies']);
    cloud.faults.add({ op: 'acr:GetRepoSyncTask', count: 1, throttle: { waitMs: 5_000 } });
    expect(await acr.getRepoSyncTask({ instanceId: SRC, syncTaskId: id })).toMatchObject({ syncTaskId: id });
    expect(sleeps).toEqual([5_000]);
  });

  it("lowercase JSON, XML and the usual JSON all give the cloud's code, message and request id", async () => {
    cloud.env.realism.set(['acr.error-bodies']);
    const acr = new AcrClient(clientOptions());
    for (let i = 0; i < 3; i++) {
      const e = await failure(acr.cancelRepoSyncTask({ instanceId: SRC, syncTaskId: 'rst-doesnotexist01' }));
      expect(e).toBeInstanceOf(CloudNotFoundError);
      expect(e).toMatchObject({ code: 'SYNC_TASK_NOT_EXIST', status: 400, requestId: expect.stringMatching(/^[0-9A-F-]{36}$/) });
      expect(e.message).toContain('Sync task is not exist.');
    }
    cloud.faults.add({ op: 'acr:ListRepoSyncTask', count: 3, error: { status: 403, code: 'NoPrivilege' } });
    for (let i = 0; i < 3; i++) expect(await failure(acr.listRepoSyncTask({ instanceId: SRC }))).toBeInstanceOf(CloudPermissionError);
    cloud.faults.add({ op: 'acr:ListRepoSyncTask', count: 4, error: { status: 500, code: 'SystemError' } });
    const e = await failure(acr.listRepoSyncTask({ instanceId: SRC }));
    expect(e).toBeInstanceOf(CloudTransientError);
    expect(e.code).toBe('SystemError');
  });
});

describe('ACR cancel: after a refused CancelRepoSyncTask the task is read again, and its status decides', () => {
  const ctx = { clock, log: createLogger({ test: true }, 'error') };
  /** The provider's clients, whose retry waits move the cloud's clock on by a whole sync each. */
  function provider() {
    const slowClock: Clock = { now: () => cloud.clock.now(), sleep: async () => cloud.clock.advance(SYNC_MS) };
    const config = { clouds: { alibaba: { ...ALI_KEY, endpoint: cloud.url } } } as unknown as ConnectOptions['config'];
    return acrProvider.connect({ config, clock: slowClock, env: {} });
  }

  it('SystemError 500 on the cancel of a task that finished meanwhile → finished, with its status', async () => {
    const syncTaskId = await createdTask(new AcrClient(clientOptions()));
    cloud.faults.add({ op: 'acr:CancelRepoSyncTask', error: { status: 500, code: 'SystemError' } });
    const r = await provider().cancelReference!({ region: 'cn-hangzhou', instanceId: SRC, syncTaskId }, ctx);
    expect(r).toMatchObject({ outcome: 'finished', cloudStatus: 'SUCCESS', state: 'succeeded', error: { code: 'SystemError', status: 500 } });
    expect(cloud.acr.task(syncTaskId)?.status).toBe('SUCCESS');
  });

  it('SystemError 500 on the cancel of a task still running → a failure, not "finished"', async () => {
    cloud.acr.addOutcome({ tag: 'v2', outcome: 'stuck' });
    const syncTaskId = await createdTask(new AcrClient(clientOptions()), 'v2');
    cloud.faults.add({ op: 'acr:CancelRepoSyncTask', error: { status: 500, code: 'SystemError' } });
    const r = await provider().cancelReference!({ region: 'cn-hangzhou', instanceId: SRC, syncTaskId }, ctx);
    expect(r).toMatchObject({ outcome: 'failed', error: { code: 'SystemError', status: 500 } });
    expect(cloud.acr.task(syncTaskId)?.status).toBe('SYNCHRONIZING');
  });
});

describe('ECS: SupportCancel and IncorrectTaskStatus', () => {
  let s: ApiStack;
  let lines: string[];
  beforeAll(async () => {
    lines = [];
    s = await startApiStack({ cloud: { log: (line) => lines.push(line) } });
  });
  afterAll(() => s?.close());
  afterEach(() => {
    s.cloud.faults.clear();
    lines.length = 0;
  });
  const cancelRef = (taskId: string) => s.call('POST', '/cancel', { body: { provider: 'ecs', regionId: 'cn-hangzhou', taskId } });
  const calls = (op: string) => lines.filter((l) => l.startsWith(`[local-cloud] ${op} `)).length;

  it('a running import DescribeTasks says cannot be cancelled → 422 CancelNotSupported, and CancelTask is not called', async () => {
    const t = s.cloud.ecs.createTask({ regionId: 'cn-hangzhou', stuck: true, cancellable: false });
    const r = await cancelRef(t.taskId);
    expect(r.status).toBe(422);
    expect(r.body.error).toMatchObject({ code: 'CancelNotSupported', cloud: { code: 'CancelNotSupported' } });
    expect(calls('ecs:CancelTask')).toBe(0);
    expect(s.cloud.ecs.task(t.taskId)?.status).toBe('Processing');
  });

  it('IncorrectTaskStatus (the older spelling) on a finished task → 409 AlreadyFinished with how it ended', async () => {
    const t = s.cloud.ecs.createTask({ regionId: 'cn-hangzhou', durationMs: 10 });
    s.cloud.clock.advance(1_000);
    s.cloud.faults.add({ op: 'ecs:CancelTask', count: 1, error: { status: 403, code: 'IncorrectTaskStatus', message: 'The specified task status is not invalid.' } });
    const r = await cancelRef(t.taskId);
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ code: 'AlreadyFinished', state: 'succeeded', cloud: { code: 'IncorrectTaskStatus' } });
  });

  it('IncorrectTaskStatus on a task that is still running → a cloud error, not "finished"', async () => {
    const t = s.cloud.ecs.createTask({ regionId: 'cn-hangzhou', stuck: true });
    s.cloud.faults.add({ op: 'ecs:CancelTask', count: 1, error: { status: 403, code: 'InvalidTaskId.IncorrectTaskStatus' } });
    const r = await cancelRef(t.taskId);
    expect(r.status).toBe(502);
    expect(r.body.error).toMatchObject({ code: 'CloudError', cloud: { code: 'InvalidTaskId.IncorrectTaskStatus' } });
    expect(s.cloud.ecs.task(t.taskId)?.status).toBe('Processing');
  });
});

describe('throttling by default', () => {
  it('says the same wait in x-ratelimit-user-api and x-acs-retry-after; it is waited once', async () => {
    const ecs = new EcsClient(clientOptions());
    cloud.faults.add({ op: 'ecs:DescribeTasks', count: 1, throttle: { waitMs: 1_200 } });
    await ecs.describeTasks();
    expect(sleeps).toEqual([1_200]);
  });
});
