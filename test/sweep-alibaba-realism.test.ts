/**
 * The sweep against the Alibaba half with its realism modes on (acr.foreign-tasks,
 * acr.error-bodies, ecs.foreign-tasks): ACR reconciliation and the ECS watch complete with
 * other callers' tasks, items missing fields, statuses Ferry does not know and other gateways'
 * error bodies in every listing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../shared/log.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';
import { oneTargetConfig, recordAcrPush, stateOf } from './sweep-helpers.ts';

const REALISM = ['acr.foreign-tasks', 'acr.error-bodies', 'ecs.foreign-tasks'] as const;

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** A logger that keeps its warnings. */
function warnings(): { log: Logger; said: (status: string) => number } {
  const lines: Array<Record<string, unknown>> = [];
  const log: Logger = {
    debug: () => {},
    info: () => {},
    warn: (msg, fields) => lines.push({ msg, ...fields }),
    error: (msg, fields) => lines.push({ msg, ...fields }),
    child: () => log,
  };
  return { log, said: (status) => lines.filter((l) => l.cloudStatus === status && String(l.msg).includes('does not know')).length };
}

describe('sweep with the Alibaba realism modes on', () => {
  it("ACR: Ferry's tasks are reconciled among sync rules' tasks; RETRYING is running (said once) until the deadline cancels it", async () => {
    stack = await startTestStack({
      cloud: { seed: { syncDurationMs: { min: 10_000, max: 10_000 } }, realism: REALISM },
      config: oneTargetConfig({ defaults: { maxAttempts: 3, deadlineMinutes: 30, retryOnTimeout: false } }),
    });
    const s = stack;
    const w = warnings();
    const deps = { ...s.deps, log: w.log };
    s.cloud.acr.addOutcome({ tag: 'v2', outcome: 'retrying' });
    const [ok] = await recordAcrPush(s, 'v1');
    const [odd] = await recordAcrPush(s, 'v2');
    s.cloud.clock.advance(61_000);
    let sum = await runSweep(deps);
    expect(sum.transitions['pending→submitted']).toBe(2);

    // The listing's first answer is a 500 in another gateway's error shape: retried, then read.
    s.cloud.faults.add({ op: 'acr:ListRepoSyncTask', count: 1, serverError: 500 });
    s.cloud.clock.advance(5_000);
    sum = await runSweep(deps);
    expect(sum.errors).toBe(0);
    expect(sum.transitions['submitted→running']).toBe(2);
    expect(await stateOf(s, odd!)).toMatchObject({ state: 'running', cloudStatus: 'RETRYING' });

    s.cloud.clock.advance(10_000);
    sum = await runSweep(deps);
    expect(sum.errors).toBe(0);
    expect(await stateOf(s, ok!)).toMatchObject({ state: 'succeeded', cloudStatus: 'SUCCESS' });
    expect(await stateOf(s, odd!)).toMatchObject({ state: 'running', cloudStatus: 'RETRYING' });
    expect(w.said('RETRYING')).toBe(1);

    s.cloud.clock.advance(31 * 60_000);
    sum = await runSweep(deps);
    expect(sum.errors).toBe(0);
    expect(sum.events['deadline.canceled']).toBe(1);
    const timedOut = await stateOf(s, odd!);
    expect(timedOut).toMatchObject({ state: 'timed_out', cloudStatus: 'CANCELED' });
    expect(s.cloud.acr.task(timedOut.cloudRef!)?.status).toBe('CANCELED');
    expect(s.cloud.acr.createCallCount()).toBe(2);
  });

  it('ECS: tasks listed without their fields or with a status Ferry does not know are watched to their deadline; SupportCancel "false" is not cancelled', async () => {
    stack = await startTestStack({
      cloud: { realism: REALISM },
      config: oneTargetConfig({ sweep: { graceSeconds: 60, budgetMs: 20000, batchSize: 50, ecsWatch: { regions: ['cn-hangzhou'] } } }),
    });
    const s = stack;
    const w = warnings();
    const deps = { ...s.deps, log: w.log };
    const fixed = s.cloud.ecs.createTask({ regionId: 'cn-hangzhou', action: 'ImportImage', stuck: true, cancellable: false });
    const quick = s.cloud.ecs.createTask({ regionId: 'cn-hangzhou', action: 'ExportImage', durationMs: 120_000 });
    let sum = await runSweep(deps);
    expect(sum.errors).toBe(0);
    // Ferry's two, and the region's sparse one and the one turning to an unknown status.
    expect(sum.events['ecs.watched']).toBe(4);
    const foreign = (await s.ledger.ecs.list({ state: 'watching' })).filter((r) => r.taskId !== fixed.taskId && r.taskId !== quick.taskId);
    expect(foreign.map((r) => r.action)).toEqual(['ImportImage', 'ImportImage']);

    s.cloud.clock.advance(180_000);
    sum = await runSweep(deps);
    expect(sum.errors).toBe(0);
    expect((await s.ledger.ecs.get('cn-hangzhou', quick.taskId))!.state).toBe('finished');
    const statuses = await Promise.all(foreign.map(async (r) => (await s.ledger.ecs.get('cn-hangzhou', r.taskId))!));
    expect(statuses.map((r) => [r.state, r.cloudStatus]).sort()).toEqual([
      ['watching', 'Processing'],
      ['watching', 'Retrying'],
    ]);
    expect(w.said('Retrying')).toBe(1);

    s.cloud.clock.advance(60 * 60_000);
    sum = await runSweep(deps);
    expect(sum.errors).toBe(0);
    expect(sum.cloudCalls['ecs:CancelTask']).toBe(2);
    for (const r of foreign) {
      expect((await s.ledger.ecs.get('cn-hangzhou', r.taskId))!.state).toBe('timed_out');
      expect(s.cloud.ecs.task(r.taskId)?.status).toBe('Deleted');
    }
    const notCancelled = (await s.ledger.ecs.get('cn-hangzhou', fixed.taskId))!;
    expect(notCancelled).toMatchObject({ state: 'timed_out', lastError: { code: 'DeadlineExceeded', message: expect.stringContaining('CancelNotSupported') } });
    expect(s.cloud.ecs.task(fixed.taskId)?.status).toBe('Processing');
  });
});
