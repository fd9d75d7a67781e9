/**
 * Fidelity of the local cloud's Alibaba half: the OFFICIAL SDKs (@alicloud/pop-core, V1;
 * @alicloud/openapi-client, V3) talk to it unchanged over a real socket.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { canonicalQuery } from '../shared/clients/signing/encode.ts';
import { EMPTY_SHA256, sha256Hex, v1Signature, v3Authorization, v3Signature, v3SignedHeaderNames } from '../shared/clients/signing/alibaba.ts';
import { startLocalCloud, type LocalCloud } from '../local/cloud/server.ts';

const require = createRequire(import.meta.url);
// CommonJS SDKs, loaded exactly as their users do.
const RPCClient = require('@alicloud/pop-core') as new (
  config: Record<string, unknown>,
) => {
  request(action: string, params?: Record<string, unknown>, opts?: Record<string, unknown>): Promise<Record<string, any>>;
};
const OpenApi = require('@alicloud/openapi-client');
const TeaUtil = require('@alicloud/tea-util');

const KEY = { accessKeyId: 'LTAI5tLocalFerryKey', accessKeySecret: 'local-ferry-secret' };
const OTHER = { accountId: '2000000000000002', accessKeyId: 'LTAI5tOtherAccount', accessKeySecret: 'other-secret' };
const SRC = 'cri-localsrc001';
const DST = 'cri-localdst001';
const XDST = 'cri-otheracct01';

let cloud: LocalCloud;
let acr: InstanceType<typeof RPCClient>;
let ecs: InstanceType<typeof RPCClient>;

beforeAll(async () => {
  cloud = await startLocalCloud({
    port: 0,
    random: 7,
    // Virtual time (nearly) stands still unless a test advances it: statuses are deterministic.
    speed: 1e-6,
    seed: {
      syncDurationMs: { min: 1000, max: 1000 },
      alibaba: {
        accounts: [{ accountId: '1000000000000001', ...KEY }, OTHER],
        instances: [
          { instanceId: SRC, region: 'cn-hangzhou', namespaces: [{ name: 'team', repos: [{ name: 'app', tags: {} }] }] },
          { instanceId: DST, region: 'cn-shanghai', namespaces: [{ name: 'team', repos: [] }] },
          { instanceId: XDST, region: 'cn-beijing', accountId: OTHER.accountId },
        ],
      },
    },
  });
  acr = new RPCClient({ ...KEY, endpoint: cloud.url, apiVersion: '2018-12-01' });
  ecs = new RPCClient({ ...KEY, endpoint: cloud.url, apiVersion: '2014-05-26' });
});

afterAll(async () => {
  await cloud?.close();
});

beforeEach(() => {
  cloud.reset();
});

/** Calls through pop-core; returns the JSON body, or the error's status/code/message. */
async function call(client: InstanceType<typeof RPCClient>, action: string, params: Record<string, unknown>, method: 'GET' | 'POST' = 'POST') {
  try {
    return { status: 200, body: await client.request(action, params, { method }) };
  } catch (err: any) {
    if (!err.data) throw err;
    return { status: err.entry.response.statusCode as number, body: err.data as Record<string, any> };
  }
}

function v3Client(secret = KEY.accessKeySecret) {
  return new OpenApi.default(new OpenApi.Config({ accessKeyId: KEY.accessKeyId, accessKeySecret: secret, endpoint: `127.0.0.1:${cloud.port}`, protocol: 'http' }));
}

async function v3Call(action: string, where: { query?: Record<string, string>; body?: Record<string, unknown> }, client = v3Client(), version = '2018-12-01') {
  const params = new OpenApi.Params({ action, version, protocol: 'HTTP', pathname: '/', method: 'POST', authType: 'AK', style: 'RPC', bodyType: 'json', reqBodyType: 'formData' });
  try {
    const res = await client.callApi(params, new OpenApi.OpenApiRequest(where), new TeaUtil.RuntimeOptions({}));
    return { status: res.statusCode as number, body: res.body as Record<string, any> };
  } catch (err: any) {
    if (!err.data) throw err;
    return { status: err.data.statusCode as number, body: err.data as Record<string, any> };
  }
}

async function pushed(tag = 'v1', digest?: string) {
  return cloud.acr.push({ instanceId: SRC, namespace: 'team', repo: 'app', tag, ...(digest ? { digest } : {}) });
}

function createParams(repoId: string, extra: Record<string, unknown> = {}) {
  return {
    InstanceId: SRC,
    RegionId: 'cn-hangzhou',
    RepoId: repoId,
    Tag: 'v1',
    TargetInstanceId: DST,
    TargetNamespace: 'team',
    TargetRegionId: 'cn-shanghai',
    TargetRepoName: 'app',
    TargetTag: 'v1',
    ...extra,
  };
}

