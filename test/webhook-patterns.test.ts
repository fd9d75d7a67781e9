/**
 * Rule patterns over real HTTP: a pattern that makes a backtracking engine run for hours
 * (`/(a+)+$/` and friends, all accepted by `config check`) costs a delivery no measurable time,
 * and never holds up another request (`/healthz`) in the same process; and a push no rule
 * matches is explained from the one matching pass.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createApiApp } from '../shared/api/app.ts';
import { serveNode, type NodeServer } from '../shared/runtime/node-http.ts';
import { LinearRegex } from '../shared/rules/linear-regex.ts';
import { explainPush } from '../shared/rules/match.ts';
import { startWebhook, type WebhookHarness } from './webhook-harness.ts';

const BACKTRACKING = ['/(a+)+$/', '/^(a|aa)+$/', '/(.*a){20}$/', '/^([a-z0-9]+-?)+!$/i', '*a*a*a*a*a*a*a*a*a*a*a*a*b'];

let h: WebhookHarness;
let api: NodeServer;
beforeAll(async () => {
  h = await startWebhook({
    config: (base) => ({
      ...base,
      rules: [
        ...BACKTRACKING.map((p, i) => ({
          name: `slow-${i}`,
          source: 'acr-hangzhou',
          namespace: 'team',
          tags: { include: [p] },
          targets: [{ provider: 'acr', instanceId: 'cri-localdst001', region: 'cn-shanghai' }],
        })),
        ...(base.rules as object[]),
      ],
    }),
  });
  api = await serveNode(createApiApp(h.stack.deps));
});
afterAll(async () => {
  await api?.close();
  await h?.close();
});

const acrPush = (tag: string) => ({
  push_data: { digest: 'sha256:' + 'a'.repeat(64), pushed_at: '2025-01-31 12:00:00', tag },
  repository: { name: 'app', namespace: 'team', region: 'cn-hangzhou', repo_full_name: 'team/app' },
});

/** One delivery while /healthz is asked again and again: the delivery, and the slowest /healthz answer meanwhile. */
async function deliverWhileProbingHealth(tag: string) {
  let done = false;
  let slowest = 0;
  const probe = (async () => {
    while (!done) {
      const t = performance.now();
      const r = await fetch(new URL('/healthz', api.url));
      await r.text();
      slowest = Math.max(slowest, performance.now() - t);
    }
  })();
  const r = await h.post('acr', acrPush(tag));
  done = true;
  await probe;
  return { ...r, slowest };
}

describe('backtracking patterns in the config, over HTTP', () => {
  test('a 128-character tag costs a delivery under 10 ms of matching, and /healthz answers meanwhile', async () => {
    // V8's backtracking took about a second for the first tag (doubling with every further `a`), ages for the others.
    for (const tag of ['a'.repeat(25) + '-', 'a'.repeat(127) + '-', `${'a'.repeat(63)}_${'a'.repeat(63)}-`]) {
      // The same delivery with a short tag, alternated with the long one, is the baseline; the fastest of
      // each pair of series compares the matching (a slow pattern is slow every time, load is not).
      const runs = [];
      const baseline = [];
      for (let i = 0; i < 6; i++) {
        baseline.push(await deliverWhileProbingHealth(`x${i}`));
        runs.push(await deliverWhileProbingHealth(tag));
      }
      for (const r of runs) {
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body.reason).toContain(`slow-0: tag "${tag}" matches no include pattern`);
      }
      const slowest = Math.max(...runs.map((r) => r.slowest));
      expect(slowest, `${tag.length} characters: /healthz took ${slowest.toFixed(0)} ms during the delivery`).toBeLessThan(250);
      const extra = Math.min(...runs.map((r) => r.ms)) - Math.min(...baseline.map((r) => r.ms));
      expect(extra, `${tag.length} characters: ${extra.toFixed(1)} ms more than a short tag`).toBeLessThan(10);
    }
  });

  test('a push nothing matches is explained from the one matching pass (no pattern runs twice)', async () => {
    const tag = 'a'.repeat(127) + '-';
    const spy = vi.spyOn(LinearRegex.prototype, 'test');
    try {
      const pass = explainPush({ sourceKind: 'acr', source: 'acr-hangzhou', namespace: 'team', repository: 'app', tag, pushedAt: new Date() }, h.stack.config);
      const onePass = spy.mock.calls.length;
      expect(pass.targets).toEqual([]);
      spy.mockClear();
      const r = await h.post('acr', acrPush(tag));
      expect(r.status).toBe(200);
      for (const v of pass.rules) expect(r.body.reason).toContain(`${v.rule}: ${v.matched ? 'matched' : v.reason}`);
      expect(spy.mock.calls.length).toBe(onePass);
    } finally {
      spy.mockRestore();
    }
  });
});
