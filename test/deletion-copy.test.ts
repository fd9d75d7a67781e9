// Deletion replication for copies, end to end: registry A notifies Ferry's real webhook of a push and,
// later, of a delete; the sweep copies to registry B; the delete removes at B only the tag Ferry wrote.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskRow } from '../shared/ledger/index.ts';
import { serveNode, type NodeServer } from '../shared/runtime/node-http.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { freePort, pushNewImage, type Registry, skopeoDigest, skopeoDigestOrNull, startRegistry } from './helpers/registry/index.ts';
import { startTestStack, TEST_TOKENS, type TestStack } from './helpers/stack.ts';
import { until } from './helpers/until.ts';

let a: Registry;
let b: Registry;
let stack: TestStack;
let webhook: NodeServer;

const copiesOf = async (tag: string) => (await stack.ledger.listTasks({ action: 'copy', limit: 100 })).items.filter((t) => (t.target.from as { tag?: string }).tag === tag);
const deletions = async () => (await stack.ledger.listTasks({ action: 'delete', limit: 100 })).items;

/** Deletes the manifest at A, as an operator would; A notifies Ferry. */
async function deleteAtA(repository: string, digest: string) {
  const res = await fetch(`${a.url}/v2/${repository}/manifests/${digest}`, { method: 'DELETE' });
  expect(res.status).toBe(202);
}

beforeAll(async () => {
  const port = await freePort();
  a = await startRegistry({
    notifications: [{ name: 'ferry', url: `http://127.0.0.1:${port}/webhooks/distribution`, headers: { Authorization: `Bearer ${TEST_TOKENS.webhook}` }, ignoredActions: ['pull'] }],
  });
  b = await startRegistry();
  stack = await startTestStack({
    config: (c) => ({
      ...c,
      sources: [...(c.sources as object[]), { kind: 'distribution', name: 'reg-a', url: a.url, host: a.host }, { kind: 'distribution', name: 'reg-b', url: b.url }],
      rules: [
        { name: 'mirror', source: 'reg-a', deletes: true, targets: [{ provider: 'copy', registry: 'reg-b', namespace: 'mirror' }] },
        { name: 'archive', source: 'reg-a', targets: [{ provider: 'copy', registry: 'reg-b', namespace: 'archive' }] },
      ],
      sweep: { graceSeconds: 0, budgetMs: 15_000, batchSize: 50 },
    }),
  });
  webhook = await serveNode(createWebhookApp(stack.deps), { port });
}, 60_000);

afterAll(async () => {
  await webhook?.close();
  await a?.stop();
  await b?.stop();
  await stack?.close();
});

describe('deletion replication: registry A → webhook → registry B', () => {
  it('a delete at A deletes at B only the tag Ferry copied under deletes: true, as a task with history', async () => {
    await pushNewImage(`${a.host}/team/app:v1.0.0`, { layers: [2000, 300] });
    const pushed = await skopeoDigest(`${a.host}/team/app:v1.0.0`);
    await until('both copy tasks', async () => (await copiesOf('v1.0.0')).length === 2);
    await runSweep(stack.deps, { budgetMs: 15_000 });
    expect(await skopeoDigest(`${b.host}/mirror/app:v1.0.0`)).toBe(pushed);
    expect(await skopeoDigest(`${b.host}/archive/app:v1.0.0`)).toBe(pushed);
    // Someone else's image in the same repository at B.
    await pushNewImage(`${b.host}/mirror/app:theirs`, { layers: [100] });
    const theirs = await skopeoDigest(`${b.host}/mirror/app:theirs`);

    await deleteAtA('team/app', pushed);
    const [del] = await until('the deletion task', async () => {
      const all = await deletions();
      return all.length && all.every((t: TaskRow) => t.state === 'succeeded') ? all : undefined;
    });
    expect(await deletions()).toHaveLength(1);
    expect(del).toMatchObject({ action: 'delete', provider: 'copy', rule: 'mirror', targetKey: 'copy:reg-b:mirror/app:v1.0.0', cloudStatus: 'deleted' });
    const history = (await stack.ledger.getTask(del!.id))!.events.map((e) => e.toState);
    expect(history).toEqual(['pending', 'pending', 'submitted', 'succeeded']);

    expect(await skopeoDigestOrNull(`${b.host}/mirror/app:v1.0.0`)).toBeNull();
    expect(await skopeoDigest(`${b.host}/mirror/app:theirs`)).toBe(theirs);
    expect(await skopeoDigest(`${b.host}/archive/app:v1.0.0`)).toBe(pushed);
  });

  it('a redelivered delete creates no second deletion', async () => {
    const [del] = await deletions();
    const from = del!.target.from as { digest: string };
    const event = { id: 'redelivered-1', timestamp: new Date().toISOString(), action: 'delete', target: { digest: from.digest, repository: 'team/app' }, request: { host: a.host } };
    const res = await fetch(`${webhook.url}/webhooks/distribution?source=reg-a`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKENS.webhook}`, 'content-type': 'application/vnd.docker.distribution.events.v1+json' },
      body: JSON.stringify({ events: [event] }),
    });
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({ created: 0, duplicates: 1 });
    expect(body.skipped).toEqual([expect.objectContaining({ rule: 'archive', reason: expect.stringContaining('deletes: false') })]);
    expect(await deletions()).toHaveLength(1);
  });
});
