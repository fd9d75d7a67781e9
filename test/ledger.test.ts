import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../shared/ledger/db.ts';
import { idempotencyKey, sourceImageKey } from '../shared/ledger/keys.ts';
import { Ledger, type ReplicationInput, type TaskSpec } from '../shared/ledger/ledger.ts';
import { migrate } from '../shared/ledger/migrate.ts';
import { MIGRATIONS } from '../shared/ledger/migrations.ts';
import { IllegalTransitionError, LeaseLostError, LedgerInputError, StaleStateError, TRANSITIONS, TASK_STATES } from '../shared/ledger/states.ts';
import { POLICY_DEFAULTS } from '../shared/config/index.ts';
import { BACKENDS, type TestDatabase, manualClock, uid } from './ledger-fixtures.ts';

const MIN = 60_000;
const DAY = 86_400_000;

function push(over: Partial<ReplicationInput> = {}): ReplicationInput {
  return {
    sourceKind: 'acr',
    source: uid('cri-'),
    region: 'cn-hangzhou',
    namespace: 'team',
    repository: uid('app-'),
    tag: 'v1',
    digest: `sha256:${'a'.repeat(64)}`,
    pushedAt: '2030-01-01T00:00:00Z',
    rules: ['to-shanghai'],
    ...over,
  };
}

function target(region: string, over: Partial<TaskSpec> = {}): TaskSpec {
  return {
    provider: 'acr',
    target: { region, instanceId: `cri-${region}`, namespace: 'team', repository: 'app', tag: 'v1' },
    targetKey: `acr:${region}/cri-${region}/team/app:v1`,
    rule: 'to-shanghai',
    ...over,
  };
}

describe('idempotencyKey', () => {
  const img = { sourceKind: 'acr', source: 'cri-1', namespace: 'ns', repository: 'repo', tag: 'v1' };
  it('uses tag and digest when the digest is known, ignoring pushed-at', () => {
    const a = idempotencyKey({ ...img, digest: 'sha256:abc', pushedAt: '2030-01-01T00:00:00Z' }, 'T');
    const b = idempotencyKey({ ...img, digest: 'sha256:abc', pushedAt: '2031-05-05T00:00:00Z' }, 'T');
    expect(a).toBe('v1|acr|cri-1|ns/repo|v1@sha256:abc|T');
    expect(b).toBe(a);
  });
  it('keeps the tag: one digest pushed under two tags is two images', () => {
    expect(idempotencyKey({ ...img, tag: 'latest', digest: 'sha256:abc' }, 'T')).not.toBe(idempotencyKey({ ...img, digest: 'sha256:abc' }, 'T'));
  });
  it('falls back to tag + pushed-at normalised to UTC ISO', () => {
    const a = idempotencyKey({ ...img, pushedAt: '2030-01-01T08:00:00+08:00' }, 'T');
    const b = idempotencyKey({ ...img, pushedAt: Date.parse('2030-01-01T00:00:00Z') }, 'T');
    expect(a).toBe('v1|acr|cri-1|ns/repo|v1@pushed:2030-01-01T00:00:00.000Z|T');
    expect(b).toBe(a);
  });
  it('refuses keys it cannot make stable, naming the field', () => {
    expect(() => sourceImageKey({ ...img })).toThrow(/pushedAt: required when the digest is unknown/);
    expect(() => sourceImageKey({ ...img, tag: null })).toThrow(/digest: required when the push has no tag/);
    expect(() => sourceImageKey({ ...img, pushedAt: 'yesterday' })).toThrow(LedgerInputError);
    expect(() => sourceImageKey({ ...img, namespace: 'a|b', digest: 'sha256:x' })).toThrow(/namespace/);
  });
});

describe('state machine table', () => {
  it('has no way out of succeeded, failed, canceled; timed_out only retries', () => {
    expect(TRANSITIONS.succeeded).toEqual([]);
    expect(TRANSITIONS.failed).toEqual([]);
    expect(TRANSITIONS.canceled).toEqual([]);
    expect(TRANSITIONS.timed_out).toEqual(['pending']);
    for (const s of TASK_STATES) for (const t of TRANSITIONS[s]) expect(TASK_STATES).toContain(t);
  });
});