const D1 = 'sha256:' + '1'.repeat(64);
const D2 = 'sha256:' + '2'.repeat(64);

describe('ACR sync tasks through pop-core (V1)', () => {
  it('Create → List → Get → Cancel, and a task reaching SUCCESS puts the tag in the target', async () => {
    const { repoId, digest } = await pushed('v1');
    const created = await call(acr, 'CreateRepoSyncTask', createParams(repoId));
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ Code: 'success', IsSuccess: true });
    const id = created.body.SyncTaskId as string;
    expect(id).toMatch(/^rst-[a-z0-9]+$/);

    const list = await call(acr, 'ListRepoSyncTask', { InstanceId: SRC }, 'GET');
    expect(list.body.TotalCount).toBe('1');
    const entry = list.body.SyncTasks[0];
    for (const field of [
      'CreateTime',
      'ModifedTime',
      'ModifiedTime',
      'SyncTaskId',
      'SyncBatchTaskId',
      'SyncRuleId',
      'TaskStatus',
      'TaskTrigger',
      'CrossUser',
      'SyncTransAccelerate',
      'ImageFrom',
      'ImageTo',
      'CustomLink',
    ]) {
      expect(entry).toHaveProperty(field);
    }
    expect(entry).toMatchObject({
      SyncTaskId: id,
      TaskStatus: 'PENDING',
      ImageFrom: { InstanceId: SRC, RegionId: 'cn-hangzhou', RepoNamespaceName: 'team', RepoName: 'app', ImageTag: 'v1' },
      ImageTo: { InstanceId: DST, RegionId: 'cn-shanghai' },
    });

    const got = await call(acr, 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: id });
    expect(got.body).toMatchObject({ SyncTaskId: id, TaskStatus: 'PENDING', TaskTrigger: 'INITIATIVE', Progress: 0, CrossUser: false });
    expect(got.body.LayerTasks.length).toBeGreaterThan(0);
    expect(got.body.LayerTasks[0]).toMatchObject({ ArtifactDigest: digest, SyncLayerTaskId: expect.stringMatching(/^rslt-/) });

    cloud.clock.advance(500); // past PENDING (200 ms of 1000)
    expect((await call(acr, 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: id })).body.TaskStatus).toBe('SYNCHRONIZING');
    const cancel = await call(acr, 'CancelRepoSyncTask', { InstanceId: SRC, SyncTaskId: id });
    expect(cancel).toMatchObject({ status: 200, body: { Code: 'success', IsSuccess: true } });
    expect((await call(acr, 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: id })).body.TaskStatus).toBe('CANCELED');
    // Cancelling again is idempotent.
    expect((await call(acr, 'CancelRepoSyncTask', { InstanceId: SRC, SyncTaskId: id })).status).toBe(200);
    cloud.clock.advance(5000);
    expect(cloud.acr.tagsOf(DST, 'team', 'app')).toEqual({});

    // A second task runs to completion on the virtual clock.
    const second = await call(acr, 'CreateRepoSyncTask', createParams(repoId));
    cloud.clock.advance(999);
    expect(cloud.acr.task(second.body.SyncTaskId)?.status).toBe('SYNCHRONIZING');
    cloud.clock.advance(1);
    const done = await call(acr, 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: second.body.SyncTaskId });
    expect(done.body).toMatchObject({ TaskStatus: 'SUCCESS', Progress: 1 });
    expect(cloud.acr.tagsOf(DST, 'team', 'app')).toEqual({ v1: digest });
    expect(cloud.acr.createCallCount({ instanceId: DST, repo: 'app', tag: 'v1' })).toBe(2);
  });

  it('lists newest first, with filters, paging and TotalCount as a string', async () => {
    const { repoId } = await pushed('v1');
    await pushed('v2');
    const ids: string[] = [];
    for (const tag of ['v1', 'v2', 'v1']) {
      ids.push((await call(acr, 'CreateRepoSyncTask', createParams(repoId, { Tag: tag, TargetTag: tag }))).body.SyncTaskId);
      cloud.clock.advance(10);
    }
    const all = await call(acr, 'ListRepoSyncTask', { InstanceId: SRC });
    expect(all.body.SyncTasks.map((t: any) => t.SyncTaskId)).toEqual([...ids].reverse());
    const v1 = await call(acr, 'ListRepoSyncTask', { InstanceId: SRC, Tag: 'v1', RepoNamespaceName: 'team', RepoName: 'app' });
    expect(v1.body).toMatchObject({ TotalCount: '2' });
    const page2 = await call(acr, 'ListRepoSyncTask', { InstanceId: SRC, PageNo: 2, PageSize: 2 });
    expect(page2.body).toMatchObject({ PageNo: 2, PageSize: 2, TotalCount: '3' });
    expect(page2.body.SyncTasks.map((t: any) => t.SyncTaskId)).toEqual([ids[0]]);
    const batch = all.body.SyncTasks[1].SyncBatchTaskId;
    const byRecord = await call(acr, 'ListRepoSyncTask', { InstanceId: SRC, SyncRecordId: batch });
    expect(byRecord.body.SyncTasks.map((t: any) => t.SyncTaskId)).toEqual([ids[1]]);
    expect((await call(acr, 'ListRepoSyncTask', { InstanceId: SRC, RepoName: 'other' })).body).toMatchObject({ TotalCount: '0', SyncTasks: [] });
    expect((await call(acr, 'ListRepoSyncTask', { InstanceId: SRC, PageSize: 101 })).body.Code).toBe('InvalidParameter');
  });

  it('GetRepository finds a repository by name or id, and says REPO_NOT_EXIST', async () => {
    const byName = await call(acr, 'GetRepository', { InstanceId: SRC, RepoNamespaceName: 'team', RepoName: 'app' });
    expect(byName.body).toMatchObject({ RepoName: 'app', RepoNamespaceName: 'team', RepoStatus: 'NORMAL', InstanceId: SRC });
    const byId = await call(acr, 'GetRepository', { InstanceId: SRC, RepoId: byName.body.RepoId });
    expect(byId.body.RepoName).toBe('app');
    expect(await call(acr, 'GetRepository', { InstanceId: SRC, RepoNamespaceName: 'team', RepoName: 'nope' })).toMatchObject({ status: 400, body: { Code: 'REPO_NOT_EXIST' } });
    const list = await call(acr, 'ListRepository', { InstanceId: SRC, RepoNamespaceName: 'team' });
    expect(list.body).toMatchObject({ TotalCount: '1', Repositories: [{ RepoName: 'app' }] });
  });

  it('TAG_CONFLICT when Override is false onto a different digest; Override=true replaces it', async () => {
    const { repoId } = await pushed('v1', D1);
    await cloud.acr.push({ instanceId: DST, namespace: 'team', repo: 'app', tag: 'v1', digest: D2 });
    const a = await call(acr, 'CreateRepoSyncTask', createParams(repoId));
    cloud.clock.advance(2000);
    const failed = await call(acr, 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: a.body.SyncTaskId });
    expect(failed.body).toMatchObject({ TaskStatus: 'ERROR', TaskIssue: 'TAG_CONFLICT' });
    expect(cloud.acr.tagsOf(DST, 'team', 'app')).toEqual({ v1: D2 });
    // Cancelling a finished task: the documented choice.
    expect(await call(acr, 'CancelRepoSyncTask', { InstanceId: SRC, SyncTaskId: a.body.SyncTaskId })).toMatchObject({ status: 400, body: { Code: 'SYNC_TASK_STATUS_INVALID' } });

    const b = await call(acr, 'CreateRepoSyncTask', createParams(repoId, { Override: true }));
    cloud.clock.advance(2000);
    expect(cloud.acr.task(b.body.SyncTaskId)?.status).toBe('SUCCESS');
    expect(cloud.acr.tagsOf(DST, 'team', 'app')).toEqual({ v1: D1 });
  });

  it('outcome rules: a stuck task stays SYNCHRONIZING until cancelled; a forced ERROR carries its TaskIssue', async () => {
    const { repoId } = await pushed('v1');
    const rule = await request(`${cloud.url}/_local/acr/outcomes`, { method: 'POST', body: JSON.stringify({ targetInstanceId: DST, tag: 'v1', outcome: 'stuck' }) });
    expect(rule.statusCode).toBe(200);
    await rule.body.dump();
    cloud.acr.addOutcome({ repo: 'app', outcome: 'error', taskIssue: 'NETWORK_ERROR' });
    const stuck = (await call(acr, 'CreateRepoSyncTask', createParams(repoId))).body.SyncTaskId;
    const failing = (await call(acr, 'CreateRepoSyncTask', createParams(repoId))).body.SyncTaskId;
    const normal = (await call(acr, 'CreateRepoSyncTask', createParams(repoId))).body.SyncTaskId;
    cloud.clock.advance(3_600_000);
    expect(cloud.acr.task(stuck)?.status).toBe('SYNCHRONIZING');
    expect(cloud.acr.task(failing)).toMatchObject({ status: 'ERROR', issue: 'NETWORK_ERROR' });
    expect(cloud.acr.task(normal)?.status).toBe('SUCCESS');
    expect((await call(acr, 'CancelRepoSyncTask', { InstanceId: SRC, SyncTaskId: stuck })).status).toBe(200);
    expect((await call(acr, 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: stuck })).body.TaskStatus).toBe('CANCELED');
  });

  it('cross-account targets need TargetUserId', async () => {
    const { repoId } = await pushed('v1');
    const params = createParams(repoId, { TargetInstanceId: XDST, TargetRegionId: 'cn-beijing' });
    expect(await call(acr, 'CreateRepoSyncTask', params)).toMatchObject({ status: 400, body: { Code: 'MissingParameter' } });
    expect(await call(acr, 'CreateRepoSyncTask', { ...params, TargetUserId: '1234567890' })).toMatchObject({ status: 403, body: { Code: 'NoPrivilege' } });
    const ok = await call(acr, 'CreateRepoSyncTask', { ...params, TargetUserId: OTHER.accountId });
    expect(ok.status).toBe(200);
    expect((await call(acr, 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: ok.body.SyncTaskId })).body.CrossUser).toBe(true);
  });
});

