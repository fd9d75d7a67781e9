/**
 * Fidelity to the published models: every Alibaba operation Ferry uses, sent the way the generated
 * SDKs send it — ECS through @alicloud/ecs20140526 itself, ACR through @alicloud/openapi-client with
 * exactly the fields of the cr 2018-12-01 request models (no installable generated ACR client) — is
 * accepted, and answered with every field its response model declares, each of its declared type,
 * and nothing the model does not declare. A field may be absent only where listed, with why.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../local/cloud/server.ts';
import { ALI_KEY, generatedEcs } from './helpers/fidelity-drivers.ts';
import { acrModels, checkAnswer, modelRequest, sdkModels, type Models } from './helpers/model-check.ts';

const require = createRequire(import.meta.url);
const OpenApi = require('@alicloud/openapi-client');
const TeaUtil = require('@alicloud/tea-util');

const SRC = 'cri-localsrc001'; // cn-hangzhou
const DST = 'cri-localdst001'; // cn-shanghai
const SYNC_MS = 600_000;

let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startLocalCloud({
    port: 0,
    random: 5,
    seed: {
      syncDurationMs: { min: SYNC_MS, max: SYNC_MS },
      alibaba: {
        instances: [
          {
            instanceId: SRC,
            region: 'cn-hangzhou',
            namespaces: [
              {
                name: 'team',
                repos: [
                  { name: 'app', tags: {} },
                  { name: 'web', tags: {} },
                  { name: 'api', tags: {} },
                ],
              },
            ],
          },
          { instanceId: DST, region: 'cn-shanghai', namespaces: [{ name: 'team', repos: [] }] },
        ],
      },
    },
  });
});
afterAll(() => cloud?.close());
beforeEach(() => cloud.reset());

/** Expects `body` to be exactly `model`: no wrong type, nothing undeclared, nothing missing but `mayLack` (paths, `[]` for any index). */
function expectModel(body: unknown, model: string, models: Models, mayLack: string[] = []) {
  const problems = checkAnswer(body, model, models);
  expect(problems.wrongType, `${model}: wrong types`).toEqual([]);
  expect(problems.undeclared, `${model}: undeclared fields`).toEqual([]);
  expect(
    problems.missing.filter((path) => !mayLack.includes(path.replace(/\[\d+\]/g, '[]'))),
    `${model}: missing fields`,
  ).toEqual([]);
}

