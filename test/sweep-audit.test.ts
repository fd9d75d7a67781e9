/**
 * The sweep's drift audit against the local cloud: a repository nobody registered a trigger for is
 * replicated within a bounded number of sweeps; a finished pass waits for the rule's interval; a rule
 * with `audit: false` is never walked.
 */
import { afterEach, describe, expect, it } from 'vitest';
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

const rules =
  (audit: unknown, override = false) =>
  (base: Record<string, unknown>) => ({
    ...base,
    rules: [{ name: 'quiet', source: 'acr-hangzhou', namespace: 'team', repository: 'quiet', targets: [{ provider: 'acr', instanceId: DST, region: 'cn-shanghai', override }], audit }],
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

describe('drift at a target the ledger says is done', () => {
  const targetRepo = (s: TestStack) => s.cloud.services.alibaba.acr.instances.get(DST)!.namespaces.get('team')!.get('quiet')!;
  const tasks = async (s: TestStack) => (await s.ledger.listTasks({ limit: 10 })).items;

  /** Sweeps (two virtual minutes apart) until `done`, at most `max`. */
  async function sweepUntil(s: TestStack, done: () => Promise<boolean>, max = 8) {
    for (let i = 0; i < max && !(await done()); i++) {
      s.cloud.clock.advance(120_000);
      await runSweep(s.deps, { budgetMs: 15_000 });
    }
    expect(await done()).toBe(true);
  }

  const v1 = `sha256:${'1'.repeat(64)}`;
  const v2 = `sha256:${'2'.repeat(64)}`;

  /** The audit's first pass copies v1 and v2, and the sweeps finish (and verify) both. */
  async function replicated(override: boolean) {
    stack = await startTestStack({ cloud: { seed }, config: rules({ every: '1h' }, override) });
    await runSweep(stack.deps, { budgetMs: 15_000 });
    await sweepUntil(stack, async () => (await tasks(stack!)).every((t) => t.state === 'succeeded'));
    expect(atTarget(stack)).toEqual({ v1, v2 });
    return stack;
  }

  it('a copied tag deleted or overwritten at the target: the next pass re-opens its task, which copies again and verifies', async () => {
    stack = await replicated(true);

    // Someone deletes v1 and overwrites v2 at the target.
    targetRepo(stack).tags.delete('v1');
    await stack.cloud.services.alibaba.acr.push({ instanceId: DST, namespace: 'team', repo: 'quiet', tag: 'v2', digest: `sha256:${'9'.repeat(64)}` });
    const creates = stack.cloud.acr.createCallCount();

    // Within the interval nothing is walked; after it, the pass re-opens both tasks (and creates none).
    stack.cloud.clock.advance(3_600_000);
    const pass = await runSweep(stack.deps, { budgetMs: 15_000 });
    expect(pass.events).toMatchObject({ 'audit.images': 2, 'audit.drift.reopened': 2, 'audit.drift.repaired': 2, 'audit.passes': 1 });
    const reopened = await tasks(stack);
    expect(reopened).toHaveLength(2);
    for (const t of reopened) expect(t.reruns).toBe(1);
    const reasons = await Promise.all(
      reopened.map(async (t) => {
        const ev = (await stack!.ledger.getTask(t.id))!.events.find((e) => e.fromState === 'succeeded' && e.toState === 'pending')!;
        expect(ev.actor).toBe('audit');
        return [(t.target as { from: { tag: string } }).from.tag, ev.reason];
      }),
    );
    expect(Object.fromEntries(reasons)).toEqual({ v1: 'drift audit: missing at target', v2: 'drift audit: different at target' });

    await sweepUntil(stack, async () => (await tasks(stack!)).every((t) => t.state === 'succeeded'));
    expect(atTarget(stack)).toEqual({ v1, v2 });
    expect(stack.cloud.acr.createCallCount() - creates).toBe(2);
    for (const t of await tasks(stack)) {
      const done = (await stack.ledger.getTask(t.id))!.events.at(-1)!;
      expect(done).toMatchObject({ toState: 'succeeded', details: { verify: 'ok' } });
    }

    // Repaired: the next pass finds nothing to re-open.
    stack.cloud.clock.advance(3_600_000);
    const calm = await runSweep(stack.deps, { budgetMs: 15_000 });
    expect(calm.events['audit.passes']).toBe(1);
    expect(calm.events['audit.drift.found'] ?? 0).toBe(0);
  }, 120_000);

  it('a tag replaced at a target whose override is off is refused, not re-opened; a deleted one is re-opened', async () => {
    stack = await replicated(false);
    targetRepo(stack).tags.delete('v1');
    await stack.cloud.services.alibaba.acr.push({ instanceId: DST, namespace: 'team', repo: 'quiet', tag: 'v2', digest: `sha256:${'9'.repeat(64)}` });
    stack.cloud.clock.advance(3_600_000);
    const pass = await runSweep(stack.deps, { budgetMs: 15_000 });
    expect(pass.events).toMatchObject({ 'audit.drift.reopened': 1, 'audit.refused': 1, 'audit.drift.found': 2 });
    const byTag = Object.fromEntries((await tasks(stack)).map((t) => [(t.target as { from: { tag: string } }).from.tag, t]));
    expect(byTag.v1).toMatchObject({ state: 'pending', reruns: 1 });
    expect(byTag.v2).toMatchObject({ state: 'succeeded', reruns: 0 });
    const walk = (await stack.ledger.walks.list('audit'))[0]!;
    expect(walk.counts).toMatchObject({ reopened: 1, refused: 1, reasons: { TargetHoldsAnother: 1 } });
  }, 120_000);

  it('leaves a task still in flight alone, though its target lacks the image', async () => {
    stack = await startTestStack({ cloud: { seed }, config: rules({ every: '1h' }) });
    stack.cloud.acr.addOutcome({ outcome: 'stuck', tag: 'v1' });
    await runSweep(stack.deps, { budgetMs: 15_000 });
    await sweepUntil(stack, async () => (await tasks(stack!)).some((t) => t.state === 'succeeded'));
    const inFlight = (await tasks(stack)).find((t) => (t.target as { from: { tag: string } }).from.tag === 'v1')!;
    expect(['submitted', 'running']).toContain(inFlight.state);

    stack.cloud.clock.advance(3_600_000);
    const pass = await runSweep(stack.deps, { budgetMs: 15_000 });
    expect(pass.events['audit.passes']).toBe(1);
    expect(pass.events['audit.drift.found'] ?? 0).toBe(0);
    const after = (await stack.ledger.getTask(inFlight.id))!;
    // The sweep may have moved it on (a stuck sync past its deadline); the audit wrote nothing.
    expect(after.task.reruns).toBe(0);
    expect(['pending', 'submitted', 'running']).toContain(after.task.state);
    expect(after.events.filter((e) => e.actor === 'audit')).toEqual([]);
  }, 120_000);
});
