import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TaskRow } from '../shared/ledger/index.ts';
import { cancelTask } from '../shared/replicate/cancel.ts';
import { planPush } from '../shared/replicate/plan.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { normalizeWebhook } from '../shared/webhook/normalize.ts';
import { fixture, ledgerCounts, startWebhook, type WebhookHarness } from './webhook-harness.ts';

/**
 * Deletion replication through the real webhook for SWR targets: a Harbor-format delete (SWR has no
 * webhook of its own; `?source=` names the SWR source) deletes the tag Ferry synced to the remote region,
 * as a task with history, and nothing Ferry did not write.
 */
const REMOTE = 'cn-east-3';
let h: WebhookHarness;

beforeAll(async () => {
  h = await startWebhook({
    config: (c) => ({
      ...c,
      rules: [
        { name: 'north-to-east', source: 'swr-beijing', namespace: 'team', repository: 'app', deletes: true, targets: [{ provider: 'swr', remoteRegion: REMOTE, remoteNamespace: 'team' }] },
        { name: 'north-to-south', source: 'swr-beijing', namespace: 'team', repository: 'app', targets: [{ provider: 'swr', remoteRegion: 'cn-south-1', remoteNamespace: 'team' }] },
      ],
    }),
    cloud: {
      seed: {
        huawei: {
          namespaces: [
            { region: 'cn-north-4', name: 'team', repos: [{ name: 'app', tags: {} }] },
            { region: REMOTE, name: 'team', repos: [{ name: 'app', tags: {} }] },
            { region: 'cn-south-1', name: 'team', repos: [{ name: 'app', tags: {} }] },
          ],
        },
      },
    },
  });
});
afterAll(() => h?.close());

const digestOf = (d: string) => `sha256:${d.repeat(64)}`;

