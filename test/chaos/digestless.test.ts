// Reliability: the same digest-less push (Docker Hub: no digest, and here no usable time or event id)
// delivered 20 times, concurrently and with throttled and failing cloud calls, is one replication,
// one task per target and one cloud copy per target: the ledger keys it by the digest resolved at the source.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { startHarness, TEST_TOKENS, type Harness } from './harness.ts';

let h: Harness;

function hubPush(tag: string, pushedAt: unknown): string {
  const b = JSON.parse(readFileSync(new URL('../fixtures/webhooks/dockerhub.json', import.meta.url), 'utf8'));
  b.push_data.tag = tag;
  b.push_data.pushed_at = pushedAt;
  delete b.callback_url;
  return JSON.stringify(b);
}

describe('chaos: digest-less pushes', () => {
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.close());

  it('the same digest-less push delivered 20 times: one cloud task per target', async () => {
    const tags = ['v7.0.0', 'v7.0.1', 'v7.0.2'];
    for (const tag of tags) h.cloud.services.huawei.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 'app', tag });
    h.cloud.faults.add({ op: 'swr:sync_images', probability: 0.3, throttle: { waitMs: 200 } });
    h.cloud.faults.add({ op: 'swr:tags', probability: 0.6, error: { status: 500, code: 'SVCSTG.SWR.5000001', message: 'internal error' } });
    const bad = [undefined, 'not-a-time', '', 0.5];
    const deliveries = tags.flatMap((tag) => Array.from({ length: 20 }, (_, i) => ({ tag, body: hubPush(tag, bad[i % bad.length]) })));
    // 8 at a time; the sender redelivers what got no 2xx (a failed digest lookup answers 503).
    let pending = deliveries;
    let refused = 0;
    for (let round = 0; pending.length && round < 20; round++) {
      const next: typeof deliveries = [];
      for (let i = 0; i < pending.length; i += 8) {
        const batch = pending.slice(i, i + 8);
        const answers = await Promise.all(batch.map((d) => h.post('/webhooks/dockerhub?source=swr-beijing', d.body, { authorization: `Bearer ${TEST_TOKENS.webhook}` })));
        answers.forEach((a, j) => {
          expect([202, 503]).toContain(a.status);
          if (a.status !== 202) next.push(batch[j]!);
        });
      }
      refused += next.length;
      pending = next;
    }
    expect(pending).toEqual([]);
    h.cloud.faults.clear();
    await h.settle();
    for (const tag of tags) {
      const copies = h.cloud.services.huawei.imageDigest({ region: 'cn-east-3', namespace: 'team', repo: 'app', tag });
      expect(copies, tag).toBeDefined();
    }
    // One ledger task and one SWR sync job per tag and target (one target: cn-east-3).
    const tasks = (await h.ledger.listTasks({ limit: 500 })).items.filter((t) => tags.includes(String((t.target as { from?: { tag?: string } }).from?.tag)));
    expect(tasks).toHaveLength(tags.length);
    for (const t of tasks) expect(t.state).toBe('succeeded');
    const jobs = (h.cloud.services.huawei.snapshot() as { syncJobs: { tag?: string; foreign: boolean; syncOperatorName?: string }[] }).syncJobs.filter(
      (j) => j.tag !== undefined && tags.includes(j.tag) && !j.foreign && j.syncOperatorName === 'ferry',
    );
    console.log(`digest-less: ${deliveries.length} deliveries, ${refused} answered 503 and redelivered; ${tasks.length} tasks, ${jobs.length} sync jobs`);
    expect(jobs.length).toBe(tags.length);
  });
});
