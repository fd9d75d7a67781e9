import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { request } from 'undici';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';
import { AKSKSigner } from '@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js';
import { ClientBuilder } from '@huaweicloud/huaweicloud-sdk-core/ClientBuilder.js';
import type { HcClient } from '@huaweicloud/huaweicloud-sdk-core/HcClient.js';
import { sdkDate } from '../shared/clients/signing/huawei.ts';
import { createHuaweiService, type HuaweiService } from '../local/cloud/huawei.ts';
import type { VirtualClock } from '../local/cloud/types.ts';
import { hostService, manualClock, testEnv, type HostedService } from './helpers/service-server.ts';

const AK = 'HWLOCALFERRYAK';
const SK = 'local-ferry-sk';
const BASE = '/v2/manage/namespaces/team/repos';

let clock: VirtualClock;
let service: HuaweiService;
let hosted: HostedService;

beforeAll(async () => {
  clock = manualClock(Date.parse('2025-01-01T00:00:00Z'));
  service = createHuaweiService(testEnv({}, clock));
  hosted = await hostService(service, clock);
});
afterAll(() => hosted.close());
beforeEach(() => service.reset());

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: any;
}

async function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  const res = await request(hosted.url + path, { method: method as 'GET', headers, body });
  const text = await res.body.text();
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h[k] = v;
  return { status: res.statusCode, headers: h, body: text ? JSON.parse(text) : undefined };
}

/** Signs with the official SDK's AKSKSigner, then sends with undici. */
async function signed(
  method: string,
  path: string,
  opts: { query?: Record<string, string>; data?: unknown; headers?: Record<string, string>; sk?: string; ak?: string; tamper?: boolean } = {},
): Promise<Reply> {
  const credential = new BasicCredentials().withAk(opts.ak ?? AK).withSk(opts.sk ?? SK);
  const req = {
    endpoint: hosted.url + path,
    method,
    headers: { 'content-type': 'application/json', ...opts.headers },
    queryParams: opts.query ?? {},
    data: opts.data,
  };
  const headers = AKSKSigner.sign(req as never, credential) as Record<string, string>;
  if (opts.tamper) {
    headers.Authorization = headers.Authorization!.replace(/Signature=(.)/, (_m, c: string) => `Signature=${c === 'a' ? 'b' : 'a'}`);
  }
  const qs = new URLSearchParams(opts.query ?? {}).toString();
  return send(method, path + (qs ? `?${qs}` : ''), headers, opts.data === undefined ? undefined : JSON.stringify(opts.data));
}

async function token(region = 'cn-north-4', password = 'local-ferry-password'): Promise<Reply> {
  const body = {
    auth: {
      identity: { methods: ['password'], password: { user: { name: 'ferry', password, domain: { name: 'ferry-local' } } } },
      scope: { project: { name: region } },
    },
  };
  return send('POST', '/v3/auth/tokens?nocatalog=true', { 'content-type': 'application/json' }, JSON.stringify(body));
}

