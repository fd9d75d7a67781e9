import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { matchPush } from '../shared/rules/match.ts';
import { submitTask, type SubmitContext } from '../shared/replicate/submit.ts';
import { taskSpecOf } from '../shared/replicate/target.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;

function ctx(owner = 'w1'): SubmitContext {
  const d = stack.deps;
  return { ledger: d.ledger, clouds: d.clouds, clock: d.clock, owner, notifications: d.config.notifications, log: d.log, random: () => 0.5 };
}

async function recordAcrPush(tag = 'v1.0.0') {
  const pushed = await stack.cloud.acr.push({ instanceId: 'cri-localsrc001', namespace: 'team', repo: 'app', tag });
  const event = { sourceKind: 'acr' as const, source: 'acr-hangzhou', namespace: 'team', repository: 'app', tag, digest: pushed.digest, pushedAt: new Date(stack.clock.now()) };
  const matches = matchPush(event, stack.config).filter((m) => m.ok);
  const now = stack.clock.now();
  const rec = await stack.ledger.recordReplication(
    { ...event, rules: [...new Set(matches.map((m) => m.rule))] },
    matches.map((m) => taskSpecOf(m, now)),
  );
  return rec.tasks.map((t) => t.taskId);
}

async function claim(ids: string[], owner = 'w1') {
  return stack.ledger.claimPending(ids, { owner, leaseMs: 60_000 });
}

describe('submitTask against the local cloud', () => {
  beforeAll(async () => {
    stack = await startTestStack({
      config: (c) => ({ ...c, notifications: [{ type: 'webhook', url: '${FERRY_NOTIFY_URL}', on: ['failure'] }] }),
      env: { FERRY_NOTIFY_URL: 'http://127.0.0.1:9/notify' },
    });
  });
  afterEach(() => stack.cloud.reset());
  afterAll(() => stack.close());

  it('creates one ACR sync task per target and records its reference', async () => {
    const ids = await recordAcrPush('v1.0.1');
    expect(ids).toHaveLength(2);
    const results = await Promise.all((await claim(ids)).map((t) => submitTask(t, ctx())));
    expect(results.map((r) => r.state)).toEqual(['submitted', 'submitted']);
    const cloudTasks = stack.cloud.acr.tasks();
    expect(cloudTasks).toHaveLength(2);
    for (const id of ids) {
      const task = (await stack.ledger.getTask(id))!.task;
      expect(task.state).toBe('submitted');
      expect(cloudTasks.map((c) => c.syncTaskId)).toContain(task.cloudRef);
      expect(task.attempts).toBe(1);
    }
  });

  it('a lost reply after the cloud created the task is adopted, not duplicated', async () => {
    const [first] = await recordAcrPush('v1.0.2');
    stack.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', count: 1, after: true, drop: true });
    const [t] = await claim([first!]);
    const r1 = await submitTask(t!, ctx());
    expect(r1.state).toBe('pending'); // in doubt: the dropped create is never re-sent blindly
    expect(stack.cloud.acr.createCallCount({})).toBe(1);
    // Next claimer after the deferral: finds the cloud task and adopts it.
    stack.cloud.clock.advance(10 * 60_000);
    const [again] = await claim([first!], 'w2');
    expect(again!.submitStartedAt).not.toBeNull();
    const r2 = await submitTask(again!, ctx('w2'));
    expect(r2).toMatchObject({ state: 'submitted', adopted: true });
    expect(stack.cloud.acr.createCallCount({})).toBe(1);
  });

  it('throttling defers the task with the server wait and keeps it pending', async () => {
    const [id] = await recordAcrPush('v1.0.3');
    stack.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', throttle: { waitMs: 90_000 } });
    const [t] = await claim([id!]);
    const r = await submitTask(t!, ctx());
    expect(r.state).toBe('pending');
    const task = (await stack.ledger.getTask(id!))!.task;
    expect(task.state).toBe('pending');
    expect(task.lastError?.code).toMatch(/^Throttling/);
    expect(task.leaseOwner).toBeNull();
    expect(Date.parse(task.nextAttemptAt!)).toBeGreaterThanOrEqual(stack.clock.now() + 80_000);
    expect(await claim([id!])).toHaveLength(0); // not due before the wait
  });

  it('a permission error fails the task at once and queues one failure notification', async () => {
    const [id] = await recordAcrPush('v1.0.4');
    stack.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', error: { status: 403, code: 'NoPrivilege' } });
    const [t] = await claim([id!]);
    const r = await submitTask(t!, ctx());
    expect(r).toMatchObject({ state: 'failed', error: { code: 'NoPrivilege' } });
    const notes = await stack.ledger.outbox.list({ subject: `task:${id}` });
    expect(notes).toHaveLength(1);
    expect(notes[0]!.kind).toBe('task.failed');
  });

  it('SWR: sync_images starts a job and the task follows that job', async () => {
    stack.cloud.services.huawei.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 'app', tag: 'v2.0.0' });
    const event = { sourceKind: 'swr' as const, source: 'swr-beijing', namespace: 'team', repository: 'app', tag: 'v2.0.0', pushedAt: new Date(stack.clock.now()) };
    const matches = matchPush(event, stack.config).filter((m) => m.ok);
    expect(matches).toHaveLength(1);
    const rec = await stack.ledger.recordReplication(
      { ...event, rules: ['swr-north-to-east'] },
      matches.map((m) => taskSpecOf(m, stack.clock.now())),
    );
    const [t] = await claim([rec.tasks[0]!.taskId]);
    const r = await submitTask(t!, ctx());
    expect(r.state).toBe('submitted');
    if (r.state === 'submitted') expect(r.cloudRef).toMatch(/^swr-job:\d+$/);
  });
});