describe('documented error codes, with their HTTP status', () => {
  it('seed 004 CreateRepoSyncTask: every required parameter → MissingParameter 400 (RegionId only checked when sent)', async () => {
    const { repoId } = await pushed('v1');
    const full = createParams(repoId);
    const { RegionId: _page, ...withoutRegion } = full as Record<string, unknown>;
    for (const name of Object.keys(withoutRegion)) {
      const params: Record<string, unknown> = { ...full };
      delete params[name];
      const res = await call(acr, 'CreateRepoSyncTask', params);
      expect(res, name).toMatchObject({ status: 400, body: { Code: 'MissingParameter' } });
      expect(res.body.Message).toContain(`"${name}"`);
      expect(Object.keys(res.body).sort()).toEqual(['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
    }
    expect(cloud.acr.createCalls).toHaveLength(0);
    expect(await call(acr, 'CreateRepoSyncTask', { ...full, TargetRepoName: 'Bad Name' })).toMatchObject({ status: 400, body: { Code: 'InvalidParameter' } });
    // RegionId is the reference page's, not the generated SDK's: checked only when sent.
    expect(await call(acr, 'CreateRepoSyncTask', { ...full, RegionId: 'cn-beijing' })).toMatchObject({ status: 400, body: { Code: 'INSTANCE_NOT_EXIST' } });
    expect(await call(acr, 'CreateRepoSyncTask', withoutRegion)).toMatchObject({ status: 200, body: { SyncTaskId: expect.stringMatching(/^rst-/) } });
  });

  it('seed 000 CancelRepoSyncTask: SYNC_TASK_NOT_EXIST 400, NoPrivilege 403, AUTHENTICATION_FAILED 403, SystemError 500', async () => {
    expect(await call(acr, 'CancelRepoSyncTask', { InstanceId: SRC, SyncTaskId: 'rst-doesnotexist1' })).toMatchObject({
      status: 400,
      body: { Code: 'SYNC_TASK_NOT_EXIST', Message: 'Sync task is not exist.' },
    });
    cloud.faults.add({ op: 'acr:CancelRepoSyncTask', account: '1000000000000001', count: 1, error: { status: 403, code: 'NoPrivilege' } });
    cloud.faults.add({ op: 'acr:CancelRepoSyncTask', count: 1, error: { status: 403, code: 'AUTHENTICATION_FAILED' } });
    cloud.faults.add({ op: 'acr:Cancel*', count: 1, error: { status: 500, code: 'SystemError' } });
    const args = { InstanceId: SRC, SyncTaskId: 'rst-doesnotexist1' };
    expect(await call(acr, 'CancelRepoSyncTask', args)).toMatchObject({ status: 403, body: { Code: 'NoPrivilege', Message: 'Access denied for this user.' } });
    expect(await call(acr, 'CancelRepoSyncTask', args)).toMatchObject({ status: 403, body: { Code: 'AUTHENTICATION_FAILED', Message: 'Authentication failed.' } });
    expect(await call(acr, 'CancelRepoSyncTask', args)).toMatchObject({ status: 500, body: { Code: 'SystemError', Message: 'Unknown error.' } });
    expect(await call(acr, 'CancelRepoSyncTask', args)).toMatchObject({ status: 400, body: { Code: 'SYNC_TASK_NOT_EXIST' } });
  });

  it('seed 001 ListRepoSyncTask: NoPrivilege 403 (for one account only), SystemError 500', async () => {
    cloud.faults.add({ op: 'acr:ListRepoSyncTask', account: OTHER.accountId, error: { status: 403, code: 'NoPrivilege' } });
    expect((await call(acr, 'ListRepoSyncTask', { InstanceId: SRC })).status).toBe(200);
    const other = new RPCClient({ accessKeyId: OTHER.accessKeyId, accessKeySecret: OTHER.accessKeySecret, endpoint: cloud.url, apiVersion: '2018-12-01' });
    expect(await call(other, 'ListRepoSyncTask', { InstanceId: XDST })).toMatchObject({ status: 403, body: { Code: 'NoPrivilege' } });
    cloud.faults.add({ op: 'acr:ListRepoSyncTask', scope: SRC, count: 1, error: { status: 500, code: 'SystemError' } });
    expect(await call(acr, 'ListRepoSyncTask', { InstanceId: SRC })).toMatchObject({ status: 500, body: { Code: 'SystemError' } });
  });

  it('seed 003 ECS CancelTask: every error code', async () => {
    const missingRegion = await call(ecs, 'CancelTask', { TaskId: 't-abc123456' });
    expect(missingRegion).toMatchObject({ status: 400, body: { Code: 'MissingParameter', Message: 'An input parameter "RegionId" that is mandatory for processing the request is not supplied.' } });
    expect(await call(ecs, 'CancelTask', { RegionId: 'cn-hangzhou' })).toMatchObject({
      status: 400,
      body: { Code: 'MissingParameter', Message: 'An input parameter "TaskId" that is mandatory for processing the request is not supplied.' },
    });
    expect(await call(ecs, 'CancelTask', { RegionId: 'xx-nowhere-1', TaskId: 't-abc123456' })).toMatchObject({
      status: 400,
      body: { Code: 'InvalidRegionId.NotFound', Message: 'The specified RegionId does not exist.' },
    });
    expect(await call(ecs, 'CancelTask', { RegionId: 'cn-hangzhou', TaskId: 't-abc123456' })).toMatchObject({
      status: 400,
      body: { Code: 'InvalidTaskId.NotFound', Message: 'The specified "TaskId" is not found.' },
    });
    const other = cloud.ecs.createTask({ regionId: 'cn-hangzhou', action: 'RedeployInstance' });
    expect(await call(ecs, 'CancelTask', { RegionId: 'cn-hangzhou', TaskId: other.taskId })).toMatchObject({ status: 403, body: { Code: 'InvalidTaskId.TaskActionNotSupport' } });
    const done = cloud.ecs.createTask({ regionId: 'cn-hangzhou', action: 'ExportImage', durationMs: 10 });
    cloud.clock.advance(20);
    expect(await call(ecs, 'CancelTask', { RegionId: 'cn-hangzhou', TaskId: done.taskId })).toMatchObject({ status: 403, body: { Code: 'InvalidTaskId.IncorrectTaskStatus' } });
    const running = cloud.ecs.createTask({ regionId: 'cn-hangzhou', stuck: true });
    // Same task id in another region is not found.
    expect(await call(ecs, 'CancelTask', { RegionId: 'cn-beijing', TaskId: running.taskId })).toMatchObject({ status: 400, body: { Code: 'InvalidTaskId.NotFound' } });
    cloud.faults.add({ op: 'ecs:CancelTask', count: 1, error: { status: 403, code: 'CancelTaskFailed' } });
    expect(await call(ecs, 'CancelTask', { RegionId: 'cn-hangzhou', TaskId: running.taskId })).toMatchObject({
      status: 403,
      body: { Code: 'CancelTaskFailed', Message: 'The task is failed to cancel, Please contact the administrator.' },
    });
    const ok = await call(ecs, 'CancelTask', { RegionId: 'cn-hangzhou', TaskId: running.taskId });
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body)).toEqual(['RequestId']);
  });
});

