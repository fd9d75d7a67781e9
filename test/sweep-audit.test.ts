/**
 * The sweep's drift audit against the local cloud: a repository nobody registered a trigger for is
 * replicated within a bounded number of sweeps; a finished pass waits for the rule's interval; a rule
 * with `audit: false` is never walked.
 */
import { afterEach, expect, it } from 'vitest';
import { runSweep } from '../shared/sweep/run.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const DST = 'cri-localdst001';
let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const seed = {
  alibaba: {
    instances: [
      { instanceId: 'cri-localsrc001', region: 'cn-hangzhou', namespaces: [{ name: 'team', repos: [{ name: 'quiet', tags: { v1: `sha256:${'1'.repeat(64)}`, v2: `sha256:${'2'.repeat(64)}` } }] }] },
      { instanceId: DST, region: 'cn-shanghai', namespaces: [{ name: 'team', repos: [] }] },
      { instanceId: 'cri-localdst002', region: 'cn-beijing', namespaces: [{ name: 'team', repos: [] }] },
    ],
  },
};

const rules = (audit: unknown) => (base: Record<string, unknown>) => ({
  ...base,
  rules: [{ name: 'quiet', source: 'acr-hangzhou', namespace: 'team', repository: 'quiet', targets: [{ provider: 'acr', instanceId: DST, region: 'cn-shanghai' }], audit }],
});

const atTarget = (s: TestStack) => {
  const repo = s.cloud.services.alibaba.acr.instances.get(DST)?.namespaces.get('team')?.get('quiet');
  return repo ? Object.fromEntries([...repo.tags].map(([t, v]) => [t, v.digest])) : {};
};

it('replicates a repository without a trigger within a bounded number of sweeps, then waits for the interval', async () => {
  stack = await startTestStack({ cloud: { seed }, config: rules({ every: '1h' }) });
  const first = await runSweep(stack.deps, { budgetMs: 15_000 });
  expect(first.events).toMatchObject({ 'audit.repositories': 1, 'audit.images': 2, 'audit.drift.found': 2, 'audit.drift.repaired': 2, 'audit.passes': 1 });
  let sweeps = 1;
  while (Object.keys(atTarget(stack)).length < 2 && sweeps < 8) {
    stack.cloud.clock.advance(120_000);
    const s = await runSweep(stack.deps, { budgetMs: 15_000 });
    // The pass ended: no listing until the interval has passed.
    expect(s.cloudCalls['acr:ListRepository'] ?? 0).toBe(0);
    sweeps++;
  }
  expect(atTarget(stack)).toEqual({ v1: `sha256:${'1'.repeat(64)}`, v2: `sha256:${'2'.repeat(64)}` });
  expect(sweeps).toBeLessThanOrEqual(6);

  // A lost webhook: v3 pushed with no trigger; the next pass (an hour on) catches it, and only it.
  await stack.cloud.services.alibaba.acr.push({ instanceId: 'cri-localsrc001', namespace: 'team', repo: 'quiet', tag: 'v3', digest: `sha256:${'3'.repeat(64)}` });
  stack.cloud.clock.advance(3_600_000);
  const later = await runSweep(stack.deps, { budgetMs: 15_000 });
  expect(later.events).toMatchObject({ 'audit.images': 3, 'audit.drift.repaired': 1, 'audit.passes': 1 });
  const row = (await stack.ledger.walks.list('audit'))[0]!;
  expect(row.lastFullPassAt).not.toBeNull();
}, 120_000);

it('never walks a rule with audit: false', async () => {
  stack = await startTestStack({ cloud: { seed }, config: rules(false) });
  for (let i = 0; i < 3; i++) {
    const s = await runSweep(stack.deps, { budgetMs: 15_000 });
    expect(s.cloudCalls['acr:ListRepository'] ?? 0).toBe(0);
    expect(Object.keys(s.events).filter((e) => e.startsWith('audit.'))).toEqual([]);
    stack.cloud.clock.advance(7_200_000);
  }
  expect((await stack.ledger.listTasks({ limit: 10 })).items).toHaveLength(0);
  expect(await stack.ledger.walks.list('audit')).toHaveLength(0);
}, 60_000);
