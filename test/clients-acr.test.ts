import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AcrClient } from '../shared/clients/acr.ts';
import {
  CloudAuthError,
  type CloudError,
  CloudInvalidRequestError,
  CloudMalformedResponseError,
  CloudNotFoundError,
  CloudPermissionError,
  CloudThrottledError,
  CloudTransientError,
} from '../shared/clients/errors.ts';
import { AccountLimiter } from '../shared/clients/transport.ts';
import { alibabaSignatureProblem, fakeClock, startServer, type FakeClock, type TestServer } from './clients-harness.ts';

const SECRET = 'test-secret-acr';
const creds = { accessKeyId: 'LTAI-test', accessKeySecret: SECRET };
const INSTANCE = 'cri-abcd1234';
const TASK = 'rst-abcd1234';

let server: TestServer;
let clock: FakeClock;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  clock = fakeClock();
});

function client(extra: Partial<ConstructorParameters<typeof AcrClient>[0]> = {}) {
  return new AcrClient({
    regionId: 'cn-hangzhou',
    endpoint: server.url,
    credentials: () => creds,
    clock,
    limiter: new AccountLimiter({ ratePerSecond: 1000, burst: 1000 }, clock),
    retry: { random: () => 0.5 },
    timeoutMs: 2_000,
    ...extra,
  });
}

async function failure(p: Promise<unknown>): Promise<CloudError> {
  try {
    await p;
  } catch (e) {
    return e as CloudError;
  }
  throw new Error('expected the call to fail');
}

const ok = (body: object) => ({ status: 200, body: { RequestId: 'REQ-1', Code: 'success', IsSuccess: true, ...body } });

const syncTask = {
  ModifedTime: 1572839133000,
  SyncRuleId: 'crsr-7lph66uloi6h',
  SyncTaskId: 'rst-4kfd7fk6pohk',
  TaskStatus: 'SUCCESS',
  CreateTime: 1572839126000,
  SyncBatchTaskId: '15DEEB56-9271-4FDD-AC4D-C3A5CC2C',
  CrossUser: true,
  SyncTransAccelerate: true,
  TaskTrigger: 'PASSIVE',
  ImageFrom: { RepoNamespaceName: 'test', InstanceId: 'cri-kmsiwlxxdcva', ImageTag: 'v0.1', RepoName: 'test', RegionId: 'cn-shanghai' },
  ImageTo: { RepoNamespaceName: 'test', InstanceId: 'cri-k77rd2eo9zttneqo', ImageTag: 'v0.1', RepoName: 'test', RegionId: 'cn-shenzhen' },
  CustomLink: true,
};

