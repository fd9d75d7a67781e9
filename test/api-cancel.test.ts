/**
 * Cancel over real HTTP against the local cloud: every row of the cloud → HTTP mapping for ACR,
 * ECS and SWR, by Ferry task id and by cloud reference; idempotent repeats; cancel racing the sweep.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { acrTask, autoSyncExists, createAutoSync, nextTag, startApiStack, SWR_KEY, swrTask, type ApiStack } from './api-helpers.ts';
import { StaleStateError } from '../shared/ledger/index.ts';

let s: ApiStack;
beforeAll(async () => {
  s = await startApiStack();
});
afterAll(async () => {
  await s?.close();
});
beforeEach(() => {
  s.cloud.faults.clear();
});

const cancel = (id: string, body?: unknown) => s.call('POST', `/tasks/${id}/cancel`, body === undefined ? {} : { body });
const cancelRef = (body: unknown) => s.call('POST', '/cancel', { body });

async function events(id: string) {
  return (await s.ledger.getTask(id))!.events;
}
const terminalEvents = async (id: string) => (await events(id)).filter((e) => ['canceled', 'succeeded', 'failed', 'timed_out'].includes(e.toState) && e.fromState !== e.toState);

describe('cancel by Ferry task id — ACR', () => {
  it('cancels a running sync task at the cloud, records actor and reason; a repeat is idempotent', async () => {
    const t = await acrTask(s);
    const r = await cancel(t.id, { reason: 'bad image' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'canceled', alreadyCanceled: false, provider: 'acr', taskId: t.id, cloudCall: true, cloudStatus: 'CANCELED' });
    expect(s.cloud.acr.task(t.cloudRef!)?.status).toBe('CANCELED');
    const ev = await events(t.id);
    expect(ev.find((e) => e.reason === 'cancel requested')).toMatchObject({ actor: 'operator', details: { reason: 'bad image' } });
    expect(ev.at(-1)).toMatchObject({ fromState: 'submitted', toState: 'canceled', actor: 'operator', reason: 'bad image' });

    const again = await cancel(t.id);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ state: 'canceled', alreadyCanceled: true, cloudCall: false });
    expect(await terminalEvents(t.id)).toHaveLength(1);
  });

  it('cancels a pending task in the ledger without calling the cloud', async () => {
    const t = await acrTask(s, { cloud: 'none' });
    const r = await cancel(t.id);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'canceled', alreadyCanceled: false, cloudCall: false });
    expect((await events(t.id)).at(-1)).toMatchObject({ fromState: 'pending', toState: 'canceled', actor: 'operator', reason: 'canceled by operator' });
  });

  it('a task the cloud already finished → 409 with the state', async () => {
    const t = await acrTask(s, { cloud: 'normal' });
    s.cloud.clock.advance(60_000);
    const r = await cancel(t.id);
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ status: 409, code: 'AlreadyFinished', state: 'succeeded', taskId: t.id });
    expect(s.cloud.acr.task(t.cloudRef!)?.status).toBe('SUCCESS');
  });

  it('a task already finished in the ledger → 409 without a cloud call', async () => {
    const t = await acrTask(s);
    await s.ledger.transition(t.id, { from: 'submitted', to: 'failed', reason: 'test', actor: 'test' });
    s.cloud.faults.add({ op: 'acr:*', error: { status: 500, code: 'ShouldNotBeCalled' } });
    const r = await cancel(t.id);
    expect(r.status).toBe(409);
    expect(r.body.error).toMatchObject({ state: 'failed' });
  });

  it('cloud permission error → 502 with the cloud code and request id; the cancel request stays recorded', async () => {
    const t = await acrTask(s);
    s.cloud.faults.add({ op: 'acr:CancelRepoSyncTask', count: 1, error: { status: 403, code: 'NoPrivilege', message: 'Access denied for this user.' } });
    const r = await cancel(t.id);
    expect(r.status).toBe(502);
    expect(r.body.error.code).toBe('CloudPermissionDenied');
    expect(r.body.error.cloud.code).toBe('NoPrivilege');
    expect(r.body.error.cloud.requestId).toEqual(expect.any(String));
    const after = (await s.ledger.getTask(t.id))!.task;
    expect(after.state).toBe('submitted');
    expect(after.cancelRequestedAt).not.toBeNull();
  });

  it('AUTHENTICATION_FAILED → 502', async () => {
    const t = await acrTask(s);
    s.cloud.faults.add({ op: 'acr:CancelRepoSyncTask', count: 1, error: { status: 403, code: 'AUTHENTICATION_FAILED' } });
    const r = await cancel(t.id);
    expect(r.status).toBe(502);
    expect(r.body.error.cloud.code).toBe('AUTHENTICATION_FAILED');
  });

  it('throttled → 503 with Retry-After', async () => {
    const t = await acrTask(s);
    s.cloud.faults.add({ op: 'acr:CancelRepoSyncTask', count: 1, throttle: { waitMs: 45_000 } });
    const r = await cancel(t.id);
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('45');
    expect(r.body.error.code).toBe('CloudThrottled');
  });

  it('a sync task the cloud does not know → 404', async () => {
    const t = await acrTask(s, { cloud: 'none' });
    const moved = await s.ledger.transition(t.id, { from: 'pending', to: 'submitted', reason: 'test', actor: 'test', patch: { cloudRef: 'rst-doesnotexist01' } });
    const r = await cancel(moved.id);
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ code: 'CloudTaskNotFound', cloud: { code: 'SYNC_TASK_NOT_EXIST' } });
  });

  it('unknown Ferry id → 404; a malformed id → 400 naming the field', async () => {
    const r = await cancel('6f1c2d3e-1111-4222-8333-944455556666');
    expect(r.status).toBe(404);
    const bad = await cancel('not-a-uuid');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ field: 'path.id' });
  });
});

describe('cancel by cloud reference — ACR', () => {
  it('cancels a sync task Ferry did not create; a repeat says alreadyCanceled', async () => {
    const t = await acrTask(s, { cloud: 'stuck', tag: nextTag('x') });
    // Make the ledger forget it, so the reference is foreign to Ferry.
    const foreign = t.cloudRef!;
    await s.ledger.transition(t.id, { from: 'submitted', to: 'pending', reason: 'test', actor: 'test' });
    const r = await cancelRef({ provider: 'acr', instanceId: 'cri-localsrc001', syncTaskId: foreign });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'canceled', alreadyCanceled: false, provider: 'acr', cloudCall: true });
    const again = await cancelRef({ provider: 'acr', instanceId: 'cri-localsrc001', syncTaskId: foreign, region: 'cn-hangzhou' });
    expect(again.status).toBe(200);
    expect(again.body.alreadyCanceled).toBe(true);
  });

  it('a reference that is a Ferry task: cancels the task in the ledger too', async () => {
    const t = await acrTask(s);
    const r = await cancelRef({ provider: 'acr', instanceId: 'cri-localsrc001', syncTaskId: t.cloudRef, reason: 'by ref' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ taskId: t.id, alreadyCanceled: false });
    expect((await events(t.id)).at(-1)).toMatchObject({ toState: 'canceled', reason: 'by ref', actor: 'operator' });
  });

  it('succeeded sync task → 409; unknown → 404; NoPrivilege → 502; throttled → 503', async () => {
    const t = await acrTask(s, { cloud: 'normal' });
    await s.ledger.transition(t.id, { from: 'submitted', to: 'pending', reason: 'forget', actor: 'test' });
    s.cloud.clock.advance(60_000);
    const done = await cancelRef({ provider: 'acr', instanceId: 'cri-localsrc001', syncTaskId: t.cloudRef ?? (await s.ledger.getTask(t.id))!.cloudRefs[0]!.cloudRef });
    expect(done.status).toBe(409);
    expect(done.body.error.state).toBe('succeeded');

    const unknown = await cancelRef({ provider: 'acr', instanceId: 'cri-localsrc001', syncTaskId: 'rst-nosuchtask001' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.cloud.code).toBe('SYNC_TASK_NOT_EXIST');

    const live = await acrTask(s);
    await s.ledger.transition(live.id, { from: 'submitted', to: 'pending', reason: 'forget', actor: 'test' });
    s.cloud.faults.add({ op: 'acr:CancelRepoSyncTask', count: 1, error: { status: 403, code: 'NoPrivilege' } });
    const denied = await cancelRef({ provider: 'acr', instanceId: 'cri-localsrc001', syncTaskId: live.cloudRef });
    expect(denied.status).toBe(502);
    expect(denied.body.error.cloud).toMatchObject({ code: 'NoPrivilege', requestId: expect.any(String) });

    s.cloud.faults.add({ op: 'acr:CancelRepoSyncTask', count: 1, throttle: { waitMs: 31_000 } });
    const throttled = await cancelRef({ provider: 'acr', instanceId: 'cri-localsrc001', syncTaskId: live.cloudRef });
    expect(throttled.status).toBe(503);
    expect(throttled.headers.get('retry-after')).toBe('31');
  });

  it('a task that finishes between the read and the cancel (SYNC_TASK_STATUS_INVALID) → 409', async () => {
    const t = await acrTask(s, { cloud: 'normal' });
    s.cloud.faults.add({ op: 'acr:CancelRepoSyncTask', count: 1, latencyMs: 1, error: { status: 400, code: 'SYNC_TASK_STATUS_INVALID' } });
    s.cloud.clock.advance(60_000); // the re-read sees it finished
    const r = await cancel(t.id);
    expect(r.status).toBe(409);
    expect(r.body.error.state).toBe('succeeded');
  });
});

describe('validation before any call', () => {
  it('names the field and the rule', async () => {
    s.cloud.faults.add({ op: '*', error: { status: 500, code: 'ShouldNotBeCalled' } });
    const cases: Array<[unknown, string, RegExp]> = [
      [{ provider: 'acr', instanceId: 'cri-Bad', syncTaskId: 'rst-abcd1234' }, 'body.instanceId', /cri-/],
      [{ provider: 'acr', instanceId: 'cri-abcd1234', syncTaskId: 'task-1' }, 'body.syncTaskId', /rst-/],
      [{ provider: 'acr', instanceId: 'cri-abcd1234', syncTaskId: 'rst-abcd1234', region: 'mars-1' }, 'body.region', /region/],
      [{ provider: 'ecs', regionId: 'cn-hangzhou', taskId: 'x-123' }, 'body.taskId', /t-/],
      [{ provider: 'ecs', taskId: 't-abcd1234' }, 'body.regionId', /required/],
      [{ ...SWR_KEY, provider: 'swr', namespace: 'Team' }, 'body.namespace', /lowercase/],
      [{ ...SWR_KEY, provider: 'swr', repository: 'a//b' }, 'body.repository', /adjacent/],
      [{ ...SWR_KEY, provider: 'swr', remoteRegionId: 'cn-hangzhou' }, 'body.remoteRegionId', /Huawei/],
      [{ provider: 'gcr' }, 'body.provider', /acr/],
      [{ provider: 'acr', instanceId: 'cri-abcd1234', syncTaskId: 'rst-abcd1234', extra: 1 }, 'body', /unknown field/],
    ];
    for (const [body, field, rule] of cases) {
      const r = await cancelRef(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.field, JSON.stringify(body)).toBe(field);
      expect(r.body.error.message, JSON.stringify(body)).toMatch(rule);
    }
    const notJson = await s.call('POST', '/cancel', { raw: '{"provider":', headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('InvalidJson');
    const big = await s.call('POST', '/cancel', { raw: JSON.stringify({ provider: 'acr', pad: 'x'.repeat(70_000) }), headers: { 'content-type': 'application/json' } });
    expect(big.status).toBe(413);
    const reason = await s.call('POST', '/tasks/6f1c2d3e-1111-4222-8333-944455556666/cancel', { body: { reason: 'x'.repeat(501) } });
    expect(reason.status).toBe(400);
    expect(reason.body.error.field).toBe('body.reason');
    expect(s.cloud.faults.list()[0]!.fired).toBe(0);
  });
});

describe('ECS', () => {
  it('running → 200 (then alreadyCanceled); watched tasks are found by id; finished → 409; unknown → 404; unsupported → 422', async () => {
    const run = s.cloud.ecs.createTask({ regionId: 'cn-hangzhou', stuck: true });
    await s.ledger.ecs.watch({ region: 'cn-hangzhou', taskId: run.taskId, action: 'ImportImage' });
    const r = await cancel(run.taskId);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'canceled', provider: 'ecs', alreadyCanceled: false });
    expect((await s.ledger.ecs.get('cn-hangzhou', run.taskId))!.state).toBe('canceled');
    expect((await cancel(run.taskId)).body.alreadyCanceled).toBe(true);
    // By reference, unknown to Ferry's registry: the cloud says it is already cancelled.
    const byRef = await cancelRef({ provider: 'ecs', regionId: 'cn-hangzhou', taskId: run.taskId });
    expect(byRef.status).toBe(200);
    expect(byRef.body.alreadyCanceled).toBe(true);

    const fresh = s.cloud.ecs.createTask({ regionId: 'cn-hangzhou', stuck: true });
    const ok = await cancelRef({ provider: 'ecs', regionId: 'cn-hangzhou', taskId: fresh.taskId });
    expect(ok.body).toMatchObject({ state: 'canceled', alreadyCanceled: false });

    const done = s.cloud.ecs.createTask({ regionId: 'cn-hangzhou', durationMs: 10 });
    s.cloud.clock.advance(1000);
    const late = await cancelRef({ provider: 'ecs', regionId: 'cn-hangzhou', taskId: done.taskId });
    expect(late.status).toBe(409);
    expect(late.body.error).toMatchObject({ state: 'succeeded', cloud: { code: 'InvalidTaskId.IncorrectTaskStatus' } });

    const unknown = await cancelRef({ provider: 'ecs', regionId: 'cn-hangzhou', taskId: 't-nosuchtask01' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.cloud.code).toBe('InvalidTaskId.NotFound');

    const other = s.cloud.ecs.createTask({ regionId: 'cn-hangzhou', action: 'CopyImage', stuck: true });
    const unsupported = await cancelRef({ provider: 'ecs', regionId: 'cn-hangzhou', taskId: other.taskId });
    expect(unsupported.status).toBe(422);
    // DescribeTasks says SupportCancel "false": CancelTask is not called at all.
    expect(unsupported.body.error.cloud.code).toBe('CancelNotSupported');

    expect((await cancel('t-notwatched01')).status).toBe(404);
  });

  it('permission → 502, throttled → 503 with Retry-After', async () => {
    const t = s.cloud.ecs.createTask({ regionId: 'cn-hangzhou', stuck: true });
    s.cloud.faults.add({ op: 'ecs:CancelTask', count: 1, error: { status: 403, code: 'Forbidden.RAM' } });
    const denied = await cancelRef({ provider: 'ecs', regionId: 'cn-hangzhou', taskId: t.taskId });
    expect(denied.status).toBe(502);
    expect(denied.body.error.cloud).toMatchObject({ code: 'Forbidden.RAM', requestId: expect.any(String) });
    s.cloud.faults.add({ op: 'ecs:CancelTask', count: 1, throttle: { waitMs: 40_000 } });
    const slow = await cancelRef({ provider: 'ecs', regionId: 'cn-hangzhou', taskId: t.taskId });
    expect(slow.status).toBe(503);
    expect(slow.headers.get('retry-after')).toBe('40');
  });
});

describe('SWR', () => {
  it('a Ferry SWR task: deletes the automatic sync task and records canceled with a note', async () => {
    const t = await swrTask(s, { autoSync: true });
    const r = await cancel(t.id, { reason: 'stop it' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'canceled', provider: 'swr', cloudCall: true });
    expect(r.body.note).toMatch(/automatic sync task was deleted/);
    expect(await autoSyncExists(s)).toBe(false);
  });

  it('a Ferry SWR task without an automatic sync task: canceled in the ledger with a note', async () => {
    const t = await swrTask(s);
    const r = await cancel(t.id);
    expect(r.status).toBe(200);
    expect(r.body.note).toMatch(/cannot stop a manual sync job/);
    expect((await events(t.id)).at(-1)!.details).toMatchObject({ note: expect.stringMatching(/no automatic sync task/) });
  });

  it('by reference: delete → 200, repeat → 200 alreadyCanceled, unknown → 404, 403 → 502, throttled → 503', async () => {
    await createAutoSync(s);
    const body = { provider: 'swr', ...SWR_KEY };
    s.cloud.faults.add({ op: 'swr:sync_repo:delete', count: 1, error: { status: 403, code: 'SVCSTG.SWR.4030001', message: 'no permission' } });
    const denied = await cancelRef(body);
    expect(denied.status).toBe(502);
    expect(denied.body.error.cloud).toMatchObject({ code: 'SVCSTG.SWR.4030001', requestId: expect.any(String) });
    s.cloud.faults.add({ op: 'swr:sync_repo:delete', count: 1, throttle: { waitMs: 50_000 } });
    const slow = await cancelRef(body);
    expect(slow.status).toBe(503);
    expect(Number(slow.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    const r = await cancelRef(body);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'canceled', alreadyCanceled: false, provider: 'swr' });
    expect(await autoSyncExists(s)).toBe(false);

    const again = await cancelRef(body);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ state: 'canceled', alreadyCanceled: true });

    const unknown = await cancelRef({ ...body, repository: 'nosuchrepo' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.cloud.code).toMatch(/^SVCSTG\.SWR\.404/);
  });
});

describe('cancel racing the sweep', () => {
  it('the sweep finishes the task while the cloud cancel is in flight: cancel answers 409, one terminal event', async () => {
    const t = await acrTask(s);
    s.cloud.faults.add({ op: 'acr:CancelRepoSyncTask', count: 1, latencyMs: 300 });
    const pending = cancel(t.id);
    // What the sweep does when it sees the cloud task succeed.
    await new Promise((r) => setTimeout(r, 100));
    await s.ledger.transition(t.id, { from: 'submitted', to: 'succeeded', reason: 'sync task SUCCESS', actor: 'sweep' });
    const r = await pending;
    expect(r.status).toBe(409);
    expect(r.body.error.state).toBe('succeeded');
    const term = await terminalEvents(t.id);
    expect(term).toHaveLength(1);
    expect(term[0]).toMatchObject({ toState: 'succeeded', actor: 'sweep' });
  });

  it('cancel and the sweep race on one task: exactly one wins, the ledger agrees with the answers', async () => {
    for (let i = 0; i < 4; i++) {
      const t = await acrTask(s);
      const sweep = s.ledger
        .transition(t.id, { from: 'submitted', to: 'succeeded', reason: 'sync task SUCCESS', actor: 'sweep' })
        .then(() => 'sweep' as const)
        .catch((err) => {
          if (err instanceof StaleStateError) return 'lost' as const;
          throw err;
        });
      const [answer, sweepResult] = await Promise.all([cancel(t.id), sweep]);
      const final = (await s.ledger.getTask(t.id))!.task;
      const term = await terminalEvents(t.id);
      expect(term).toHaveLength(1);
      if (sweepResult === 'sweep') {
        expect(final.state).toBe('succeeded');
        expect(answer.status).toBe(409);
      } else {
        expect(final.state).toBe('canceled');
        expect(answer.status).toBe(200);
      }
      expect(term[0]!.toState).toBe(final.state);
    }
  });

  it('two concurrent cancels: both 200, one cancellation recorded', async () => {
    const t = await acrTask(s);
    const [a, b] = await Promise.all([cancel(t.id), cancel(t.id)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await terminalEvents(t.id)).toHaveLength(1);
    expect(s.cloud.acr.task(t.cloudRef!)?.status).toBe('CANCELED');
  });
});