describe('ECS tasks', () => {
  it('DescribeTasks / DescribeTaskAttribute follow virtual time, with SupportCancel as strings', async () => {
    const imp = cloud.ecs.createTask({ regionId: 'cn-shanghai', action: 'ImportImage', durationMs: 60_000 });
    const res = await fetch(`${cloud.url}/_local/ecs/tasks`, { method: 'POST', body: JSON.stringify({ regionId: 'cn-shanghai', action: 'ExportImage', stuck: true }) });
    const exp = (await res.json()) as { taskId: string };
    const listed = await call(ecs, 'DescribeTasks', { RegionId: 'cn-shanghai' }, 'GET');
    expect(listed.body).toMatchObject({ TotalCount: 2, PageNumber: 1, PageSize: 10, RegionId: 'cn-shanghai' });
    expect(listed.body.TaskSet.Task.map((t: any) => t.TaskId)).toEqual([exp.taskId, imp.taskId]);
    expect(listed.body.TaskSet.Task[1]).toMatchObject({
      TaskAction: 'ImportImage',
      TaskStatus: 'Processing',
      SupportCancel: 'true',
      CreationTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$/),
    });
    cloud.clock.advance(60_000);
    const filtered = await call(ecs, 'DescribeTasks', { RegionId: 'cn-shanghai', TaskIds: `${imp.taskId},t-unknown0000`, TaskStatus: 'Finished', TaskAction: 'ImportImage' });
    expect(filtered.body.TaskSet.Task).toEqual([expect.objectContaining({ TaskId: imp.taskId, TaskStatus: 'Finished', SupportCancel: 'false' })]);
    const attr = await call(ecs, 'DescribeTaskAttribute', { RegionId: 'cn-shanghai', TaskId: exp.taskId });
    expect(attr.body).toMatchObject({ TaskStatus: 'Processing', SupportCancel: 'true', TaskProcess: expect.any(String) });
    expect((await call(ecs, 'DescribeTasks', {})).body.Code).toBe('MissingParameter');
    expect((await call(ecs, 'DescribeTasks', { RegionId: 'cn-shanghai', PageSize: 101 })).status).toBe(400);
    const page2 = await call(ecs, 'DescribeTasks', { RegionId: 'cn-shanghai', PageSize: 1, PageNumber: 2 });
    expect(page2.body.TaskSet.Task.map((t: any) => t.TaskId)).toEqual([imp.taskId]);
  });
});

