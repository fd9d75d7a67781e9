/**
 * Reliability scenarios: each starts the local stack in-process, drives pushes through the webhook
 * (real socket), sweeps on the virtual clock, then checks nothing lost / nothing doubled.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pool } from '../../bench/lib.ts';
import { checkInvariants, compose, expectedCopies, notifyWebhook, releasesTo, startHarness, startReceiver, type Harness, type Receiver } from './harness.ts';

const ONE = ['cri-localdst001'];
let h: Harness | undefined;
let receiver: Receiver | undefined;

afterEach(async () => {
  await h?.close();
  await receiver?.close();
  h = undefined;
  receiver = undefined;
});

async function withReceiver(targets: string[]) {
  receiver = await startReceiver();
  return startHarness({ config: compose(releasesTo(targets), notifyWebhook), env: { FERRY_NOTIFY_URL: receiver.url } });
}

describe('chaos', () => {
  it('500 pushes with 30% throttled and 10% 5xx cloud calls: every copy once', async () => {
    h = await withReceiver(ONE);
    h.cloud.faults.add({ op: 'acr:*', probability: 0.3, throttle: { waitMs: 100 } });
    h.cloud.faults.add({ op: 'acr:*', probability: 0.1, serverError: 503 });
    const pushes = Array.from({ length: 500 }, (_, i) => ({ repo: `svc${i % 20}`, tag: `v1.${i}` }));
    const statuses: number[] = [];
    await pool(pushes.length, 8, async (i) => {
      statuses.push((await h!.push(pushes[i]!)).status);
    });
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    const sweeps = await h.settle({ max: 60 });
    const report = await checkInvariants(h, expectedCopies(pushes, ONE));
    expect(report.violations).toEqual([]);
    expect(report.succeeded + report.failed).toBe(500);
    expect(sweeps).toBeLessThan(60);
  });

  it('the same 200 pushes delivered twice, out of order, concurrently: one task and one copy each', async () => {
    h = await withReceiver(ONE);
    const pushes = Array.from({ length: 200 }, (_, i) => ({ repo: `dup${i % 10}`, tag: `v2.${i}` }));
    const payloads = [];
    for (const p of pushes) payloads.push(JSON.stringify(await h.acrPayload(p)));
    const deliveries = [...payloads, ...payloads].map((body, i) => ({ body, k: (i * 7919) % 400 })).sort((a, b) => a.k - b.k);
    const statuses: number[] = [];
    await pool(deliveries.length, 16, async (i) => {
      const r = await h!.post('/webhooks/acr?instance=cri-localsrc001', deliveries[i]!.body, { authorization: 'Bearer test-webhook-token-0123456789' });
      statuses.push(r.status);
    });
    expect(statuses.every((s) => s === 200 || s === 202)).toBe(true);
    await h.settle();
    const report = await checkInvariants(h, expectedCopies(pushes, ONE));
    expect(report.violations).toEqual([]);
    expect(h.cloud.acr.createCallCount()).toBe(200);
  });

  it('tasks stuck in SYNCHRONIZING are cancelled at their deadline and retried to success', async () => {
    h = await withReceiver(ONE);
    const pushes = Array.from({ length: 5 }, (_, i) => ({ repo: 'stuck', tag: `v3.${i}` }));
    h.cloud.acr.addOutcome({ outcome: 'stuck', repo: 'stuck', count: 5 });
    for (const p of pushes) expect((await h.push(p)).status).toBeLessThan(300);
    h.cloud.clock.advance(5 * 60_000);
    await h.sweep();
    expect(h.cloud.acr.tasks().filter((t) => t.status === 'SYNCHRONIZING')).toHaveLength(5);
    // Past the 60-minute deadline: cancelled, then retried after backoff.
    await h.settle({ stepMs: 61 * 60_000 });
    const report = await checkInvariants(h, expectedCopies(pushes, ONE));
    expect(report.violations).toEqual([]);
    expect(report.succeeded).toBe(5);
    expect(h.cloud.acr.tasks().filter((t) => t.status === 'CANCELED')).toHaveLength(5);
  });

  it('a notification endpoint down for several sweeps: failures are notified once it is back', async () => {
    h = await withReceiver(ONE);
    receiver!.down = true;
    const pushes = Array.from({ length: 3 }, (_, i) => ({ repo: 'bad', tag: `v4.${i}` }));
    h.cloud.acr.addOutcome({ outcome: 'error', repo: 'bad', taskIssue: 'UNSUPPORTED_FORMAT', count: 3 });
    for (const p of pushes) expect((await h.push(p)).status).toBeLessThan(300);
    for (let i = 0; i < 4; i++) {
      h.cloud.clock.advance(5 * 60_000);
      await h.sweep();
    }
    expect(receiver!.attempts).toBeGreaterThan(0);
    expect(receiver!.received).toHaveLength(0);
    receiver!.down = false;
    for (let i = 0; i < 6 && receiver!.received.length < 3; i++) {
      h.cloud.clock.advance(30 * 60_000);
      await h.sweep();
    }
    const report = await checkInvariants(h, expectedCopies(pushes, ONE));
    expect(report.violations).toEqual([]);
    expect(report.failed).toBe(3);
    expect(receiver!.received).toHaveLength(3);
  });
});
