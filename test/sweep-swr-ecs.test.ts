import { afterEach, describe, expect, it } from 'vitest';
import { runSweep } from '../shared/sweep/run.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';
import { oneTargetConfig, recordSwrPush, stateOf } from './sweep-helpers.ts';

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('sweep: SWR sync jobs', () => {
  it('submits, follows the job to success, and retries a failed job with a new job', async () => {
    stack = await startTestStack({ cloud: { seed: { syncDurationMs: { min: 10_000, max: 10_000 } } }, config: oneTargetConfig() });
    const s = stack;
    const huawei = s.cloud.services.huawei;
    huawei.planSyncOutcome({ tag: 'v2' }, 'failed', 1);
    const [ok] = await recordSwrPush(s, 'v1');
    const [flaky] = await recordSwrPush(s, 'v2');
    s.cloud.clock.advance(61_000);
    let sum = await runSweep(s.deps);
    expect(sum.transitions['pending→submitted']).toBe(2);
    expect((await stateOf(s, ok!)).cloudRef).toMatch(/^swr-job:\d+$/);

    s.cloud.clock.advance(5_000);
    sum = await runSweep(s.deps);
    expect(sum.transitions['submitted→running']).toBe(2);
    expect(sum.cloudCalls['swr:GET sync_job']).toBe(1); // both tasks share one repository: one listing

    s.cloud.clock.advance(10_000);
    sum = await runSweep(s.deps);
    expect((await stateOf(s, ok!)).state).toBe('succeeded');
    const waiting = await stateOf(s, flaky!);
    expect(waiting.state).toBe('pending');
    expect(waiting.lastError?.code).toBe('SWR.SyncJobFailed');

    s.cloud.clock.advance(60_000);
    await runSweep(s.deps);
    const again = await stateOf(s, flaky!);
    expect(again.state).toBe('submitted');
    expect(again.attempts).toBe(2);
    s.cloud.clock.advance(20_000);
    await runSweep(s.deps);
    expect((await stateOf(s, flaky!)).state).toBe('succeeded');
    expect(huawei.syncJobs({ tag: 'v2' })).toHaveLength(2);
  });

  it('marks a job running past its deadline timed_out (SWR cannot cancel it) and fails when retries are off', async () => {
    stack = await startTestStack({ config: oneTargetConfig({ defaults: { maxAttempts: 3, deadlineMinutes: 30, retryOnTimeout: false } }) });
    const s = stack;
    s.cloud.services.huawei.planSyncOutcome({ tag: 'v3' }, 'stuck', 1);
    const [id] = await recordSwrPush(s, 'v3');
    s.cloud.clock.advance(61_000);
    await runSweep(s.deps);
    s.cloud.clock.advance(31 * 60_000);
    const sum = await runSweep(s.deps);
    const t = (await s.ledger.getTask(id!))!;
    expect(t.task.state).toBe('timed_out');
    expect(sum.events['deadline.unsupported']).toBe(1);
    expect(t.events.at(-1)!.details).toMatchObject({ cloudCancel: 'unsupported', willRetry: false });
  });
});

describe('sweep: ECS import/export watch', () => {
  it('records Processing tasks, sees them finish, cancels one stuck past its deadline', async () => {
    stack = await startTestStack({ config: oneTargetConfig({ sweep: { graceSeconds: 60, budgetMs: 20000, batchSize: 50, ecsWatch: { regions: ['cn-hangzhou'] } } }) });
    const s = stack;
    const quick = s.cloud.ecs.createTask({ regionId: 'cn-hangzhou', action: 'ImportImage', durationMs: 120_000 });
    const stuck = s.cloud.ecs.createTask({ regionId: 'cn-hangzhou', action: 'ExportImage', stuck: true });
    s.cloud.ecs.createTask({ regionId: 'cn-shanghai', action: 'ImportImage', stuck: true }); // not a watched region
    let sum = await runSweep(s.deps);
    expect(sum.events['ecs.watched']).toBe(2);
    expect((await s.ledger.ecs.list({ state: 'watching' })).map((r) => r.taskId).sort()).toEqual([quick.taskId, stuck.taskId].sort());

    s.cloud.clock.advance(180_000);
    sum = await runSweep(s.deps);
    expect((await s.ledger.ecs.get('cn-hangzhou', quick.taskId))!.state).toBe('finished');
    expect(sum.transitions['ecs:watching→ecs:finished']).toBe(1);

    s.cloud.clock.advance(60 * 60_000);
    sum = await runSweep(s.deps);
    expect(sum.cloudCalls['ecs:CancelTask']).toBe(1);
    const row = (await s.ledger.ecs.get('cn-hangzhou', stuck.taskId))!;
    expect(row.state).toBe('timed_out');
    expect(row.lastError?.code).toBe('DeadlineExceeded');
    expect(s.cloud.ecs.task(stuck.taskId)!.status).toBe('Deleted');

    // Nothing left to watch: one discovery listing per action, no per-task calls.
    sum = await runSweep(s.deps);
    expect(sum.cloudCalls).toEqual({ 'ecs:DescribeTasks': 2 });
  });
});