describe('V3 (ACS3-HMAC-SHA256) through @alicloud/openapi-client', () => {
  it('Create → List → Get → Cancel with parameters in the query or a form body', async () => {
    const { repoId } = await pushed('v1');
    const created = await v3Call('CreateRepoSyncTask', { query: createParams(repoId) as Record<string, string> });
    expect(created).toMatchObject({ status: 200, body: { IsSuccess: true, SyncTaskId: expect.stringMatching(/^rst-/) } });
    const id = created.body.SyncTaskId;
    const listed = await v3Call('ListRepoSyncTask', { body: { InstanceId: SRC, PageSize: 5 } });
    expect(listed.body).toMatchObject({ PageSize: 5, TotalCount: '1', SyncTasks: [{ SyncTaskId: id }] });
    const got = await v3Call('GetRepoSyncTask', { query: { InstanceId: SRC, SyncTaskId: id } });
    expect(got.body.TaskStatus).toBe('PENDING');
    expect((await v3Call('CancelRepoSyncTask', { body: { InstanceId: SRC, SyncTaskId: id } })).body).toMatchObject({ Code: 'success', IsSuccess: true });
    expect(await v3Call('CancelRepoSyncTask', { query: { InstanceId: SRC, SyncTaskId: 'rst-nothere0000' } })).toMatchObject({ status: 400, body: { Code: 'SYNC_TASK_NOT_EXIST' } });
    const ecsRes = await v3Call('DescribeTasks', { query: { RegionId: 'cn-hangzhou' } }, v3Client(), '2014-05-26');
    expect(ecsRes).toMatchObject({ status: 200, body: { TotalCount: 0, TaskSet: { Task: [] } } });
  });

  it('rejects a wrong secret with SignatureDoesNotMatch', async () => {
    expect(await v3Call('ListRepoSyncTask', { query: { InstanceId: SRC } }, v3Client('wrong-secret'))).toMatchObject({ status: 400, body: { Code: 'SignatureDoesNotMatch' } });
  });
});

