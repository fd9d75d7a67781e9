/**
 * The Alibaba half's realism modes, as a client sees them on the wire (signed requests, raw
 * answers) and through the admin API: acr.foreign-tasks, acr.error-bodies, ecs.foreign-tasks;
 * plus the emulator's odd cases a test can ask for (a RETRYING sync task, an ECS task that cannot
 * be cancelled).
 */
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { acsTimestamp } from '../shared/clients/alibaba-rpc.ts';
import { canonicalQuery } from '../shared/clients/signing/encode.ts';
import { v1Signature } from '../shared/clients/signing/alibaba.ts';
import { startLocalCloud, type LocalCloud } from '../local/cloud/server.ts';
import { ALI_KEY } from './helpers/fidelity-drivers.ts';

const SRC = 'cri-localsrc001';
const DST = 'cri-localdst001';
const ACR = '2018-12-01';
const ECS = '2014-05-26';

let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startLocalCloud({ port: 0, random: 9, speed: 1e-6, seed: { syncDurationMs: { min: 60_000, max: 60_000 } } });
});
afterAll(() => cloud?.close());
beforeEach(async () => {
  cloud.reset();
  await admin('POST', '/_local/realism', { modes: [] });
});

/** A V1-signed call; the answer as sent. */
async function raw(version: string, action: string, params: Record<string, string>) {
  const query: Record<string, string> = {
    Action: action,
    Format: 'JSON',
    Version: version,
    Timestamp: acsTimestamp(Date.now()),
    SignatureNonce: crypto.randomUUID(),
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    AccessKeyId: ALI_KEY.accessKeyId,
    ...params,
  };
  query.Signature = v1Signature('POST', query, ALI_KEY.accessKeySecret);
  const res = await request(`${cloud.url}/?${canonicalQuery(query)}`, { method: 'POST' });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers as Record<string, string>, text, json: () => JSON.parse(text) as Record<string, any> };
}

async function admin(method: string, path: string, body?: unknown) {
  const res = await request(cloud.url + path, { method: method as 'GET', ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> };
}

async function ownTask(tag = 'v1'): Promise<string> {
  const { repoId } = await cloud.acr.push({ instanceId: SRC, namespace: 'team', repo: 'app', tag });
  const params = { InstanceId: SRC, RepoId: repoId, Tag: tag, TargetInstanceId: DST, TargetNamespace: 'team', TargetRegionId: 'cn-shanghai', TargetRepoName: 'app', TargetTag: tag };
  return (await raw(ACR, 'CreateRepoSyncTask', params)).json().SyncTaskId;
}

describe('acr.foreign-tasks', () => {
  it("ListRepoSyncTask also lists sync rules' tasks, statuses newer than the reference, items missing fields or their id", async () => {
    const own = await ownTask();
    expect((await raw(ACR, 'ListRepoSyncTask', { InstanceId: SRC })).json()).toMatchObject({ TotalCount: '1' });

    expect((await admin('POST', '/_local/realism', { modes: ['acr.foreign-tasks'] })).body.modes).toEqual(['acr.foreign-tasks']);
    const listed = (await raw(ACR, 'ListRepoSyncTask', { InstanceId: SRC, PageSize: '100' })).json();
    expect(listed.TotalCount).toBe('6');
    const tasks = listed.SyncTasks as Array<Record<string, any>>;
    expect(tasks.map((t) => t.SyncTaskId)).toContain(own);
    expect(tasks.filter((t) => t.TaskTrigger === 'PASSIVE' && t.SyncRuleId?.startsWith('crsr-'))).toHaveLength(2);
    expect(tasks.map((t) => t.TaskStatus)).toEqual(expect.arrayContaining(['RETRYING', 'SUCCESS']));
    expect(tasks.filter((t) => t.SyncTaskId === undefined)).toHaveLength(1);
    expect(tasks.filter((t) => t.TaskStatus === undefined)).toHaveLength(1);
    expect(tasks.find((t) => Object.keys(t).length === 2)).toEqual({ SyncTaskId: expect.stringMatching(/^rst-/), TaskStatus: 'SYNCHRONIZING' });

    // They copy another repository: a listing filtered to Ferry's has Ferry's only; they are listed, never got.
    expect((await raw(ACR, 'ListRepoSyncTask', { InstanceId: SRC, RepoNamespaceName: 'team', RepoName: 'app' })).json()).toMatchObject({ TotalCount: '1' });
    const passive = tasks.find((t) => t.TaskTrigger === 'PASSIVE' && t.TaskStatus === 'SUCCESS')!;
    expect((await raw(ACR, 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: passive.SyncTaskId })).json().Code).toBe('SYNC_TASK_NOT_EXIST');
  });

  it('an outcome rule `retrying` keeps a task RETRYING until it is cancelled', async () => {
    expect((await admin('POST', '/_local/acr/outcomes', { tag: 'v7', outcome: 'retrying' })).status).toBe(200);
    const id = await ownTask('v7');
    cloud.clock.advance(120_000);
    expect((await raw(ACR, 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: id })).json().TaskStatus).toBe('RETRYING');
    expect((await raw(ACR, 'CancelRepoSyncTask', { InstanceId: SRC, SyncTaskId: id })).status).toBe(200);
    expect(cloud.acr.task(id)?.status).toBe('CANCELED');
  });
});

