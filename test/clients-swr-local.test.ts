/**
 * Ferry's SwrClient over real HTTP to the local cloud, on the answers the real API also gives:
 * listings with records Ferry did not make, every error-body shape, the undocumented answer to a
 * duplicate sync_repo, and X-Project-Id on every request.
 */
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CloudAuthError, type CloudError, CloudNotFoundError } from '../shared/clients/errors.ts';
import { IamTokenProvider } from '../shared/clients/huawei-iam.ts';
import { SwrClient, syncRepoGone, type SwrClientOptions } from '../shared/clients/swr.ts';
import { AccountLimiter } from '../shared/clients/transport.ts';
import { HW_AKSK, HW_USER, startCountingCloud, type CountingCloud } from './helpers/fidelity-drivers.ts';

const REPO = { namespace: 'team', repository: 'app' };
const EAST = { remoteRegionId: 'cn-east-3', remoteNamespace: 'team' };

let cc: CountingCloud;
beforeAll(async () => {
  cc = await startCountingCloud({ syncDurationMs: { min: 600_000, max: 600_000 } });
});
afterAll(() => cc?.cloud.close());
beforeEach(() => {
  cc.cloud.reset();
  cc.cloud.env.realism.set([]);
  cc.clearRequests();
  cc.cloud.services.huawei.pushImage({ region: 'cn-north-4', ...REPO, repo: 'app', tag: 'v1' });
});

/** Request headers as they leave Ferry, one record per HTTP request. */
function recordingDispatcher(seen: Record<string, string>[]): Dispatcher {
  return new Agent().compose((dispatch) => (opts, handler) => {
    seen.push({ path: opts.path, ...(opts.headers as Record<string, string>) });
    return dispatch(opts, handler);
  });
}

function iam(region = 'cn-north-4') {
  return new IamTokenProvider({ region, ...HW_USER, endpoint: cc.cloud.url, clock: cc.clock, retry: { random: () => 0 } });
}

function client(o: Partial<SwrClientOptions> = {}) {
  return new SwrClient({
    region: 'cn-north-4',
    endpoint: cc.cloud.url,
    auth: { kind: 'token', iam: iam() },
    clock: cc.clock,
    limiter: new AccountLimiter({ maxConcurrent: 8, ratePerSecond: 10_000, burst: 10_000 }),
    retry: { random: () => 0 },
    ...o,
  });
}

async function failure(p: Promise<unknown>): Promise<CloudError> {
  return p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: CloudError) => e,
  );
}

describe('listings hold records Ferry did not make (swr.foreign-jobs)', () => {
  it('sync_job: unknown statuses kept as SWR says them, records without what Ferry reads left out and counted', async () => {
    cc.cloud.env.realism.set(['swr.foreign-jobs']);
    const swr = client();
    await swr.syncImages({ ...REPO, ...EAST, imageTag: ['v1'] });
    const { jobs, skipped, total } = await swr.listSyncJobs({ ...REPO, limit: 10, order: 'asc' });
    expect(jobs.map((j) => [j.id, j.tag, j.remoteNamespace, j.status, j.createdAt === undefined])).toEqual([
      [1, 'v1', 'mirror-auto', 'syncing', true],
      [2, 'v1', 'team', 'waiting', false],
      [3, 'v1-auto', 'team', 'pending_retry', false],
    ]);
    expect(skipped).toBe(0);
    await swr.syncImages({ ...REPO, ...EAST, imageTag: ['v1'] });
    const page = await swr.listSyncJobs({ ...REPO, limit: 10, order: 'asc' });
    expect({ listed: page.jobs.length, skipped: page.skipped, total: page.total }).toEqual({ listed: 5, skipped: 1, total: 6 });
    expect(total).toBe(3);
  });

  it('sync_repo: records without the remote left out; findSyncRepo still finds the one asked for', async () => {
    const swr = client();
    await swr.createSyncRepo({ ...REPO, ...EAST, syncAuto: true });
    cc.cloud.env.realism.set(['swr.foreign-jobs']);
    expect((await swr.listSyncRepos(REPO)).map((r) => `${r.remoteRegionId}/${r.remoteNamespace}`)).toEqual(['cn-east-3/team', 'ap-southeast-1/mirror-auto']);
    expect(await swr.findSyncRepo({ ...REPO, ...EAST })).toMatchObject({ ...EAST, syncAuto: true, id: 1 });
  });
});

