/**
 * SWR reconciliation, submission and cancels end to end (sweep and operator API over the local
 * cloud) on the answers the real API also gives: others' jobs and statuses Ferry does not know in
 * sync_job, odd records in sync_repo, every error-body shape, "already deleted" as 404 or 400.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RealismMode } from '../local/cloud/realism.ts';
import { createLogger } from '../shared/log.ts';
import { swrObservation } from '../shared/providers/swr/jobs.ts';
import { runSweep, type SweepSummary } from '../shared/sweep/run.ts';
import { createAutoSync, startApiStack, SWR_KEY, swrTask, type ApiStack } from './api-helpers.ts';
import { oneTargetConfig, recordPush, recordSwrPush, stateOf } from './sweep-helpers.ts';

const SWR_MODES: RealismMode[] = ['swr.delete-missing-400', 'swr.foreign-jobs', 'swr.error-bodies'];
const SYNC_MS = 10_000;

let s: ApiStack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

async function stack(realism: RealismMode[], defaults: Record<string, unknown> = {}): Promise<ApiStack> {
  s = await startApiStack({
    cloud: { realism, seed: { syncDurationMs: { min: SYNC_MS, max: SYNC_MS } } },
    config: oneTargetConfig({ defaults: { maxAttempts: 3, deadlineMinutes: 30, retryOnTimeout: false, ...defaults } }),
  });
  return s;
}

/** One sweep run that must not have failed anywhere (a scope not reconciled counts as an error). */
async function sweep(st: ApiStack): Promise<SweepSummary> {
  const sum = await runSweep(st.deps);
  expect(sum.errors).toBe(0);
  return sum;
}

function ferryJobOf(st: ApiStack, tag: string): number {
  const [job] = st.cloud.services.huawei.syncJobs({ tag, remoteRegionId: 'cn-east-3' });
  return job!.id;
}

describe('a list never fails because of one record (swr.foreign-jobs)', () => {
  it("sync_job with others' jobs, unknown statuses and missing fields: Ferry's jobs are found and followed; an unknown status runs until the deadline", async () => {
    const st = await stack(['swr.foreign-jobs']);
    const [ok] = await recordSwrPush(st, 'v1');
    const [odd] = await recordSwrPush(st, 'v2');
    st.cloud.clock.advance(61_000);
    await sweep(st);
    expect((await stateOf(st, ok!)).cloudRef).toBe(`swr-job:${ferryJobOf(st, 'v1')}`);
    expect((await stateOf(st, odd!)).cloudRef).toBe(`swr-job:${ferryJobOf(st, 'v2')}`);
    st.cloud.services.huawei.reportSyncJobStatus(ferryJobOf(st, 'v2'), 'retrying');

    st.cloud.clock.advance(5_000);
    let sum = await sweep(st);
    expect(sum.events['swr.jobRecordsSkipped']).toBeGreaterThan(0); // the foreign record without a tag
    expect(await stateOf(st, odd!)).toMatchObject({ state: 'running', cloudStatus: 'retrying' });

    st.cloud.clock.advance(SYNC_MS);
    await sweep(st);
    expect((await stateOf(st, ok!)).state).toBe('succeeded');
    expect(await stateOf(st, odd!)).toMatchObject({ state: 'running', cloudStatus: 'retrying' });

    st.cloud.clock.advance(31 * 60_000);
    sum = await sweep(st);
    expect(sum.events['deadline.unsupported']).toBe(1);
    expect(await stateOf(st, odd!)).toMatchObject({ state: 'timed_out', cloudStatus: 'retrying' });
  });

  it('a full page with records Ferry cannot read is still full: paging goes on to the older job', async () => {
    const st = await stack(['swr.foreign-jobs'], { deadlineMinutes: 120 });
    const [id] = await recordSwrPush(st, 'v1');
    st.cloud.clock.advance(61_000);
    await sweep(st);
    // Manual syncs of other tags after it, with others' jobs around each: more than a page of newer records.
    const swr = st.clients.swr.region('cn-north-4');
    for (let i = 0; i < 34; i++) {
      st.cloud.services.huawei.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 'app', tag: `other${i}` });
      await swr.syncImages({ namespace: 'team', repository: 'app', imageTag: [`other${i}`], remoteRegionId: 'cn-east-3', remoteNamespace: 'team' });
    }
    st.cloud.clock.advance(10 * 60_000);
    const sum = await sweep(st);
    expect(sum.events['swr.jobRecordsSkipped']).toBeGreaterThan(0);
    expect(sum.cloudCalls['swr:GET sync_job']).toBe(2);
    expect((await stateOf(st, id!)).state).toBe('succeeded');
  });

  it('an unknown status is logged once per status per process', () => {
    const warned: unknown[] = [];
    const log = { ...createLogger({}, 'error'), warn: (_msg: string, fields?: Record<string, unknown>) => warned.push(fields) };
    for (const id of [1, 2]) expect(swrObservation({ id, status: 'archived' }, log)).toEqual({ kind: 'running', cloudStatus: 'archived' });
    swrObservation({ id: 3, status: 'paused' }, log);
    expect(warned).toEqual([
      { status: 'archived', jobId: 1 },
      { status: 'paused', jobId: 3 },
    ]);
  });

  it('an interrupted submission adopts its own job, not the automatic one beside it with the same tag', async () => {
    const st = await stack(['swr.foreign-jobs']);
    const [id] = await recordSwrPush(st, 'v1');
    st.cloud.faults.add({ op: 'swr:sync_job', count: 10, serverError: 500 });
    st.cloud.clock.advance(61_000);
    await runSweep(st.deps);
    expect((await stateOf(st, id!)).cloudRef).toMatch(/^swr-sync:v1@/); // the job lookup after sync_images failed
    st.cloud.faults.clear();
    st.cloud.clock.advance(5_000);
    const sum = await sweep(st);
    expect(sum.events['swr.jobsAdopted']).toBe(1);
    expect((await stateOf(st, id!)).cloudRef).toBe(`swr-job:${ferryJobOf(st, 'v1')}`);
  });
});

