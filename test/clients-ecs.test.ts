import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EcsClient, normalizeTaskAction } from '../shared/clients/ecs.ts';
import { CloudConflictError, CloudError, CloudInvalidRequestError, CloudMalformedResponseError, CloudNotFoundError, CloudThrottledError, CloudTransientError } from '../shared/clients/errors.ts';
import { AccountLimiter } from '../shared/clients/transport.ts';
import { alibabaSignatureProblem, fakeClock, startServer, type FakeClock, type TestServer } from './clients-harness.ts';

const SECRET = 'ecs-secret';
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

function client(extra: Partial<ConstructorParameters<typeof EcsClient>[0]> = {}) {
  return new EcsClient({
    regionId: 'cn-hangzhou',
    endpoint: server.url,
    credentials: () => ({ accessKeyId: 'ak-ecs', accessKeySecret: SECRET }),
    clock,
    limiter: new AccountLimiter({ ratePerSecond: 1000, burst: 1000 }, clock),
    retry: { random: () => 0 },
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

const task = (over: object = {}) => ({
  TaskId: 't-abcd0001',
  TaskAction: 'ImportImage',
  TaskStatus: 'Processing',
  SupportCancel: 'true',
  CreationTime: '2024-01-31T08:00Z',
  FinishedTime: '',
  ResourceId: 'm-abc',
  ...over,
});

describe('EcsClient', () => {
  it('describeTasks joins TaskIds, signs V3 with ECS version, parses SupportCancel and both TaskAction spellings', async () => {
    server.script({
      status: 200,
      body: {
        RequestId: 'R1',
        RegionId: 'cn-hangzhou',
        PageNumber: 1,
        PageSize: 100,
        TotalCount: 2,
        TaskSet: { Task: [task(), task({ TaskId: 't-abcd0002', TaskAction: 'IMPORT_IMAGE', TaskStatus: 'Finished', SupportCancel: 'false' })] },
      },
    });
    const r = await client().describeTasks({ taskIds: ['t-abcd0001', 't-abcd0002'], taskAction: 'ImportImage', pageSize: 100 });
    expect(r.totalCount).toBe(2);
    expect(r.tasks.map((t) => [t.taskId, t.taskAction, t.taskStatus, t.supportCancel])).toEqual([
      ['t-abcd0001', 'ImportImage', 'Processing', true],
      ['t-abcd0002', 'ImportImage', 'Finished', false],
    ]);
    const req = server.requests[0]!;
    expect(req.query).toEqual({ RegionId: 'cn-hangzhou', TaskIds: 't-abcd0001,t-abcd0002', TaskAction: 'ImportImage', PageSize: '100' });
    expect(req.headers['x-acs-version']).toBe('2014-05-26');
    expect(req.headers['x-acs-action']).toBe('DescribeTasks');
    expect(alibabaSignatureProblem(req, SECRET)).toBeNull();
  });

  it('describeTasks with an empty TaskSet', async () => {
    server.script({ status: 200, body: { RequestId: 'R', PageNumber: 1, PageSize: 10, TotalCount: 0, TaskSet: { Task: [] } } });
    await expect(client().describeTasks()).resolves.toMatchObject({ tasks: [], totalCount: 0 });
  });

  it('describeTasks refuses more than 100 ids', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => `t-abcd${String(i).padStart(4, '0')}`);
    const e = await failure(client().describeTasks({ taskIds: ids }));
    expect(e).toBeInstanceOf(CloudInvalidRequestError);
    expect(e.message).toContain('taskIds: at most 100');
    expect(server.requests).toHaveLength(0);
  });

  it('describeTaskAttribute', async () => {
    server.script({
      status: 200,
      body: {
        RequestId: 'R2',
        RegionId: 'cn-hangzhou',
        ...task({ TaskAction: 'EXPORT_IMAGE', TaskStatus: 'Failed', SupportCancel: 'false' }),
        TaskProcess: '100%',
        SuccessCount: 0,
        FailedCount: 1,
        TotalCount: 1,
        OperationProgressSet: { OperationProgress: [{ ErrorCode: 'X', ErrorMsg: 'boom', OperationStatus: 'Failed', RelatedItemSet: { RelatedItem: [{ Name: 'ImageId', Value: 'm-abc' }] } }] },
      },
    });
    const a = await client().describeTaskAttribute({ taskId: 't-abcd0001' });
    expect(a).toMatchObject({ taskAction: 'ExportImage', taskStatus: 'Failed', supportCancel: false, taskProcess: '100%', failedCount: 1, requestId: 'R2' });
    expect(a.operationProgress).toEqual([{ errorCode: 'X', errorMsg: 'boom', operationStatus: 'Failed', relatedItems: [{ name: 'ImageId', value: 'm-abc' }] }]);
    expect(server.requests[0]!.query).toEqual({ RegionId: 'cn-hangzhou', TaskId: 't-abcd0001' });
  });

  it('cancelTask succeeds (V1 signing too)', async () => {
    server.script({ status: 200, body: { RequestId: '473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E' } });
    await expect(client({ signatureVersion: 'v1' }).cancelTask({ taskId: 't-abcd0001' })).resolves.toEqual({ requestId: '473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E' });
    const req = server.requests[0]!;
    expect(req.query).toMatchObject({ Action: 'CancelTask', Version: '2014-05-26', RegionId: 'cn-hangzhou', TaskId: 't-abcd0001' });
    expect(alibabaSignatureProblem(req, SECRET)).toBeNull();
  });

  it.each([
    [400, 'MissingParameter', 'An input parameter "TaskId" that is mandatory for processing the request is not supplied.', CloudInvalidRequestError],
    [400, 'InvalidRegionId.NotFound', 'The specified RegionId does not exist.', CloudInvalidRequestError],
    [400, 'InvalidTaskId.NotFound', 'The specified "TaskId" is not found.', CloudNotFoundError],
    [403, 'InvalidTaskId.TaskActionNotSupport', 'The specified task action not support.', CloudInvalidRequestError],
    [403, 'InvalidTaskId.IncorrectTaskStatus', 'The specified task status is invalid.', CloudConflictError],
    [403, 'CancelTaskFailed', 'The task is failed to cancel, Please contact the administrator.', CloudError],
  ])('cancelTask HTTP %i %s → %o', async (status, code, message, cls) => {
    server.setDefault(() => ({ status, body: { RequestId: 'RQ', HostId: 'ecs.aliyuncs.com', Code: code, Message: message } }));
    const e = await failure(client().cancelTask({ taskId: 't-abcd0001' }));
    expect(e.constructor).toBe(cls);
    expect(e).toMatchObject({ code, requestId: 'RQ', status, provider: 'ecs', action: 'CancelTask' });
    expect(e.retryable).toBe(false);
    expect(server.requests).toHaveLength(1);
  });

  it('throttling on DescribeTasks waits the server time and retries', async () => {
    server.script(
      { status: 503, headers: { 'x-ratelimit-user-api': 'Limit:10,Remain:0,TimeLeft:1500,Reset:99' }, body: { Code: 'Throttling', Message: 'flow control', RequestId: 'T' } },
      { status: 200, body: { RequestId: 'R', PageNumber: 1, PageSize: 10, TotalCount: 0, TaskSet: { Task: [] } } },
    );
    await client().describeTasks();
    expect(clock.sleeps).toEqual([1500]);
    expect(server.requests).toHaveLength(2);
  });

  it('throttling that persists ends as CloudThrottledError after maxAttempts', async () => {
    server.setDefault(() => ({ status: 400, body: { Code: 'Throttling.User', Message: 'flow control', RequestId: 'T' } }));
    const e = await failure(client({ retry: { maxAttempts: 3, random: () => 0.5, baseDelayMs: 100 } }).describeTasks());
    expect(e).toBeInstanceOf(CloudThrottledError);
    expect(server.requests).toHaveLength(3);
    expect(clock.sleeps).toEqual([50, 100]); // full jitter with random 0.5 over caps 100, 200
  });

  it('a dropped connection on a read is retried; persistent drops end as CloudTransientError', async () => {
    server.script('drop', { status: 200, body: { RequestId: 'R' } });
    await client().cancelTask({ taskId: 't-abcd0001' });
    expect(server.requests).toHaveLength(2);
    server.reset();
    server.setDefault(() => 'drop');
    const e = await failure(client({ retry: { maxAttempts: 2 } }).describeTasks());
    expect(e).toBeInstanceOf(CloudTransientError);
    expect(server.requests).toHaveLength(2);
  });

  it('malformed: a TaskSet that is not a list of tasks', async () => {
    server.script({ status: 200, body: { RequestId: 'R', PageNumber: 1, PageSize: 10, TotalCount: 1, TaskSet: { Task: 'none' } } });
    const e = await failure(client().describeTasks());
    expect(e).toBeInstanceOf(CloudMalformedResponseError);
    expect(e.message).toContain('TaskSet.Task');
  });

  it('normalizeTaskAction', () => {
    expect(normalizeTaskAction('IMPORT_IMAGE')).toBe('ImportImage');
    expect(normalizeTaskAction('EXPORT_IMAGE')).toBe('ExportImage');
    expect(normalizeTaskAction('ImportImage')).toBe('ImportImage');
  });

  it('default endpoint is https://ecs.<region>.aliyuncs.com', () => {
    expect(new EcsClient({ regionId: 'cn-shanghai', credentials: () => ({ accessKeyId: 'a', accessKeySecret: 'b' }) }).rpc.endpoint).toBe('https://ecs.cn-shanghai.aliyuncs.com');
  });
});