describe('SWR over AK/SK signed by the official SDK signer', () => {
  test('regions, with X-Request-Id on every response', async () => {
    const r = await signed('GET', '/v2/manage/regions');
    expect(r.status).toBe(200);
    expect(r.body).toEqual(['cn-north-4', 'cn-east-3', 'cn-south-1', 'ap-southeast-1'].map((regionID) => ({ regionID })));
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
  });

  test('sync_repo create, list, delete with "$" (raw and %24) in the repository', async () => {
    service.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 'tools/cli', tag: 'v1' });
    const task = { remoteRegionId: 'cn-east-3', remoteNamespace: 'team' };
    const created = await signed('POST', `${BASE}/tools$cli/sync_repo`, { data: { ...task, syncAuto: true, override: false } });
    expect(created.status).toBe(200);
    expect(created.body).toBeUndefined();

    const dup = await signed('POST', `${BASE}/tools$cli/sync_repo`, { data: task });
    expect(dup.status).toBe(409);
    expect(dup.body[0].errorCode).toBe('SVCSTG.SWR.4091001');

    const listed = await signed('GET', `${BASE}/tools%24cli/sync_repo`);
    expect(listed.status).toBe(200);
    expect(listed.body).toHaveLength(1);
    expect(listed.body[0]).toMatchObject({
      namespace: 'team',
      repoName: 'tools/cli',
      remoteRegionId: 'cn-east-3',
      remoteNamespace: 'team',
      syncAuto: true,
      override: false,
      domainName: 'ferry-local',
    });
    expect(listed.body[0].createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    expect((await signed('DELETE', `${BASE}/tools$cli/sync_repo`, { data: task })).status).toBe(200);
    expect((await signed('GET', `${BASE}/tools$cli/sync_repo`)).body).toEqual([]);
    const again = await signed('DELETE', `${BASE}/tools$cli/sync_repo`, { data: task });
    expect(again.status).toBe(400);
    expect(again.body[0].errorCode).toBe('SVCSTG.SWR.4001158');
    const never = await signed('DELETE', `${BASE}/tools$cli/sync_repo`, { data: { remoteRegionId: 'cn-south-1', remoteNamespace: 'team' } });
    expect(never.status).toBe(404);
  });

  test('sync_images runs jobs over virtual time; sync_job pages with Content-Range', async () => {
    const digests = ['v1', 'v2', 'v3'].map((tag) => service.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 'app', tag }).digest);
    const r = await signed('POST', `${BASE}/app/sync_images`, { data: { imageTag: ['v1', 'v2', 'v3', 'nope'], override: false, remoteRegionId: 'cn-east-3', remoteNamespace: 'team' } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual(['nope']);

    const early = await signed('GET', `${BASE}/app/sync_job`, { query: { filter: 'limit::10|offset::0|order::desc' } });
    expect(early.body.map((j: any) => j.status)).toEqual(['waiting', 'waiting', 'waiting']);
    expect(early.headers['content-range']).toBe('0-3/3');
    expect(service.imageDigest({ region: 'cn-east-3', namespace: 'team', repo: 'app', tag: 'v1' })).toBeUndefined();

    clock.advance(2000); // past seed.syncDurationMs.max
    const page = await signed('GET', `${BASE}/app/sync_job`, { query: { filter: 'limit::2|offset::1|order::asc' } });
    expect(page.status).toBe(200);
    expect(page.headers['content-range']).toBe('1-2/3');
    expect(page.body.map((j: any) => [j.id, j.tag, j.status])).toEqual([
      [2, 'v2', 'success'],
      [3, 'v3', 'success'],
    ]);
    expect(page.body[0]).toMatchObject({ namespace: 'team', repoName: 'app', remoteRegionId: 'cn-east-3', remoteNamespace: 'team', override: false });
    for (const [i, d] of digests.entries()) expect(service.imageDigest({ region: 'cn-east-3', namespace: 'team', repo: 'app', tag: `v${i + 1}` })).toBe(d);

    const bad = await signed('GET', `${BASE}/app/sync_job`, { query: { filter: 'limit::x' } });
    expect(bad.status).toBe(400);
    expect(bad.body[0].errorCode).toBe('SVCSTG.SWR.4000014');
  });

  test('same digest → existed; different digest without override → failed; with override → success', async () => {
    const src = { region: 'cn-north-4', namespace: 'team', repo: 'app', tag: 'v1' };
    const body = { imageTag: ['v1'], override: false, remoteRegionId: 'cn-east-3', remoteNamespace: 'team' };
    service.pushImage(src);
    await signed('POST', `${BASE}/app/sync_images`, { data: body });
    clock.advance(2000);
    await signed('POST', `${BASE}/app/sync_images`, { data: body });
    clock.advance(2000);
    service.pushImage(src); // new digest
    await signed('POST', `${BASE}/app/sync_images`, { data: body });
    clock.advance(2000);
    await signed('POST', `${BASE}/app/sync_images`, { data: { ...body, override: true } });
    clock.advance(2000);
    const jobs = await signed('GET', `${BASE}/app/sync_job`, { query: { filter: 'order::asc' } });
    expect(jobs.body.map((j: any) => j.status)).toEqual(['success', 'existed', 'failed', 'success']);
  });

  test('forced outcomes: planned timeout, stuck running, automatic sync on push', async () => {
    service.planSyncOutcome({ tag: 'v1' }, 'timeout');
    service.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 'app', tag: 'v1' });
    service.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 'app', tag: 'v2' });
    await signed('POST', `${BASE}/app/sync_images`, { data: { imageTag: ['v1', 'v2'], remoteRegionId: 'cn-east-3', remoteNamespace: 'team' } });
    service.forceSyncJob(2, 'stuck');
    clock.advance(3600_000);
    const jobs = await signed('GET', `${BASE}/app/sync_job`, { query: { filter: 'order::asc' } });
    expect(jobs.body.map((j: any) => j.status)).toEqual(['timeout', 'running']);
    service.forceSyncJob(2, 'failed');
    expect(service.syncJobs({ tag: 'v2' })[0]!.status).toBe('failed');
    expect(() => service.forceSyncJob(2, 'success')).toThrow(/already ended/);

    await signed('POST', `${BASE}/app/sync_repo`, { data: { remoteRegionId: 'cn-east-3', remoteNamespace: 'team', syncAuto: true } });
    const { jobIds, digest } = service.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 'app', tag: 'v3' });
    expect(jobIds).toEqual([3]);
    clock.advance(2000);
    expect(service.imageDigest({ region: 'cn-east-3', namespace: 'team', repo: 'app', tag: 'v3' })).toBe(digest);
  });

  test('admin routes push images and force outcomes', async () => {
    const pushed = await send('POST', '/_local/swr/images', {}, JSON.stringify({ region: 'cn-north-4', namespace: 'team', repo: 'app', tag: 'v9' }));
    expect(pushed.status).toBe(200);
    expect(pushed.body.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    await signed('POST', `${BASE}/app/sync_images`, { data: { imageTag: ['v9'], remoteRegionId: 'cn-south-1', remoteNamespace: 'team' } }).then((r) => expect(r.status).toBe(404));
    await send('POST', '/_local/swr/namespaces', {}, JSON.stringify({ region: 'cn-south-1', name: 'team' }));
    expect((await signed('POST', `${BASE}/app/sync_images`, { data: { imageTag: ['v9'], remoteRegionId: 'cn-south-1', remoteNamespace: 'team' } })).body).toEqual([]);
    expect((await send('POST', '/_local/swr/sync_jobs/1/outcome', {}, JSON.stringify({ outcome: 'cancel' }))).status).toBe(200);
    clock.advance(2000);
    expect(service.syncJobs()[0]!.status).toBe('cancel');
    expect((await send('POST', '/_local/swr/sync_jobs/1/outcome', {}, JSON.stringify({ outcome: 'bogus' }))).status).toBe(400);
  });

  test('region from host swr-api.<region>.myhuaweicloud.com, else X-Project-Id, else x-ferry-region', async () => {
    service.pushImage({ region: 'cn-east-3', namespace: 'team', repo: 'east', tag: 'v1' });
    expect((await signed('GET', `${BASE}/east/sync_repo`)).status).toBe(404);
    expect((await signed('GET', `${BASE}/east/sync_repo`, { headers: { host: 'swr-api.cn-east-3.myhuaweicloud.com' } })).status).toBe(200);
    expect((await signed('GET', `${BASE}/east/sync_repo`, { headers: { 'X-Project-Id': service.projectId('cn-east-3') } })).status).toBe(200);
    expect((await signed('GET', `${BASE}/east/sync_repo`, { headers: { 'x-ferry-region': 'cn-east-3' } })).status).toBe(200);
  });

  test('the full SDK client (HcClient) works against the emulator', async () => {
    const client = new ClientBuilder<HcClient>((c) => c)
      .withEndpoint(hosted.url)
      .withCredential(new BasicCredentials().withAk(AK).withSk(SK).withProjectId(service.projectId('cn-north-4')))
      .build();
    service.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 'tools/cli', tag: 'v1' });
    const created: any = await client.sendRequest({
      method: 'POST',
      url: '/v2/manage/namespaces/{namespace}/repos/{repository}/sync_repo',
      contentType: 'application/json',
      pathParams: { namespace: 'team', repository: 'tools$cli' },
      queryParams: {},
      headers: {},
      data: { remoteRegionId: 'cn-east-3', remoteNamespace: 'team', syncAuto: false, override: true },
    } as never);
    expect(created.httpStatusCode).toBe(200);
    const listed: any = await client.sendRequest({
      method: 'GET',
      url: '/v2/manage/namespaces/{namespace}/repos/{repository}/sync_job',
      contentType: 'application/json',
      pathParams: { namespace: 'team', repository: 'tools$cli' },
      queryParams: { filter: 'limit::10|offset::0|order::desc' },
      headers: {},
    } as never);
    expect(listed.httpStatusCode).toBe(200);
    await expect(
      client.sendRequest({
        method: 'GET',
        url: '/v2/manage/namespaces/{namespace}/repos/{repository}/sync_repo',
        contentType: 'application/json',
        pathParams: { namespace: 'team', repository: 'missing' },
        queryParams: {},
        headers: {},
      } as never),
    ).rejects.toMatchObject({ httpStatusCode: 404 });
  });
});