describe('every error-body shape reads the same (swr.error-bodies)', () => {
  beforeEach(() => cc.cloud.env.realism.set(['swr.error-bodies']));

  it('a missing repository: CloudNotFoundError with its code and request id, whatever the shape', async () => {
    const swr = client({ retry: { maxAttempts: 1 } });
    for (let shape = 0; shape < 3; shape++) {
      const e = await failure(swr.listSyncRepos({ namespace: 'team', repository: 'ghost' }));
      expect(e).toBeInstanceOf(CloudNotFoundError);
      expect(e).toMatchObject({ code: 'SVCSTG.SWR.4040010', status: 404, requestId: expect.stringMatching(/^[0-9a-f]{32}$/) });
      expect(e.message).toMatch(/Image team\/ghost does not exist/);
    }
  });

  it('throttling (403 SVCSTG.SWR.4031042) is recognised by its code in every shape and retried', async () => {
    const swr = client();
    for (let shape = 0; shape < 3; shape++) {
      cc.cloud.faults.add({ op: 'swr:sync_repo:list', count: 1, throttle: { waitMs: 1000 } });
      expect(await swr.listSyncRepos(REPO)).toEqual([]);
    }
    expect(cc.requests('swr:sync_repo:list')).toBe(6);
  });

  it('"already deleted" (400 SVCSTG.SWR.4001158) is told apart in every shape', async () => {
    const swr = client({ retry: { maxAttempts: 1 } });
    await swr.createSyncRepo({ ...REPO, ...EAST });
    await swr.deleteSyncRepo({ ...REPO, ...EAST });
    for (let shape = 0; shape < 3; shape++) {
      const e = await failure(swr.deleteSyncRepo({ ...REPO, ...EAST }));
      expect(e).toMatchObject({ code: 'SVCSTG.SWR.4001158', status: 400 });
      expect(syncRepoGone(e)).toBe(true);
    }
  });
});

describe('DELETE sync_repo: what "already deleted" looks like', () => {
  it('404 about the task and 400 SVCSTG.SWR.4001158 are gone; 404 about the repository or the API is not', async () => {
    const swr = client({ retry: { maxAttempts: 1 } });
    expect(syncRepoGone(await failure(swr.deleteSyncRepo({ ...REPO, remoteRegionId: 'cn-south-1', remoteNamespace: 'team' })))).toBe(true);
    cc.cloud.env.realism.set(['swr.delete-missing-400']);
    expect(syncRepoGone(await failure(swr.deleteSyncRepo({ ...REPO, remoteRegionId: 'cn-south-1', remoteNamespace: 'team' })))).toBe(true);
    expect(syncRepoGone(await failure(swr.deleteSyncRepo({ namespace: 'team', repository: 'ghost', ...EAST })))).toBe(false);
    cc.cloud.faults.add({ op: 'swr:sync_repo:delete', count: 1, error: { status: 404, code: 'APIGW.0101', message: 'no such API' } });
    expect(syncRepoGone(await failure(swr.deleteSyncRepo({ ...REPO, ...EAST })))).toBe(false);
  });
});

