/**
 * Fidelity of the local cloud: the OFFICIAL SDKs and Ferry's own clients pass the same
 * scenarios against it — create → list → get → cancel, every documented error code of the
 * five seed API pages with its HTTP status, throttling and retry, SWR token expiry and
 * refresh — and a request whose signature is altered by one byte is rejected.
 *
 * One scenario list per cloud runs against every "driver" (test/helpers/fidelity-drivers.ts).
 * Faults and outcomes are set from the test in a line: `cloud.faults.add({...})`,
 * `cloud.ecs.createTask({...})`, `cloud.clock.advance(ms)`.
 */
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AcrClient } from '../shared/clients/acr.ts';
import { acsTimestamp } from '../shared/clients/alibaba-rpc.ts';
import { CloudAuthError, CloudConflictError, type CloudError, CloudInvalidRequestError, CloudNotFoundError, CloudPermissionError, CloudTransientError } from '../shared/clients/errors.ts';
import { IamTokenProvider } from '../shared/clients/huawei-iam.ts';
import { canonicalQuery } from '../shared/clients/signing/encode.ts';
import { EMPTY_SHA256, v1Signature, v3Authorization, v3Signature, v3SignedHeaderNames } from '../shared/clients/signing/alibaba.ts';
import { huaweiAuthorization, huaweiSignature, sdkDate } from '../shared/clients/signing/huawei.ts';
import { systemClock } from '../shared/clock.ts';
import { ALI_KEY, DriverError, HW_AKSK, alibabaDrivers, startCountingCloud, swrDrivers, type AlibabaDriver, type CountingCloud, type SwrDriver } from './helpers/fidelity-drivers.ts';
import { swrSdkClient } from './helpers/swr-sdk-driver.ts';

const SRC = 'cri-localsrc001'; // cn-hangzhou, team/app
const DST = 'cri-localdst001'; // cn-shanghai
/** Sync tasks take 10 virtual minutes: they stay PENDING unless a test moves the clock. */
const SYNC_MS = 600_000;