// ---------- hand-made requests: altered signatures, skew, nonces ----------

function acsTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function v1Params(action: string, params: Record<string, string>, over: Record<string, string> = {}): Record<string, string> {
  const p: Record<string, string> = {
    Action: action,
    Version: '2018-12-01',
    Format: 'JSON',
    AccessKeyId: KEY.accessKeyId,
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    SignatureNonce: Math.random().toString(36).slice(2),
    Timestamp: acsTime(Date.now()),
    ...params,
    ...over,
  };
  p.Signature = v1Signature('POST', p, KEY.accessKeySecret);
  return p;
}

async function rawPost(query: Record<string, string>, headers: Record<string, string> = {}, body = '') {
  const res = await request(`${cloud.url}/?${canonicalQuery(query)}`, { method: 'POST', headers, body });
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, any> };
}

function flipOneByte(s: string): string {
  const i = Math.floor(s.length / 2);
  const c = s[i] === 'a' ? 'b' : 'a';
  return s.slice(0, i) + c + s.slice(i + 1);
}

function v3Headers(query: Record<string, string>, over: Record<string, string> = {}, body = ''): Record<string, string> {
  const payloadHash = body ? sha256Hex(body) : EMPTY_SHA256;
  const headers: Record<string, string> = {
    host: `127.0.0.1:${cloud.port}`,
    'x-acs-action': 'ListRepoSyncTask',
    'x-acs-version': '2018-12-01',
    'x-acs-date': acsTime(Date.now()),
    'x-acs-signature-nonce': Math.random().toString(36).slice(2),
    'x-acs-content-sha256': payloadHash,
    ...over,
  };
  const signed = v3SignedHeaderNames(headers);
  const sig = v3Signature({ method: 'POST', path: '/', query, headers, payloadHash: headers['x-acs-content-sha256']! }, signed, KEY.accessKeySecret);
  headers.authorization = v3Authorization(KEY.accessKeyId, signed, sig);
  return headers;
}