async function admin(path: string, body?: unknown) {
  const res = await fetch(`${h.stack.cloud.url}/_local/swr${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return res.json() as Promise<any>;
}
const tagsAt = async (region: string) => Object.keys((await admin('/state')).registry[region]?.team?.app ?? {}).sort();

/** A sync Ferry made: a succeeded ledger task, and the tag in the remote region. */
async function synced(o: { rule: string; region: string; tag: string; digest: string; targetKey?: string }): Promise<TaskRow> {
  const from = { source: 'swr-beijing', kind: 'swr', namespace: 'team', repository: 'app', region: 'cn-north-4', tag: o.tag, digest: o.digest };
  const to = { provider: 'swr', region: 'cn-north-4', namespace: 'team', repo: 'app', tag: o.tag, remoteRegion: o.region, remoteNamespace: 'team', override: false };
  const { ledger, clock } = h.stack;
  const rec = await ledger.recordReplication(
    { sourceKind: 'swr', source: 'swr-beijing', region: 'cn-north-4', namespace: 'team', repository: 'app', tag: o.tag, digest: o.digest, pushedAt: clock.now(), rules: [o.rule] },
    [{ provider: 'swr', target: { from, to }, targetKey: o.targetKey ?? `swr:${o.region}/team/app:${o.tag}`, rule: o.rule, scope: 'cn-north-4/team/app' }],
  );
  const id = rec.tasks[0]!.taskId;
  await ledger.transition(id, { from: 'pending', to: 'submitted', reason: 'test', actor: 'test', patch: { cloudRef: `job-${id.slice(-8)}` } });
  await clock.sleep(5);
  const done = await ledger.transition(id, { from: 'submitted', to: 'succeeded', reason: 'test', actor: 'test' });
  await admin('/images', { region: o.region, namespace: 'team', repo: 'app', tag: o.tag, digest: o.digest });
  return done;
}

const harbor = (name: string) => h.post('harbor', fixture(name), { query: { source: 'swr-beijing' } });

describe('deletion replication at the webhook (SWR, Harbor format)', () => {
  test('normalized as deletions, in both Harbor formats', () => {
    const json = { 'content-type': 'application/json' };
    const plain = normalizeWebhook({ kind: 'harbor', headers: json, body: fixture('harbor-delete.json') });
    expect(plain).toMatchObject({ ok: true, pushes: [{ namespace: 'team', repository: 'app', tag: 'v5.0.0', digest: digestOf('5'), deleted: true }] });
    const ce = normalizeWebhook({ kind: 'cloudevents', headers: { 'content-type': 'application/cloudevents+json' }, body: fixture('harbor-delete-cloudevent.json') });
    expect(ce).toMatchObject({ ok: true, pushes: [{ tag: 'v6.0.0', digest: digestOf('6'), deleted: true, eventId: expect.stringContaining('cloudevents:') }] });
  });

  test('deletes only the tag Ferry synced under a rule with deletes: true; a task with history; redelivery adds nothing', async () => {
    const mine = await synced({ rule: 'north-to-east', region: REMOTE, tag: 'v5.0.0', digest: digestOf('5') });
    const kept = await synced({ rule: 'north-to-south', region: 'cn-south-1', tag: 'v5.0.0', digest: digestOf('5') });
    // A tag Ferry never wrote, on the same digest, in the same repository.
    await admin('/images', { region: REMOTE, namespace: 'team', repo: 'app', tag: 'hand-made', digest: digestOf('5') });

    const r = await harbor('harbor-delete.json');
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ created: 1, duplicates: 0 });
    const [rep] = r.body.replications;
    expect(rep).toMatchObject({ action: 'delete', image: { tag: 'v5.0.0', digest: digestOf('5') }, targets: [{ rule: 'north-to-east', state: 'succeeded' }] });
    expect(r.body.skipped).toEqual([expect.objectContaining({ rule: 'north-to-south', copyTaskId: kept.id, reason: expect.stringContaining('deletes: false') })]);
    expect(await tagsAt(REMOTE)).toEqual(['hand-made']);
    expect(await tagsAt('cn-south-1')).toEqual(['v5.0.0']);

    const del = (await h.stack.ledger.getTask(rep.targets[0].taskId))!;
    expect(del.task).toMatchObject({ action: 'delete', provider: 'swr', state: 'succeeded', cloudStatus: 'deleted', targetKey: mine.targetKey });
    expect(del.events.map((e) => e.toState)).toEqual(['pending', 'pending', 'submitted', 'succeeded']);
    expect(del.task.idempotencyKey).not.toBe(mine.idempotencyKey);
    expect((await h.stack.ledger.listTasks({ action: 'delete' })).items.map((t) => t.id)).toEqual([del.task.id]);

    const again = await harbor('harbor-delete.json');
    expect(again.body).toMatchObject({ created: 0, duplicates: 1 });
    expect((await h.stack.ledger.listTasks({ action: 'delete' })).items).toHaveLength(1);
  });

  test("a tag someone pushed over Ferry's copy is refused (failed, not retried), and the image stays", async () => {
    await synced({ rule: 'north-to-east', region: REMOTE, tag: 'v6.0.0', digest: digestOf('6') });
    await admin('/images', { region: REMOTE, namespace: 'team', repo: 'app', tag: 'v6.0.0', digest: digestOf('7') });
    const r = await h.post('cloudevents', fixture('harbor-delete-cloudevent.json'), { query: { source: 'swr-beijing' }, headers: { 'content-type': 'application/cloudevents+json' } });
    expect(r.status).toBe(202);
    const t = r.body.replications[0].targets[0];
    expect(t).toMatchObject({ state: 'failed', error: { code: 'DeletionRefused', message: expect.stringContaining(digestOf('7')) } });
    expect(await tagsAt(REMOTE)).toContain('v6.0.0');

    // Redelivered, the failed deletion is a duplicate, not re-opened: deleting again is an operator's call.
    const again = await h.post('cloudevents', fixture('harbor-delete-cloudevent.json'), { query: { source: 'swr-beijing' }, headers: { 'content-type': 'application/cloudevents+json' } });
    expect(again.body).toMatchObject({ created: 0, duplicates: 1, reopened: 0 });
    // Once the tag holds Ferry's copy again, a retry re-runs the deletion through the sweep.
    await admin('/images', { region: REMOTE, namespace: 'team', repo: 'app', tag: 'v6.0.0', digest: digestOf('6') });
    expect(await h.stack.ledger.rerunTask(t.taskId, { actor: 'test', reason: 'tag restored' })).toMatchObject({ outcome: 'reopened' });
    await runSweep(h.stack.deps, { budgetMs: 5_000 });
    expect((await h.stack.ledger.getTask(t.taskId))!.task).toMatchObject({ action: 'delete', state: 'succeeded', reruns: 1 });
    expect(await tagsAt(REMOTE)).not.toContain('v6.0.0');
  });

  test('nothing Ferry copied: nothing deleted, and the answer says why', async () => {
    await admin('/images', { region: REMOTE, namespace: 'team', repo: 'app', tag: 'v8.0.0', digest: digestOf('8') });
    const body = JSON.parse(fixture('harbor-delete.json').replaceAll('5555', '8888').replace('v5.0.0', 'v8.0.0').replace('v5.0.0', 'v8.0.0'));
    const r = await h.post('harbor', body, { query: { source: 'swr-beijing' } });
    expect(r.body).toMatchObject({ matched: 0 });
    expect(r.status).toBe(200);
    expect(r.body.reason).toContain("Ferry's ledger shows no copy");
    expect(await tagsAt(REMOTE)).toContain('v8.0.0');
  });

  test('a pending deletion can be cancelled: the sweep then deletes nothing', async () => {
    const copy = await synced({ rule: 'north-to-east', region: REMOTE, tag: 'v9.0.0', digest: digestOf('9') });
    const { ledger, clock } = h.stack;
    const rec = await ledger.recordReplication(
      { action: 'delete', sourceKind: 'swr', source: 'swr-beijing', namespace: 'team', repository: 'app', tag: 'v9.0.0', digest: digestOf('9'), pushedAt: clock.now(), rules: ['north-to-east'] },
      [{ provider: 'swr', target: copy.target, targetKey: copy.targetKey, rule: 'north-to-east', scope: copy.scope }],
    );
    const id = rec.tasks[0]!.taskId;
    const r = await cancelTask(h.stack.deps, id, { actor: 'test', reason: 'keep it' });
    expect(r).toMatchObject({ outcome: 'canceled', task: { action: 'delete', state: 'canceled' } });
    await runSweep(h.stack.deps, { budgetMs: 5_000 });
    expect(await tagsAt(REMOTE)).toContain('v9.0.0');
  });

  test('plan shows, per target, whether a delete event would delete it, and deletes nothing', async () => {
    // Keyed as the SWR provider renders these targets, so the plan's matched targets are the copies' own.
    const key = (region: string, tag: string) => `swr:cn-north-4>${region}:team/app:${tag}`;
    const mine = await synced({ rule: 'north-to-east', region: REMOTE, tag: 'v10.0.0', digest: digestOf('a'), targetKey: key(REMOTE, 'v10.0.0') });
    const kept = await synced({ rule: 'north-to-south', region: 'cn-south-1', tag: 'v10.0.0', digest: digestOf('a'), targetKey: key('cn-south-1', 'v10.0.0') });
    const before = await ledgerCounts(h.stack);
    const image = { source: 'swr-beijing', namespace: 'team', repository: 'app', tag: 'v10.0.0' };

    const r = await planPush({ ...image, digest: digestOf('a') }, h.stack.deps);
    if (!r.ok) throw new Error(r.message);
    const targets = r.plan.rules.flatMap((x) => x.targets);
    expect(targets.map((t) => t.targetKey).sort()).toEqual([mine.targetKey, kept.targetKey].sort());
    expect(targets.find((t) => t.targetKey === mine.targetKey)!.onDelete).toEqual({ delete: true, copyTaskId: mine.id });
    expect(targets.find((t) => t.targetKey === kept.targetKey)!.onDelete).toEqual({ delete: false, copyTaskId: kept.id, reason: expect.stringContaining('deletes: false') });
    expect(r.plan.deletion.targets).toEqual([{ rule: 'north-to-east', targetKey: mine.targetKey, copyTaskId: mine.id, tag: 'v10.0.0', digest: digestOf('a') }]);

    // A delete naming another digest than the one Ferry copied deletes nothing.
    const other = await planPush({ ...image, digest: digestOf('b') }, h.stack.deps);
    if (!other.ok) throw new Error(other.message);
    expect(other.plan.deletion.targets).toEqual([]);
    expect(other.plan.rules.flatMap((x) => x.targets).every((t) => t.onDelete?.delete === false)).toBe(true);

    // An image Ferry never copied.
    const never = await planPush({ ...image, tag: 'v11.0.0', digest: digestOf('a') }, h.stack.deps);
    if (!never.ok) throw new Error(never.message);
    expect(never.plan.deletion.reason).toContain("Ferry's ledger shows no copy");
    expect(never.plan.rules.flatMap((x) => x.targets).map((t) => t.onDelete)).toEqual([
      { delete: false, reason: expect.stringContaining('no succeeded copy') },
      { delete: false, reason: expect.stringContaining('no succeeded copy') },
    ]);

    expect(await ledgerCounts(h.stack)).toEqual(before);
    expect(await tagsAt(REMOTE)).toContain('v10.0.0');
    expect(await tagsAt('cn-south-1')).toContain('v10.0.0');
  });
});