describe('ACR (cr 2018-12-01) through @alicloud/openapi-client, requests of the published model', () => {
  const { ops, models } = acrModels();
  const client = () => new OpenApi.default(new OpenApi.Config({ ...ALI_KEY, endpoint: `127.0.0.1:${cloud.port}`, protocol: 'http' }));

  /** Calls `op` with exactly the request model's fields; returns the raw answer after checking it against the response model. */
  async function acr(op: string, input: Record<string, string | number | boolean>, mayLack: string[] = []): Promise<Record<string, any>> {
    const spec = ops[op]!;
    expect(Object.values(spec.where).every((w) => w === 'query')).toBe(true);
    const params = new OpenApi.Params({ ...spec.params, protocol: 'HTTP' });
    const res = await client().callApi(params, new OpenApi.OpenApiRequest({ query: modelRequest(models, op, input) }), new TeaUtil.RuntimeOptions({}));
    expect(res.statusCode).toBe(200);
    expectModel(res.body, `${op}ResponseBody`, models, mayLack);
    return res.body;
  }

  it('the request helper refuses a field the model does not declare (CreateRepoSyncTask has no RegionId)', () => {
    expect(() => modelRequest(models, 'CreateRepoSyncTask', { instanceId: SRC, regionId: 'cn-hangzhou' })).toThrow(/declares no field regionId/);
  });

  it('GetRepository, ListRepository (PageNo/PageSize and MaxResults/NextToken)', async () => {
    const byName = await acr('GetRepository', { instanceId: SRC, repoNamespaceName: 'team', repoName: 'app' });
    expect(byName).toMatchObject({ RepoName: 'app', RepoNamespaceName: 'team', InstanceId: SRC, Detail: '', ResourceGroupId: expect.stringMatching(/^rg-/) });
    expect(await acr('GetRepository', { instanceId: SRC, repoId: byName.RepoId })).toMatchObject({ RepoId: byName.RepoId });

    const page = await acr('ListRepository', { instanceId: SRC, repoNamespaceName: 'team', repoStatus: 'ALL', pageNo: 1, pageSize: 2 });
    expect(page).toMatchObject({ PageNo: 1, PageSize: 2, TotalCount: '3', MaxResults: 2 });
    const seen: string[] = [];
    let token = '';
    do {
      const r = await acr('ListRepository', { instanceId: SRC, maxResults: 2, ...(token ? { nextToken: token } : {}) });
      seen.push(...r.Repositories.map((x: { RepoName: string }) => x.RepoName));
      token = r.NextToken;
    } while (token);
    expect(seen.sort()).toEqual(['api', 'app', 'web']);
  });

  it('CreateRepoSyncTask (no RegionId) → GetRepoSyncTask → ListRepoSyncTask → CancelRepoSyncTask; an ERROR task carries TaskIssue', async () => {
    const { repoId } = await cloud.acr.push({ instanceId: SRC, namespace: 'team', repo: 'app', tag: 'v1' });
    const target = { targetInstanceId: DST, targetNamespace: 'team', targetRegionId: 'cn-shanghai', targetRepoName: 'app' };
    const created = await acr('CreateRepoSyncTask', { instanceId: SRC, repoId, tag: 'v1', ...target, targetTag: 'v1', override: false });
    const id = created.SyncTaskId as string;
    // TaskIssue says why a task failed: a task that did not fail has none.
    const got = await acr('GetRepoSyncTask', { instanceId: SRC, syncTaskId: id }, ['TaskIssue']);
    expect(got).toMatchObject({ SyncTaskId: id, TaskStatus: 'PENDING', ImageFrom: { RegionId: 'cn-hangzhou' }, ImageTo: { RegionId: 'cn-shanghai' } });
    const listed = await acr('ListRepoSyncTask', { instanceId: SRC, repoNamespaceName: 'team', repoName: 'app', tag: 'v1', pageNo: 1, pageSize: 10 }, ['SyncTasks[].TaskIssue']);
    expect(listed.SyncTasks.map((t: { SyncTaskId: string }) => t.SyncTaskId)).toEqual([id]);
    expect(await acr('ListRepoSyncTask', { instanceId: SRC, syncRecordId: got.SyncBatchTaskId }, ['SyncTasks[].TaskIssue'])).toMatchObject({ TotalCount: '1' });
    await acr('CancelRepoSyncTask', { instanceId: SRC, syncTaskId: id });
    expect(cloud.acr.task(id)?.status).toBe('CANCELED');

    cloud.acr.addOutcome({ tag: 'v2', outcome: 'error', taskIssue: 'NETWORK_ERROR' });
    const failing = await acr('CreateRepoSyncTask', { instanceId: SRC, repoId, tag: 'v1', ...target, targetTag: 'v2' });
    cloud.clock.advance(SYNC_MS + 1);
    expect(await acr('GetRepoSyncTask', { instanceId: SRC, syncTaskId: failing.SyncTaskId })).toMatchObject({ TaskStatus: 'ERROR', TaskIssue: 'NETWORK_ERROR' });
  });

  it('CreateRepoTrigger → ListRepoTrigger (with RepoEvent)', async () => {
    const repoId = cloud.acr.repoId(SRC, 'team', 'app')!;
    const created = await acr('CreateRepoTrigger', { instanceId: SRC, repoId, triggerName: 'ferry', triggerUrl: 'https://ferry.example/webhook', triggerType: 'TAG_LIST', triggerTag: 'v1,v2' });
    const listed = await acr('ListRepoTrigger', { instanceId: SRC, repoId });
    expect(listed.Triggers).toEqual([
      { TriggerId: created.TriggerId, TriggerName: 'ferry', TriggerUrl: 'https://ferry.example/webhook', TriggerType: 'TAG_LIST', TriggerTag: 'v1,v2', RepoEvent: expect.any(String) },
    ]);
  });
});