describe('authentication failures', () => {
  test('one altered byte in the signature → APIGW.0301 with request_id', async () => {
    const r = await signed('GET', '/v2/manage/regions', { tamper: true });
    expect(r.status).toBe(401);
    expect(r.body.error_code).toBe('APIGW.0301');
    expect(r.body.error_msg).toMatch(/verify aksk signature fail/);
    expect(r.body.request_id).toBe(r.headers['x-request-id']);
  });

  test('wrong SK and unknown AK → APIGW.0301; X-Sdk-Date 20 minutes off → APIGW.0303', async () => {
    expect((await signed('GET', '/v2/manage/regions', { sk: 'wrong' })).body.error_code).toBe('APIGW.0301');
    expect((await signed('GET', '/v2/manage/regions', { ak: 'NOPE' })).body.error_code).toBe('APIGW.0301');
    const skewed = await signed('GET', '/v2/manage/regions', { headers: { 'X-Sdk-Date': sdkDate(new Date(Date.now() - 20 * 60_000)) } });
    expect(skewed.status).toBe(401);
    expect(skewed.body.error_code).toBe('APIGW.0303');
  });

  test('a body changed after signing fails verification', async () => {
    const credential = new BasicCredentials().withAk(AK).withSk(SK);
    const data = { remoteRegionId: 'cn-east-3', remoteNamespace: 'team' };
    const headers = AKSKSigner.sign(
      { endpoint: `${hosted.url}${BASE}/app/sync_repo`, method: 'POST', headers: { 'content-type': 'application/json' }, queryParams: {}, data } as never,
      credential,
    ) as Record<string, string>;
    const r = await send('POST', `${BASE}/app/sync_repo`, headers, JSON.stringify({ ...data, override: true }));
    expect(r.body.error_code).toBe('APIGW.0301');
  });

  test('IAM token flow: wrong password, malformed body, token use, expiry and re-auth', async () => {
    const wrong = await token('cn-north-4', 'bad');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: { code: 401, message: 'The username or password is wrong.', title: 'Unauthorized' } });
    const malformed = await send('POST', '/v3/auth/tokens', { 'content-type': 'application/json' }, '{"auth":{}}');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe(400);

    const issued = await token();
    expect(issued.status).toBe(201);
    const t = issued.headers['x-subject-token']!;
    expect(t).toBeTruthy();
    expect(issued.body.token.project).toMatchObject({ name: 'cn-north-4', id: service.projectId('cn-north-4') });
    expect(issued.body.token.catalog).toEqual([]);
    expect(Date.parse(issued.body.token.expires_at) - Date.parse(issued.body.token.issued_at)).toBe(24 * 3600_000);

    const list = () => send('GET', `${BASE}/app/sync_repo`, { 'x-auth-token': t, 'content-type': 'application/json' });
    expect((await list()).status).toBe(200);
    clock.advance(24 * 3600_000);
    const expired = await list();
    expect(expired.status).toBe(401);
    expect(expired.body[0].errorCode).toBe('SVCSTG.SWR.4010000');
    const fresh = (await token()).headers['x-subject-token']!;
    expect((await send('GET', `${BASE}/app/sync_repo`, { 'x-auth-token': fresh })).status).toBe(200);
    expect((await send('GET', `${BASE}/app/sync_repo`, { 'x-auth-token': 'MIILnotatoken' })).status).toBe(401);
  });

  test('an east token sees cn-east-3', async () => {
    const t = (await token('cn-east-3')).headers['x-subject-token']!;
    expect((await send('GET', `${BASE}/app/sync_repo`, { 'x-auth-token': t })).body[0].errorCode).toBe('SVCSTG.SWR.4040010');
    service.pushImage({ region: 'cn-east-3', namespace: 'team', repo: 'app', tag: 'v1' });
    expect((await send('GET', `${BASE}/app/sync_repo`, { 'x-auth-token': t })).status).toBe(200);
  });
});