describe('sync_images: tags in a 200 answer did not sync', () => {
  it('the task fails with SWR.SyncRejected and no job is followed', async () => {
    const st = await stack([]);
    const pushedAt = new Date(st.clock.now());
    const [id] = await recordPush(st, { sourceKind: 'swr', source: 'swr-beijing', namespace: 'team', repository: 'app', tag: 'never-pushed', pushedAt }, 'swr-beijing', 'cn-north-4');
    st.cloud.clock.advance(61_000);
    const sum = await runSweep(st.deps);
    expect(sum.cloudCalls['swr:POST sync_images']).toBe(1);
    const t = await stateOf(st, id!);
    expect(t).toMatchObject({ state: 'failed', cloudRef: null, lastError: { code: 'SWR.SyncRejected' } });
    expect(t.lastError!.message).toMatch(/refused tag never-pushed/);
    expect(st.cloud.services.huawei.syncJobs({ tag: 'never-pushed' })).toEqual([]);
  });
});

describe('DELETE sync_repo of a task already gone: 404 or 400 SVCSTG.SWR.4001158 both mean "already deleted"', () => {
  const cancelRef = (st: ApiStack, body: Record<string, unknown>) => st.call('POST', '/cancel', { body: { provider: 'swr', ...body } });

  it('by reference: a task never made (404) and one deleted before (400) answer 200 alreadyCanceled; a missing repository stays 404', async () => {
    const st = await stack([]);
    expect((await cancelRef(st, { ...SWR_KEY, remoteRegionId: 'cn-south-1' })).body).toMatchObject({ state: 'canceled', alreadyCanceled: true });
    await createAutoSync(st);
    expect((await cancelRef(st, SWR_KEY)).body).toMatchObject({ state: 'canceled', alreadyCanceled: false });
    expect((await cancelRef(st, SWR_KEY)).body).toMatchObject({ state: 'canceled', alreadyCanceled: true });
    st.cloud.env.realism.set(['swr.delete-missing-400']);
    const r = await cancelRef(st, { ...SWR_KEY, remoteNamespace: 'nobody' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'canceled', alreadyCanceled: true });
    const unknown = await cancelRef(st, { ...SWR_KEY, repository: 'nosuchrepo' });
    expect(unknown.status).toBe(404);
  });

  it('by Ferry id: the task listed, then gone when deleted (404 or 400): canceled', async () => {
    const st = await stack([]);
    for (const error of [
      { status: 404, code: 'SVCSTG.SWR.4040160', message: 'no such task' },
      { status: 400, code: 'SVCSTG.SWR.4001158', message: 'already deleted' },
    ]) {
      const t = await swrTask(st, { autoSync: true });
      st.cloud.faults.add({ op: 'swr:sync_repo:delete', count: 1, error });
      const r = await st.call('POST', `/tasks/${t.id}/cancel`, { body: {} });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ state: 'canceled', cloudCall: true, note: expect.stringMatching(/automatic sync task was deleted/) });
    }
  });
});

describe('with every SWR realism mode on', () => {
  it('reconciliation, submission and cancels complete through odd listings and every error-body shape', async () => {
    const st = await stack(SWR_MODES);
    const ids = [...(await recordSwrPush(st, 'v1')), ...(await recordSwrPush(st, 'v2')), ...(await recordSwrPush(st, 'v3'))];
    st.cloud.clock.advance(61_000);
    // Refusals in each shape on the way: throttled submissions and listings, a 5xx listing.
    st.cloud.faults.add({ op: 'swr:sync_images', count: 2, throttle: { waitMs: 1000 } });
    st.cloud.faults.add({ op: 'swr:sync_job', count: 2, throttle: { waitMs: 1000 } });
    st.cloud.faults.add({ op: 'swr:sync_job', count: 1, serverError: 503 });
    await sweep(st);
    for (const id of ids) expect((await stateOf(st, id)).cloudRef).toMatch(/^swr-job:\d+$/);
    st.cloud.services.huawei.reportSyncJobStatus(ferryJobOf(st, 'v3'), 'syncing');

    st.cloud.faults.add({ op: 'swr:sync_job', count: 3, throttle: { waitMs: 1000 } });
    st.cloud.clock.advance(SYNC_MS + 5_000);
    await sweep(st);
    expect((await stateOf(st, ids[0]!)).state).toBe('succeeded');
    expect((await stateOf(st, ids[1]!)).state).toBe('succeeded');
    expect((await stateOf(st, ids[2]!)).state).toBe('running');

    // The operator cancels the running one: sync_repo lists others' tasks beside Ferry's, the delete goes through.
    await createAutoSync(st);
    st.cloud.faults.add({ op: 'swr:sync_repo:list', count: 1, throttle: { waitMs: 1000 } });
    const canceled = await st.call('POST', `/tasks/${ids[2]}/cancel`, { body: { reason: 'enough' } });
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ state: 'canceled', note: expect.stringMatching(/automatic sync task was deleted/) });
    // By reference, after it is gone: 400 SVCSTG.SWR.4001158, whatever the body's shape.
    for (const remoteNamespace of ['team', 'nobody', 'team']) {
      const again = await st.call('POST', '/cancel', { body: { provider: 'swr', ...SWR_KEY, remoteNamespace } });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ state: 'canceled', alreadyCanceled: true });
    }
  });
});
