// The copy provider end to end: a real docker-registry notifies Ferry's real webhook of a push, the
// task is recorded, the sweep runs the copy engine against real registries, skopeo checks the result.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../shared/api/app.ts';
import type { TaskRow } from '../shared/ledger/index.ts';
import { serveNode, type NodeServer } from '../shared/runtime/node-http.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { blobGet, blobGets, type FaultProxy, freePort, pushNewImage, type Registry, skopeoDigest, skopeoDigestOrNull, startFaultProxy, startRegistry } from './helpers/registry/index.ts';
import { startTestStack, TEST_TOKENS, type TestStack } from './helpers/stack.ts';
import { until } from './helpers/until.ts';

let a: Registry;
let b: Registry;
let proxy: FaultProxy;
let stack: TestStack;
let webhook: NodeServer;
let api: NodeServer;

/** How registry A's proxy treats blob downloads: passed through, held back (a copy in flight), corrupted, or refused (an outage). */
const blobs = {
  pass: () => null,
  slow: (r) => (blobGet(r) ? { delayMs: 1500 } : null),
  corrupt: (r) => (blobGet(r) ? { corruptResponseAt: 0 } : null),
  down: (r) => (blobGet(r) ? { status: 503, body: '{"errors":[{"code":"UNAVAILABLE","message":"proxy down"}]}' } : null),
} satisfies Record<string, FaultProxy['fault']>;

/** The copy task a push of `repository:tag` to registry A created (the registry notifies asynchronously). */
const taskFor = (repository: string, tag: string) =>
  until(`the task of ${repository}:${tag}`, async () =>
    (await stack.ledger.listTasks({ provider: 'copy', limit: 100 })).items.find((t) => {
      const from = t.target.from as { namespace: string; repository: string; tag?: string };
      return `${from.namespace}/${from.repository}` === repository && from.tag === tag;
    }),
  );

const sweep = () => runSweep(stack.deps, { budgetMs: 15_000 });

/** An operator's POST to the API (admin token). */
const post = (path: string, body: unknown) =>
  fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_TOKENS.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/**
 * Pushes `team/<name>:<tag>` to A, starts its copy with A's blobs held back, cancels it once blobs are
 * in flight (`cancel`: 200 expected), and checks it stopped: task and job canceled, no tag at B.
 */
async function cancelMidCopy(name: string, tag: string, cancel: (task: TaskRow) => Promise<Response>) {
  proxy.fault = blobs.pass;
  await pushNewImage(`${a.host}/team/${name}:${tag}`, { layers: [1000, 1001, 1002, 1003, 1004, 1005, 1006] });
  const task = await taskFor(`team/${name}`, tag);
  proxy.fault = blobs.slow;
  const mark = proxy.log.length;
  const running = sweep();
  await until('the copy to start', async () => blobGets(proxy.log.slice(mark)).length > 0 && (await stack.ledger.copyJobs.get(task.cloudRef!))?.state === 'running');
  const res = await cancel(task);
  expect(res.status).toBe(200);
  await running;
  proxy.fault = blobs.pass;
  expect((await reload(task)).task.state).toBe('canceled');
  expect((await stack.ledger.copyJobs.get(task.cloudRef!))!.state).toBe('canceled');
  expect(await skopeoDigestOrNull(`${b.host}/mirror/${name}:${tag}`)).toBeNull();
  return { task, body: (await res.json()) as Record<string, unknown> };
}

async function reload(task: TaskRow) {
  return (await stack.ledger.getTask(task.id))!;
}

beforeAll(async () => {
  const port = await freePort();
  a = await startRegistry({
    notifications: [{ name: 'ferry', url: `http://127.0.0.1:${port}/webhooks/distribution`, headers: { Authorization: `Bearer ${TEST_TOKENS.webhook}` }, ignoredActions: ['pull'] }],
  });
  b = await startRegistry();
  proxy = await startFaultProxy(a.url);
  stack = await startTestStack({
    config: (c) => ({
      ...c,
      sources: [
        ...(c.sources as object[]),
        // Ferry reads A through the proxy, which misbehaves on demand.
        { kind: 'distribution', name: 'reg-a', host: a.host, url: proxy.url },
        { kind: 'distribution', name: 'reg-b', url: b.url },
      ],
      rules: [
        {
          name: 'a-to-b',
          source: 'reg-a',
          tags: { include: ['v*'] },
          targets: [{ provider: 'copy', registry: 'reg-b', namespace: 'mirror' }],
          policy: { maxAttempts: 2, backoff: { initialSeconds: 1, maxSeconds: 1, multiplier: 1 } },
        },
      ],
      notifications: [{ type: 'webhook', url: '${FERRY_NOTIFY_URL}', on: ['failure'] }],
      sweep: { graceSeconds: 0, budgetMs: 15_000, batchSize: 50 },
    }),
    env: { FERRY_NOTIFY_URL: 'http://127.0.0.1:9/ferry-test-notifications' },
  });
  webhook = await serveNode(createWebhookApp(stack.deps), { port });
  api = await serveNode(createApiApp(stack.deps));
}, 60_000);