describe('validation errors', () => {
  const cases: [string, string, unknown, number, string][] = [
    ['uppercase organization', '/v2/manage/namespaces/Team/repos/app/sync_repo', undefined, 400, 'SVCSTG.SWR.4001028'],
    ['adjacent separators in organization', '/v2/manage/namespaces/te-.am/repos/app/sync_repo', undefined, 400, 'SVCSTG.SWR.4001028'],
    ['bad repository', `${BASE}/a--b/sync_repo`, undefined, 400, 'SVCSTG.SWR.4001029'],
    ['repository ending in $', `${BASE}/app$/sync_repo`, undefined, 400, 'SVCSTG.SWR.4001029'],
    ['missing organization', '/v2/manage/namespaces/ghost/repos/app/sync_repo', undefined, 404, 'SVCSTG.SWR.4040058'],
    ['missing repository', `${BASE}/ghost/sync_repo`, undefined, 404, 'SVCSTG.SWR.4040010'],
  ];
  test.each(cases)('%s', async (_name, path, _data, status, code) => {
    const r = await signed('GET', path);
    expect(r.status).toBe(status);
    expect(r.body).toEqual([{ errorCode: code, errorMessage: expect.any(String), detail: '' }]);
  });

  test('body errors: missing field 4001014, wrong type 4000014, remote organization missing 4041061', async () => {
    const missing = await signed('POST', `${BASE}/app/sync_repo`, { data: { remoteRegionId: 'cn-east-3' } });
    expect([missing.status, missing.body[0].errorCode]).toEqual([400, 'SVCSTG.SWR.4001014']);
    expect(missing.body[0].errorMessage).toMatch(/remoteNamespace/);
    const wrongType = await signed('POST', `${BASE}/app/sync_repo`, { data: { remoteRegionId: 'cn-east-3', remoteNamespace: 'team', syncAuto: 'yes' } });
    expect([wrongType.status, wrongType.body[0].errorCode]).toEqual([400, 'SVCSTG.SWR.4000014']);
    const remote = await signed('POST', `${BASE}/app/sync_repo`, { data: { remoteRegionId: 'cn-east-3', remoteNamespace: 'other' } });
    expect([remote.status, remote.body[0].errorCode]).toEqual([404, 'SVCSTG.SWR.4041061']);
    const region = await signed('POST', `${BASE}/app/sync_images`, { data: { imageTag: ['v1'], remoteRegionId: 'mars-1', remoteNamespace: 'team' } });
    expect([region.status, region.body[0].errorCode]).toEqual([400, 'SVCSTG.SWR.4000014']);
    const unknown = await signed('GET', '/v2/manage/nothing');
    expect([unknown.status, unknown.body.error_code]).toEqual([404, 'APIGW.0101']);
  });
});