describe.each(BACKENDS)('ledger contract on $name', (backend) => {
  const clock = manualClock();
  let database: TestDatabase;
  let db: Db;
  let db2: Db;
  let ledger: Ledger;
  /** A second ledger on its own connection(s) (PostgreSQL) — the same single connection on PGlite. */
  let other: Ledger;

  beforeAll(async () => {
    database = await backend.fresh({ ownInstance: true });
    db = await database.connect();
    db2 = await database.connect();
    await migrate(db);
    ledger = new Ledger(db, { now: clock.now });
    other = new Ledger(db2, { now: clock.now });
  });
  afterAll(async () => {
    await db?.close();
    await db2?.close();
    await database?.dispose();
  });

  async function eventCount(taskId: string) {
    return (await ledger.getTask(taskId))!.events.length;
  }

  it('records a push and one pending task per target, with a first event', async () => {
    const ev = push({ rules: ['b', 'a'] });
    const res = await ledger.recordReplication(ev, [target('cn-shanghai'), target('cn-beijing')]);
    expect(res.replicationCreated).toBe(true);
    expect(res.replication.state).toBe('pending');
    expect(res.replication.rules).toEqual(['a', 'b']);
    expect(res.tasks.map((t) => t.created)).toEqual([true, true]);
    const detail = await ledger.getTask(res.tasks[0]!.taskId);
    expect(detail!.task).toMatchObject({ state: 'pending', attempts: 0, provider: 'acr', scope: ev.source });
    expect(detail!.events).toMatchObject([{ fromState: null, toState: 'pending', reason: 'recorded' }]);
    const rep = await ledger.getReplication(res.replication.id);
    expect(rep!.tasks).toHaveLength(2);
    expect(rep!.replication.pushedAt).toBe('2030-01-01T00:00:00.000Z');
  });

  it('a duplicate delivery creates nothing; a new target joins the same replication', async () => {
    const ev = push();
    const first = await ledger.recordReplication(ev, [target('cn-shanghai')]);
    const again = await ledger.recordReplication(ev, [target('cn-shanghai')]);
    expect(again.replicationCreated).toBe(false);
    expect(again.replication.id).toBe(first.replication.id);
    expect(again.tasks).toEqual([{ ...first.tasks[0], created: false }]);
    const more = await ledger.recordReplication({ ...ev, rules: ['second'] }, [target('cn-shanghai'), target('cn-beijing')]);
    expect(more.tasks.map((t) => t.created).sort()).toEqual([false, true]);
    expect(more.replication.rules).toEqual(['second', 'to-shanghai']);
    expect((await ledger.getReplication(first.replication.id))!.tasks).toHaveLength(2);
  });

  it('refuses bad input naming the field', async () => {
    await expect(ledger.recordReplication(push({ namespace: '' }), [target('x')])).rejects.toThrow(/event\.namespace/);
    await expect(ledger.recordReplication(push(), [target('x', { provider: '' })])).rejects.toThrow(/tasks\.0\.provider/);
    await expect(ledger.recordReplication(push(), [target('x'), target('x')])).rejects.toThrow(/appears twice/);
  });

  it('50 concurrent recordings of the same push yield one replication and one task', async () => {
    const ev = push();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? other : ledger).recordReplication(ev, [target('cn-shanghai')])));
    const created = results.filter((r) => r.tasks[0]!.created);
    expect(created).toHaveLength(1);
    expect(new Set(results.map((r) => r.tasks[0]!.taskId)).size).toBe(1);
    expect(new Set(results.map((r) => r.replication.id)).size).toBe(1);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM tasks t JOIN replications r ON r.id = t.replication_id WHERE r.repository = $1', [ev.repository]);
    expect(rows[0]!.n).toBe(1);
    const listed = await ledger.listTasks({ repository: ev.repository });
    expect(listed.items).toHaveLength(1);
    expect(await eventCount(listed.items[0]!.id)).toBe(1);
  });

  it('two concurrent claimers never get the same row', async () => {
    const ev = push();
    const targets = Array.from({ length: 24 }, (_, i) => target(`r${i}`));
    await ledger.recordReplication(ev, targets);
    const seen: string[][] = [[], []];
    for (let round = 0; round < 10; round++) {
      const [a, b] = await Promise.all([
        ledger.claimDue({ owner: 'sweep-a', leaseMs: MIN, limit: 5, scope: ev.source }),
        other.claimDue({ owner: 'sweep-b', leaseMs: MIN, limit: 5, scope: ev.source }),
      ]);
      seen[0]!.push(...a.map((t) => t.id));
      seen[1]!.push(...b.map((t) => t.id));
      for (const t of a) expect(t.leaseOwner).toBe('sweep-a');
      for (const t of b) expect(t.leaseOwner).toBe('sweep-b');
      if (a.length + b.length === 0) break;
    }
    const all = [...seen[0]!, ...seen[1]!];
    expect(all).toHaveLength(24);
    expect(new Set(all).size).toBe(24);
    expect(seen[0]!.filter((id) => seen[1]!.includes(id))).toEqual([]);
  });

  it.runIf(backend.name === 'postgres')('skips rows another transaction has locked instead of waiting', async () => {
    const ev = push();
    await ledger.recordReplication(ev, [target('a'), target('b'), target('c')]);
    let releaseHolder!: () => void;
    const hold = new Promise<void>((r) => (releaseHolder = r));
    let held: string[] = [];
    const locked = new Promise<void>((ready) => {
      void db.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: string }>('SELECT id FROM tasks WHERE scope = $1 ORDER BY id LIMIT 2 FOR UPDATE', [ev.source]);
        held = rows.map((r) => r.id);
        ready();
        await hold;
      });
    });
    await locked;
    const got = await other.claimDue({ owner: 'b', leaseMs: MIN, scope: ev.source });
    releaseHolder();
    expect(got).toHaveLength(1);
    expect(held).not.toContain(got[0]!.id);
  });

  it('a claim held by a crashed worker is taken over after its lease expires', async () => {
    const ev = push();
    const { tasks } = await ledger.recordReplication(ev, [target('cn-shanghai')]);
    const id = tasks[0]!.taskId;
    const [mine] = await ledger.claimDue({ owner: 'crashy', leaseMs: 30_000, scope: ev.source });
    expect(mine!.id).toBe(id);
    await ledger.beginSubmission(id, 'crashy'); // …then the worker dies before writing the cloud ref
    expect(await other.claimDue({ owner: 'heir', leaseMs: 30_000, scope: ev.source })).toEqual([]);
    clock.advance(30_001);
    const [taken] = await other.claimDue({ owner: 'heir', leaseMs: 30_000, scope: ev.source });
    expect(taken).toMatchObject({ id, leaseOwner: 'heir', attempts: 1, cloudRef: null, state: 'pending' });
    expect(taken!.submitStartedAt).not.toBeNull(); // in doubt: the heir must look for the cloud task first
    await expect(ledger.transition(id, { from: 'pending', to: 'submitted', reason: 'late', actor: 'crashy', owner: 'crashy' })).rejects.toBeInstanceOf(LeaseLostError);
    const done = await other.transition(id, {
      from: 'pending',
      to: 'submitted',
      reason: 'found orphan',
      actor: 'heir',
      owner: 'heir',
      patch: { cloudRef: 'rst-orphan', cloudCreatedAt: clock.now() - 20_000 },
    });
    expect(done.cloudRef).toBe('rst-orphan');
    expect(await ledger.release(id, 'crashy')).toBe(false);
    expect(await ledger.release(id, 'heir')).toBe(true);
  });

  it('refuses illegal transitions with a typed error and writes nothing', async () => {
    const ev = push();
    const { tasks } = await ledger.recordReplication(ev, [target('x')]);
    const id = tasks[0]!.taskId;
    const before = (await ledger.getTask(id))!;
    clock.advance(1000);
    for (const [from, to] of [
      ['pending', 'running'],
      ['pending', 'succeeded'],
      ['succeeded', 'pending'],
      ['failed', 'pending'],
      ['canceled', 'running'],
      ['pending', 'bogus'],
    ] as const) {
      const err = await ledger.transition(id, { from, to: to as never, reason: 'r', actor: 'a' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IllegalTransitionError);
      expect(err).toMatchObject({ from, to });
    }
    expect(await ledger.getTask(id)).toEqual(before);
  });

  it('refuses a transition from a state the row is not in, and writes nothing', async () => {
    const ev = push();
    const { tasks } = await ledger.recordReplication(ev, [target('x')]);
    const id = tasks[0]!.taskId;
    const before = (await ledger.getTask(id))!;
    const err = await ledger.transition(id, { from: 'submitted', to: 'running', reason: 'poll', actor: 'sweep' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StaleStateError);
    expect(err).toMatchObject({ expected: 'submitted', actual: 'pending' });
    expect(await ledger.getTask(id)).toEqual(before);
    // Two racers on one edge: exactly one wins.
    const race = await Promise.allSettled([
      ledger.transition(id, { from: 'pending', to: 'canceled', reason: 'operator', actor: 'api' }),
      other.transition(id, { from: 'pending', to: 'submitted', reason: 'sweep', actor: 'sweep', patch: { cloudRef: 'rst-1' } }),
    ]);
    expect(race.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const loser = race.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(loser.reason).toBeInstanceOf(StaleStateError);
    expect((await ledger.getTask(id))!.events).toHaveLength(2);
  });

  it('leases watched ECS tasks: concurrent claimers split them, released ones come back', async () => {
    const region = `cn-ecs-${Math.random().toString(36).slice(2, 7)}`;
    for (const id of ['t-ecs0001', 't-ecs0002', 't-ecs0003']) await ledger.ecs.watch({ region, taskId: id, action: 'ImportImage' });
    const [a, b] = await Promise.all([ledger.ecs.claimDue({ region, owner: 'A', leaseMs: 60_000, limit: 2 }), other.ecs.claimDue({ region, owner: 'B', leaseMs: 60_000, limit: 2 })]);
    const ids = [...a, ...b].map((r) => r.taskId).sort();
    expect(ids).toEqual(['t-ecs0001', 't-ecs0002', 't-ecs0003']);
    expect(await ledger.ecs.claimDue({ region, owner: 'C', leaseMs: 60_000, limit: 5 })).toHaveLength(0);
    await ledger.ecs.release(
      region,
      a.map((r) => r.taskId),
      'A',
    );
    expect((await ledger.ecs.claimDue({ region, owner: 'C', leaseMs: 60_000, limit: 5 })).map((r) => r.taskId).sort()).toEqual(a.map((r) => r.taskId).sort());
  });

  it('applies a chain of transitions in one transaction, or none of it', async () => {
    const { tasks } = await ledger.recordReplication(push(), [target('chain')]);
    const id = tasks[0]!.taskId;
    await ledger.transition(id, { from: 'pending', to: 'submitted', reason: 'r', actor: 'a', patch: { cloudRef: 'rst-chain1' } });
    await ledger.transition(id, { from: 'submitted', to: 'running', reason: 'r', actor: 'a' });
    const before = (await ledger.getTask(id))!;
    // The second step is stale (the task is not succeeded): the first must not be written either.
    const err = await ledger
      .transitions(id, [{ from: 'running', to: 'timed_out', reason: 'deadline', actor: 'sweep' }, { from: 'succeeded', to: 'pending', reason: 'retry', actor: 'sweep' } as never])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IllegalTransitionError);
    const staleErr = await ledger
      .transitions(id, [
        { from: 'running', to: 'timed_out', reason: 'deadline', actor: 'sweep' },
        { from: 'running', to: 'pending', reason: 'retry', actor: 'sweep' },
      ])
      .catch((e: unknown) => e);
    expect(staleErr).toBeInstanceOf(StaleStateError);
    expect(await ledger.getTask(id)).toEqual(before);
    const after = await ledger.transitions(id, [
      { from: 'running', to: 'timed_out', reason: 'deadline', actor: 'sweep' },
      { from: 'timed_out', to: 'pending', reason: 'retry', actor: 'sweep', patch: { nextAttemptAt: clock.now() + 1000 } },
    ]);
    expect(after.state).toBe('pending');
    const events = (await ledger.getTask(id))!.events.map((e) => `${e.fromState}>${e.toState}`);
    expect(events.slice(-2)).toEqual(['running>timed_out', 'timed_out>pending']);
  });

  it('appends the event history of a full lifecycle and rolls the replication up', async () => {
    const ev = push();
    const res = await ledger.recordReplication(ev, [target('a'), target('b')]);
    const [a, b] = res.tasks.map((t) => t.taskId) as [string, string];
    const [claimed] = await ledger.claimDue({ owner: 'w', leaseMs: MIN, limit: 1, scope: ev.source });
    const id = claimed!.id;
    await ledger.beginSubmission(id, 'w');
    clock.advance(1000);
    await ledger.transition(id, {
      from: 'pending',
      to: 'submitted',
      reason: 'CreateRepoSyncTask ok',
      actor: 'w',
      owner: 'w',
      patch: { cloudRef: 'rst-abc', cloudCreatedAt: clock.now(), nextAttemptAt: clock.now() + 30_000 },
    });
    expect((await ledger.getReplication(res.replication.id))!.replication.state).toBe('in_progress');
    await ledger.transition(id, { from: 'submitted', to: 'running', reason: 'SYNCHRONIZING', actor: 'w', patch: { cloudStatus: 'SYNCHRONIZING' } });
    clock.advance(5000);
    const done = await ledger.transition(id, { from: 'running', to: 'succeeded', reason: 'SUCCESS', actor: 'w' });
    expect(done).toMatchObject({ state: 'succeeded', leaseOwner: null, nextAttemptAt: null, finishedAt: new Date(clock.now()).toISOString() });
    const detail = (await ledger.getTask(id))!;
    expect(detail.events.map((e) => [e.fromState, e.toState, e.reason])).toEqual([
      [null, 'pending', 'recorded'],
      ['pending', 'pending', 'submission started'],
      ['pending', 'submitted', 'CreateRepoSyncTask ok'],
      ['submitted', 'running', 'SYNCHRONIZING'],
      ['running', 'succeeded', 'SUCCESS'],
    ]);
    expect(detail.events[2]!.details).toMatchObject({ cloudRef: 'rst-abc' });
    expect(detail.cloudRefs).toMatchObject([{ cloudRef: 'rst-abc', attempt: 1 }]);
    expect(await ledger.findTaskByCloudRef('rst-abc')).toMatchObject({ id });
    const rest = id === a ? b : a;
    await ledger.transition(rest, { from: 'pending', to: 'failed', reason: 'NoPrivilege', actor: 'w', patch: { lastError: { code: 'NoPrivilege', message: 'denied', requestId: 'req-1' } } });
    const rep = (await ledger.getReplication(res.replication.id))!;
    expect(rep.replication.state).toBe('partially_failed');
    expect(rep.tasks.find((t) => t.id === rest)!.lastError).toEqual({ code: 'NoPrivilege', message: 'denied', requestId: 'req-1' });
  });

  it('rolls up correctly when two tasks of one replication finish concurrently', async () => {
    const ev = push();
    const res = await ledger.recordReplication(ev, [target('a'), target('b')]);
    await Promise.all(res.tasks.map((t, i) => (i ? other : ledger).transition(t.taskId, { from: 'pending', to: 'canceled', reason: 'operator', actor: 'api' })));
    expect((await ledger.getReplication(res.replication.id))!.replication.state).toBe('canceled');
  });

  it('retries go back to pending with a delay, keep cloud-ref history, and fail when attempts run out', async () => {
    const ev = push();
    const { tasks } = await ledger.recordReplication(ev, [target('x', { maxAttempts: 2 })]);
    const id = tasks[0]!.taskId;
    const submit = async (ref: string) => {
      const [t] = await ledger.claimDue({ owner: 'w', leaseMs: MIN, scope: ev.source });
      expect(t?.id).toBe(id);
      await ledger.beginSubmission(id, 'w');
      await ledger.transition(id, { from: 'pending', to: 'submitted', reason: 'ok', actor: 'w', owner: 'w', patch: { cloudRef: ref } });
    };
    await submit('rst-1');
    const r1 = await ledger.transition(id, {
      from: 'submitted',
      to: 'pending',
      reason: 'ERROR NETWORK_ERROR',
      actor: 'w',
      patch: { lastError: { code: 'NETWORK_ERROR', message: 'link reset' }, nextAttemptAt: clock.now() + 10 * MIN },
    });
    expect(r1).toMatchObject({ state: 'pending', attempts: 1, cloudRef: null, submitStartedAt: null, leaseOwner: null });
    expect(r1.nextAttemptAt).toBe(new Date(clock.now() + 10 * MIN).toISOString());
    expect(await ledger.claimDue({ owner: 'w', leaseMs: MIN, scope: ev.source })).toEqual([]);
    clock.advance(10 * MIN);
    await submit('rst-2');
    const r2 = await ledger.transition(id, { from: 'submitted', to: 'failed', reason: 'ERROR again', actor: 'w' });
    expect(r2.state).toBe('failed');
    const detail = (await ledger.getTask(id))!;
    expect(detail.cloudRefs.map((c) => [c.cloudRef, c.attempt])).toEqual([
      ['rst-1', 1],
      ['rst-2', 2],
    ]);
    expect(detail.task.lastError?.code).toBe('NETWORK_ERROR');
    // timed_out is terminal unless retried
    const t2 = (await ledger.recordReplication(push(), [target('y')])).tasks[0]!.taskId;
    await ledger.transition(t2, { from: 'pending', to: 'timed_out', reason: 'deadline', actor: 'sweep' });
    expect((await ledger.getTask(t2))!.task.finishedAt).not.toBeNull();
    const back = await ledger.transition(t2, { from: 'timed_out', to: 'pending', reason: 'retry', actor: 'sweep', patch: { nextAttemptAt: clock.now() } });
    expect(back.finishedAt).toBeNull();
  });

  it('claims only due work: next attempt reached, deadline passed or cancel requested', async () => {
    const ev = push();
    const { tasks } = await ledger.recordReplication(ev, [
      target('later', { nextAttemptAt: clock.now() + DAY }),
      target('deadline', { nextAttemptAt: clock.now() + DAY, deadlineAt: clock.now() + MIN }),
      target('cancel', { nextAttemptAt: clock.now() + DAY }),
    ]);
    const byKey = Object.fromEntries(tasks.map((t) => [t.targetKey.split(':')[1]!.split('/')[0]!, t.taskId]));
    expect(await ledger.claimDue({ owner: 'w', leaseMs: MIN, scope: ev.source })).toEqual([]);
    await ledger.requestCancel(byKey.cancel!, { reason: 'operator asked', actor: 'api' });
    clock.advance(MIN);
    const got = await ledger.claimDue({ owner: 'w', leaseMs: MIN, scope: ev.source });
    expect(got.map((t) => t.id).sort()).toEqual([byKey.cancel, byKey.deadline].sort());
    expect(got.find((t) => t.id === byKey.cancel)!.cancelReason).toBe('operator asked');
    await ledger.transition(byKey.cancel!, { from: 'pending', to: 'canceled', reason: 'operator asked', actor: 'w', owner: 'w' });
    await expect(ledger.requestCancel(byKey.cancel!, { reason: 'again', actor: 'api' })).rejects.toBeInstanceOf(StaleStateError);
    await expect(ledger.claimDue({ owner: 'w', leaseMs: 0 })).rejects.toThrow(/leaseMs/);
    await expect(ledger.claimDue({ owner: 'w', leaseMs: 1, states: ['succeeded'] })).rejects.toThrow(/states/);
  });

  it('summarises the tasks the cloud knows about per scope, for the sweep', async () => {
    const ev = push();
    const t0 = clock.now();
    const first = await ledger.recordReplication(ev, [target('a')]);
    clock.advance(1000);
    const second = await ledger.recordReplication({ ...ev, tag: 'v2' }, [target('a'), target('b', { provider: 'swr', scope: 'cn-north-4' })]);
    for (const t of [...first.tasks, ...second.tasks]) {
      await ledger.transition(t.taskId, { from: 'pending', to: 'submitted', reason: 'r', actor: 'a', patch: { cloudRef: `rst-${t.taskId.slice(-8)}` } });
    }
    const summary = await ledger.activeScopes('acr');
    expect(summary.find((s) => s.scope === ev.source)).toEqual({ scope: ev.source, open: 2, oldestAt: t0 });
    expect((await ledger.activeScopes('swr')).map((s) => s.scope)).toContain('cn-north-4');
    expect(await ledger.openTasks({ scope: ev.source })).toHaveLength(2);
  });

  it('claims pending tasks for submission: past the grace period, or retries, in-doubt and cancel-requested ones at once', async () => {
    const ev = push();
    const early = await ledger.recordReplication(ev, [target('old'), target('later', { nextAttemptAt: clock.now() + DAY })]);
    clock.advance(2 * MIN);
    const young = await ledger.recordReplication({ ...ev, tag: 'v2' }, [target('young'), target('retry'), target('doubt'), target('cancel', { nextAttemptAt: clock.now() + DAY })]);
    const id = Object.fromEntries([...early.tasks, ...young.tasks].map((t) => [t.targetKey.split(':')[1]!.split('/')[0]!, t.taskId])) as Record<
      'old' | 'later' | 'young' | 'retry' | 'doubt' | 'cancel',
      string
    >;
    // retry: submitted once, failed, back to pending and due now; doubt: a submission started, no cloud ref.
    await ledger.claimPending([id.retry, id.doubt], { owner: 'webhook', leaseMs: MIN });
    await ledger.beginSubmission(id.retry, 'webhook');
    await ledger.transition(id.retry, { from: 'pending', to: 'submitted', reason: 'r', actor: 'webhook', owner: 'webhook', patch: { cloudRef: 'rst-retry' } });
    await ledger.transition(id.retry, { from: 'submitted', to: 'pending', reason: 'cloud failed', actor: 'sweep', patch: { nextAttemptAt: clock.now() } });
    await ledger.beginSubmission(id.doubt, 'webhook');
    expect(await ledger.release(id.doubt, 'webhook')).toBe(true);
    await ledger.requestCancel(id.cancel, { reason: 'operator asked', actor: 'api' });

    const mine = new Set(Object.values(id));
    const got = (await ledger.claimForSubmission({ owner: 'sub', leaseMs: 10 * MIN, limit: 1000, graceMs: MIN })).filter((t) => mine.has(t.id));
    expect(got.map((t) => t.id).sort()).toEqual([id.old, id.retry, id.doubt, id.cancel].sort());
    for (const t of got) expect(t).toMatchObject({ state: 'pending', leaseOwner: 'sub' });
    expect((await other.claimForSubmission({ owner: 'sub2', leaseMs: MIN, limit: 1000, graceMs: MIN })).filter((t) => mine.has(t.id))).toEqual([]);
    // The grace is counted on the ledger's clock: once the young task is older than it, it is claimed.
    clock.advance(MIN);
    const later = (await other.claimForSubmission({ owner: 'sub2', leaseMs: MIN, limit: 1000, graceMs: MIN })).filter((t) => mine.has(t.id));
    expect(later.map((t) => t.id)).toEqual([id.young]);

    const ids = got.map((t) => t.id);
    expect(await ledger.releaseMany(ids, 'sub2')).toBe(0);
    expect(await ledger.releaseMany(ids, 'sub')).toBe(4);
    expect(await ledger.releaseMany(ids, 'sub')).toBe(0);
    expect(await ledger.releaseMany([], 'sub')).toBe(0);
    for (const t of ids) expect((await ledger.getTask(t))!.task.leaseOwner).toBeNull();
    expect(await ledger.releaseMany([id.young], 'sub2')).toBe(1);
    await expect(ledger.claimForSubmission({ owner: '', leaseMs: MIN, limit: 1, graceMs: 0 })).rejects.toThrow(/owner/);
    await expect(ledger.claimForSubmission({ owner: 'w', leaseMs: MIN, limit: 1, graceMs: -1 })).rejects.toThrow(/graceMs/);
  });

  it('moves many submitted tasks to running in one statement, only those whose lease it holds', async () => {
    const ev = push();
    const rec = await ledger.recordReplication(ev, [target('a'), target('b'), target('c')]);
    for (const t of rec.tasks) {
      await ledger.transition(t.taskId, { from: 'pending', to: 'submitted', reason: 'r', actor: 'a', patch: { cloudRef: `rst-${t.taskId.slice(-8)}` } });
    }
    const held = await ledger.claimDue({ owner: 'rec', leaseMs: MIN, states: ['submitted'], scope: ev.source, limit: 2 });
    expect(held).toHaveLength(2);
    clock.advance(1000);
    const all = rec.tasks.map((t) => t.taskId);
    const moved = await ledger.markRunningMany(all, { owner: 'rec', cloudStatus: 'SYNCHRONIZING', reason: 'cloud task SYNCHRONIZING' });
    expect(moved.sort()).toEqual(held.map((t) => t.id).sort());
    for (const id of moved) {
      const d = (await ledger.getTask(id))!;
      expect(d.task).toMatchObject({ state: 'running', cloudStatus: 'SYNCHRONIZING', leaseOwner: null, updatedAt: new Date(clock.now()).toISOString() });
      expect(d.events.at(-1)).toMatchObject({ fromState: 'submitted', toState: 'running', actor: 'rec', reason: 'cloud task SYNCHRONIZING', at: new Date(clock.now()).toISOString() });
    }
    const left = all.find((id) => !moved.includes(id))!;
    expect((await ledger.getTask(left))!.task.state).toBe('submitted');
    expect(await ledger.markRunningMany(moved, { owner: 'rec', cloudStatus: 'SYNCHRONIZING', reason: 'again' })).toEqual([]);
    expect(await ledger.markRunningMany([], { owner: 'rec', cloudStatus: 'x', reason: 'x' })).toEqual([]);

    // What the success notice needs: the replication, and how many of its other tasks have not succeeded.
    const repId = rec.replication.id;
    expect(await ledger.replicationForSuccess(repId, moved[0]!)).toEqual({
      state: 'in_progress',
      source: ev.source,
      namespace: 'team',
      repository: ev.repository,
      tag: 'v1',
      digest: ev.digest,
      othersNotSucceeded: 2,
    });
    await ledger.transition(moved[0]!, { from: 'running', to: 'succeeded', reason: 'r', actor: 'a' });
    await ledger.transition(left, { from: 'submitted', to: 'succeeded', reason: 'r', actor: 'a' });
    expect(await ledger.replicationForSuccess(repId, moved[1]!)).toMatchObject({ state: 'in_progress', othersNotSucceeded: 0 });
    await ledger.transition(moved[1]!, { from: 'running', to: 'succeeded', reason: 'r', actor: 'a' });
    expect(await ledger.replicationForSuccess(repId, moved[1]!)).toMatchObject({ state: 'succeeded', othersNotSucceeded: 0 });
    expect(await ledger.replicationForSuccess('no-such-replication', moved[1]!)).toBeNull();
  });

  it('records any provider name, and reads the policy back typed with the defaults filled in', async () => {
    const ev = push();
    const rec = await ledger.recordReplication(ev, [target('plain', { provider: 'gcr' }), target('partial', { policy: { maxAttempts: 7, backoff: { multiplier: 3 } } })]);
    const plain = rec.tasks.find((t) => t.targetKey.includes('plain'))!.taskId;
    const partial = rec.tasks.find((t) => t.targetKey.includes('partial'))!.taskId;
    const p = (await ledger.getTask(plain))!.task;
    expect(p.provider).toBe('gcr');
    expect(p.policy).toEqual(POLICY_DEFAULTS);
    expect((await ledger.getTask(partial))!.task.policy).toEqual({ ...POLICY_DEFAULTS, maxAttempts: 7, backoff: { ...POLICY_DEFAULTS.backoff, multiplier: 3 } });
    expect((await ledger.listTasks({ provider: 'gcr', repository: ev.repository })).items.map((t) => t.id)).toEqual([plain]);
    await expect(ledger.listTasks({ provider: '' })).rejects.toThrow(/provider/);
    // A stored field of the wrong type reads as its default.
    await db.query(`UPDATE tasks SET policy = '{"maxAttempts": "x", "backoff": 5, "retryOnTimeout": false}'::jsonb WHERE id = $1`, [plain]);
    expect((await ledger.getTask(plain))!.task.policy).toEqual({ ...POLICY_DEFAULTS, retryOnTimeout: false });
    await expect(db.query(`UPDATE tasks SET provider = '' WHERE id = $1`, [plain])).rejects.toThrow(/tasks_provider_check/);
  });

  it('pages through tasks with a cursor, newest first, with filters', async () => {
    const ev = push();
    for (let i = 0; i < 7; i++) {
      clock.advance(i % 3 === 0 ? 0 : 10); // some share a created_at: the id breaks the tie
      await ledger.recordReplication({ ...ev, tag: `v${i}` }, [target('a', { provider: i % 2 ? 'swr' : 'acr' })]);
    }
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<Ledger['listTasks']>> = await ledger.listTasks({ repository: ev.repository, limit: 3, cursor });
      ids.push(...page.items.map((t) => t.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(ids).size).toBe(7);
    const all = (await ledger.listTasks({ repository: ev.repository, limit: 10 })).items;
    expect(all.map((t) => t.id)).toEqual(ids);
    for (let i = 1; i < all.length; i++) expect(all[i - 1]!.createdAt >= all[i]!.createdAt).toBe(true);
    expect((await ledger.listTasks({ repository: ev.repository, provider: 'swr' })).items).toHaveLength(3);
    expect((await ledger.listTasks({ repository: ev.repository, state: ['succeeded'] })).items).toHaveLength(0);
    expect((await ledger.listTasks({ repository: ev.repository, since: clock.now() })).items.length).toBeGreaterThan(0);
    expect((await ledger.listTasks({ repository: ev.repository, since: clock.now() + 1 })).items).toHaveLength(0);
    await expect(ledger.listTasks({ cursor: 'nonsense' })).rejects.toThrow(/cursor/);
  });

  it('never queues a notification twice, and delivers with lease, backoff and a dead end', async () => {
    const ev = push();
    const { tasks } = await ledger.recordReplication(ev, [target('a')]);
    const id = tasks[0]!.taskId;
    const n = { taskId: id, kind: 'task.failed', target: 'ops-webhook', payload: { id } };
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? other : ledger).outbox.enqueue(n)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    // Queued with the transition that it reports, at most once.
    await ledger.transition(id, {
      from: 'pending',
      to: 'failed',
      reason: 'NoPrivilege',
      actor: 'w',
      notify: [
        { kind: 'task.failed', target: 'ops-webhook' },
        { kind: 'replication.finished', target: 'ops-webhook', about: 'replication' },
      ],
    });
    expect(await ledger.outbox.list({ subject: `task:${id}` })).toHaveLength(1);
    expect(await ledger.outbox.list({ subject: `replication:${tasks[0] && (await ledger.getTask(id))!.task.replicationId}` })).toHaveLength(1);

    const claimed = await ledger.outbox.claimDue({ owner: 'n1', leaseMs: MIN, limit: 100 });
    const mine = claimed.find((c) => c.id === results[0]!.id)!;
    expect(mine).toBeDefined();
    expect((await other.outbox.claimDue({ owner: 'n2', leaseMs: MIN, limit: 100 })).map((c) => c.id)).not.toContain(mine.id);
    const failed = await ledger.outbox.markFailed(mine.id, { owner: 'n1', error: 'HTTP 502', backoffMs: 5 * MIN });
    expect(failed).toMatchObject({ state: 'pending', attempts: 1, lastError: 'HTTP 502', leaseOwner: null });
    expect(failed.nextAttemptAt).toBe(new Date(clock.now() + 5 * MIN).toISOString());
    await expect(ledger.outbox.markSent(mine.id, 'n1')).rejects.toBeInstanceOf(LeaseLostError);
    clock.advance(5 * MIN);
    const again = await ledger.outbox.claimDue({ owner: 'n3', leaseMs: MIN, limit: 100 });
    expect(again.map((c) => c.id)).toContain(mine.id);
    const sent = await ledger.outbox.markSent(mine.id, 'n3');
    expect(sent.state).toBe('sent');
    await expect(ledger.outbox.markSent(mine.id, 'n3')).rejects.toBeInstanceOf(StaleStateError);
    expect((await ledger.outbox.enqueue(n)).created).toBe(false);

    const d = await ledger.outbox.enqueue({ replicationId: (await ledger.getTask(id))!.task.replicationId, kind: 'k', target: 't', maxAttempts: 1 });
    clock.advance(1);
    await ledger.outbox.claimDue({ owner: 'n4', leaseMs: MIN, limit: 100 });
    expect((await ledger.outbox.markFailed(d.id, { owner: 'n4', error: 'boom' })).state).toBe('dead');
    await expect(ledger.outbox.enqueue({ kind: 'k', target: 't' })).rejects.toThrow(/taskId or replicationId/);
  });

  it('tracks watched ECS tasks', async () => {
    const region = uid('cn-');
    const w = await ledger.ecs.watch({ region, taskId: 't-1', action: 'ImportImage', cloudStatus: 'Processing', deadlineAt: clock.now() + DAY });
    expect(w.state).toBe('watching');
    const w2 = await other.ecs.watch({ region, taskId: 't-1', action: 'ImportImage', cloudStatus: 'Waiting' });
    expect(w2).toMatchObject({ cloudStatus: 'Waiting', deadlineAt: w.deadlineAt, createdAt: w.createdAt });
    await ledger.ecs.watch({ region, taskId: 't-2', action: 'ExportImage' });
    expect(await ledger.ecs.list({ region, state: 'watching' })).toHaveLength(2);
    await ledger.ecs.transition(region, 't-1', { from: 'watching', to: 'canceled', cloudStatus: 'Canceled' });
    await expect(ledger.ecs.transition(region, 't-1', { from: 'watching', to: 'finished' })).rejects.toBeInstanceOf(StaleStateError);
    await expect(ledger.ecs.transition(region, 't-2', { from: 'finished', to: 'watching' })).rejects.toBeInstanceOf(IllegalTransitionError);
    expect((await ledger.ecs.list({ region, state: 'watching' })).map((t) => t.taskId)).toEqual(['t-2']);
    // known: any state, this region only.
    expect(await ledger.ecs.known(region, ['t-1', 't-2', 't-3'])).toEqual(new Set(['t-1', 't-2']));
    expect(await ledger.ecs.known(uid('cn-'), ['t-1'])).toEqual(new Set());
    expect(await ledger.ecs.known(region, [])).toEqual(new Set());
  });

  it('prunes finished tasks and their history past the retention age, and nothing else', async () => {
    const ev = push();
    const res = await ledger.recordReplication(ev, [target('done'), target('open')]);
    const [done, open] = res.tasks.map((t) => t.taskId) as [string, string];
    await ledger.transition(done, { from: 'pending', to: 'canceled', reason: 'r', actor: 'a' });
    const recent = (await ledger.recordReplication(push(), [target('x')])).tasks[0]!.taskId;
    const empty = await ledger.recordReplication(push(), [target('gone')]);
    await ledger.transition(empty.tasks[0]!.taskId, { from: 'pending', to: 'failed', reason: 'r', actor: 'a' });
    clock.advance(8 * DAY);
    await ledger.transition(recent, { from: 'pending', to: 'canceled', reason: 'r', actor: 'a' });

    const result = await ledger.prune({ olderThanDays: 7, batchSize: 2 });
    expect(result.tasks).toBeGreaterThanOrEqual(2);
    expect(result.complete).toBe(true);
    expect(await ledger.getTask(done)).toBeNull();
    expect(await ledger.getTask(empty.tasks[0]!.taskId)).toBeNull();
    expect(await ledger.getTask(open)).not.toBeNull(); // open tasks are never pruned, however old
    expect(await ledger.getTask(recent)).not.toBeNull(); // finished just now
    expect(await ledger.getReplication(empty.replication.id)).toBeNull();
    expect(await ledger.getReplication(res.replication.id)).not.toBeNull();
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM task_events WHERE task_id = $1', [done]);
    expect(rows[0]!.n).toBe(0);
    await expect(ledger.prune({ olderThanDays: -1 })).rejects.toThrow(/olderThanDays/);
  });

  it('prunes batch by batch, starting none once out of time', async () => {
    const rec = await ledger.recordReplication(push(), [target('p1'), target('p2'), target('p3')]);
    for (const t of rec.tasks) await ledger.transition(t.taskId, { from: 'pending', to: 'canceled', reason: 'r', actor: 'a' });
    clock.advance(8 * DAY);
    let batches = 0;
    const cut = await ledger.prune({ olderThanDays: 7, batchSize: 1, hasTime: () => batches++ < 1 });
    expect(cut).toEqual({ tasks: 1, replications: 0, ecsTasks: 0, notifications: 0, complete: false });
    const rest = await ledger.prune({ olderThanDays: 7, batchSize: 1 });
    expect(rest.complete).toBe(true);
    expect(rest.tasks).toBeGreaterThanOrEqual(2);
    for (const t of rec.tasks) expect(await ledger.getTask(t.taskId)).toBeNull();
    expect(await ledger.getReplication(rec.replication.id)).toBeNull();
    await expect(ledger.prune({ olderThanDays: 7, batchSize: 0 })).rejects.toThrow(/batchSize/);
  });

  it('reports health', async () => {
    const h = await ledger.health();
    expect(h).toMatchObject({ ok: true, backend: backend.name, schemaVersion: MIGRATIONS.at(-1)!.version });
    expect(h.openTasks).toBeGreaterThan(0);
  });
});
