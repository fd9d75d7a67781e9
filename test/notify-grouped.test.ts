/**
 * Grouped notifications (`group: replication`) at the outbox: held while any target is open, exactly
 * once per replication when its tasks fail at once and when deliveries race or a deliverer dies
 * holding the lease, again after a rerun fails again, and withdrawn when every failed target
 * succeeded on a retry before it could go out. On PGlite, and on PostgreSQL when
 * FERRY_TEST_DATABASE_URL is set (there the concurrent writes are really concurrent).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TaskRow } from '../shared/ledger/index.ts';
import { deliverDue } from '../shared/notify/deliver.ts';
import { failureNotices } from '../shared/replicate/notices.ts';
import { PG_URL } from './ledger-fixtures.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';
import { recordAcrPush, startReceiver, type Receiver } from './sweep-helpers.ts';

// Each test starts the local cloud and a ledger (PGlite: seconds on a busy machine).
vi.setConfig({ testTimeout: 60_000 });

const backends = [{ name: 'pglite' as const }, ...(PG_URL ? [{ name: 'postgres' as const }] : [])];

describe.each(backends)('grouped notifications on $name', ({ name }) => {
  const schemas: string[] = [];
  const admin = PG_URL ? new pg.Client({ connectionString: PG_URL }) : undefined;
  let stack: TestStack | undefined;
  let hook: Receiver;

  beforeAll(async () => {
    await admin?.connect();
  });
  afterAll(async () => {
    for (const s of schemas) await admin?.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await admin?.end();
  });
  afterEach(async () => {
    await stack?.close();
    await hook?.close();
    stack = undefined;
  });

  /** A stack whose rule has two ACR targets and one webhook grouping by replication. */
  async function start(): Promise<TestStack> {
    hook = await startReceiver();
    let db: { databaseUrl: string; searchPath: string } | undefined;
    if (name === 'postgres') {
      const schema = `notify_grouped_${randomBytes(4).toString('hex')}`;
      await admin!.query(`CREATE SCHEMA ${schema}`);
      schemas.push(schema);
      db = { databaseUrl: PG_URL, searchPath: schema };
    }
    stack = await startTestStack({
      ...(db ?? {}),
      env: { FERRY_NOTIFY_URL: hook.url },
      config: (base) => ({
        ...base,
        notifications: [{ type: 'webhook', url: '${FERRY_NOTIFY_URL}', group: 'replication' }],
        api: { publicUrl: 'https://ferry.example.com' },
      }),
    });
    return stack;
  }

  const deliver = (s: TestStack, owner = 'deliverer-a') => deliverDue(s.deps, { owner, now: () => s.clock.now(), hasTime: () => true, timeoutMs: 5_000 });

  async function fail(s: TestStack, task: TaskRow, code: string): Promise<void> {
    const error = { code, message: `${code} at the target`, requestId: `RID-${code}` };
    await s.ledger.transition(task.id, {
      from: task.state,
      to: 'failed',
      actor: 'test',
      reason: code,
      patch: { lastError: error },
      notify: failureNotices(s.config.notifications, task, 'failed', error),
    });
  }

  async function succeed(s: TestStack, task: TaskRow): Promise<void> {
    await s.ledger.transitions(task.id, [
      { from: task.state, to: 'submitted', actor: 'test', reason: 'submitted', patch: { cloudRef: `ref-${task.id}-${task.reruns}` } },
      { from: 'submitted', to: 'succeeded', actor: 'test', reason: 'done' },
    ]);
  }

  async function tasksOf(s: TestStack, tag: string): Promise<TaskRow[]> {
    const ids = await recordAcrPush(s, tag);
    expect(ids).toHaveLength(2);
    return Promise.all(ids.map(async (id) => (await s.ledger.getTask(id))!.task));
  }

  const task = async (s: TestStack, id: string) => (await s.ledger.getTask(id))!.task;

  it('is held while a target is open, then lists the failed one and counts the succeeded one', async () => {
    const s = await start();
    const [a, b] = await tasksOf(s, 'vg1');
    await fail(s, a!, 'TAG_CONFLICT');
    expect(await s.ledger.outbox.list({})).toMatchObject([{ kind: 'replication.failed', state: 'pending', taskId: null, replicationId: a!.replicationId, untilSettled: true }]);
    expect(await deliver(s)).toEqual({ sent: 0, failed: 0, dead: 0 });
    expect(hook.requests).toHaveLength(0);

    await succeed(s, b!);
    expect(await deliver(s)).toEqual({ sent: 1, failed: 0, dead: 0 });
    expect(hook.requests).toHaveLength(1);
    expect(hook.requests[0]!.body).toMatchObject({
      kind: 'replication.failed',
      state: 'partially_failed',
      succeeded: 1,
      targets: 2,
      failed: [{ taskId: a!.id, target: a!.targetKey, code: 'TAG_CONFLICT', requestId: 'RID-TAG_CONFLICT', reason: 'TAG_CONFLICT at the target', link: `https://ferry.example.com/ui/tasks/${a!.id}` }],
      link: `https://ferry.example.com/ui/replications/${a!.replicationId}`,
    });
    expect(await deliver(s)).toEqual({ sent: 0, failed: 0, dead: 0 });
    expect(hook.requests).toHaveLength(1);
  });

  it('two targets failing at once queue one message; three deliverers at once send it once', async () => {
    const s = await start();
    const [a, b] = await tasksOf(s, 'vg2');
    await Promise.all([fail(s, a!, 'TAG_CONFLICT'), fail(s, b!, 'AccessDenied')]);
    expect(await s.ledger.outbox.list({})).toHaveLength(1);
    const counts = await Promise.all([deliver(s, 'd1'), deliver(s, 'd2'), deliver(s, 'd3')]);
    expect(counts.reduce((n, c) => n + c.sent, 0)).toBe(1);
    expect(hook.requests).toHaveLength(1);
    const failed = (hook.requests[0]!.body as { failed: { code: string }[] }).failed;
    expect(failed.map((f) => f.code).sort()).toEqual(['AccessDenied', 'TAG_CONFLICT']);
    expect(hook.requests[0]!.body).toMatchObject({ state: 'failed', succeeded: 0, targets: 2 });
  });

  it('a deliverer that died holding the lease: nobody sends until it expires, then exactly once', async () => {
    const s = await start();
    const [a, b] = await tasksOf(s, 'vg3');
    await fail(s, a!, 'TAG_CONFLICT');
    await fail(s, b!, 'TAG_CONFLICT');
    const [claimed] = await s.ledger.outbox.claimDue({ owner: 'died-mid-way', leaseMs: 120_000 });
    expect(claimed?.kind).toBe('replication.failed');
    expect(await deliver(s)).toEqual({ sent: 0, failed: 0, dead: 0 });
    s.cloud.clock.advance(121_000);
    expect(await deliver(s)).toEqual({ sent: 1, failed: 0, dead: 0 });
    await expect(s.ledger.outbox.markSent(claimed!.id, 'died-mid-way')).rejects.toThrow();
    expect(await deliver(s)).toEqual({ sent: 0, failed: 0, dead: 0 });
    expect(hook.requests).toHaveLength(1);
  });

  it('a rerun that fails again is told again; one retried to success before delivery withdraws the message', async () => {
    const s = await start();
    const [a, b] = await tasksOf(s, 'vg4');
    await fail(s, a!, 'TAG_CONFLICT');
    await succeed(s, b!);
    await deliver(s);
    expect(hook.requests).toHaveLength(1);

    // Rerun: a new round, a new message.
    expect((await s.ledger.rerunTask(a!.id, { actor: 'test', reason: 'retry' }))?.outcome).toBe('reopened');
    await fail(s, await task(s, a!.id), 'TAG_CONFLICT');
    expect(await deliver(s)).toEqual({ sent: 1, failed: 0, dead: 0 });
    expect(hook.requests).toHaveLength(2);
    expect(hook.requests[1]!.body).toMatchObject({ failed: [{ taskId: a!.id }], succeeded: 1 });
    expect(new Set((await s.ledger.outbox.list({})).map((n) => n.subject)).size).toBe(2);

    // Failed, held (the other target open), retried to success before the replication settles: nothing to say.
    const [c, d] = await tasksOf(s, 'vg5');
    await fail(s, c!, 'TAG_CONFLICT');
    expect(await deliver(s)).toEqual({ sent: 0, failed: 0, dead: 0 });
    await s.ledger.rerunTask(c!.id, { actor: 'test', reason: 'retry' });
    await succeed(s, await task(s, c!.id));
    await succeed(s, d!);
    expect(await deliver(s)).toEqual({ sent: 0, failed: 0, dead: 0 });
    expect(hook.requests).toHaveLength(2);
    expect(await s.ledger.outbox.list({ subject: `replication:${c!.replicationId}` })).toEqual([]);

    // Failed, held, rerun and failed again before the replication settles: still one message.
    const [e, f] = await tasksOf(s, 'vg6');
    await fail(s, e!, 'TAG_CONFLICT');
    await s.ledger.rerunTask(e!.id, { actor: 'test', reason: 'retry' });
    await fail(s, await task(s, e!.id), 'AccessDenied');
    await succeed(s, f!);
    expect(await deliver(s)).toEqual({ sent: 1, failed: 0, dead: 0 });
    expect(hook.requests).toHaveLength(3);
    expect(hook.requests[2]!.body).toMatchObject({ failed: [{ taskId: e!.id, code: 'AccessDenied' }], succeeded: 1 });
  });
});
