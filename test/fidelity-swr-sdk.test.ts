/**
 * Every SWR operation Ferry uses, through the generated SDK (@huaweicloud/huaweicloud-sdk-swr)
 * against the local cloud: the requests as the SDK builds them are accepted, and the answers carry
 * every field the SDK's response models declare, with its type. The models are read from the
 * SDK's own declaration files, so a field the SDK adds is checked without changing this test.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';
import { ClientBuilder } from '@huaweicloud/huaweicloud-sdk-core/ClientBuilder.js';
import type { HcClient } from '@huaweicloud/huaweicloud-sdk-core/HcClient.js';
import * as swr from '@huaweicloud/huaweicloud-sdk-swr';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SwrClient } from '../shared/clients/swr.ts';
import { HW_AKSK, startCountingCloud, type CountingCloud } from './helpers/fidelity-drivers.ts';
import { arrayBody, sdkSwr, type SdkSwr } from './helpers/swr-sdk-driver.ts';

const require = createRequire(import.meta.url);
const NS = 'team';
const REPO = 'tools$cli'; // tools/cli: the SDK puts path parameters in as given
const EAST = { remoteRegionId: 'cn-east-3', remoteNamespace: 'team' };

/** The fields a generated model class declares (`name?: type;`), as `{name: type}`. */
function modelFields(model: string): Record<string, string> {
  const text = readFileSync(require.resolve(`@huaweicloud/huaweicloud-sdk-swr/v2/model/${model}.d.ts`), 'utf8');
  const fields: Record<string, string> = {};
  for (const m of text.matchAll(/^\s+(?:private\s+)?'?([\w-]+)'?\?(?::\s*([^;]+))?;$/gm)) fields[m[1]!] = m[2] ?? 'string';
  return fields;
}

/** Problems of `value` against a declared type: primitives, `Array<…>`, or another model. */
function typeProblems(value: unknown, type: string, at: string): string[] {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return Array.isArray(value) ? value.flatMap((v, i) => typeProblems(v, array[1]!, `${at}[${i}]`)) : [`${at}: not an array`];
  if (['string', 'number', 'boolean'].includes(type)) return typeof value === type ? [] : [`${at}: ${JSON.stringify(value)} is not a ${type}`];
  return modelProblems(value, type, at);
}

/** Every field `model` declares, present with its type. */
function modelProblems(value: unknown, model: string, at = model): string[] {
  if (!value || typeof value !== 'object') return [`${at}: not an object`];
  return Object.entries(modelFields(model)).flatMap(([field, type]) => {
    const v = (value as Record<string, unknown>)[field];
    return v === undefined ? [`${at}.${field}: missing`] : typeProblems(v, type, `${at}.${field}`);
  });
}

let cc: CountingCloud;
let sdk: SdkSwr;
beforeAll(async () => {
  cc = await startCountingCloud({ syncDurationMs: { min: 600_000, max: 600_000 } });
});
afterAll(() => cc?.cloud.close());
beforeEach(() => {
  cc.cloud.reset();
  cc.cloud.env.realism.set([]);
  cc.clearRequests();
  sdk = sdkSwr(cc.cloud.url, cc.cloud.services.huawei.projectId('cn-north-4'));
  for (const tag of ['v1', 'v2']) cc.cloud.services.huawei.pushImage({ region: 'cn-north-4', namespace: NS, repo: 'tools/cli', tag });
});

const createRepo = (body: swr.CreateImageSyncRepoRequestBody) => sdk.client.createImageSyncRepo(new swr.CreateImageSyncRepoRequest().withNamespace(NS).withRepository(REPO).withBody(body));
const listRepos = () => sdk.client.listImageAutoSyncReposDetails(new swr.ListImageAutoSyncReposDetailsRequest().withNamespace(NS).withRepository(REPO));
const deleteRepo = () =>
  sdk.client.deleteImageSyncRepo(
    new swr.DeleteImageSyncRepoRequest().withNamespace(NS).withRepository(REPO).withBody(new swr.DeleteImageSyncRepoRequestBody(EAST.remoteRegionId, EAST.remoteNamespace)),
  );
