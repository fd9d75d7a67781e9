/**
 * The SWR emulator's realism modes and its X-Project-Id check, seen on the wire (raw HTTP with an
 * IAM token): `swr.delete-missing-400`, `swr.foreign-jobs`, `swr.error-bodies`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../local/cloud/server.ts';
import { HW_USER } from './helpers/fidelity-drivers.ts';

const BASE = '/v2/manage/namespaces/team/repos/app';
const EAST = { remoteRegionId: 'cn-east-3', remoteNamespace: 'team' };

let cloud: LocalCloud;
let token: { token: string; projectId: string };

beforeAll(async () => {
  cloud = await startLocalCloud({ port: 0, log: false, random: 7 });
});
afterAll(() => cloud?.close());
beforeEach(async () => {
  cloud.reset();
  cloud.env.realism.set([]);
  token = await issueToken('cn-north-4');
});

async function issueToken(region: string) {
  const body = {
    auth: { identity: { methods: ['password'], password: { user: { name: HW_USER.user, password: HW_USER.password, domain: { name: HW_USER.domain } } } }, scope: { project: { name: region } } },
  };
  const res = await fetch(`${cloud.url}/v3/auth/tokens?nocatalog=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { token: { project: { id: string } } };
  return { token: res.headers.get('x-subject-token')!, projectId: json.token.project.id };
}

async function call(method: string, path: string, o: { body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(cloud.url + path, {
    method,
    headers: { 'content-type': 'application/json', 'x-auth-token': token.token, ...o.headers },
    ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('swr.delete-missing-400', () => {
  it('off: a task never made is 404 and one deleted before is 400; on: both 400 SVCSTG.SWR.4001158 in the `errors` shape', async () => {
    await call('POST', `${BASE}/sync_repo`, { body: EAST });
    await call('DELETE', `${BASE}/sync_repo`, { body: EAST });
    const never = { remoteRegionId: 'cn-south-1', remoteNamespace: 'team' };
    expect(await call('DELETE', `${BASE}/sync_repo`, { body: never })).toMatchObject({ status: 404, body: [{ errorCode: 'SVCSTG.SWR.4040160' }] });
    expect(await call('DELETE', `${BASE}/sync_repo`, { body: EAST })).toMatchObject({ status: 400, body: [{ errorCode: 'SVCSTG.SWR.4001158' }] });

    cloud.env.realism.set(['swr.delete-missing-400']);
    for (const body of [never, EAST]) {
      expect(await call('DELETE', `${BASE}/sync_repo`, { body })).toEqual({ status: 400, body: { errors: [{ errorCode: 'SVCSTG.SWR.4001158', errorMessage: expect.any(String) }] } });
    }
    // The organization or repository missing is still a 404 about them.
    expect((await call('DELETE', '/v2/manage/namespaces/team/repos/ghost/sync_repo', { body: EAST })).status).toBe(404);
  });
});

describe('swr.foreign-jobs', () => {
  it("sync_job lists others' automatic jobs around Ferry's: statuses Ferry does not know, fields missing, ids interleaved", async () => {
    cloud.services.huawei.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 'app', tag: 'v1' });
    cloud.env.realism.set(['swr.foreign-jobs']);
    expect((await call('POST', `${BASE}/sync_images`, { body: { ...EAST, imageTag: ['v1'] } })).body).toEqual([]);
    const jobs = (await call('GET', `${BASE}/sync_job?filter=${encodeURIComponent('limit::10|offset::0|order::asc')}`)).body as Record<string, unknown>[];
    expect(jobs.map((j) => [j.id, j.tag, j.remoteNamespace, j.status])).toEqual([
      [1, 'v1', 'mirror-auto', 'syncing'],
      [2, 'v1', 'team', 'waiting'],
      [3, 'v1-auto', 'team', 'pending_retry'],
    ]);
    expect(jobs[0]).not.toHaveProperty('createdAt');
    expect(jobs[2]).not.toHaveProperty('override');
    expect(Object.keys(jobs[1]!)).toHaveLength(14);
    // Only Ferry's job settles; the test API sees only it.
    cloud.clock.advance(3_600_000);
    expect(cloud.services.huawei.syncJobs().map((j) => [j.id, j.status])).toEqual([[2, 'success']]);
    expect(() => cloud.services.huawei.forceSyncJob(1, 'failed')).toThrow(/does not exist/);

    cloud.services.huawei.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 'app', tag: 'v2' });
    await call('POST', `${BASE}/sync_images`, { body: { ...EAST, imageTag: ['v2'] } });
    const next = (await call('GET', `${BASE}/sync_job?filter=${encodeURIComponent('limit::2|offset::0')}`)).body as Record<string, unknown>[];
    expect(next.map((j) => [j.id, j.status])).toEqual([
      [6, 'syncing'],
      [5, 'waiting'],
    ]);
    const withoutTag = (await call('GET', `${BASE}/sync_job?filter=${encodeURIComponent('limit::1|offset::2')}`)).body as Record<string, unknown>[];
    expect(withoutTag[0]).toMatchObject({ id: 4, status: 'queued' });
    expect(withoutTag[0]).not.toHaveProperty('tag');
  });

  it("sync_repo lists others' automatic sync tasks, fields missing", async () => {
    await call('POST', `${BASE}/sync_repo`, { body: { ...EAST, syncAuto: true } });
    cloud.env.realism.set(['swr.foreign-jobs']);
    const repos = (await call('GET', `${BASE}/sync_repo`)).body as Record<string, unknown>[];
    expect(repos).toHaveLength(3);
    expect(repos[0]).toMatchObject({ ...EAST, syncAuto: true });
    expect(repos[1]).not.toHaveProperty('createdAt');
    expect(repos[2]).not.toHaveProperty('remoteNamespace');
  });
});

describe('swr.error-bodies', () => {
  it('SWR error answers take the three shapes in turn; gateway refusals keep theirs', async () => {
    cloud.env.realism.set(['swr.error-bodies']);
    const missing = () => call('GET', '/v2/manage/namespaces/team/repos/ghost/sync_repo');
    const bodies = [await missing(), await missing(), await missing(), await missing()].map((r) => r.body);
    expect(bodies[0]).toEqual([{ errorCode: 'SVCSTG.SWR.4040010', errorMessage: expect.any(String), detail: '' }]);
    expect(bodies[1]).toEqual({ errors: [{ errorCode: 'SVCSTG.SWR.4040010', errorMessage: expect.any(String) }] });
    expect(bodies[2]).toEqual({ error_code: 'SVCSTG.SWR.4040010', error_msg: expect.any(String), request_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(bodies[3]).toEqual(bodies[0]);
    // Faults answer through the same shapes.
    cloud.faults.add({ op: 'swr:sync_repo:list', count: 1, throttle: { waitMs: 1000 } });
    expect((await call('GET', `${BASE}/sync_repo`)).body).toMatchObject({ errors: [{ errorCode: 'SVCSTG.SWR.4031042' }] });
    expect((await call('GET', `${BASE}/unknown`)).body).toMatchObject({ error_code: 'APIGW.0101' });
  });
});

describe('X-Project-Id', () => {
  it("is accepted when it names the token's project and refused (401 APIGW.0301) when not", async () => {
    expect((await call('GET', `${BASE}/sync_repo`, { headers: { 'x-project-id': token.projectId } })).status).toBe(200);
    const other = cloud.services.huawei.projectId('cn-east-3');
    const refused = await call('GET', `${BASE}/sync_repo`, { headers: { 'x-project-id': other } });
    expect(refused).toMatchObject({ status: 401, body: { error_code: 'APIGW.0301', error_msg: expect.stringMatching(/X-Project-Id is not the project of the token/) } });
  });
});