describe('AcrClient requests (V3 signing, like @alicloud/openapi-client)', () => {
  it('createRepoSyncTask sends POST / with every parameter in the query, correctly signed', async () => {
    server.script(ok({ SyncTaskId: 'rst-gbch330f0c' }));
    const r = await client().createRepoSyncTask({
      instanceId: INSTANCE,
      repoId: 'crr-iql7jalx4g0',
      tag: 'tag1',
      targetInstanceId: 'cri-ibxs3piklys3',
      targetNamespace: 'ns1',
      targetRegionId: 'cn-beijing',
      targetRepoName: 'repo1',
      targetTag: 'tag1',
      override: true,
    });
    expect(r).toEqual({ syncTaskId: 'rst-gbch330f0c', requestId: 'REQ-1' });
    const req = server.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/');
    expect(req.body).toBe('');
    expect(req.query).toEqual({
      InstanceId: INSTANCE,
      RegionId: 'cn-hangzhou',
      RepoId: 'crr-iql7jalx4g0',
      Tag: 'tag1',
      TargetInstanceId: 'cri-ibxs3piklys3',
      TargetNamespace: 'ns1',
      TargetRegionId: 'cn-beijing',
      TargetRepoName: 'repo1',
      TargetTag: 'tag1',
      Override: 'true',
    });
    expect(req.headers['x-acs-action']).toBe('CreateRepoSyncTask');
    expect(req.headers['x-acs-version']).toBe('2018-12-01');
    expect(req.headers['x-acs-date']).toBe(new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    expect(req.headers['x-acs-signature-nonce']).toMatch(/^[0-9a-f]{32}$/);
    expect(req.headers.accept).toBe('application/json');
    expect(req.headers['user-agent']).toMatch(/^AlibabaCloud \(/);
    expect(req.headers.host).toBe(new URL(server.url).host);
    expect(req.headers.authorization).toMatch(
      /^ACS3-HMAC-SHA256 Credential=LTAI-test,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=[0-9a-f]{64}$/,
    );
    expect(alibabaSignatureProblem(req, SECRET)).toBeNull();
    expect(alibabaSignatureProblem(req, 'wrong-secret')).toBe('V3 signature mismatch');
  });

  it('STS credentials add x-acs-accesskey-id and x-acs-security-token, both signed; nonces differ per request', async () => {
    server.setDefault(() => ok({}));
    const sts = client({ credentials: async () => ({ ...creds, securityToken: 'sts-token-1' }) });
    await sts.cancelRepoSyncTask({ instanceId: INSTANCE, syncTaskId: TASK });
    await sts.cancelRepoSyncTask({ instanceId: INSTANCE, syncTaskId: TASK });
    const [a, b] = server.requests;
    expect(a!.headers['x-acs-security-token']).toBe('sts-token-1');
    expect(a!.headers['x-acs-accesskey-id']).toBe('LTAI-test');
    expect(a!.headers.authorization).toContain('x-acs-security-token');
    expect(alibabaSignatureProblem(a!, SECRET)).toBeNull();
    expect(a!.headers['x-acs-signature-nonce']).not.toBe(b!.headers['x-acs-signature-nonce']);
  });

  it('V1 signing puts the common parameters and Signature in the query (like pop-core)', async () => {
    server.script(ok({}));
    await client({ signatureVersion: 'v1', credentials: () => ({ ...creds, securityToken: 'sts-2' }) }).cancelRepoSyncTask({ instanceId: INSTANCE, syncTaskId: TASK });
    const req = server.requests[0]!;
    expect(req.headers.authorization).toBeUndefined();
    expect(req.query).toMatchObject({
      Action: 'CancelRepoSyncTask',
      Version: '2018-12-01',
      Format: 'JSON',
      AccessKeyId: 'LTAI-test',
      SignatureMethod: 'HMAC-SHA1',
      SignatureVersion: '1.0',
      SecurityToken: 'sts-2',
      InstanceId: INSTANCE,
      SyncTaskId: TASK,
    });
    expect(req.query.Timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(req.query.SignatureNonce).toBeTruthy();
    expect(alibabaSignatureProblem(req, SECRET)).toBeNull();
    expect(alibabaSignatureProblem(req, 'nope')).toBe('V1 signature mismatch');
  });
});

describe('AcrClient results', () => {
  it('getRepository by namespace + name', async () => {
    server.script(
      ok({
        RepoId: 'crr-abcd1234',
        RepoName: 'app',
        RepoNamespaceName: 'team',
        RepoStatus: 'NORMAL',
        RepoType: 'PRIVATE',
        InstanceId: INSTANCE,
        CreateTime: 1,
        ModifiedTime: 2,
        TagImmutability: false,
      }),
    );
    const r = await client().getRepository({ instanceId: INSTANCE, repoNamespaceName: 'team', repoName: 'app' });
    expect(r).toMatchObject({ repoId: 'crr-abcd1234', repoName: 'app', repoNamespaceName: 'team', repoStatus: 'NORMAL', repoType: 'PRIVATE', modifiedTime: 2 });
    expect(server.requests[0]!.query).toEqual({ InstanceId: INSTANCE, RepoNamespaceName: 'team', RepoName: 'app' });
  });

  it('getRepository by id; REPO_NOT_EXIST → CloudNotFoundError', async () => {
    server.script({ status: 404, body: { RequestId: 'R-404', Code: 'REPO_NOT_EXIST', Message: 'repo is not exist.' } });
    const e = await failure(client().getRepository({ instanceId: INSTANCE, repoId: 'crr-abcd1234' }));
    expect(e).toBeInstanceOf(CloudNotFoundError);
    expect(e).toMatchObject({ code: 'REPO_NOT_EXIST', requestId: 'R-404', status: 404, provider: 'acr', action: 'GetRepository' });
    expect(server.requests[0]!.query).toEqual({ InstanceId: INSTANCE, RepoId: 'crr-abcd1234' });
  });

  it('listRepository pages (TotalCount string or number)', async () => {
    server.script(ok({ PageNo: 2, PageSize: 100, TotalCount: '101', Repositories: [{ RepoId: 'crr-abcd1234', RepoName: 'app', RepoNamespaceName: 'team' }] }));
    const r = await client().listRepository({ instanceId: INSTANCE, repoNamespaceName: 'team', pageNo: 2, pageSize: 100 });
    expect(r).toMatchObject({ pageNo: 2, pageSize: 100, totalCount: 101 });
    expect(r.items[0]!.repoId).toBe('crr-abcd1234');
    expect(server.requests[0]!.query).toEqual({ InstanceId: INSTANCE, RepoNamespaceName: 'team', PageNo: '2', PageSize: '100' });
  });

  it('getRepoSyncTask parses layer tasks and progress', async () => {
    server.script(
      ok({
        ...syncTask,
        ModifedTime: undefined,
        ModifiedTime: 1572839199000,
        TaskStatus: 'SYNCHRONIZING',
        TaskIssue: '',
        Progress: 0,
        SyncedSize: 1024,
        LayerTasks: [{ SyncLayerTaskId: 'rslt-abc', Digest: 'sha256:aa', ArtifactDigest: 'sha256:bb', Size: 2048, SyncedSize: 1024, TaskStatus: 'SYNCHRONIZING' }],
      }),
    );
    const t = await client().getRepoSyncTask({ instanceId: INSTANCE, syncTaskId: TASK });
    expect(t).toMatchObject({ syncTaskId: 'rst-4kfd7fk6pohk', taskStatus: 'SYNCHRONIZING', taskIssue: undefined, modifiedTime: 1572839199000, progress: 0, syncedSize: 1024 });
    expect(t.layerTasks).toEqual([{ syncLayerTaskId: 'rslt-abc', digest: 'sha256:aa', artifactDigest: 'sha256:bb', size: 2048, syncedSize: 1024, taskStatus: 'SYNCHRONIZING' }]);
  });

  it('listRepoSyncTask: the seed sample (TotalCount string, ModifedTime spelling)', async () => {
    server.script(ok({ PageNo: 1, PageSize: 30, TotalCount: '1', SyncTasks: [syncTask] }));
    const r = await client().listRepoSyncTask({ instanceId: INSTANCE, repoNamespaceName: 'test', repoName: 'test', tag: 'v0.1', syncRecordId: 'crsr-7lph66uloi6h', pageNo: 1, pageSize: 30 });
    expect(r.totalCount).toBe(1);
    expect(r.items[0]).toEqual({
      syncTaskId: 'rst-4kfd7fk6pohk',
      taskStatus: 'SUCCESS',
      syncBatchTaskId: '15DEEB56-9271-4FDD-AC4D-C3A5CC2C',
      syncRuleId: 'crsr-7lph66uloi6h',
      taskTrigger: 'PASSIVE',
      taskIssue: undefined,
      createTime: 1572839126000,
      modifiedTime: 1572839133000,
      crossUser: true,
      imageFrom: { instanceId: 'cri-kmsiwlxxdcva', regionId: 'cn-shanghai', repoNamespaceName: 'test', repoName: 'test', imageTag: 'v0.1' },
      imageTo: { instanceId: 'cri-k77rd2eo9zttneqo', regionId: 'cn-shenzhen', repoNamespaceName: 'test', repoName: 'test', imageTag: 'v0.1' },
    });
    expect(server.requests[0]!.query).toMatchObject({ SyncRecordId: 'crsr-7lph66uloi6h', Tag: 'v0.1', PageSize: '30' });
  });

  it('iterateRepoSyncTasks walks every page', async () => {
    const many = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ ...syncTask, SyncTaskId: `rst-task${from + i}` }));
    server.script(ok({ PageNo: 1, PageSize: 100, TotalCount: '150', SyncTasks: many(100, 0) }), ok({ PageNo: 2, PageSize: 100, TotalCount: '150', SyncTasks: many(50, 100) }));
    const all = [];
    for await (const t of client().iterateRepoSyncTasks({ instanceId: INSTANCE })) all.push(t);
    expect(all).toHaveLength(150);
    expect(server.requests.map((r) => r.query.PageNo)).toEqual(['1', '2']);
  });

  it('cancelRepoSyncTask succeeds', async () => {
    server.script(ok({}));
    await expect(client().cancelRepoSyncTask({ instanceId: INSTANCE, syncTaskId: TASK })).resolves.toEqual({ requestId: 'REQ-1' });
    expect(server.requests[0]!.headers['x-acs-action']).toBe('CancelRepoSyncTask');
  });

  it('createRepoTrigger and listRepoTrigger', async () => {
    server.script(ok({ TriggerId: 'crrt-abc' }), ok({ Triggers: [{ TriggerId: 'crrt-abc', TriggerName: 'ferry', TriggerUrl: 'https://x.example/hook?s=1', TriggerType: 'ALL', TriggerTag: '' }] }));
    const c = client();
    await expect(c.createRepoTrigger({ instanceId: INSTANCE, repoId: 'crr-abcd1234', triggerName: 'ferry', triggerUrl: 'https://x.example/hook?s=1', triggerType: 'ALL' })).resolves.toMatchObject({
      triggerId: 'crrt-abc',
    });
    const { triggers } = await c.listRepoTrigger({ instanceId: INSTANCE, repoId: 'crr-abcd1234' });
    expect(triggers).toEqual([{ triggerId: 'crrt-abc', triggerName: 'ferry', triggerUrl: 'https://x.example/hook?s=1', triggerType: 'ALL', triggerTag: '' }]);
    expect(server.requests[0]!.query).toMatchObject({ TriggerUrl: 'https://x.example/hook?s=1', TriggerType: 'ALL' });
  });
});

