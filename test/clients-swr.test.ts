import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
import { parseHuaweiErrorBody } from '../shared/clients/huawei-errors.ts';
import { IamTokenProvider } from '../shared/clients/huawei-iam.ts';
import { SwrClient, defaultSwrEndpoint } from '../shared/clients/swr.ts';
import { AccountLimiter } from '../shared/clients/transport.ts';
import { fakeClock, huaweiSignatureProblem, startServer, type FakeClock, type Recorded, type TestServer } from './clients-harness.ts';

const SK = 'swr-secret-key';
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

function client(extra: Partial<ConstructorParameters<typeof SwrClient>[0]> = {}) {
  return new SwrClient({
    region: 'cn-north-4',
    endpoint: server.url,
    auth: { kind: 'aksk', accessKey: 'AK-swr', secretKey: SK },
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

const ref = { namespace: 'team', repository: 'group/app' };
const target = { remoteRegionId: 'cn-east-3', remoteNamespace: 'mirror' };

describe('SwrClient requests (AK/SK like huaweicloud-sdk-core)', () => {
  it('createSyncRepo: POST with $ for /, JSON body, signed host;content-type;x-sdk-date', async () => {
    server.script({ status: 200 });
    await client().createSyncRepo({ ...ref, ...target, syncAuto: true });
    const req = server.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v2/manage/namespaces/team/repos/group$app/sync_repo');
    expect(JSON.parse(req.body)).toEqual({ remoteRegionId: 'cn-east-3', remoteNamespace: 'mirror', syncAuto: true, override: false });
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-sdk-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(req.headers.authorization).toMatch(/^SDK-HMAC-SHA256 Access=AK-swr, SignedHeaders=content-type;host;x-sdk-date, Signature=[0-9a-f]{64}$/);
    expect(huaweiSignatureProblem(req, SK)).toBeNull();
    expect(huaweiSignatureProblem(req, 'other')).toBe('signature mismatch');
  });

  it('temporary credentials send and sign X-Security-Token', async () => {
    server.script({ status: 200, body: [] });
    await client({ auth: { kind: 'aksk', accessKey: 'AK-tmp', secretKey: SK, securityToken: 'tmp-token' } }).listSyncRepos(ref);
    const req = server.requests[0]!;
    expect(req.headers['x-security-token']).toBe('tmp-token');
    expect(req.headers.authorization).toContain('SignedHeaders=content-type;host;x-sdk-date;x-security-token');
    expect(huaweiSignatureProblem(req, SK)).toBeNull();
  });

  it('listSyncRepos parses SyncRepo[]', async () => {
    const repo = {
      createdAt: '2020-03-12T08:11:36.518144Z',
      domainID: 'd1',
      domainName: 'dn',
      id: 7,
      namespace: 'team',
      override: false,
      remoteNamespace: 'mirror',
      remoteRegionId: 'cn-east-3',
      repoName: 'group/app',
      syncAuto: true,
      updatedAt: '2020-03-12T08:11:36.518144Z',
    };
    server.script({ status: 200, body: [repo] });
    await expect(client().listSyncRepos(ref)).resolves.toEqual([repo]);
    expect(server.requests[0]!.method).toBe('GET');
    expect(server.requests[0]!.body).toBe('');
  });

  it('deleteSyncRepo: DELETE with the target in the body (seed 002)', async () => {
    server.script({ status: 200 });
    await client().deleteSyncRepo({ ...ref, ...target });
    const req = server.requests[0]!;
    expect(req.method).toBe('DELETE');
    expect(req.path).toBe('/v2/manage/namespaces/team/repos/group$app/sync_repo');
    expect(JSON.parse(req.body)).toEqual(target);
    expect(huaweiSignatureProblem(req, SK)).toBeNull();
  });

  it('deleteSyncRepo: SVCSTG.SWR.4001158 (task already gone) → CloudNotFoundError', async () => {
    server.script({ status: 400, body: [{ errorCode: 'SVCSTG.SWR.4001158', errorMessage: 'sync repo not exist', detail: '' }] });
    expect(await failure(client().deleteSyncRepo({ ...ref, ...target }))).toBeInstanceOf(CloudNotFoundError);
  });

  it('syncImages returns failed tags', async () => {
    server.script({ status: 200, body: ['v2'] }, { status: 200, body: [] }, { status: 200 });
    const c = client();
    await expect(c.syncImages({ ...ref, ...target, imageTag: ['v1', 'v2'], override: true })).resolves.toEqual({ failedTags: ['v2'] });
    await expect(c.syncImages({ ...ref, ...target, imageTag: ['v1'] })).resolves.toEqual({ failedTags: [] });
    await expect(c.syncImages({ ...ref, ...target, imageTag: ['v1'] })).resolves.toEqual({ failedTags: [] });
    const req = server.requests[0]!;
    expect(req.path).toBe('/v2/manage/namespaces/team/repos/group$app/sync_images');
    expect(JSON.parse(req.body)).toEqual({ imageTag: ['v1', 'v2'], override: true, remoteRegionId: 'cn-east-3', remoteNamespace: 'mirror' });
    expect(huaweiSignatureProblem(req, SK)).toBeNull();
  });

  it('listSyncJobs: filter query, total from Content-Range', async () => {
    const job = {
      createdAt: '2020-03-12T08:11:36.518144Z',
      domainID: 'd',
      domainName: 'n',
      id: 3,
      namespace: 'team',
      override: false,
      remoteNamespace: 'mirror',
      remoteRegionId: 'cn-east-3',
      repoName: 'group/app',
      status: 'success',
      syncOperatorId: 'u',
      syncOperatorName: 'un',
      tag: 'v1',
      updatedAt: '2020-03-12T08:11:40Z',
    };
    server.script({ status: 200, headers: { 'content-range': '5-1/42' }, body: [job] });
    const r = await client().listSyncJobs({ ...ref, limit: 1, offset: 5, order: 'asc' });
    expect(r.total).toBe(42);
    expect(r.jobs).toEqual([job]);
    const req = server.requests[0]!;
    expect(req.path).toBe('/v2/manage/namespaces/team/repos/group$app/sync_job');
    expect(req.query).toEqual({ filter: 'limit::1|offset::5|order::asc' });
    expect(huaweiSignatureProblem(req, SK)).toBeNull();
  });

  it('listSyncJobs: a bad Content-Range or a body that is no list is malformed; odd records are kept or left out, one by one', async () => {
    server.script({ status: 200, headers: { 'content-range': 'garbage' }, body: [] });
    expect((await failure(client().listSyncJobs(ref))).message).toContain('Content-Range');
    server.script({ status: 200, body: { jobs: [] } });
    expect(await failure(client().listSyncJobs(ref))).toBeInstanceOf(CloudMalformedResponseError);
    const unknownStatus = { id: 1, tag: 't', status: 'exploded', remoteRegionId: 'r', remoteNamespace: 'n', createdAt: 'yesterday' };
    server.script({ status: 200, body: [unknownStatus, { id: 2, status: 'success', remoteRegionId: 'r', remoteNamespace: 'n' }, { id: '3', tag: 't', status: 'success' }] });
    const r = await client().listSyncJobs(ref);
    expect(r.jobs).toEqual([{ ...unknownStatus, createdAt: undefined }]);
    expect(r.skipped).toBe(2);
  });

  it('listRegions', async () => {
    server.script({ status: 200, body: [{ regionID: 'cn-north-4' }, { regionID: 'cn-east-3' }] });
    await expect(client().listRegions()).resolves.toEqual(['cn-north-4', 'cn-east-3']);
    expect(server.requests[0]!.path).toBe('/v2/manage/regions');
  });

  it('path parameters are validated before any request', async () => {
    const e = await failure(client().listSyncRepos({ namespace: 'Team', repository: 'a' }));
    expect(e).toBeInstanceOf(CloudInvalidRequestError);
    expect(e.message).toContain('namespace: must start with a lowercase letter');
    const e2 = await failure(client().syncImages({ ...ref, ...target, imageTag: [] }));
    expect(e2.message).toContain('imageTag');
    expect((await failure(client().listSyncRepos({ namespace: 'team', repository: 'a//b' }))).message).toContain('repository');
    expect(server.requests).toHaveLength(0);
  });

  it('default endpoints', () => {
    expect(defaultSwrEndpoint('cn-north-4')).toBe('https://swr-api.cn-north-4.myhuaweicloud.com');
    expect(defaultSwrEndpoint('eu-west-101')).toBe('https://swr-api.eu-west-101.myhuaweicloud.eu');
  });
});

describe('SwrClient errors (every body shape)', () => {
  it.each([
    ['array', 404, { 'x-request-id': 'hdr-1' }, [{ errorCode: 'SVCSTG.SWR.4040058', errorMessage: 'namespace not found', detail: '' }], CloudNotFoundError, 'SVCSTG.SWR.4040058', 'hdr-1'],
    ['errors[]', 404, {}, { errors: [{ errorCode: 'SVCSTG.SWR.4040010', errorMessage: 'image not found' }], request_id: 'body-2' }, CloudNotFoundError, 'SVCSTG.SWR.4040010', 'body-2'],
    ['top-level', 400, { 'x-request-id': 'hdr-3' }, { errorCode: 'SVCSTG.SWR.4000014', errorMessage: 'invalid parameter' }, CloudInvalidRequestError, 'SVCSTG.SWR.4000014', 'hdr-3'],
    ['gateway', 401, {}, { error_code: 'APIGW.0301', error_msg: 'Incorrect IAM authentication information', request_id: 'gw-4' }, CloudAuthError, 'APIGW.0301', 'gw-4'],
    ['gateway date', 401, {}, { error_code: 'APIGW.0303', error_msg: 'X-Sdk-Date is expired', request_id: 'gw-5' }, CloudAuthError, 'APIGW.0303', 'gw-5'],
    ['token expired', 401, { 'x-request-id': 'h6' }, [{ errorCode: 'SVCSTG.SWR.4010000', errorMessage: 'auth failed' }], CloudAuthError, 'SVCSTG.SWR.4010000', 'h6'],
    ['no permission', 403, { 'x-request-id': 'h7' }, [{ errorCode: 'SVCSTG.SWR.4039001', errorMessage: 'no permission' }], CloudPermissionError, 'SVCSTG.SWR.4039001', 'h7'],
    ['missing parameter', 400, { 'x-request-id': 'h8' }, [{ errorCode: 'SVCSTG.SWR.4001014', errorMessage: 'missing' }], CloudInvalidRequestError, 'SVCSTG.SWR.4001014', 'h8'],
    [
      'errors[] with its own request id',
      400,
      {},
      { errors: [{ errorCode: 'SVCSTG.SWR.4001158', errorMessage: 'gone', request_id: 'item-9' }] },
      CloudInvalidRequestError,
      'SVCSTG.SWR.4001158',
      'item-9',
    ],
  ])('%s body, HTTP %i → %o', async (_shape, status, headers, body, cls, code, requestId) => {
    server.setDefault(() => ({ status, headers, body }));
    const e = await failure(client({ retry: { maxAttempts: 1 } }).listSyncRepos(ref));
    expect(e).toBeInstanceOf(cls);
    expect(e).toMatchObject({ code, requestId, status, provider: 'swr', action: 'GET sync_repo' });
  });

  it('403 SVCSTG.SWR.4031042 too many requests → throttled, retried after Retry-After', async () => {
    server.script({ status: 403, headers: { 'retry-after': '2' }, body: [{ errorCode: 'SVCSTG.SWR.4031042', errorMessage: 'too many requests' }] }, { status: 200, body: [] });
    await expect(client().listSyncRepos(ref)).resolves.toEqual([]);
    expect(clock.sleeps).toEqual([2000]);
    server.setDefault(() => ({ status: 403, body: [{ errorCode: 'SVCSTG.SWR.4031042', errorMessage: 'too many requests' }] }));
    expect(await failure(client({ retry: { maxAttempts: 1 } }).listSyncRepos(ref))).toBeInstanceOf(CloudThrottledError);
  });

  it('409 SVCSTG.SWR.4090023 system busy and 5xx → transient, retried for reads', async () => {
    server.script(
      { status: 409, body: [{ errorCode: 'SVCSTG.SWR.4090023', errorMessage: 'busy' }] },
      { status: 500, body: [{ errorCode: 'SVCSTG.SWR.5000001', errorMessage: 'x' }] },
      { status: 200, body: [] },
    );
    await expect(client().listSyncRepos(ref)).resolves.toEqual([]);
    expect(server.requests).toHaveLength(3);
  });

  it('syncImages is not re-sent after a dropped connection or a 500 (it may have started jobs)', async () => {
    server.script('drop', { status: 200, body: [] });
    expect(await failure(client().syncImages({ ...ref, ...target, imageTag: ['v1'] }))).toBeInstanceOf(CloudTransientError);
    expect(server.requests).toHaveLength(1);
    server.reset();
    server.script({ status: 502, body: 'Bad Gateway' }, { status: 200, body: [] });
    const e = await failure(client().syncImages({ ...ref, ...target, imageTag: ['v1'] }));
    expect(e).toBeInstanceOf(CloudTransientError);
    expect(e.code).toBe('HTTP502');
    expect(server.requests).toHaveLength(1);
  });

  it('reads are retried after a dropped connection', async () => {
    server.script('drop', { status: 200, body: [{ regionID: 'cn-north-4' }] });
    await expect(client().listRegions()).resolves.toEqual(['cn-north-4']);
    expect(server.requests).toHaveLength(2);
  });

  it('a non-JSON success body → CloudMalformedResponseError', async () => {
    server.script({ status: 200, body: 'not json' });
    const e = await failure(client().listRegions());
    expect(e).toBeInstanceOf(CloudMalformedResponseError);
    expect(e.message).toContain('not JSON');
  });

  it('parseHuaweiErrorBody handles IAM and non-JSON bodies', () => {
    expect(parseHuaweiErrorBody('{"error":{"code":401,"message":"The username or password is wrong.","title":"Unauthorized"}}')).toMatchObject({
      code: '401',
      message: 'The username or password is wrong.',
    });
    expect(parseHuaweiErrorBody('<html>oops</html>')).toEqual({ message: '<html>oops</html>' });
  });
});

// ---------------------------------------------------------------- IAM token + SWR token auth

interface IamState {
  issued: number;
  ttlMs: number;
  failNext?: boolean;
}

function iamHandler(state: IamState, now: () => number) {
  return (req: Recorded) => {
    if (req.path === '/v3/auth/tokens') {
      if (state.failNext) {
        state.failNext = false;
        return { status: 401, body: { error: { code: 401, message: 'The username or password is wrong.', title: 'Unauthorized' } } };
      }
      state.issued++;
      return {
        status: 201,
        headers: { 'x-subject-token': `token-${state.issued}`, 'x-request-id': `iam-${state.issued}` },
        body: { token: { expires_at: new Date(now() + state.ttlMs).toISOString(), methods: ['password'] } },
      };
    }
    return { status: 404, body: {} };
  };
}

describe('IamTokenProvider', () => {
  const opts = () => ({ region: 'cn-north-4', user: 'ferry', password: 'p@ss', domain: 'acme', endpoint: server.url, clock, retry: { random: () => 0 } });

  it('fetches a project-scoped token once and caches it', async () => {
    const state: IamState = { issued: 0, ttlMs: 24 * 3600_000 };
    server.setDefault(iamHandler(state, () => clock.now()));
    const iam = new IamTokenProvider(opts());
    expect(await iam.getToken()).toBe('token-1');
    expect(await iam.getToken()).toBe('token-1');
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0]!;
    expect(req.method).toBe('POST');
    expect(JSON.parse(req.body)).toEqual({
      auth: { identity: { methods: ['password'], password: { user: { name: 'ferry', password: 'p@ss', domain: { name: 'acme' } } } }, scope: { project: { name: 'cn-north-4' } } },
    });
  });

  it('refreshes once within the margin before expiry (virtual clock)', async () => {
    const state: IamState = { issued: 0, ttlMs: 24 * 3600_000 };
    server.setDefault(iamHandler(state, () => clock.now()));
    const iam = new IamTokenProvider(opts());
    await iam.getToken();
    clock.advance(22 * 3600_000);
    expect(await iam.getToken()).toBe('token-1');
    clock.advance(1 * 3600_000 + 1);
    expect(await iam.getToken()).toBe('token-2');
    expect(state.issued).toBe(2);
  });

  it('concurrent callers share one fetch', async () => {
    const state: IamState = { issued: 0, ttlMs: 24 * 3600_000 };
    server.setDefault(iamHandler(state, () => clock.now()));
    const iam = new IamTokenProvider(opts());
    const tokens = await Promise.all(Array.from({ length: 10 }, () => iam.getToken()));
    expect(new Set(tokens)).toEqual(new Set(['token-1']));
    expect(server.requests).toHaveLength(1);
  });

  it('bad password → CloudAuthError (provider iam); missing X-Subject-Token → malformed', async () => {
    const state: IamState = { issued: 0, ttlMs: 1000, failNext: true };
    server.setDefault(iamHandler(state, () => clock.now()));
    const e = await failure(new IamTokenProvider(opts()).getToken());
    expect(e).toBeInstanceOf(CloudAuthError);
    expect(e.provider).toBe('iam');
    expect(e.message).not.toContain('p@ss');
    server.setDefault(() => ({ status: 201, body: { token: { expires_at: '2099-01-01T00:00:00Z' } } }));
    expect((await failure(new IamTokenProvider(opts()).getToken())).message).toContain('X-Subject-Token');
  });

  it('SWR with token auth sends X-Auth-Token; a 401 invalidates and retries exactly once', async () => {
    const state: IamState = { issued: 0, ttlMs: 24 * 3600_000 };
    const iamFor = iamHandler(state, () => clock.now());
    let swrCalls = 0;
    server.setDefault((req) => {
      if (req.path.startsWith('/v3/')) return iamFor(req);
      swrCalls++;
      if (req.headers['x-auth-token'] === 'token-1') return { status: 401, body: [{ errorCode: 'SVCSTG.SWR.4010000', errorMessage: 'token expired' }] };
      return { status: 200, body: [{ regionID: 'cn-north-4' }] };
    });
    const iam = new IamTokenProvider(opts());
    const swr = client({ auth: { kind: 'token', iam } });
    await expect(swr.listRegions()).resolves.toEqual(['cn-north-4']);
    expect(swrCalls).toBe(2);
    expect(state.issued).toBe(2);
    const swrReqs = server.requests.filter((r) => !r.path.startsWith('/v3/'));
    expect(swrReqs.map((r) => r.headers['x-auth-token'])).toEqual(['token-1', 'token-2']);
    expect(swrReqs[0]!.headers.authorization).toBeUndefined();

    // A token that keeps failing is not retried forever: one refresh, then CloudAuthError.
    server.reset();
    state.issued = 0;
    swrCalls = 0;
    server.setDefault((req) => (req.path.startsWith('/v3/') ? iamFor(req) : (swrCalls++, { status: 401, body: { error_code: 'APIGW.0301', error_msg: 'bad token', request_id: 'g' } })));
    const e = await failure(client({ auth: { kind: 'token', iam: new IamTokenProvider(opts()) } }).listRegions());
    expect(e).toBeInstanceOf(CloudAuthError);
    expect(swrCalls).toBe(2);
  });
});