afterAll(async () => {
  await webhook?.close();
  await api?.close();
  await proxy?.close();
  await a?.stop();
  await b?.stop();
  await stack?.close();
});

describe('copy provider: registry A → Ferry webhook → sweep → registry B', () => {
  it('copies a pushed image; skopeo reads the same digest at B; the task records both digests', async () => {
    proxy.fault = blobs.pass;
    await pushNewImage(`${a.host}/team/app:v1.0.0`, { layers: [3000, 200_000, 50] });
    const pushed = await skopeoDigest(`${a.host}/team/app:v1.0.0`);
    const task = await taskFor('team/app', 'v1.0.0');
    expect(task).toMatchObject({ provider: 'copy', state: 'submitted', scope: 'reg-b', targetKey: 'copy:reg-b:mirror/app:v1.0.0' });
    expect(task.cloudRef).toBe(`copy:${task.id}:1`);

    const sum = await sweep();
    expect(sum.transitions['submitted→succeeded']).toBe(1);
    expect(await skopeoDigest(`${b.host}/mirror/app:v1.0.0`)).toBe(pushed);
    const detail = await reload(task);
    expect(detail.task.state).toBe('succeeded');
    const done = detail.events.at(-1)!;
    expect(done.details).toMatchObject({ sourceDigest: pushed, targetDigest: pushed });
    const job = await stack.ledger.copyJobs.get(task.cloudRef!);
    expect(job).toMatchObject({ state: 'done', leaseOwner: null, result: { sourceDigest: pushed, targetDigest: pushed } });
    // Nothing secret in the ledger: the target names registries by source name.
    expect(JSON.stringify(detail.task.target)).not.toContain(proxy.url);
  });

  it('a cancel mid-copy stops it between blobs: no tag at B, the task canceled', async () => {
    await cancelMidCopy('slow', 'v2.0.0', (task) => post(`/tasks/${task.id}/cancel`, { reason: 'test' }));
  });

  it('POST /cancel by the copy job reference cancels its Ferry task mid-copy: no tag at B; a repeat says alreadyCanceled', async () => {
    const { task, body } = await cancelMidCopy('byref', 'v6.0.0', (task) => post('/cancel', { provider: 'copy', ref: task.cloudRef, reason: 'by ref' }));
    expect(body).toMatchObject({ state: 'canceled', alreadyCanceled: false, provider: 'copy', taskId: task.id });
    expect((await reload(task)).events.at(-1)).toMatchObject({ toState: 'canceled', reason: 'by ref', actor: 'operator' });
    const again = await post('/cancel', { provider: 'copy', ref: task.cloudRef });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ alreadyCanceled: true, taskId: task.id });
  });

  it('POST /cancel by copy reference: a finished copy → 409, an unknown job → 404, a malformed ref → 400 naming the field', async () => {
    proxy.fault = blobs.pass;
    await pushNewImage(`${a.host}/team/done:v7.0.0`, { layers: [1500] });
    const task = await taskFor('team/done', 'v7.0.0');
    await sweep();
    expect((await reload(task)).task.state).toBe('succeeded');
    const done = await post('/cancel', { provider: 'copy', ref: task.cloudRef });
    expect(done.status).toBe(409);
    expect(await done.json()).toMatchObject({ error: { code: 'AlreadyFinished', state: 'succeeded', taskId: task.id } });

    const unknown = await post('/cancel', { provider: 'copy', ref: `copy:${randomUUID()}:1` });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'CloudTaskNotFound', cloud: { code: 'CopyJobNotFound' } } });

    const cases: Array<[unknown, string, RegExp]> = [
      [{ provider: 'copy', ref: `${task.id}:1` }, 'body.ref', /copy:<Ferry task id>:<attempt>/],
      [{ provider: 'copy', ref: `copy:${task.id}:0` }, 'body.ref', /attempt number from 1/],
      [{ provider: 'copy', ref: `copy:${task.id.toUpperCase()}:1` }, 'body.ref', /lowercase UUID/],
      [{ provider: 'copy', ref: `copy:${task.id}` }, 'body.ref', /copy:/],
      [{ provider: 'copy', ref: 42 }, 'body.ref', /string/],
      [{ provider: 'copy' }, 'body.ref', /required/],
      [{ provider: 'copy', ref: task.cloudRef, taskId: task.id }, 'body', /unknown field/],
    ];
    for (const [body, field, rule] of cases) {
      const r = await post('/cancel', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      const { error } = (await r.json()) as { error: { field: string; message: string } };
      expect(error.field, JSON.stringify(body)).toBe(field);
      expect(error.message, JSON.stringify(body)).toMatch(rule);
    }
    // Nothing was cancelled on the way.
    expect((await reload(task)).task.state).toBe('succeeded');
    expect((await stack.ledger.copyJobs.get(task.cloudRef!))!.state).toBe('done');
  });

  it('a blob that does not match its digest fails the task without a retry, and notifies', async () => {
    proxy.fault = blobs.pass;
    await pushNewImage(`${a.host}/team/bad:v3.0.0`, { layers: [4000] });
    const task = await taskFor('team/bad', 'v3.0.0');
    proxy.fault = blobs.corrupt;
    await sweep();
    proxy.fault = blobs.pass;
    const { task: after } = await reload(task);
    expect(after).toMatchObject({ state: 'failed', attempts: 1, lastError: { code: 'DIGEST_MISMATCH' } });
    expect(await skopeoDigestOrNull(`${b.host}/mirror/bad:v3.0.0`)).toBeNull();
    const notes = await stack.db.query<{ kind: string }>('SELECT kind FROM notifications WHERE task_id = $1', [task.id]);
    expect(notes.rows.map((r) => r.kind)).toEqual(['task.failed']);
  });

  it('past its deadline the copy is cancelled, timed out and retried by the generic sweep', async () => {
    proxy.fault = blobs.pass;
    await pushNewImage(`${a.host}/team/late:v5.0.0`, { layers: [2500] });
    const task = await taskFor('team/late', 'v5.0.0');
    await stack.db.query('UPDATE tasks SET deadline_at = $2::timestamptz WHERE id = $1', [task.id, new Date(stack.clock.now() - 1000).toISOString()]);
    const sum = await sweep();
    expect(sum.events['deadline.canceled']).toBe(1);
    const detail = await reload(task);
    expect(detail.task).toMatchObject({ state: 'pending', attempts: 1, lastError: { code: 'DeadlineExceeded' } });
    expect(detail.events.map((e) => e.toState).slice(-2)).toEqual(['timed_out', 'pending']);
    expect((await stack.ledger.copyJobs.get(task.cloudRef!))!.state).toBe('canceled');
    expect(await skopeoDigestOrNull(`${b.host}/mirror/late:v5.0.0`)).toBeNull();
    await until('the backoff to pass', async () => stack.clock.now() >= Date.parse(detail.task.nextAttemptAt!));
    await sweep();
    expect((await reload(task)).task).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(await skopeoDigest(`${b.host}/mirror/late:v5.0.0`)).toBe(await skopeoDigest(`${a.host}/team/late:v5.0.0`));
  });

  it('an outage at the source is retried after the backoff, and the second attempt copies', async () => {
    proxy.fault = blobs.pass;
    await pushNewImage(`${a.host}/team/flaky:v4.0.0`, { layers: [5000, 6000] });
    const task = await taskFor('team/flaky', 'v4.0.0');
    proxy.fault = blobs.down;
    await sweep();
    const { task: retried } = await reload(task);
    expect(retried).toMatchObject({ state: 'pending', attempts: 1, lastError: { code: 'TRANSIENT' } });
    proxy.fault = blobs.pass;
    await until('the backoff to pass', async () => stack.clock.now() >= Date.parse(retried.nextAttemptAt!));
    await sweep();
    const { task: after } = await reload(task);
    expect(after).toMatchObject({ state: 'succeeded', attempts: 2, cloudRef: `copy:${task.id}:2` });
    expect(await skopeoDigest(`${b.host}/mirror/flaky:v4.0.0`)).toBe(await skopeoDigest(`${a.host}/team/flaky:v4.0.0`));
  }, 60_000);
  it('a copy that outlasts the sweep budget pauses, after the other phases ran, and the next sweep finishes it', async () => {
    proxy.fault = blobs.pass;
    await pushNewImage(`${a.host}/team/long:v1.0.0`, { layers: [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007] });
    const task = await taskFor('team/long', 'v1.0.0');
    proxy.fault = blobs.slow;
    const short = await runSweep(stack.deps, { budgetMs: 2_500 });
    // The copy ran last and took what time was left: ECS and retention had theirs before it.
    expect(short.events['copy.slices']).toBe(1);
    expect(short.events['copy.paused']).toBe(1);
    expect(Object.keys(short.events).filter((e) => e.startsWith('leftover.phase.'))).toEqual([]);
    expect(['submitted', 'running']).toContain((await reload(task)).task.state);
    expect(await skopeoDigestOrNull(`${b.host}/mirror/long:v1.0.0`)).toBeNull();
    proxy.fault = blobs.pass;
    await sweep();
    expect((await reload(task)).task.state).toBe('succeeded');
    expect(await skopeoDigest(`${b.host}/mirror/long:v1.0.0`)).toBe(await skopeoDigest(`${a.host}/team/long:v1.0.0`));
  }, 60_000);
});