describe('fault profile and operation names', () => {
  const req = (method: string, path: string) => ({ method, path, query: new URLSearchParams(), headers: { 'x-ferry-region': 'cn-east-3' }, body: Buffer.from(''), now: clock.now() });
  test('operations', () => {
    expect(service.operation(req('POST', `${BASE}/a$b/sync_repo`))).toEqual({ op: 'swr:sync_repo:create', scope: 'cn-east-3' });
    expect(service.operation(req('GET', `${BASE}/a/sync_repo`))?.op).toBe('swr:sync_repo:list');
    expect(service.operation(req('DELETE', `${BASE}/a/sync_repo`))?.op).toBe('swr:sync_repo:delete');
    expect(service.operation(req('POST', `${BASE}/a/sync_images`))?.op).toBe('swr:sync_images');
    expect(service.operation(req('GET', `${BASE}/a/sync_job`))?.op).toBe('swr:sync_job');
    expect(service.operation(req('GET', '/v2/manage/regions'))?.op).toBe('swr:regions');
    expect(
      service.operation({
        ...req('POST', '/v3/auth/tokens'),
        body: Buffer.from(
          JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'u', password: 'p', domain: { name: 'd' } } } }, scope: { project: { name: 'cn-south-1' } } } }),
        ),
      }),
    ).toEqual({ op: 'iam:tokens', scope: 'cn-south-1' });
    expect(service.owns(req('GET', '/v2/manage/regions'))).toBe(true);
    expect(service.owns(req('GET', '/2016-08-15/services'))).toBe(false);
  });

  test('throttled and server errors', () => {
    const t = service.throttled(req('GET', `${BASE}/a/sync_job`), 2500);
    expect(t.status).toBe(403);
    expect((t.body as any)[0].errorCode).toBe('SVCSTG.SWR.4031042');
    expect(t.headers?.['retry-after']).toBe('3');
    const s = service.serverError(req('GET', `${BASE}/a/sync_job`), 500);
    expect([s.status, (s.body as any)[0].errorCode]).toEqual([500, 'SVCSTG.SWR.5000001']);
    expect(service.throttled(req('POST', '/v3/auth/tokens'), 1000).status).toBe(429);
    expect((service.errorResponse(req('GET', '/v2/manage/regions'), 401, 'APIGW.0301').body as any).error_code).toBe('APIGW.0301');
    expect((service.errorResponse(req('GET', `${BASE}/a/sync_job`), 409, 'SVCSTG.SWR.4090023', 'busy').body as any)[0]).toEqual({ errorCode: 'SVCSTG.SWR.4090023', errorMessage: 'busy', detail: '' });
  });

  test('caller is the domain for a known AK, undefined otherwise', () => {
    expect(service.caller({ ...req('GET', '/v2/manage/regions'), headers: { authorization: `SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=host, Signature=00` } })).toBe('ferry-local');
    expect(service.caller({ ...req('GET', '/v2/manage/regions'), headers: { authorization: 'SDK-HMAC-SHA256 Access=NOPE, SignedHeaders=host, Signature=00' } })).toBeUndefined();
  });
});