/** Expects `p` to be refused with exactly this status / code (and message when given). */
async function refused(p: Promise<unknown>, status: number | undefined, code: string, message?: string | RegExp): Promise<DriverError> {
  const err = await p.then(
    (v) => {
      throw new Error(`expected ${code} (${status}), got success: ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DriverError);
  const d = err as DriverError;
  expect({ status: d.status, code: d.code }).toEqual({ status, code });
  if (typeof message === 'string') expect(d.message).toBe(message);
  else if (message) expect(d.message).toMatch(message);
  return d;
}

const missing = (name: string) => `An input parameter "${name}" that is mandatory for processing the request is not supplied.`;

// ====================================================================== Alibaba ACR + ECS

describe('Alibaba ACR / ECS', () => {
  let cc: CountingCloud;

  beforeAll(async () => {
    cc = await startCountingCloud({ syncDurationMs: { min: SYNC_MS, max: SYNC_MS } });
  });
  afterAll(() => cc?.cloud.close());
  beforeEach(() => {
    cc.cloud.reset();
    cc.clearRequests();
  });

  async function pushed(tag = 'v1') {
    return cc.cloud.acr.push({ instanceId: SRC, namespace: 'team', repo: 'app', tag });
  }

  function createParams(repoId: string, extra: Record<string, string | boolean> = {}): Record<string, string | boolean> {
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

  async function createdTask(d: AlibabaDriver, extra: Record<string, string | boolean> = {}): Promise<string> {
    const { repoId } = await pushed();
    const r = await d.call('acr', 'CreateRepoSyncTask', createParams(repoId, extra));
    return r.body.SyncTaskId as string;
  }

  describe.each(alibabaDrivers)('$name', (factory) => {
    let d: AlibabaDriver;
    beforeEach(() => {
      d = factory.make(cc);
    });

    it('ACR CreateRepoSyncTask → ListRepoSyncTask → GetRepoSyncTask → CancelRepoSyncTask (twice)', async () => {
      const { repoId } = await pushed();
      const first = await d.call('acr', 'CreateRepoSyncTask', createParams(repoId));
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ Code: 'success', IsSuccess: true, RequestId: expect.any(String), SyncTaskId: expect.stringMatching(/^rst-[a-z0-9]+$/) });
      const id = first.body.SyncTaskId as string;
      cc.cloud.clock.advance(10);
      const second = (await d.call('acr', 'CreateRepoSyncTask', createParams(repoId, { TargetTag: 'v1-copy' }))).body.SyncTaskId as string;

      // Seed 001: TotalCount is a string, newest first, both spellings of the modified time.
      const list = await d.call('acr', 'ListRepoSyncTask', { InstanceId: SRC, PageNo: 1, PageSize: 30 });
      expect(list.body).toMatchObject({ Code: 'success', IsSuccess: true, PageNo: 1, PageSize: 30, TotalCount: '2' });
      const tasks = list.body.SyncTasks as Array<Record<string, any>>;
      expect(tasks.map((t) => t.SyncTaskId)).toEqual([second, id]);
      for (const t of tasks) {
        expect(typeof t.ModifedTime).toBe('number');
        expect(t.ModifiedTime).toBe(t.ModifedTime);
        expect(t.CreateTime).toBeGreaterThan(0);
      }
      expect(tasks[1]).toMatchObject({
        TaskStatus: 'PENDING',
        ImageFrom: { InstanceId: SRC, RegionId: 'cn-hangzhou', RepoNamespaceName: 'team', RepoName: 'app', ImageTag: 'v1' },
        ImageTo: { InstanceId: DST, RegionId: 'cn-shanghai', RepoNamespaceName: 'team', RepoName: 'app', ImageTag: 'v1' },
      });

      const got = await d.call('acr', 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: id });
      expect(got.body).toMatchObject({ Code: 'success', IsSuccess: true, SyncTaskId: id, TaskStatus: 'PENDING', Progress: 0 });

      // Seed 000: success body is {RequestId, Code: "success", IsSuccess: true}.
      const cancel = await d.call('acr', 'CancelRepoSyncTask', { InstanceId: SRC, SyncTaskId: id });
      expect(cancel).toMatchObject({ status: 200, body: { Code: 'success', IsSuccess: true, RequestId: expect.any(String) } });
      expect((await d.call('acr', 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: id })).body.TaskStatus).toBe('CANCELED');
      const again = await d.call('acr', 'CancelRepoSyncTask', { InstanceId: SRC, SyncTaskId: id });
      expect(again.body).toMatchObject({ Code: 'success', IsSuccess: true });
      expect(cc.cloud.acr.task(id)?.status).toBe('CANCELED');
      expect(cc.cloud.acr.task(second)?.status).toBe('PENDING');
      expect(cc.requests('acr:CancelRepoSyncTask')).toBe(2);
    });

    it('CancelRepoSyncTask of an unknown task → 400 SYNC_TASK_NOT_EXIST (seed 000)', async () => {
      await refused(d.call('acr', 'CancelRepoSyncTask', { InstanceId: SRC, SyncTaskId: 'rst-doesnotexist01' }), 400, 'SYNC_TASK_NOT_EXIST', 'Sync task is not exist.');
    });

    // Seeds 000 / 001: the codes the emulator cannot reach by itself are one injected fault away.
    it.each([
      ['acr:CancelRepoSyncTask', 403, 'NoPrivilege', 'Access denied for this user.'],
      ['acr:CancelRepoSyncTask', 403, 'AUTHENTICATION_FAILED', 'Authentication failed.'],
      ['acr:CancelRepoSyncTask', 500, 'SystemError', 'Unknown error.'],
      ['acr:ListRepoSyncTask', 403, 'NoPrivilege', 'Access denied for this user.'],
      ['acr:ListRepoSyncTask', 500, 'SystemError', 'Unknown error.'],
      ['acr:CreateRepoSyncTask', 403, 'NoPrivilege', 'Access denied for this user.'],
      ['acr:CreateRepoSyncTask', 500, 'SystemError', 'Unknown error.'],
    ] as const)('%s fault → %i %s', async (op, status, code, message) => {
      const id = await createdTask(d);
      cc.cloud.faults.add({ op, error: { status, code } });
      const action = op.slice('acr:'.length);
      const params: Record<string, string | boolean> =
        action === 'ListRepoSyncTask' ? { InstanceId: SRC } : action === 'CreateRepoSyncTask' ? createParams(cc.cloud.acr.repoId(SRC, 'team', 'app')!) : { InstanceId: SRC, SyncTaskId: id };
      await refused(d.call('acr', action, params), status, code, message);
      // The generic call is an idempotent one: Ferry's RPC layer retries a 5xx up to 4 attempts; 403 never.
      // (The typed createRepoSyncTask never re-sends after a 5xx: see the typed tests below.)
      expect(cc.requests(op)).toBe((status >= 500 && d.retries ? 4 : 1) + (action === 'CreateRepoSyncTask' ? 1 : 0));
      expect(cc.cloud.acr.task(id)?.status).toBe('PENDING');
      expect(cc.cloud.acr.createCallCount()).toBe(1);
    });

    it('CreateRepoSyncTask without TargetTag → 400 MissingParameter (seed 004); a foreign TargetUserId → 403 NoPrivilege', async () => {
      const { repoId } = await pushed();
      const { TargetTag: _omitted, ...withoutTargetTag } = createParams(repoId);
      await refused(d.call('acr', 'CreateRepoSyncTask', withoutTargetTag), 400, 'MissingParameter', missing('TargetTag'));
      await refused(d.call('acr', 'CreateRepoSyncTask', createParams(repoId, { TargetUserId: '1999999999999999' })), 403, 'NoPrivilege', 'Access denied for this user.');
      expect(cc.cloud.acr.createCallCount()).toBe(0);
    });

    it('ECS CancelTask: a running ImportImage task is cancelled', async () => {
      const task = cc.cloud.ecs.createTask({ regionId: 'cn-hangzhou', durationMs: SYNC_MS });
      const r = await d.call('ecs', 'CancelTask', { RegionId: 'cn-hangzhou', TaskId: task.taskId });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ RequestId: expect.stringMatching(/^[0-9A-F-]{36}$/) });
      expect(cc.cloud.ecs.task(task.taskId)?.status).toBe('Deleted');
    });

    it('ECS DescribeTasks (by ids; by action and status) → DescribeTaskAttribute', async () => {
      const running = cc.cloud.ecs.createTask({ regionId: 'cn-hangzhou', durationMs: SYNC_MS });
      const done = cc.cloud.ecs.createTask({ regionId: 'cn-hangzhou', action: 'ExportImage', durationMs: 1 });
      cc.cloud.clock.advance(10);
      const listed = await d.call('ecs', 'DescribeTasks', { RegionId: 'cn-hangzhou', TaskIds: `${running.taskId},${done.taskId}`, PageSize: 100 });
      expect(listed.body).toMatchObject({ RegionId: 'cn-hangzhou', TotalCount: 2, PageNumber: 1, PageSize: 100 });
      expect(listed.body.TaskSet.Task.map((t: Record<string, string>) => [t.TaskId, t.TaskStatus, t.SupportCancel])).toEqual([
        [done.taskId, 'Finished', 'false'],
        [running.taskId, 'Processing', 'true'],
      ]);
      const processing = await d.call('ecs', 'DescribeTasks', { RegionId: 'cn-hangzhou', TaskAction: 'ImportImage', TaskStatus: 'Processing' });
      expect(processing.body.TaskSet.Task.map((t: Record<string, string>) => t.TaskId)).toEqual([running.taskId]);
      const attr = await d.call('ecs', 'DescribeTaskAttribute', { RegionId: 'cn-hangzhou', TaskId: done.taskId });
      expect(attr.body).toMatchObject({ TaskId: done.taskId, TaskAction: 'ExportImage', TaskStatus: 'Finished', TaskProcess: '100%', SupportCancel: 'false' });
    });

    it('ECS CancelTask: every error code of seed 003 with its HTTP status and message', async () => {
      const running = cc.cloud.ecs.createTask({ regionId: 'cn-hangzhou', durationMs: SYNC_MS });
      await refused(d.call('ecs', 'CancelTask', { TaskId: running.taskId }), 400, 'MissingParameter', missing('RegionId'));
      await refused(d.call('ecs', 'CancelTask', { RegionId: 'cn-hangzhou' }), 400, 'MissingParameter', missing('TaskId'));
      await refused(d.call('ecs', 'CancelTask', { RegionId: 'xx-nowhere-9', TaskId: running.taskId }), 400, 'InvalidRegionId.NotFound', 'The specified RegionId does not exist.');
      await refused(d.call('ecs', 'CancelTask', { RegionId: 'cn-hangzhou', TaskId: 't-doesnotexist0000000' }), 400, 'InvalidTaskId.NotFound', 'The specified "TaskId" is not found.');

      const notCancellable = cc.cloud.ecs.createTask({ regionId: 'cn-hangzhou', action: 'CreateSnapshot', durationMs: SYNC_MS });
      await refused(d.call('ecs', 'CancelTask', { RegionId: 'cn-hangzhou', TaskId: notCancellable.taskId }), 403, 'InvalidTaskId.TaskActionNotSupport', 'The specified task action not support.');

      const finished = cc.cloud.ecs.createTask({ regionId: 'cn-hangzhou', durationMs: 1 });
      cc.cloud.clock.advance(10);
      expect(cc.cloud.ecs.task(finished.taskId)?.status).toBe('Finished');
      await refused(d.call('ecs', 'CancelTask', { RegionId: 'cn-hangzhou', TaskId: finished.taskId }), 403, 'InvalidTaskId.IncorrectTaskStatus', 'The specified task status is invalid.');

      cc.cloud.faults.add({ op: 'ecs:CancelTask', count: 1, error: { status: 403, code: 'CancelTaskFailed' } });
      await refused(d.call('ecs', 'CancelTask', { RegionId: 'cn-hangzhou', TaskId: running.taskId }), 403, 'CancelTaskFailed', 'The task is failed to cancel, Please contact the administrator.');
      expect(cc.cloud.ecs.task(running.taskId)?.status).toBe('Processing');
      // No refusal above was retried by anyone.
      expect(cc.requests('ecs:CancelTask')).toBe(7);
    });

    it('throttling: Throttling.User 400 with x-ratelimit-user-api; Ferry waits TimeLeft and retries', async () => {
      const id = await createdTask(d);
      cc.cloud.faults.add({ op: 'acr:GetRepoSyncTask', count: 2, throttle: { waitMs: 50 } });
      const before = cc.cloud.clock.now();
      if (d.retries) {
        const got = await d.call('acr', 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: id });
        expect(got.body).toMatchObject({ SyncTaskId: id, TaskStatus: 'PENDING' });
        expect(cc.requests('acr:GetRepoSyncTask')).toBe(3);
        // Two waits of TimeLeft (50 ms) each, read from the header.
        expect(cc.cloud.clock.now() - before).toBeGreaterThanOrEqual(100);
      } else {
        for (let i = 0; i < 2; i++) {
          const e = await refused(d.call('acr', 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: id }), 400, 'Throttling.User', 'Request was denied due to user flow control.');
          expect(e.headers?.['x-ratelimit-user-api']).toMatch(/^Limit:\d+,Remain:0,TimeLeft:50,Reset:\d+$/);
        }
        expect((await d.call('acr', 'GetRepoSyncTask', { InstanceId: SRC, SyncTaskId: id })).body.SyncTaskId).toBe(id);
        expect(cc.requests('acr:GetRepoSyncTask')).toBe(3);
      }
    });
  });

  // ------------------------------------------------------------ Ferry's typed API over the same cloud

  describe.each(alibabaDrivers.filter((f) => f.name.startsWith('Ferry')))('$name: typed methods and error classes', (factory) => {
    let acr: NonNullable<AlibabaDriver['ferry']>['acr'];
    let ecs: NonNullable<AlibabaDriver['ferry']>['ecs'];
    beforeEach(() => {
      ({ acr, ecs } = factory.make(cc).ferry!);
    });

    it('createRepoSyncTask → listRepoSyncTask → getRepoSyncTask → cancelRepoSyncTask ×2', async () => {
      const { repoId } = await pushed();
      const input = { instanceId: SRC, repoId, tag: 'v1', targetInstanceId: DST, targetNamespace: 'team', targetRegionId: 'cn-shanghai', targetRepoName: 'app', targetTag: 'v1' };
      const { syncTaskId } = await acr.createRepoSyncTask(input);
      const page = await acr.listRepoSyncTask({ instanceId: SRC });
      expect(page).toMatchObject({ totalCount: 1, pageNo: 1, items: [{ syncTaskId, taskStatus: 'PENDING', modifiedTime: expect.any(Number) }] });
      expect(await acr.getRepoSyncTask({ instanceId: SRC, syncTaskId })).toMatchObject({ syncTaskId, taskStatus: 'PENDING', progress: 0 });
      await acr.cancelRepoSyncTask({ instanceId: SRC, syncTaskId });
      await acr.cancelRepoSyncTask({ instanceId: SRC, syncTaskId });
      expect((await acr.getRepoSyncTask({ instanceId: SRC, syncTaskId })).taskStatus).toBe('CANCELED');
    });

    it('maps every seed error code to its CloudError class, keeping code and status', async () => {
      const expectError = async (p: Promise<unknown>, cls: new (...a: never[]) => CloudError, code: string, status: number) => {
        const err = await p.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(cls);
        expect(err).toMatchObject({ code, status });
      };
      const { repoId } = await pushed();
      const { syncTaskId: id } = await acr.createRepoSyncTask({
        instanceId: SRC,
        repoId,
        tag: 'v1',
        targetInstanceId: DST,
        targetNamespace: 'team',
        targetRegionId: 'cn-shanghai',
        targetRepoName: 'app',
        targetTag: 'v1',
      });
      await expectError(acr.cancelRepoSyncTask({ instanceId: SRC, syncTaskId: 'rst-doesnotexist01' }), CloudNotFoundError, 'SYNC_TASK_NOT_EXIST', 400);
      for (const [status, code, cls] of [
        [403, 'NoPrivilege', CloudPermissionError],
        [403, 'AUTHENTICATION_FAILED', CloudPermissionError],
        [500, 'SystemError', CloudTransientError],
      ] as const) {
        cc.cloud.faults.add({ op: 'acr:CancelRepoSyncTask', error: { status, code } });
        await expectError(acr.cancelRepoSyncTask({ instanceId: SRC, syncTaskId: id }), cls, code, status);
        cc.cloud.faults.clear();
      }
      // CreateRepoSyncTask has no client token: a 5xx may have created the task, so it is not re-sent.
      cc.clearRequests();
      cc.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', error: { status: 500, code: 'SystemError' } });
      await expectError(
        acr.createRepoSyncTask({ instanceId: SRC, repoId, tag: 'v1', targetInstanceId: DST, targetNamespace: 'team', targetRegionId: 'cn-shanghai', targetRepoName: 'app', targetTag: 'v1' }),
        CloudTransientError,
        'SystemError',
        500,
      );
      expect(cc.requests('acr:CreateRepoSyncTask')).toBe(1);
      cc.cloud.faults.clear();
      await expectError(ecs.cancelTask({ taskId: 't-doesnotexist0000000' }), CloudNotFoundError, 'InvalidTaskId.NotFound', 400);
      const other = cc.cloud.ecs.createTask({ regionId: 'cn-hangzhou', action: 'CreateSnapshot', durationMs: SYNC_MS });
      await expectError(ecs.cancelTask({ taskId: other.taskId }), CloudInvalidRequestError, 'InvalidTaskId.TaskActionNotSupport', 403);
      const done = cc.cloud.ecs.createTask({ regionId: 'cn-hangzhou', durationMs: 1 });
      cc.cloud.clock.advance(10);
      await expectError(ecs.cancelTask({ taskId: done.taskId }), CloudConflictError, 'InvalidTaskId.IncorrectTaskStatus', 403);
      const running = cc.cloud.ecs.createTask({ regionId: 'cn-hangzhou', durationMs: SYNC_MS });
      cc.cloud.faults.add({ op: 'ecs:CancelTask', error: { status: 403, code: 'CancelTaskFailed' } });
      const failed = await ecs.cancelTask({ taskId: running.taskId }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failed).toMatchObject({ kind: 'unknown', code: 'CancelTaskFailed', status: 403 });
    });

    it('refuses an incomplete CreateRepoSyncTask before sending anything', async () => {
      const { repoId } = await pushed();
      const input = { instanceId: SRC, repoId, tag: 'v1', targetInstanceId: DST, targetNamespace: 'team', targetRegionId: 'cn-shanghai', targetRepoName: 'app' };
      const err = await acr.createRepoSyncTask(input as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CloudInvalidRequestError);
      expect((err as CloudError).message).toMatch(/targetTag/);
      expect(cc.requests('acr:CreateRepoSyncTask')).toBe(0);
    });
  });

  // ------------------------------------------------------------ signatures altered by one byte

  describe('a signature altered by one byte is rejected', () => {
    const host = () => new URL(cc.cloud.url).host;

    function flipOneByte(sig: string, at: number): string {
      const c = sig[at]!;
      return sig.slice(0, at) + (c === 'A' ? 'B' : c === '0' ? '1' : c === 'a' ? 'b' : 'A') + sig.slice(at + 1);
    }

    async function sendV1(alter: boolean) {
      const query: Record<string, string> = {
        Action: 'ListRepoSyncTask',
        Format: 'JSON',
        Version: '2018-12-01',
        Timestamp: acsTimestamp(Date.now()),
        SignatureNonce: crypto.randomUUID(),
        InstanceId: SRC,
        SignatureMethod: 'HMAC-SHA1',
        SignatureVersion: '1.0',
        AccessKeyId: ALI_KEY.accessKeyId,
      };
      const signature = v1Signature('POST', query, ALI_KEY.accessKeySecret);
      query.Signature = alter ? flipOneByte(signature, 0) : signature;
      const res = await request(`${cc.cloud.url}/?${canonicalQuery(query)}`, { method: 'POST' });
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> };
    }

    async function sendV3(alter: boolean) {
      const query = { InstanceId: SRC };
      const headers: Record<string, string> = {
        host: host(),
        'x-acs-action': 'ListRepoSyncTask',
        'x-acs-version': '2018-12-01',
        'x-acs-date': acsTimestamp(Date.now()),
        'x-acs-signature-nonce': crypto.randomUUID(),
        'x-acs-content-sha256': EMPTY_SHA256,
      };
      const signed = v3SignedHeaderNames(headers);
      const signature = v3Signature({ method: 'POST', path: '/', query, headers, payloadHash: EMPTY_SHA256 }, signed, ALI_KEY.accessKeySecret);
      headers.authorization = v3Authorization(ALI_KEY.accessKeyId, signed, alter ? flipOneByte(signature, signature.length - 1) : signature);
      const res = await request(`${cc.cloud.url}/?${canonicalQuery(query)}`, { method: 'POST', headers });
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> };
    }

    it.each([
      ['V1 (HMAC-SHA1)', sendV1],
      ['V3 (ACS3-HMAC-SHA256)', sendV3],
    ])('%s: the exact request passes; with one signature byte changed → 400 SignatureDoesNotMatch', async (_name, send) => {
      expect(await send(false)).toMatchObject({ status: 200, body: { Code: 'success', TotalCount: '0' } });
      const bad = await send(true);
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ Code: 'SignatureDoesNotMatch', Message: expect.stringMatching(/^Specified signature is not matched with our calculation/) });
    });

    it("Ferry's client sees a bad secret as CloudAuthError SignatureDoesNotMatch", async () => {
      const bad = new AcrClient({ regionId: 'cn-hangzhou', endpoint: cc.cloud.url, credentials: () => ({ ...ALI_KEY, accessKeySecret: 'local-ferry-secreT' }), clock: cc.clock });
      const err = await bad.listRepoSyncTask({ instanceId: SRC }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CloudAuthError);
      expect(err).toMatchObject({ code: 'SignatureDoesNotMatch', status: 400 });
      expect(cc.requests('acr:ListRepoSyncTask')).toBe(1);
    });
  });
});

// ====================================================================== Huawei SWR (+ IAM)

describe('Huawei SWR', () => {
  let cc: CountingCloud;
  const EAST = { remoteRegionId: 'cn-east-3', remoteNamespace: 'team' };

  beforeAll(async () => {
    cc = await startCountingCloud({ syncDurationMs: { min: SYNC_MS, max: SYNC_MS }, huawei: { tokenTtlMs: 60_000 } });
  });
  afterAll(() => cc?.cloud.close());
  beforeEach(() => {
    cc.cloud.reset();
    cc.clearRequests();
  });

  describe.each([...swrDrivers, swrSdkClient])('$name', (factory) => {
    let d: SwrDriver;
    beforeEach(() => {
      d = factory.make(cc);
    });

    it('sync_repo: create → list → delete → delete again (400 SVCSTG.SWR.4001158 "already gone") → never existed 404', async () => {
      await d.createSyncRepo('team', 'app', { ...EAST, syncAuto: true });
      const listed = await d.listSyncRepos('team', 'app');
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({ namespace: 'team', repoName: 'app', ...EAST, syncAuto: true, override: false, domainName: 'ferry-local', id: expect.any(Number) });
      await refused(d.createSyncRepo('team', 'app', EAST), 409, 'SVCSTG.SWR.4091001');
      await d.deleteSyncRepo('team', 'app', EAST);
      expect(await d.listSyncRepos('team', 'app')).toEqual([]);
      await refused(d.deleteSyncRepo('team', 'app', EAST), 400, 'SVCSTG.SWR.4001158');
      await refused(d.deleteSyncRepo('team', 'app', { remoteRegionId: 'cn-south-1', remoteNamespace: 'team' }), 404, 'SVCSTG.SWR.4040160');
      expect(cc.requests('swr:sync_repo:delete')).toBe(3);
    });

    it('404 for an unknown organization or repository (seed 002)', async () => {
      await refused(d.listSyncRepos('ghost', 'app'), 404, 'SVCSTG.SWR.4040058');
      await refused(d.listSyncRepos('team', 'ghost'), 404, 'SVCSTG.SWR.4040010');
      await refused(d.deleteSyncRepo('ghost', 'app', EAST), 404, 'SVCSTG.SWR.4040058');
      await refused(d.createSyncRepo('team', 'app', { remoteRegionId: 'cn-east-3', remoteNamespace: 'ghost' }), 404, 'SVCSTG.SWR.4041061');
    });

    it('naming rules (seed 002): the cloud answers 4001028 / 4001029; Ferry refuses before sending', async () => {
      const cases = [
        ['Team', 'app', 'SVCSTG.SWR.4001028'],
        ['te-.am', 'app', 'SVCSTG.SWR.4001028'],
        ['team', 'a--b', 'SVCSTG.SWR.4001029'],
      ] as const;
      for (const [ns, repo, code] of cases) {
        if (d.validatesNames) {
          const e = await refused(d.listSyncRepos(ns, repo), undefined, 'InvalidInput');
          expect(e.message).toMatch(ns === 'team' ? /repository/ : /namespace/);
        } else {
          await refused(d.listSyncRepos(ns, repo), 400, code);
        }
      }
      expect(cc.requests('swr:sync_repo:list')).toBe(d.validatesNames ? 0 : cases.length);
    });

    it('sync_images starts jobs; sync_job pages them with Content-Range; jobs finish on the virtual clock', async () => {
      for (const tag of ['v1', 'v2', 'v3']) cc.cloud.services.huawei.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 'app', tag });
      expect(await d.syncImages('team', 'app', { ...EAST, imageTag: ['v1', 'v2', 'v3', 'nope'] })).toEqual(['nope']);
      const early = await d.listSyncJobs('team', 'app', { limit: 10, offset: 0, order: 'desc' });
      expect(early.total).toBe(3);
      expect(early.jobs.map((j) => [j.tag, j.status])).toEqual([
        ['v3', 'waiting'],
        ['v2', 'waiting'],
        ['v1', 'waiting'],
      ]);
      cc.cloud.clock.advance(SYNC_MS + 1);
      const page = await d.listSyncJobs('team', 'app', { limit: 2, offset: 1, order: 'asc' });
      expect(page.total).toBe(3);
      if (page.contentRange !== undefined) expect(page.contentRange).toBe('1-2/3');
      expect(page.jobs.map((j) => [j.id, j.tag, j.status])).toEqual([
        [2, 'v2', 'success'],
        [3, 'v3', 'success'],
      ]);
      expect(cc.cloud.services.huawei.imageDigest({ region: 'cn-east-3', namespace: 'team', repo: 'app', tag: 'v3' })).toMatch(/^sha256:/);
      await refused(d.syncImages('team', 'app', { remoteRegionId: 'cn-east-3', remoteNamespace: 'ghost', imageTag: ['v1'] }), 404, 'SVCSTG.SWR.4041061');
    });

    it('an injected SWR fault is seen with its status and code', async () => {
      cc.cloud.faults.add({ op: 'swr:sync_repo:list', count: 1, error: { status: 403, code: 'SVCSTG.SWR.4039001', message: 'no permission' } });
      await refused(d.listSyncRepos('team', 'app'), 403, 'SVCSTG.SWR.4039001', 'no permission');
      expect(await d.listSyncRepos('team', 'app')).toEqual([]);
    });

    it('DELETE sync_repo status codes of seed 002 not reachable otherwise: 401 and 500, one fault away', async () => {
      await d.createSyncRepo('team', 'app', EAST);
      cc.clearRequests();
      cc.cloud.faults.add({ op: 'swr:sync_repo:delete', error: { status: 401, code: 'SVCSTG.SWR.4010000', message: 'Authenticate failed' } });
      await refused(d.deleteSyncRepo('team', 'app', EAST), 401, 'SVCSTG.SWR.4010000', 'Authenticate failed');
      // With a token, a 401 makes Ferry drop the token, fetch another and re-send once.
      expect(cc.requests('swr:sync_repo:delete')).toBe(d.auth === 'token' && d.kind === 'ferry' ? 2 : 1);
      cc.cloud.faults.clear();
      cc.clearRequests();
      cc.cloud.faults.add({ op: 'swr:sync_repo:delete', serverError: 500 });
      await refused(d.deleteSyncRepo('team', 'app', EAST), 500, 'SVCSTG.SWR.5000001');
      // DELETE is idempotent: Ferry retries a 5xx up to 4 attempts.
      expect(cc.requests('swr:sync_repo:delete')).toBe(d.kind === 'ferry' ? 4 : 1);
      cc.cloud.faults.clear();
      await d.deleteSyncRepo('team', 'app', EAST);
      expect(await d.listSyncRepos('team', 'app')).toEqual([]);
    });

    it('throttling: 403 SVCSTG.SWR.4031042 with Retry-After; Ferry waits and retries', async () => {
      cc.cloud.faults.add({ op: 'swr:sync_repo:list', count: 1, throttle: { waitMs: 1500 } });
      const before = cc.cloud.clock.now();
      if (d.kind === 'ferry') {
        expect(await d.listSyncRepos('team', 'app')).toEqual([]);
        expect(cc.cloud.clock.now() - before).toBeGreaterThanOrEqual(2000); // Retry-After: 2 (seconds)
      } else {
        const e = await refused(d.listSyncRepos('team', 'app'), 403, 'SVCSTG.SWR.4031042');
        expect(e.headers?.['retry-after']).toBe('2');
        expect(await d.listSyncRepos('team', 'app')).toEqual([]);
      }
      expect(cc.requests('swr:sync_repo:list')).toBe(2);
    });
  });

  describe('IAM token expiry and refresh (Ferry SwrClient + IamTokenProvider)', () => {
    const tokenDriver = swrDrivers.find((f) => f.name.includes('IAM token'))!;

    it('the emulator says 401 for an expired token; SwrClient invalidates, fetches a new token and succeeds', async () => {
      // The provider's own clock does not see the jump, so only the server's 401 can tell it.
      const d = tokenDriver.make(cc, { iamClock: systemClock });
      expect(await d.listSyncRepos('team', 'app')).toEqual([]);
      expect(cc.requests('iam:tokens')).toBe(1);
      cc.cloud.clock.advance(61_000); // past seed huawei.tokenTtlMs (60 s virtual)
      expect(await d.listSyncRepos('team', 'app')).toEqual([]);
      expect(cc.requests('iam:tokens')).toBe(2);
      // 1 (ok) + 1 (401 expired) + 1 (re-sent with the new token).
      expect(cc.requests('swr:sync_repo:list')).toBe(3);
    });

    it('a provider on the virtual clock refreshes on its own at expires_at (refreshMarginMs 0): no 401', async () => {
      const d = tokenDriver.make(cc);
      await d.listSyncRepos('team', 'app');
      cc.cloud.clock.advance(59_000);
      await d.listSyncRepos('team', 'app');
      expect(cc.requests('iam:tokens')).toBe(1);
      cc.cloud.clock.advance(2_000);
      await d.listSyncRepos('team', 'app');
      expect(cc.requests('iam:tokens')).toBe(2);
      expect(cc.requests('swr:sync_repo:list')).toBe(3);
    });

    it('a wrong password is an auth error from IAM, and nothing reaches SWR', async () => {
      const iam = new IamTokenProvider({ region: 'cn-north-4', user: 'ferry', password: 'wrong', domain: 'ferry-local', endpoint: cc.cloud.url, clock: cc.clock });
      const err = await iam.getToken().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CloudAuthError);
      expect(err).toMatchObject({ provider: 'iam', status: 401 });
      expect(cc.requests('iam:tokens')).toBe(1);
    });
  });

  it('AK/SK: the exact signed request passes; one signature byte changed → 401 APIGW.0301', async () => {
    const path = '/v2/manage/namespaces/team/repos/app/sync_repo';
    const send = async (alter: boolean) => {
      const headers: Record<string, string> = { 'content-type': 'application/json', host: new URL(cc.cloud.url).host, 'x-sdk-date': sdkDate(new Date()) };
      const signed = Object.keys(headers).sort();
      const sig = huaweiSignature({ method: 'GET', path, query: {}, headers, body: '' }, signed, headers['x-sdk-date']!, HW_AKSK.secretKey);
      const last = sig.at(-1) === '0' ? '1' : '0';
      headers.authorization = huaweiAuthorization(HW_AKSK.accessKey, signed, alter ? sig.slice(0, -1) + last : sig);
      const res = await request(cc.cloud.url + path, { method: 'GET', headers });
      return { status: res.statusCode, body: (await res.body.json()) as any };
    };
    expect(await send(false)).toEqual({ status: 200, body: [] });
    const bad = await send(true);
    expect(bad.status).toBe(401);
    expect(bad.body).toMatchObject({ error_code: 'APIGW.0301', error_msg: expect.stringMatching(/verify aksk signature fail/) });
  });
});