const syncImages = (tags: string[]) =>
  sdk.client.createManualImageSyncRepo(
    new swr.CreateManualImageSyncRepoRequest()
      .withNamespace(NS)
      .withRepository(REPO)
      .withBody(new swr.CreateManualImageSyncRepoRequestBody(tags, EAST.remoteNamespace, EAST.remoteRegionId)),
  );
const showJobs = (filter: string) => sdk.client.showSyncJob(new swr.ShowSyncJobRequest().withNamespace(NS).withRepository(REPO).withFilter(filter));

describe('the models are read from the SDK', () => {
  it('SyncRepo and SyncJob declare the fields of the reference', () => {
    expect(Object.keys(modelFields('SyncRepo')).sort()).toEqual([
      'createdAt',
      'domainID',
      'domainName',
      'id',
      'namespace',
      'override',
      'remoteNamespace',
      'remoteRegionId',
      'repoName',
      'syncAuto',
      'updatedAt',
    ]);
    expect(modelFields('SyncJob')).toMatchObject({ id: 'number', status: 'string', override: 'boolean', tag: 'string' });
    expect(modelFields('ShowSyncJobResponse')).toEqual({ body: 'Array<SyncJob>', 'Content-Range': 'string' });
    expect(modelFields('CreateManualImageSyncRepoResponse')).toEqual({ body: 'Array<string>' });
    expect(modelFields('CreateImageSyncRepoResponse')).toEqual({});
  });
});

describe('every SWR operation Ferry uses, through the SDK', () => {
  it('sync_repo create (only the required fields, as the SDK sends what is set) → list → delete', async () => {
    const created = await createRepo(new swr.CreateImageSyncRepoRequestBody(EAST.remoteRegionId, EAST.remoteNamespace));
    expect(created).toEqual({ httpStatusCode: 200 });
    const listed = arrayBody(await listRepos());
    expect(listed).toHaveLength(1);
    expect(modelProblems(listed[0], 'SyncRepo')).toEqual([]);
    expect(listed[0]).toMatchObject({ ...EAST, namespace: NS, repoName: 'tools/cli', syncAuto: false, override: false });
    expect(await deleteRepo()).toEqual({ httpStatusCode: 200 });
    expect(arrayBody(await listRepos())).toEqual([]);
  });

  it('sync_images: the failed tags as the body (Array<string>); sync_job: SyncJob[] and Content-Range', async () => {
    const failed = await syncImages(['v1', 'v2', 'nope']);
    expect(typeProblems(arrayBody(failed), 'Array<string>', 'body')).toEqual([]);
    expect(arrayBody(failed)).toEqual(['nope']);
    for (const filter of ['limit::10|offset::0|order::desc', 'limit::10', 'offset::1|limit::1|order::asc']) {
      const answer = await showJobs(filter);
      expect(modelProblems({ ...answer, body: arrayBody(answer) }, 'ShowSyncJobResponse')).toEqual([]);
      expect(answer['Content-Range']).toMatch(/^\d+-\d+\/2$/);
    }
    expect(arrayBody<swr.SyncJob>(await showJobs('offset::1|limit::1|order::asc')).map((j) => j.tag)).toEqual(['v2']);
    expect(cc.requests('swr:sync_job')).toBe(4);
  });

  it("X-Project-Id: the region's project passes; none (endpoint only) passes; another account's is refused", async () => {
    expect(arrayBody(await listRepos())).toEqual([]);
    sdk = sdkSwr(cc.cloud.url);
    expect(arrayBody(await listRepos())).toEqual([]);
    sdk = sdkSwr(cc.cloud.url, 'ffffffffffffffffffffffffffffffff');
    await expect(listRepos()).rejects.toMatchObject({ httpStatusCode: 401, errorCode: 'APIGW.0301' });
  });

  it('Ferry reads what the SDK is answered: the same records through SwrClient', async () => {
    await createRepo(new swr.CreateImageSyncRepoRequestBody(EAST.remoteRegionId, EAST.remoteNamespace).withSyncAuto(true));
    await syncImages(['v1']);
    const ferry = new SwrClient({ region: 'cn-north-4', endpoint: cc.cloud.url, auth: { kind: 'aksk', ...HW_AKSK, projectId: cc.cloud.services.huawei.projectId('cn-north-4') }, clock: cc.clock });
    expect(await ferry.listSyncRepos({ namespace: NS, repository: 'tools/cli' })).toEqual(arrayBody(await listRepos()));
    expect((await ferry.listSyncJobs({ namespace: NS, repository: 'tools/cli' })).jobs).toEqual(arrayBody(await showJobs('limit::10|offset::0|order::desc')));
  });
});

