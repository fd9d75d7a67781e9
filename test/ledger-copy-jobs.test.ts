// The copy provider's jobs in the ledger: one lease holder at a time, checkpoints only under the
// lease, cancel whoever holds it, and retention takes them with their task. Both backends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../shared/ledger/db.ts';
import { Ledger } from '../shared/ledger/ledger.ts';
import { migrate } from '../shared/ledger/migrate.ts';
import { BACKENDS, type TestDatabase, manualClock, uid } from './ledger-fixtures.ts';

const DAY = 86_400_000;

describe.each(BACKENDS)('copy jobs on $name', (backend) => {
  const clock = manualClock();
  let database: TestDatabase;
  let db: Db;
  let ledger: Ledger;

  beforeAll(async () => {
    database = await backend.fresh({ ownInstance: true });
    db = await database.connect();
    await migrate(db);
    ledger = new Ledger(db, { now: clock.now });
  });
  afterAll(async () => {
    await db?.close();
    await database?.dispose();
  });

  async function task(): Promise<string> {
    const r = await ledger.recordReplication(
      { sourceKind: 'distribution', source: 'reg-a', namespace: 'team', repository: uid('app-'), tag: 'v1', digest: `sha256:${'a'.repeat(64)}`, pushedAt: '2030-01-01T00:00:00Z', rules: ['r'] },
      [{ provider: 'copy', target: { to: { registry: 'reg-b' } }, targetKey: `copy:reg-b:${uid('x')}`, rule: 'r' }],
    );
    return r.tasks[0]!.taskId;
  }

  it('one holder at a time; checkpoints only under the lease; an expired lease is taken over', async () => {
    const taskId = await task();
    const ref = `copy:${taskId}:1`;
    const job = await ledger.copyJobs.create({ ref, taskId, attempt: 1 });
    expect(job).toMatchObject({ ref, taskId, attempt: 1, state: 'pending', checkpoint: null });
    expect(await ledger.copyJobs.create({ ref, taskId, attempt: 1 })).toEqual(job);

    const [x, y] = await Promise.all([ledger.copyJobs.claim(ref, 'w1', 60_000), ledger.copyJobs.claim(ref, 'w2', 60_000)]);
    expect([x, y].filter(Boolean)).toHaveLength(1);
    const holder = x ? 'w1' : 'w2';
    const other = x ? 'w2' : 'w1';
    expect((x ?? y)!.state).toBe('running');
    expect(await ledger.copyJobs.saveCheckpoint(ref, other, { done: ['sha256:1'] }, 60_000)).toBe(false);
    expect(await ledger.copyJobs.saveCheckpoint(ref, holder, { done: ['sha256:1'] }, 60_000)).toBe(true);
    clock.advance(61_000);
    const taken = await ledger.copyJobs.claim(ref, other, 60_000);
    expect(taken).toMatchObject({ leaseOwner: other, checkpoint: { done: ['sha256:1'] } });
    expect(await ledger.copyJobs.saveCheckpoint(ref, holder, { done: [] }, 60_000)).toBe(false);
    expect(await ledger.copyJobs.finish(ref, holder, { state: 'done', result: {} })).toBe(false);
    expect(await ledger.copyJobs.finish(ref, other, { state: 'done', result: { targetDigest: 'sha256:t' } })).toBe(true);
    expect(await ledger.copyJobs.get(ref)).toMatchObject({ state: 'done', leaseOwner: null, result: { targetDigest: 'sha256:t' } });
    expect(await ledger.copyJobs.claim(ref, 'w3', 60_000)).toBeNull();
  });

  it('cancel stops an open job whoever holds it; a finished one says how it ended', async () => {
    const taskId = await task();
    await ledger.copyJobs.create({ ref: `copy:${taskId}:1`, taskId, attempt: 1 });
    await ledger.copyJobs.claim(`copy:${taskId}:1`, 'w1', 60_000);
    expect(await ledger.copyJobs.cancel(`copy:${taskId}:1`)).toMatchObject({ canceled: true, job: { state: 'canceled' } });
    expect(await ledger.copyJobs.state(`copy:${taskId}:1`)).toBe('canceled');
    expect(await ledger.copyJobs.saveCheckpoint(`copy:${taskId}:1`, 'w1', { done: [] }, 60_000)).toBe(false);
    expect(await ledger.copyJobs.cancel(`copy:${taskId}:1`)).toMatchObject({ canceled: false, job: { state: 'canceled' } });
    expect(await ledger.copyJobs.cancel('copy:nope:1')).toBeNull();
    await ledger.copyJobs.create({ ref: `copy:${taskId}:2`, taskId, attempt: 2, checkpoint: { done: ['sha256:1'] } });
    expect(await ledger.copyJobs.latestForTask(taskId)).toMatchObject({ ref: `copy:${taskId}:2`, checkpoint: { done: ['sha256:1'] } });
  });

  it('retention deletes a finished task with its jobs', async () => {
    const taskId = await task();
    await ledger.copyJobs.create({ ref: `copy:${taskId}:1`, taskId, attempt: 1 });
    await db.query(`UPDATE tasks SET state = 'succeeded', finished_at = $2::timestamptz WHERE id = $1`, [taskId, new Date(clock.now()).toISOString()]);
    clock.advance(31 * DAY);
    await ledger.prune({ olderThanDays: 30 });
    expect(await ledger.copyJobs.latestForTask(taskId)).toBeNull();
  });
});