describe('authentication', () => {
  it('V1: a valid hand-signed request passes; one byte altered → SignatureDoesNotMatch; a reused nonce → SignatureNonceUsed', async () => {
    const good = v1Params('ListRepoSyncTask', { InstanceId: SRC });
    expect((await rawPost(good)).status).toBe(200);
    expect(await rawPost(good)).toMatchObject({ status: 400, body: { Code: 'SignatureNonceUsed' } });
    const bad = v1Params('ListRepoSyncTask', { InstanceId: SRC });
    bad.Signature = flipOneByte(bad.Signature!);
    expect(await rawPost(bad)).toMatchObject({ status: 400, body: { Code: 'SignatureDoesNotMatch' } });
    const tampered = v1Params('ListRepoSyncTask', { InstanceId: SRC });
    tampered.InstanceId = 'cri-localsrc002';
    expect(await rawPost(tampered)).toMatchObject({ status: 400, body: { Code: 'SignatureDoesNotMatch' } });
  });

  it('V1: timestamp skew, unknown key, missing signature, bad version or action', async () => {
    expect(await rawPost(v1Params('ListRepoSyncTask', { InstanceId: SRC }, { Timestamp: acsTime(Date.now() - 3_600_000) }))).toMatchObject({ status: 400, body: { Code: 'InvalidTimeStamp.Expired' } });
    expect(await rawPost(v1Params('ListRepoSyncTask', { InstanceId: SRC }, { AccessKeyId: 'LTAI5tNobody' }))).toMatchObject({ status: 404, body: { Code: 'InvalidAccessKeyId.NotFound' } });
    const unsigned = v1Params('ListRepoSyncTask', { InstanceId: SRC });
    delete unsigned.Signature;
    expect(await rawPost(unsigned)).toMatchObject({ status: 400, body: { Code: 'IncompleteSignature' } });
    expect(await rawPost(v1Params('ListRepoSyncTask', { InstanceId: SRC }, { Version: '2099-01-01' }))).toMatchObject({ status: 400, body: { Code: 'InvalidVersion' } });
    expect(await rawPost(v1Params('DeleteEverything', { InstanceId: SRC }))).toMatchObject({ status: 404, body: { Code: 'InvalidAction.NotFound' } });
  });

  it('V3: one byte altered, body hash mismatch, skew and nonce reuse are rejected', async () => {
    const query = { InstanceId: SRC };
    const good = v3Headers(query);
    expect((await rawPost(query, good)).status).toBe(200);
    expect(await rawPost(query, good)).toMatchObject({ status: 400, body: { Code: 'SignatureNonceUsed' } });
    const bad = v3Headers(query);
    bad.authorization = bad.authorization!.replace(/Signature=(\w+)$/, (_, s: string) => `Signature=${flipOneByte(s)}`);
    expect(await rawPost(query, bad)).toMatchObject({ status: 400, body: { Code: 'SignatureDoesNotMatch' } });
    const body = 'PageSize=5';
    const form = v3Headers(query, { 'content-type': 'application/x-www-form-urlencoded' }, body);
    expect((await rawPost(query, form, body)).body.PageSize).toBe(5);
    expect(await rawPost(query, v3Headers(query, { 'content-type': 'application/x-www-form-urlencoded' }, body), 'PageSize=6')).toMatchObject({ status: 400, body: { Code: 'SignatureDoesNotMatch' } });
    expect(await rawPost(query, v3Headers(query, { 'x-acs-date': acsTime(Date.now() - 7_200_000) }))).toMatchObject({ status: 400, body: { Code: 'InvalidTimeStamp.Expired' } });
    expect(await rawPost(query, { ...v3Headers(query), authorization: 'ACS3-HMAC-SHA256 nonsense' })).toMatchObject({ status: 400, body: { Code: 'IncompleteSignature' } });
  });
});