describe('acr.error-bodies', () => {
  const unknownTask = () => raw(ACR, 'CancelRepoSyncTask', { InstanceId: SRC, SyncTaskId: 'rst-doesnotexist01' });

  it('ACR errors come with lowercase keys, in XML, then as usual, in turn; ECS errors are unchanged', async () => {
    expect((await unknownTask()).json()).toMatchObject({ Code: 'SYNC_TASK_NOT_EXIST' });
    await admin('POST', '/_local/realism', { modes: ['acr.error-bodies'] });

    const lower = await unknownTask();
    expect(lower.status).toBe(400);
    expect(lower.json()).toEqual({
      requestId: lower.headers['x-acs-request-id'],
      hostId: expect.any(String),
      code: 'SYNC_TASK_NOT_EXIST',
      message: 'Sync task is not exist.',
      recommend: expect.any(String),
    });

    const xml = await unknownTask();
    expect(xml.status).toBe(400);
    expect(xml.headers['content-type']).toMatch(/^text\/xml/);
    expect(xml.text).toMatch(
      /^<\?xml [^>]*\?>\n<Error><RequestId>[0-9A-F-]{36}<\/RequestId><HostId>[^<]*<\/HostId><Code>SYNC_TASK_NOT_EXIST<\/Code><Message>Sync task is not exist.<\/Message><Recommend>[^<]*<\/Recommend><\/Error>$/,
    );

    expect((await unknownTask()).json()).toMatchObject({ Code: 'SYNC_TASK_NOT_EXIST', RequestId: expect.any(String) });
    expect((await raw(ECS, 'CancelTask', { RegionId: 'cn-hangzhou', TaskId: 't-doesnotexist0000000' })).json()).toMatchObject({ Code: 'InvalidTaskId.NotFound' });
  });

  it('throttling says its wait in x-acs-retry-after (ms) only; without the mode, in both headers', async () => {
    cloud.faults.add({ op: 'acr:ListRepoSyncTask', count: 2, throttle: { waitMs: 2_500 } });
    const usual = await raw(ACR, 'ListRepoSyncTask', { InstanceId: SRC });
    expect(usual.headers['x-acs-retry-after']).toBe('2500');
    expect(usual.headers['x-ratelimit-user-api']).toMatch(/TimeLeft:2500/);
    await admin('POST', '/_local/realism', { modes: ['acr.error-bodies'] });
    const other = await raw(ACR, 'ListRepoSyncTask', { InstanceId: SRC });
    expect(other.status).toBe(400);
    expect(other.headers['x-acs-retry-after']).toBe('2500');
    expect(other.headers['x-ratelimit-user-api']).toBeUndefined();
    expect(other.json()).toMatchObject({ code: 'Throttling.User' });
  });
});

describe('ecs.foreign-tasks', () => {
  it('DescribeTasks lists an item without TaskId, a task without its optional fields, and one turning to a status Ferry does not know', async () => {
    const mine = cloud.ecs.createTask({ regionId: 'cn-hangzhou', durationMs: 3_600_000 });
    expect((await raw(ECS, 'DescribeTasks', { RegionId: 'cn-hangzhou' })).json()).toMatchObject({ TotalCount: 1 });

    await admin('POST', '/_local/realism', { modes: ['ecs.foreign-tasks'] });
    const listed = (await raw(ECS, 'DescribeTasks', { RegionId: 'cn-hangzhou', TaskStatus: 'Processing' })).json();
    expect(listed.TotalCount).toBe(4);
    const tasks = listed.TaskSet.Task as Array<Record<string, any>>;
    expect(tasks[0]).toEqual({ TaskAction: 'ImportImage', TaskStatus: 'Processing', SupportCancel: 'true', CreationTime: expect.any(String) });
    const sparse = tasks.find((t) => Object.keys(t).length === 2)!;
    expect(sparse).toEqual({ TaskId: expect.stringMatching(/^t-/), TaskStatus: 'Processing' });
    expect(tasks.map((t) => t.TaskId)).toContain(mine.taskId);

    // Real tasks of the region: the admin API shows them.
    const foreign = (await admin('GET', '/_local/ecs/tasks')).body.tasks.filter((t: { taskId: string }) => t.taskId !== mine.taskId);
    expect(foreign).toHaveLength(2);
    cloud.clock.advance(61_000);
    const later = (await raw(ECS, 'DescribeTasks', { RegionId: 'cn-hangzhou', TaskIds: foreign.map((t: { taskId: string }) => t.taskId).join(',') })).json();
    const retrying = (later.TaskSet.Task as Array<Record<string, any>>).find((t) => t.TaskStatus === 'Retrying')!;
    expect(retrying).toMatchObject({ SupportCancel: 'true' });
    // A Processing filter does not list it any more; it can still be cancelled.
    expect((await raw(ECS, 'DescribeTasks', { RegionId: 'cn-hangzhou', TaskStatus: 'Processing' })).json().TotalCount).toBe(3);
    expect((await raw(ECS, 'CancelTask', { RegionId: 'cn-hangzhou', TaskId: retrying.TaskId })).status).toBe(200);
    expect(cloud.ecs.task(retrying.TaskId)?.status).toBe('Deleted');
  });

  it('a task created not cancellable says SupportCancel "false", and CancelTask refuses it', async () => {
    const t = (await admin('POST', '/_local/ecs/tasks', { regionId: 'cn-hangzhou', stuck: true, cancellable: false })).body;
    expect(t).toMatchObject({ status: 'Processing', supportCancel: false });
    expect((await raw(ECS, 'DescribeTaskAttribute', { RegionId: 'cn-hangzhou', TaskId: t.taskId })).json()).toMatchObject({ TaskStatus: 'Processing', SupportCancel: 'false' });
    const refused = await raw(ECS, 'CancelTask', { RegionId: 'cn-hangzhou', TaskId: t.taskId });
    expect({ status: refused.status, code: refused.json().Code }).toEqual({ status: 403, code: 'CancelTaskFailed' });
  });
});