describe('the calls this SDK has no model for, against what Huawei documents', () => {
  it('IAM token by password: X-Subject-Token and the token fields of the documented answer; any nocatalog empties the catalog', async () => {
    const body = {
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'ferry', password: 'local-ferry-password', domain: { name: 'ferry-local' } } } },
        scope: { project: { name: 'cn-north-4' } },
      },
    };
    const res = await fetch(`${cc.cloud.url}/v3/auth/tokens?nocatalog=1`, { method: 'POST', headers: { 'content-type': 'application/json;charset=utf8' }, body: JSON.stringify(body) });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-subject-token')).toBeTruthy();
    const { token } = (await res.json()) as { token: Record<string, unknown> };
    const domain = { id: expect.stringMatching(/^[0-9a-f]{32}$/), name: 'ferry-local' };
    expect(token).toEqual({
      catalog: [],
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
      issued_at: expect.any(String),
      methods: ['password'],
      project: { domain, id: cc.cloud.services.huawei.projectId('cn-north-4'), name: 'cn-north-4' },
      roles: [{ id: expect.any(String), name: expect.any(String) }],
      user: { domain, id: expect.any(String), name: 'ferry', password_expires_at: expect.any(String) },
    });
  });

  it("regions one can sync to: [{regionID}] (as Huawei's Terraform provider reads them), through the SDK's own client", async () => {
    const credential = new BasicCredentials().withAk(HW_AKSK.accessKey).withSk(HW_AKSK.secretKey).withProjectId(cc.cloud.services.huawei.projectId('cn-north-4'));
    const hc = new ClientBuilder<HcClient>((c) => c).withEndpoint(cc.cloud.url).withCredential(credential).build();
    const answer = await hc.sendRequest({ method: 'GET', url: '/v2/manage/regions', contentType: 'application/json', queryParams: {}, pathParams: {}, headers: {} } as never);
    expect(arrayBody(answer)).toEqual(cc.cloud.seed.huawei.regions.map((regionID) => ({ regionID })));
  });
});

describe('with every realism mode on, the SDK still reads every answer', () => {
  it("others' records (fields missing, unknown statuses) and the other error-body shapes", async () => {
    cc.cloud.env.realism.set('all');
    await createRepo(new swr.CreateImageSyncRepoRequestBody(EAST.remoteRegionId, EAST.remoteNamespace).withSyncAuto(true));
    await syncImages(['v1']);
    const jobs = arrayBody<swr.SyncJob>(await showJobs('limit::10|offset::0|order::asc'));
    expect(jobs.map((j) => j.status)).toEqual(['syncing', 'waiting', 'pending_retry']);
    // Ferry's own records still carry every declared field.
    expect(modelProblems(jobs[1], 'SyncJob')).toEqual([]);
    expect(arrayBody<swr.SyncRepo>(await listRepos()).map((r) => r.remoteNamespace)).toEqual(['team', 'mirror-auto', undefined]);
    for (let i = 0; i < 3; i++) {
      await deleteRepo().catch(() => undefined);
      expect(sdk.last()).toMatchObject({ status: i === 0 ? 200 : 400 });
    }
    expect(JSON.stringify(sdk.last()!.body)).toContain('SVCSTG.SWR.4001158');
  });
});