describe('faults', () => {
  it('throttle → 400 Throttling.User with x-ratelimit-user-api carrying TimeLeft', async () => {
    const res = await fetch(`${cloud.url}/_local/faults`, { method: 'POST', body: JSON.stringify({ op: 'acr:*', count: 1, throttle: { waitMs: 2500 } }) });
    expect(((await res.json()) as { id: string }).id).toMatch(/^fault-/);
    const raw = await rawPost(v1Params('ListRepoSyncTask', { InstanceId: SRC }));
    expect(raw).toMatchObject({ status: 400, body: { Code: 'Throttling.User' } });
    expect(raw.headers['x-ratelimit-user-api']).toMatch(/^Limit:\d+,Remain:0,TimeLeft:2500,Reset:\d+$/);
    expect((await call(acr, 'ListRepoSyncTask', { InstanceId: SRC })).status).toBe(200);
  });

  it('serverError, drop and malformed affect only the first N calls', async () => {
    cloud.faults.add({ op: 'acr:ListRepoSyncTask', count: 1, serverError: 503 });
    expect(await call(acr, 'ListRepoSyncTask', { InstanceId: SRC })).toMatchObject({ status: 503, body: { Code: 'ServiceUnavailable' } });
    cloud.faults.add({ op: 'acr:ListRepoSyncTask', count: 1, drop: true });
    await expect(acr.request('ListRepoSyncTask', { InstanceId: SRC }, { method: 'POST' })).rejects.toThrow(/socket hang up|ECONNRESET|closed/i);
    cloud.faults.add({ op: 'acr:ListRepoSyncTask', count: 1, malformed: true, latencyMs: 30 });
    const started = Date.now();
    await expect(acr.request('ListRepoSyncTask', { InstanceId: SRC }, { method: 'POST' })).rejects.toMatchObject({ name: 'SyntaxError' }); // json-bigint's parse error
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect((await call(acr, 'ListRepoSyncTask', { InstanceId: SRC })).status).toBe(200);
  });

  it('a drop AFTER handling creates the task but loses the answer', async () => {
    const { repoId } = await pushed('v1');
    cloud.faults.add({ op: 'acr:CreateRepoSyncTask', count: 1, drop: true, after: true });
    await expect(acr.request('CreateRepoSyncTask', createParams(repoId), { method: 'POST' })).rejects.toThrow();
    expect(cloud.acr.createCallCount({ instanceId: DST })).toBe(1);
  });
});

describe('admin push and repository triggers', () => {
  let receiver: Server;
  let received: { url: string; headers: Record<string, unknown>; body: any }[] = [];
  let receiverUrl = '';

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ url: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => receiver.close(r));
  });
  beforeEach(() => {
    received = [];
  });

  it('delivers the real ACR trigger payload to matching triggers only', async () => {
    const repoId = cloud.acr.repoId(SRC, 'team', 'app')!;
    const all = await call(acr, 'CreateRepoTrigger', { InstanceId: SRC, RepoId: repoId, TriggerName: 'ferry', TriggerUrl: `${receiverUrl}/webhook/acr?secret=s3`, TriggerType: 'ALL' });
    expect(all.body.TriggerId).toBeTruthy();
    await call(acr, 'CreateRepoTrigger', { InstanceId: SRC, RepoId: repoId, TriggerName: 'only-v9', TriggerUrl: `${receiverUrl}/v9`, TriggerType: 'TAG_LIST', TriggerTag: 'v9' });
    await call(acr, 'CreateRepoTrigger', { InstanceId: SRC, RepoId: repoId, TriggerName: 'release', TriggerUrl: `${receiverUrl}/release`, TriggerType: 'TAG_REG_EXP', TriggerTag: 'v\\d+' });
    const listed = await call(acr, 'ListRepoTrigger', { InstanceId: SRC, RepoId: repoId });
    expect(listed.body.Triggers).toHaveLength(3);

    const res = await request(`${cloud.url}/_local/acr/push`, { method: 'POST', body: JSON.stringify({ instanceId: SRC, namespace: 'team', repo: 'app', tag: 'v2', digest: D1 }) });
    const result = (await res.body.json()) as any;
    expect(res.statusCode).toBe(200);
    expect(result.deliveries.map((d: any) => [d.triggerName, d.status])).toEqual([
      ['ferry', 204],
      ['release', 204],
    ]);
    expect(received.map((r) => r.url).sort()).toEqual(['/release', '/webhook/acr?secret=s3']);
    // The trigger got its token; the admin API never shows it (push answer and state).
    expect(JSON.stringify(result)).not.toContain('s3');
    const state = await (await request(`${cloud.url}/_local/state`)).body.text();
    expect(state).toContain('/webhook/acr?secret=***');
    expect(state).not.toContain('secret=s3');
    const hit = received.find((r) => r.url.startsWith('/webhook'))!;
    expect(hit.headers['content-type']).toBe('application/json');
    expect(hit.body).toEqual({
      push_data: { digest: D1, pushed_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/), tag: 'v2' },
      repository: {
        date_created: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
        name: 'app',
        namespace: 'team',
        region: 'cn-hangzhou',
        repo_authentication_type: 'NO_CERTIFIED',
        repo_full_name: 'team/app',
        repo_origin_type: 'NO_CERTIFIED',
        repo_type: 'PRIVATE',
      },
    });
    expect(cloud.acr.tagsOf(SRC, 'team', 'app')).toEqual({ v2: D1 });
    const bad = await request(`${cloud.url}/_local/acr/push`, { method: 'POST', body: JSON.stringify({ instanceId: SRC, namespace: 'team', repo: 'app' }) });
    expect(bad.statusCode).toBe(400);
    expect(((await bad.body.json()) as any).error).toMatch(/tag/);
  });
});
