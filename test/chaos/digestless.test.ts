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
    h.cloud.faults.add({ op: 'swr:tags', probability: 0.2, error: { status: 500, code: 'SVCSTG.SWR.5000001', message: 'internal error' } });
    const bad = [undefined, 'not-a-time', '', 0.5];
    const deliveries = tags.flatMap((tag) => Array.from({ length: 20 }, (_, i) => ({ tag, body: hubPush(tag, bad[i % bad.length]) })));
    const answers: { status: number }[] = [];
    for (let i = 0; i < deliveries.length; i += 8) {
      const batch = deliveries.slice(i, i + 8);
      answers.push(
        ...(await Promise.all(batch.map((d) => h.post('/webhooks/dockerhub?source=swr-beijing', d.body, { authorization: `Bearer ${TEST_TOKENS.webhook}` })))),
      );
    }
    // A delivery whose digest lookup failed is refused nothing: it is keyed by its time instead. The
    // sender retries what did not get a 2xx; here all were answered.
    for (const a of answers) expect(a.status).toBeLessThan(500);
    h.cloud.faults.clear();
    await h.settle();
    for (const tag of tags) {
      const copies = h.cloud.services.huawei.imageDigest({ region: 'cn-east-3', namespace: 'team', repo: 'app', tag });
      expect(copies, tag).toBeDefined();
    }
    const ledger = await h.ledger.listTasks({ limit: 500 });
    const byTag = new Map<string, number>();
    for (const t of ledger.items) {
      const tag = (t.target as { from?: { tag?: string } }).from?.tag ?? '';
      if (tags.includes(tag)) byTag.set(tag, (byTag.get(tag) ?? 0) + 1);
    }
    console.log('digest-less: tasks per tag', Object.fromEntries(byTag));
  });
});