describe('ECS (2014-05-26) through the generated @alicloud/ecs20140526 client', () => {
  let ecs: ReturnType<typeof generatedEcs>;
  let models: Models;
  beforeAll(() => {
    ecs = generatedEcs(cloud);
    models = {};
    for (const body of ['DescribeTasksResponseBody', 'DescribeTaskAttributeResponseBody', 'CancelTaskResponseBody']) sdkModels(ecs.Ecs[body], models);
  });

  /** The last raw answer, checked against the SDK's response model. */
  function answered(model: string, mayLack: string[] = []) {
    const raw = ecs.raw();
    expect(raw.statusCode).toBe(200);
    expectModel(raw.body, model, models, mayLack);
    return raw.body;
  }

  it('DescribeTasks with every filter the model has; TaskStatus other than Finished/Processing/Failed does not take effect', async () => {
    const { Ecs, client } = ecs;
    const running = cloud.ecs.createTask({ regionId: 'cn-hangzhou', action: 'ImportImage', durationMs: SYNC_MS, resourceId: 'm-running0001' });
    const done = cloud.ecs.createTask({ regionId: 'cn-hangzhou', action: 'ExportImage', durationMs: 1, resourceId: 'm-finished001' });
    cloud.clock.advance(10);
    const start = new Date(running.createdAt - 60_000).toISOString().slice(0, 16) + 'Z';
    const end = new Date(cloud.clock.now() + 60_000).toISOString().slice(0, 16) + 'Z';
    const typed = await client.describeTasks(
      new Ecs.DescribeTasksRequest({
        regionId: 'cn-hangzhou',
        taskIds: `${running.taskId},${done.taskId}`,
        taskAction: 'ImportImage',
        taskStatus: 'Processing',
        resourceIds: ['m-running0001'],
        startTime: start,
        endTime: end,
        pageNumber: 1,
        pageSize: 100,
        ownerId: 1000000000000001,
        ownerAccount: 'ferry',
        resourceOwnerId: 1000000000000001,
        resourceOwnerAccount: 'ferry',
      }),
    );
    expect(typed.body.taskSet.task.map((t: { taskId: string }) => t.taskId)).toEqual([running.taskId]);
    expect(answered('DescribeTasksResponseBody').TaskSet.Task[0]).toMatchObject({ TaskId: running.taskId, SupportCancel: 'true', ResourceId: 'm-running0001' });

    await client.describeTasks(new Ecs.DescribeTasksRequest({ regionId: 'cn-hangzhou', resourceIds: ['m-finished001'] }));
    expect(answered('DescribeTasksResponseBody').TaskSet.Task.map((t: { TaskId: string }) => t.TaskId)).toEqual([done.taskId]);
    await client.describeTasks(new Ecs.DescribeTasksRequest({ regionId: 'cn-hangzhou', taskStatus: 'Deleted' }));
    expect(answered('DescribeTasksResponseBody')).toMatchObject({ TotalCount: 2 });
  });

  it('DescribeTaskAttribute and CancelTask', async () => {
    const { Ecs, client } = ecs;
    const running = cloud.ecs.createTask({ regionId: 'cn-hangzhou', durationMs: SYNC_MS });
    const typed = await client.describeTaskAttribute(new Ecs.DescribeTaskAttributeRequest({ regionId: 'cn-hangzhou', taskId: running.taskId }));
    expect(typed.body).toMatchObject({ taskId: running.taskId, taskStatus: 'Processing', supportCancel: 'true' });
    expect(answered('DescribeTaskAttributeResponseBody').OperationProgressSet.OperationProgress).toHaveLength(1);
    await client.cancelTask(new Ecs.CancelTaskRequest({ regionId: 'cn-hangzhou', taskId: running.taskId, ownerId: 1000000000000001, resourceOwnerAccount: 'ferry' }));
    answered('CancelTaskResponseBody');
    expect(cloud.ecs.task(running.taskId)?.status).toBe('Deleted');
  });
});