describe('ensureSyncRepo: lists first, never relies on the answer to a duplicate', () => {
  it('creates once; a second call finds it and sends no POST', async () => {
    const swr = client();
    expect(await swr.ensureSyncRepo({ ...REPO, ...EAST, syncAuto: true })).toEqual({ created: true });
    expect(await swr.ensureSyncRepo({ ...REPO, ...EAST, syncAuto: true })).toEqual({ created: false });
    expect(cc.requests('swr:sync_repo:create')).toBe(1);
    expect(await swr.listSyncRepos(REPO)).toHaveLength(1);
  });

  it('two at once: one creates, the other sees the duplicate refused (whatever the answer) and finds the task', async () => {
    const swr = client();
    cc.cloud.faults.add({ op: 'swr:sync_repo:create', latencyMs: 50 });
    const results = await Promise.all([swr.ensureSyncRepo({ ...REPO, ...EAST }), swr.ensureSyncRepo({ ...REPO, ...EAST })]);
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    expect(await swr.listSyncRepos(REPO)).toHaveLength(1);
  });

  it('a create answered with an error although it was made counts as present', async () => {
    const swr = client({ retry: { maxAttempts: 1 } });
    cc.cloud.faults.add({ op: 'swr:sync_repo:create', count: 1, after: true, error: { status: 400, code: 'SVCSTG.SWR.4000001', message: 'undocumented' } });
    expect(await swr.ensureSyncRepo({ ...REPO, ...EAST })).toEqual({ created: false });
    expect(await swr.findSyncRepo({ ...REPO, ...EAST })).toBeDefined();
  });

  it('a create that failed and made nothing is an error', async () => {
    const swr = client({ retry: { maxAttempts: 1 } });
    cc.cloud.faults.add({ op: 'swr:sync_repo:create', count: 1, error: { status: 403, code: 'SVCSTG.SWR.4039001', message: 'no permission' } });
    expect(await failure(swr.ensureSyncRepo({ ...REPO, ...EAST }))).toMatchObject({ code: 'SVCSTG.SWR.4039001' });
  });
});

describe('X-Project-Id on every request', () => {
  it("token auth: the project id of IAM's answer (token.project.id), on every SWR request", async () => {
    const seen: Record<string, string>[] = [];
    const provider = iam();
    const swr = client({ auth: { kind: 'token', iam: provider }, dispatcher: recordingDispatcher(seen) });
    await swr.listSyncRepos(REPO);
    await swr.syncImages({ ...REPO, ...EAST, imageTag: ['v1'] });
    await swr.listSyncJobs(REPO);
    expect(seen).toHaveLength(3);
    for (const h of seen) expect(h['x-project-id']).toBe(cc.cloud.services.huawei.projectId('cn-north-4'));
    expect((await provider.getScopedToken()).projectId).toBe(cc.cloud.services.huawei.projectId('cn-north-4'));
  });

  it('AK/SK: the configured project id, signed; it names the region the call is for', async () => {
    cc.cloud.services.huawei.pushImage({ region: 'cn-east-3', namespace: 'team', repo: 'eastonly', tag: 'v1' });
    const seen: Record<string, string>[] = [];
    const east = cc.cloud.services.huawei.projectId('cn-east-3');
    const swr = client({ region: 'cn-east-3', auth: { kind: 'aksk', ...HW_AKSK, projectId: east }, dispatcher: recordingDispatcher(seen) });
    expect(await swr.listSyncRepos({ namespace: 'team', repository: 'eastonly' })).toEqual([]);
    expect(seen[0]!['x-project-id']).toBe(east);
    expect(seen[0]!.authorization).toMatch(/SignedHeaders=[^,]*x-project-id/);
  });

  it("a project id that is not the credentials' is refused: 401 APIGW.0301", async () => {
    const wrong = 'ffffffffffffffffffffffffffffffff';
    const e = await failure(client({ auth: { kind: 'aksk', ...HW_AKSK, projectId: wrong }, retry: { maxAttempts: 1 } }).listSyncRepos(REPO));
    expect(e).toBeInstanceOf(CloudAuthError);
    expect(e).toMatchObject({ code: 'APIGW.0301', status: 401 });
    expect(e.message).toMatch(/X-Project-Id/);
  });
});
