/**
 * Waking the sweep when the webhook left it work: the debounced waker, the FC async invocation of the
 * sweep function against the local cloud's FC emulator (signature checked there), the ledger's record
 * of running sweeps, and the local stack's loop woken directly.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { invokeFunctionAsync } from '../shared/clients/fc.ts';
import { CloudError } from '../shared/clients/errors.ts';
import { createLogger } from '../shared/log.ts';
import { rememberInvocation } from '../shared/runtime/invocation.ts';
import { fcSweepWake, WAKE_TRIGGER_NAME } from '../shared/runtime/sweep-wake.ts';
import { parseTimerEvent } from '../shared/runtime/timer.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { sweepWaker } from '../shared/webhook/wake.ts';
import { startSweepLoop } from '../local/stack/sweep-loop.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const log = createLogger({ test: true }, 'error');
const KEY = { accessKeyId: 'LTAI5tLocalFerryKey', accessKeySecret: 'local-ferry-secret' };
const ACCOUNT = '1000000000000001';

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s.close());

describe('the debounced waker', () => {
  test('one wake per interval; none while a sweep runs; a failing wake is logged, never thrown', async () => {
    let now = 1_000_000;
    let running = false;
    let wakes = 0;
    let fail = false;
    const w = sweepWaker({
      clock: { now: () => now },
      log,
      minIntervalMs: 5_000,
      isRunning: async () => running,
      wake: async () => {
        if (fail) throw new Error('FC said no');
        wakes++;
      },
    });
    w.wake();
    w.wake();
    await w.settled();
    expect(wakes).toBe(1);
    now += 4_999;
    w.wake();
    await w.settled();
    expect(wakes).toBe(1);
    now += 1;
    running = true;
    w.wake();
    await w.settled();
    expect(wakes).toBe(1);
    now += 5_000;
    running = false;
    fail = true;
    w.wake();
    await w.settled();
    expect(wakes).toBe(1);
    now += 5_000;
    fail = false;
    w.wake();
    await w.settled();
    expect(wakes).toBe(2);
  });
});

describe('the ledger knows which sweeps run', () => {
  test('started → running; its summary recorded → not; a dead sweep stops counting when its time is up', async () => {
    const m = s.ledger.metrics;
    expect(await m.sweepRunning()).toBe(false);
    await m.sweepStarted('w1', s.clock.now() + 60_000);
    expect(await m.sweepRunning()).toBe(true);
    await m.recordSweep({ owner: 'w1', durationMs: 5, cloudCalls: 0, leftover: false, errors: 0, driftFound: 0, driftRepaired: 0, summary: {} });
    expect(await m.sweepRunning()).toBe(false);
    await m.sweepStarted('dead', s.clock.now() + 1_000);
    expect(await m.sweepRunning()).toBe(true);
    s.cloud.clock.advance(1_001);
    expect(await m.sweepRunning()).toBe(false);
    // A real sweep leaves no row behind.
    await runSweep(s.deps);
    const { rows } = await s.db.query(`SELECT owner FROM sweep_active WHERE expires_at > $1::timestamptz`, [new Date(s.clock.now()).toISOString()]);
    expect(rows).toEqual([]);
  });
});

describe('FC: an async InvokeFunction of the sweep function', () => {
  test('signed like the FC SDK, queued by FC (202), the event shaped like the sweep timer’s', async () => {
    const fc = s.cloud.services.fc;
    const r = await invokeFunctionAsync({ endpoint: s.cloud.url, accountId: ACCOUNT, credentials: () => KEY }, 'ferry', 'sweep', '{"x":1}');
    expect(r.requestId).toBeTruthy();
    const inv = fc.invocations({ service: 'ferry', function: 'sweep' }).at(-1)!;
    expect(inv).toMatchObject({ type: 'Async', payload: '{"x":1}' });
    // A wrong secret is refused by FC's signature check: the client says so.
    const bad = invokeFunctionAsync({ endpoint: s.cloud.url, accountId: ACCOUNT, credentials: () => ({ ...KEY, accessKeySecret: 'wrong' }) }, 'ferry', 'sweep');
    await expect(bad).rejects.toBeInstanceOf(CloudError);
    await expect(bad).rejects.toMatchObject({ code: 'SignatureNotMatch', status: 403 });
  });

  test('the deployed webhook’s waker: invokes the configured sweep function unless a sweep runs; no names, no waker', async () => {
    const fc = s.cloud.services.fc;
    expect(fcSweepWake(s.deps, {})).toBeUndefined();
    rememberInvocation({ requestId: 'r1', accountId: ACCOUNT, region: 'cn-hangzhou', credentials: KEY });
    const env = { FERRY_SWEEP_SERVICE: 'ferry', FERRY_SWEEP_FUNCTION: 'sweep', FERRY_FC_ENDPOINT: s.cloud.url };
    const count = () => fc.invocations({ service: 'ferry', function: 'sweep' }).length;

    await s.ledger.metrics.sweepStarted('busy', s.clock.now() + 60_000);
    const before = count();
    fcSweepWake(s.deps, env)!();
    await new Promise((res) => setTimeout(res, 300));
    expect(count()).toBe(before);
    await s.ledger.metrics.recordSweep({ owner: 'busy', durationMs: 1, cloudCalls: 0, leftover: false, errors: 0, driftFound: 0, driftRepaired: 0, summary: {} });

    const wake = fcSweepWake(s.deps, env)!;
    wake();
    wake();
    for (let i = 0; i < 50 && count() === before; i++) await new Promise((res) => setTimeout(res, 20));
    await new Promise((res) => setTimeout(res, 100));
    expect(count()).toBe(before + 1);
    const inv = fc.invocations({ service: 'ferry', function: 'sweep' }).at(-1)!;
    expect(inv.type).toBe('Async');
    expect(parseTimerEvent(inv.payload).triggerName).toBe(WAKE_TRIGGER_NAME);
  });
});

describe('the local stack’s sweep loop', () => {
  test('woken: runs now instead of at its tick; woken while running: runs once more right after', async () => {
    let runs = 0;
    let release: (() => void) | undefined;
    const loop = startSweepLoop(
      () =>
        new Promise<void>((res) => {
          runs++;
          release = res;
        }),
      60_000,
      log,
    );
    try {
      loop.wake();
      for (let i = 0; i < 50 && runs === 0; i++) await new Promise((res) => setTimeout(res, 10));
      expect(runs).toBe(1);
      expect(loop.running).toBe(true);
      loop.wake();
      loop.wake();
      release!();
      for (let i = 0; i < 50 && runs === 1; i++) await new Promise((res) => setTimeout(res, 10));
      expect(runs).toBe(2);
      release!();
      await new Promise((res) => setTimeout(res, 100));
      expect(runs).toBe(2); // the next waits for the interval
      expect(loop.running).toBe(false);
    } finally {
      await loop.stop();
    }
  });
});