describe('AcrClient errors (seed error codes)', () => {
  it.each([
    [400, 'SYNC_TASK_NOT_EXIST', 'Sync task is not exist.', CloudNotFoundError],
    [403, 'NoPrivilege', 'Access denied for this user.', CloudPermissionError],
    [403, 'AUTHENTICATION_FAILED', 'Authentication failed.', CloudPermissionError],
    [500, 'SystemError', 'Unknown error.', CloudTransientError],
    [400, 'SignatureDoesNotMatch', 'sig', CloudAuthError],
    [404, 'InvalidAccessKeyId.NotFound', 'ak', CloudAuthError],
    [400, 'InvalidTimeStamp.Expired', 'ts', CloudAuthError],
    [403, 'Forbidden.RAM', 'ram', CloudPermissionError],
    [400, 'MissingParameter', 'missing', CloudInvalidRequestError],
    [400, 'InvalidParameter', 'bad', CloudInvalidRequestError],
    [503, 'ServiceUnavailable', 'busy', CloudTransientError],
  ])('HTTP %i %s → %o', async (status, code, message, cls) => {
    server.setDefault(() => ({ status, body: { RequestId: 'RID-' + code, HostId: 'cr.cn-hangzhou.aliyuncs.com', Code: code, Message: message, Recommend: 'https://api.aliyun.com/troubleshoot' } }));
    const e = await failure(client({ retry: { maxAttempts: 1 } }).cancelRepoSyncTask({ instanceId: INSTANCE, syncTaskId: TASK }));
    expect(e).toBeInstanceOf(cls);
    expect(e).toMatchObject({ code, requestId: 'RID-' + code, status, provider: 'acr', action: 'CancelRepoSyncTask' });
    expect(e.message).toContain(message);
  });

  it('a 200 with IsSuccess false is an error too', async () => {
    server.script({ status: 200, body: { RequestId: 'R-200', Code: 'SYNC_TASK_NOT_EXIST', IsSuccess: false, Message: 'Sync task is not exist.' } });
    const e = await failure(client().cancelRepoSyncTask({ instanceId: INSTANCE, syncTaskId: TASK }));
    expect(e).toBeInstanceOf(CloudNotFoundError);
    expect(e.requestId).toBe('R-200');
  });

  it('reads retry SystemError and succeed', async () => {
    server.script({ status: 500, body: { Code: 'SystemError', Message: 'x', RequestId: 'a' } }, ok({ PageNo: 1, PageSize: 10, TotalCount: '0', SyncTasks: [] }));
    await expect(client().listRepoSyncTask({ instanceId: INSTANCE })).resolves.toMatchObject({ totalCount: 0, items: [] });
    expect(server.requests).toHaveLength(2);
  });

  it('throttling honours x-ratelimit-user-api TimeLeft (virtual clock)', async () => {
    server.script(
      {
        status: 400,
        headers: { 'x-ratelimit-user-api': 'Limit:1,Remain:0,TimeLeft:2000,Reset:1234' },
        body: { Code: 'Throttling.User', Message: 'Request was denied due to user flow control.', RequestId: 't1' },
      },
      ok({ SyncTaskId: 'rst-abcd9999', TaskStatus: 'PENDING' }),
    );
    const t = await client().getRepoSyncTask({ instanceId: INSTANCE, syncTaskId: TASK });
    expect(t.taskStatus).toBe('PENDING');
    expect(server.requests).toHaveLength(2);
    expect(clock.sleeps).toEqual([2000]);
  });

  it('throttling honours Retry-After; gives up when the server wait exceeds maxServerWaitMs', async () => {
    server.script({ status: 429, headers: { 'retry-after': '3' }, body: { Code: 'Throttling', Message: 'slow down', RequestId: 't2' } }, ok({}));
    await client().cancelRepoSyncTask({ instanceId: INSTANCE, syncTaskId: TASK });
    expect(clock.sleeps).toEqual([3000]);

    server.script({ status: 400, headers: { 'x-ratelimit-user': 'Limit:1,Remain:0,TimeLeft:90000,Reset:1' }, body: { Code: 'Throttling.Api', Message: 'slow', RequestId: 't3' } });
    const e = await failure(client().cancelRepoSyncTask({ instanceId: INSTANCE, syncTaskId: TASK }));
    expect(e).toBeInstanceOf(CloudThrottledError);
    expect((e as CloudThrottledError).retryAfterMs).toBe(90000);
  });

  it('createRepoSyncTask retries throttling (the server refused it)', async () => {
    server.script(
      { status: 400, headers: { 'x-ratelimit-user-api': 'Limit:1,Remain:0,TimeLeft:500,Reset:1' }, body: { Code: 'Throttling.User', Message: 'x', RequestId: 't' } },
      ok({ SyncTaskId: 'rst-abcd7777' }),
    );
    await expect(client().createRepoSyncTask(createInput())).resolves.toMatchObject({ syncTaskId: 'rst-abcd7777' });
    expect(server.requests).toHaveLength(2);
    expect(clock.sleeps).toEqual([500]);
  });

  it('a dropped connection is retried for reads', async () => {
    server.script('drop', ok({ ...syncTask }));
    await expect(client().getRepoSyncTask({ instanceId: INSTANCE, syncTaskId: TASK })).resolves.toMatchObject({ taskStatus: 'SUCCESS' });
    expect(server.requests).toHaveLength(2);
  });

  it('a dropped connection is NOT re-sent for createRepoSyncTask (it may have created a task)', async () => {
    server.script('drop', ok({ SyncTaskId: 'rst-abcd7777' }));
    const e = await failure(client().createRepoSyncTask(createInput()));
    expect(e).toBeInstanceOf(CloudTransientError);
    expect(e.action).toBe('CreateRepoSyncTask');
    expect(server.requests).toHaveLength(1);
  });

  it('a 500 on createRepoSyncTask is not re-sent either', async () => {
    server.script({ status: 500, body: { Code: 'SystemError', Message: 'Unknown error.', RequestId: 'r5' } }, ok({ SyncTaskId: 'rst-abcd7777' }));
    const e = await failure(client().createRepoSyncTask(createInput()));
    expect(e).toBeInstanceOf(CloudTransientError);
    expect(e.requestId).toBe('r5');
    expect(server.requests).toHaveLength(1);
  });

  it('a malformed response → CloudMalformedResponseError naming the field', async () => {
    server.script(ok({ PageNo: 1, PageSize: 30, TotalCount: 'lots', SyncTasks: [syncTask] }));
    const e = await failure(client().listRepoSyncTask({ instanceId: INSTANCE }));
    expect(e).toBeInstanceOf(CloudMalformedResponseError);
    expect(e.message).toContain('TotalCount');
    expect(e.requestId).toBe('REQ-1');
  });

  it('a non-JSON body → CloudMalformedResponseError', async () => {
    server.script({ status: 200, body: '<html>gateway</html>' });
    const e = await failure(client().cancelRepoSyncTask({ instanceId: INSTANCE, syncTaskId: TASK }));
    expect(e).toBeInstanceOf(CloudMalformedResponseError);
    expect(e.message).toContain('<html>');
  });

  it('bad input is refused before any request, naming the field', async () => {
    const e = await failure(client().cancelRepoSyncTask({ instanceId: 'cri-****', syncTaskId: TASK }));
    expect(e).toBeInstanceOf(CloudInvalidRequestError);
    expect(e.message).toContain('instanceId');
    const e2 = await failure(client().listRepoSyncTask({ instanceId: INSTANCE, pageSize: 500 }));
    expect(e2.message).toMatch(/pageSize: must be at most 100/);
    const e3 = await failure(client().createRepoSyncTask({ ...createInput(), targetNamespace: 'Bad--NS' }));
    expect(e3.message).toContain('targetNamespace');
    expect(server.requests).toHaveLength(0);
  });
});

function createInput() {
  return {
    instanceId: INSTANCE,
    repoId: 'crr-iql7jalx4g0',
    tag: 'tag1',
    targetInstanceId: 'cri-ibxs3piklys3',
    targetNamespace: 'ns1',
    targetRegionId: 'cn-beijing',
    targetRepoName: 'repo1',
    targetTag: 'tag1',
  };
}
