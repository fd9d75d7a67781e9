import { afterEach, describe, expect, it } from 'vitest';
import { runSweep } from '../shared/sweep/run.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';
import { oneTargetConfig, recordAcrPush, stateOf, startReceiver, type Receiver } from './sweep-helpers.ts';

const SLOW_SYNC = { seed: { syncDurationMs: { min: 10_000, max: 10_000 } } }; // PENDING 2 s, SYNCHRONIZING 8 s

let stack: TestStack | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await stack?.close();
  await receiver?.close();
  stack = receiver = undefined;
});

async function withReceiver(answer?: Receiver['answer']) {
  receiver = await startReceiver(answer);
  stack = await startTestStack({
    cloud: SLOW_SYNC,
    env: { FERRY_NOTIFY_URL: receiver.url },
    config: oneTargetConfig({ notifications: [{ type: 'webhook', url: '${FERRY_NOTIFY_URL}', on: ['failure', 'success'] }] }),
  });
  return stack;
}

describe('sweep: ACR task lifecycle', () => {
  it('leaves young tasks to the webhook, then submits, sees running, then succeeded', async () => {
    const s = await withReceiver();
    const [id] = await recordAcrPush(s, 'v1');
    let sum = await runSweep(s.deps);
    expect((await stateOf(s, id!)).state).toBe('pending'); // within graceSeconds (60)
    expect(sum.cloudCallsTotal).toBe(0);

    s.cloud.clock.advance(61_000);
    sum = await runSweep(s.deps);
    const submitted = await stateOf(s, id!);
    expect(submitted.state).toBe('submitted');
    expect(submitted.cloudRef).toMatch(/^rst-/);
    expect(submitted.leaseOwner).toBeNull();
    expect(sum.transitions['pending→submitted']).toBe(1);
    expect(sum.cloudCalls['acr:CreateRepoSyncTask']).toBe(1);

    s.cloud.clock.advance(5_000); // SYNCHRONIZING
    sum = await runSweep(s.deps);
    expect((await stateOf(s, id!)).state).toBe('running');
    expect((await stateOf(s, id!)).cloudStatus).toBe('SYNCHRONIZING');
    expect(sum.transitions['submitted→running']).toBe(1);
    expect(sum.cloudCalls['acr:ListRepoSyncTask']).toBe(1);

    s.cloud.clock.advance(10_000);
    sum = await runSweep(s.deps);
    const done = await stateOf(s, id!);
    expect(done.state).toBe('succeeded');
    expect(done.cloudStatus).toBe('SUCCESS');
    expect(sum.transitions['running→succeeded']).toBe(1);
    // The replication is complete: one success notification, delivered.
    expect(sum.notifications.sent).toBe(1);
    expect(receiver!.requests).toHaveLength(1);
    expect(receiver!.requests[0]!.body).toMatchObject({ version: 1, kind: 'replication.succeeded', replicationId: done.replicationId, targets: 1, image: { namespace: 'team', repository: 'app' } });

    await runSweep(s.deps);
    expect(receiver!.requests).toHaveLength(1);
    expect(s.cloud.acr.createCallCount()).toBe(1);
  });

  it('recovers a crash between CreateRepoSyncTask and the ledger write without a duplicate', async () => {
    stack = await startTestStack({ cloud: SLOW_SYNC, config: oneTargetConfig() });
    const s = stack;
    const [id] = await recordAcrPush(s, 'v2');
    s.cloud.clock.advance(61_000);
    s.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', after: true, drop: true, count: 1 });
    await runSweep(s.deps);
    expect(s.cloud.acr.createCallCount()).toBe(1); // the cloud made the task; its answer was lost
    const inDoubt = await stateOf(s, id!);
    expect(inDoubt.state).toBe('pending');
    expect(inDoubt.submitStartedAt).not.toBeNull();
    expect(inDoubt.cloudRef).toBeNull();

    s.cloud.clock.advance(16 * 60_000); // past any submission backoff
    const sum = await runSweep(s.deps);
    const adopted = await stateOf(s, id!);
    expect(sum.events['submit.adopted']).toBe(1);
    expect(sum.transitions['pending→submitted']).toBe(1);
    expect(adopted.cloudRef).toBe(s.cloud.acr.createCalls[0]!.syncTaskId);
    // The adopted cloud task had finished meanwhile: reconciled in the same run.
    expect(adopted.state).toBe('succeeded');
    expect(adopted.attempts).toBe(1);
    expect(s.cloud.acr.createCallCount()).toBe(1);
  });

  it('retries after ERROR (NETWORK_ERROR) with backoff on the virtual clock: new cloud task, same ledger task', async () => {
    stack = await startTestStack({ cloud: SLOW_SYNC, config: oneTargetConfig() });
    const s = stack;
    s.cloud.acr.addOutcome({ tag: 'v3', outcome: 'error', taskIssue: 'NETWORK_ERROR' });
    const [id] = await recordAcrPush(s, 'v3');
    s.cloud.clock.advance(61_000);
    await runSweep(s.deps);
    const first = await stateOf(s, id!);
    s.cloud.clock.advance(20_000); // the cloud task ended in ERROR
    let sum = await runSweep(s.deps);
    expect(sum.transitions['submitted→pending']).toBe(1);
    const waiting = await stateOf(s, id!);
    expect(waiting.state).toBe('pending');
    expect(waiting.lastError?.code).toBe('NETWORK_ERROR');
    // backoff for attempt 1 with random 0.5: ceiling 30 s → 15 s + 7.5 s
    const retryAt = Date.parse(waiting.nextAttemptAt!);
    expect(retryAt - s.clock.now()).toBeGreaterThan(15_000);
    expect(retryAt - s.clock.now()).toBeLessThanOrEqual(30_000);

    s.cloud.clock.advance(10_000); // not yet
    await runSweep(s.deps);
    expect(s.cloud.acr.createCallCount()).toBe(1);
    expect((await stateOf(s, id!)).state).toBe('pending');

    s.cloud.clock.advance(15_000); // now past the backoff
    sum = await runSweep(s.deps);
    expect(s.cloud.acr.createCallCount()).toBe(2);
    const second = await stateOf(s, id!);
    expect(second.state).toBe('submitted');
    expect(second.attempts).toBe(2);
    expect(second.cloudRef).not.toBe(first.cloudRef);
    const detail = await s.ledger.getTask(id!);
    expect(detail!.cloudRefs.map((r) => r.cloudRef).sort()).toEqual([first.cloudRef, second.cloudRef].sort());

    s.cloud.clock.advance(20_000);
    await runSweep(s.deps);
    expect((await stateOf(s, id!)).state).toBe('succeeded');
  });

  it('a retryable ERROR with no attempts left fails with the reason and one notification', async () => {
    receiver = await startReceiver();
    stack = await startTestStack({
      cloud: SLOW_SYNC,
      env: { FERRY_NOTIFY_URL: receiver.url },
      config: oneTargetConfig({ defaults: { maxAttempts: 1 }, notifications: [{ type: 'webhook', url: '${FERRY_NOTIFY_URL}', on: ['failure'] }] }),
    });
    const s = stack;
    s.cloud.acr.addOutcome({ tag: 'v3x', outcome: 'error', taskIssue: 'NETWORK_ERROR' });
    const [id] = await recordAcrPush(s, 'v3x');
    s.cloud.clock.advance(61_000);
    await runSweep(s.deps);
    s.cloud.clock.advance(20_000);
    const sum = await runSweep(s.deps);
    const failed = await stateOf(s, id!);
    expect(failed.state).toBe('failed');
    expect(failed.lastError?.code).toBe('NETWORK_ERROR');
    expect(sum.transitions['submitted→failed']).toBe(1);
    const events = (await s.ledger.getTask(id!))!.events;
    expect(events.at(-1)!.reason).toMatch(/attempts exhausted: 1\/1/);
    expect(receiver!.requests).toHaveLength(1);
    expect(receiver!.requests[0]!.body).toMatchObject({ kind: 'task.failed', taskId: id, code: 'NETWORK_ERROR' });
    expect(s.cloud.acr.createCallCount()).toBe(1);
  });

  it('fails TAG_CONFLICT at once (override off), with one failure notification', async () => {
    const s = await withReceiver();
    await s.cloud.acr.push({ instanceId: 'cri-localdst001', namespace: 'team', repo: 'app', tag: 'v4' }); // another digest at the target
    const [id] = await recordAcrPush(s, 'v4');
    s.cloud.clock.advance(61_000);
    await runSweep(s.deps);
    s.cloud.clock.advance(20_000);
    const sum = await runSweep(s.deps);
    const failed = await stateOf(s, id!);
    expect(failed.state).toBe('failed');
    expect(failed.attempts).toBe(1);
    expect(failed.lastError?.code).toBe('TAG_CONFLICT');
    expect(sum.transitions['submitted→failed']).toBe(1);
    expect(sum.notifications.sent).toBe(1);
    expect(receiver!.requests[0]!.body).toMatchObject({ kind: 'task.failed', taskId: id, attempts: 1, code: 'TAG_CONFLICT', requestId: expect.any(String) });
    s.cloud.clock.advance(3_600_000);
    await runSweep(s.deps);
    expect(s.cloud.acr.createCallCount()).toBe(1);
    expect(receiver!.requests).toHaveLength(1);
  });

  it('cancels a stuck task at its deadline, marks it timed_out, then retries it', async () => {
    stack = await startTestStack({ cloud: SLOW_SYNC, config: oneTargetConfig() });
    const s = stack;
    s.cloud.acr.addOutcome({ tag: 'v5', outcome: 'stuck' });
    const [id] = await recordAcrPush(s, 'v5');
    s.cloud.clock.advance(61_000);
    await runSweep(s.deps);
    const first = await stateOf(s, id!);
    s.cloud.clock.advance(61 * 60_000); // deadline 60 min
    const sum = await runSweep(s.deps);
    expect(sum.cloudCalls['acr:CancelRepoSyncTask']).toBe(1);
    expect(sum.transitions['running→timed_out'] ?? sum.transitions['submitted→timed_out']).toBe(1);
    expect(sum.transitions['timed_out→pending']).toBe(1);
    expect(s.cloud.acr.task(first.cloudRef!)!.status).toBe('CANCELED');
    const retried = await stateOf(s, id!);
    expect(retried.state).toBe('pending');
    expect(retried.lastError?.code).toBe('DeadlineExceeded');
    s.cloud.clock.advance(60_000);
    await runSweep(s.deps);
    s.cloud.clock.advance(20_000);
    await runSweep(s.deps);
    const done = await stateOf(s, id!);
    expect(done.state).toBe('succeeded');
    expect(done.attempts).toBe(2);
  });

  it('completes an operator cancel the API left unfinished', async () => {
    stack = await startTestStack({ cloud: SLOW_SYNC, config: oneTargetConfig() });
    const s = stack;
    const [id] = await recordAcrPush(s, 'v6');
    s.cloud.clock.advance(61_000);
    await runSweep(s.deps);
    await s.ledger.requestCancel(id!, { reason: 'wrong image', actor: 'operator' });
    const sum = await runSweep(s.deps);
    const t = await stateOf(s, id!);
    expect(t.state).toBe('canceled');
    expect(sum.cloudCalls['acr:CancelRepoSyncTask']).toBe(1);
    expect(s.cloud.acr.task(t.cloudRef!)!.status).toBe('CANCELED');
    expect(await s.ledger.outbox.list()).toHaveLength(0); // the operator asked: nobody to tell
  });

  it('survives throttling mid-sweep: nothing corrupted, the work continues next run', async () => {
    stack = await startTestStack({ cloud: SLOW_SYNC, config: oneTargetConfig() });
    const s = stack;
    const ids = [...(await recordAcrPush(s, 'v7')), ...(await recordAcrPush(s, 'v8'))];
    s.cloud.clock.advance(61_000);
    await runSweep(s.deps);
    s.cloud.clock.advance(20_000);
    s.cloud.faults.add({ op: 'acr:ListRepoSyncTask', throttle: { waitMs: 0 }, count: 4 }); // more than the client's retries
    const sum = await runSweep(s.deps);
    expect(sum.errors).toBeGreaterThan(0);
    expect(sum.events['acr.throttled']).toBe(1);
    for (const id of ids) {
      const t = await stateOf(s, id);
      expect(t.state).toBe('submitted');
      expect(t.leaseOwner).toBeNull();
    }
    const next = await runSweep(s.deps);
    expect(next.transitions['submitted→succeeded']).toBe(2);
    for (const id of ids) expect((await stateOf(s, id)).state).toBe('succeeded');
  });

  it('two sweeps at once never act on the same task', async () => {
    stack = await startTestStack({ cloud: SLOW_SYNC, config: oneTargetConfig() });
    const s = stack;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(...(await recordAcrPush(s, `c${i}`)));
    s.cloud.clock.advance(61_000);
    const [a, b] = await Promise.all([runSweep(s.deps), runSweep(s.deps)]);
    expect(a.owner).not.toBe(b.owner);
    expect(s.cloud.acr.createCallCount()).toBe(12);
    expect((a.transitions['pending→submitted'] ?? 0) + (b.transitions['pending→submitted'] ?? 0)).toBe(12);

    s.cloud.clock.advance(20_000);
    const [c, d] = await Promise.all([runSweep(s.deps), runSweep(s.deps)]);
    expect((c.cloudCalls['acr:ListRepoSyncTask'] ?? 0) + (d.cloudCalls['acr:ListRepoSyncTask'] ?? 0)).toBe(1);
    expect((c.transitions['submitted→succeeded'] ?? 0) + (d.transitions['submitted→succeeded'] ?? 0)).toBe(12);
    for (const id of ids) {
      const detail = (await s.ledger.getTask(id))!;
      expect(detail.task.state).toBe('succeeded');
      expect(detail.events.filter((e) => e.toState === 'succeeded')).toHaveLength(1);
      expect(detail.events.filter((e) => e.fromState === 'pending' && e.toState === 'submitted')).toHaveLength(1);
    }
  });
});
