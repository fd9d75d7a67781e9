/**
 * The ledger's PostgreSQL connections are killed in the middle of a sweep (pg_terminate_backend
 * from another session). The sweep may fail that run; the next runs must finish every copy, once.
 * Runs when FERRY_TEST_DATABASE_URL (CI) or DATABASE_URL names a PostgreSQL database.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { pool } from '../../bench/lib.ts';
import { checkInvariants, compose, expectedCopies, notifyWebhook, startHarness, startReceiver, type Harness, type Receiver } from './harness.ts';

const url = process.env.FERRY_TEST_DATABASE_URL || process.env.DATABASE_URL;
const schema = `ferry_chaos_${randomBytes(4).toString('hex')}`;
let h: Harness | undefined;
let receiver: Receiver | undefined;
let admin: pg.Client | undefined;

afterAll(async () => {
  await h?.close();
  await receiver?.close();
  if (admin) {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end();
  }
});

describe.skipIf(!url)('chaos on PostgreSQL', () => {
  it('the ledger connection dropped mid-sweep: nothing lost, nothing doubled', async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    receiver = await startReceiver();
    const targets = ['cri-localdst001', 'cri-localdst002'];
    h = await startHarness({
      databaseUrl: url!,
      searchPath: schema,
      config: compose(
        (b) => ({
          ...b,
          rules: (b.rules as Record<string, unknown>[]).map((r) =>
            r.name === 'releases'
              ? {
                  ...r,
                  targets: [
                    { provider: 'acr', instanceId: 'cri-localdst001', region: 'cn-shanghai' },
                    { provider: 'acr', instanceId: 'cri-localdst002', region: 'cn-beijing' },
                  ],
                }
              : r,
          ),
        }),
        notifyWebhook,
      ),
      env: { FERRY_NOTIFY_URL: receiver.url },
    });
    const pushes = Array.from({ length: 60 }, (_, i) => ({ repo: `pg${i % 6}`, tag: `v5.${i}` }));
    // Half the pushes are left to the sweep: the webhook's submissions are refused (throttled).
    h.cloud.faults.add({ op: 'acr:CreateRepoSyncTask', count: 60, throttle: { waitMs: 1000 } });
    await pool(pushes.length, 6, async (i) => {
      const r = await h!.push(pushes[i]!);
      expect([200, 202]).toContain(r.status);
    });
    // Slow cloud calls keep the sweep busy while its connections are killed.
    const slow = h.cloud.faults.add({ op: 'acr:*', latencyMs: 40 });
    h.cloud.clock.advance(10 * 60_000);
    const killer = (async () => {
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 60));
        await admin!.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
        );
      }
    })();
    const interrupted = await h.sweep().then(
      () => 'completed',
      (err: unknown) => `failed: ${(err as Error).message}`,
    );
    await killer;
    h.cloud.faults.remove(slow);
    const sweeps = await h.settle({ max: 40 });
    const report = await checkInvariants(h, expectedCopies(pushes, targets));
    expect(report.violations, `first sweep ${interrupted}`).toEqual([]);
    expect(report.succeeded).toBe(pushes.length * targets.length);
    expect(sweeps).toBeLessThan(40);
    // Every cloud task created is accounted for: no orphan copies from the interrupted run.
    expect(h.cloud.acr.createCallCount()).toBe(pushes.length * targets.length);
  });
});
