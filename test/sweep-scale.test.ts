import { describe, expect, it } from 'vitest';
import { runSweep } from '../shared/sweep/run.ts';
import { seedOpenAcrTasks } from '../local/fixtures/seed-open.ts';
import { startTestStack } from './helpers/stack.ts';

const INSTANCES = Array.from({ length: 10 }, (_, i) => `cri-scalesrc${String(i).padStart(3, '0')}`);

describe('sweep at scale (call counts, not timing)', () => {
  it('1,000 open ACR tasks over 10 instances: ListRepoSyncTask calls within 2× the minimum', async () => {
    const stack = await startTestStack({
      cloud: {
        seed: {
          alibaba: {
            instances: [
              ...INSTANCES.map((instanceId) => ({ instanceId, region: 'cn-hangzhou', namespaces: [{ name: 'team', repos: [{ name: 'app', tags: {} }] }] })),
              { instanceId: 'cri-localdst001', region: 'cn-shanghai', namespaces: [{ name: 'team', repos: [] }] },
            ],
          },
        },
      },
    });
    try {
      const perInstance = 100;
      const seeded = await seedOpenAcrTasks(stack.db, stack.cloud.services.alibaba.acr, {
        instances: INSTANCES,
        region: 'cn-hangzhou',
        targetInstanceId: 'cri-localdst001',
        targetRegion: 'cn-shanghai',
        perInstance,
        state: 'submitted',
        historyPerInstance: 300, // finished tasks the sweep must not page through
        now: stack.clock.now(),
      });
      const open = INSTANCES.length * perInstance;
      expect(seeded.taskIds).toHaveLength(open);
      const minimum = Math.ceil(open / 100) + INSTANCES.length;

      const first = await runSweep(stack.deps);
      expect(first.errors).toBe(0);
      expect(first.transitions['submitted→running']).toBe(open);
      expect(first.cloudCallsTotal).toBeLessThanOrEqual(2 * minimum);
      expect(first.cloudCalls).toEqual({ 'acr:ListRepoSyncTask': 10 });

      // A cloud task that vanished: its instance's first page already reaches back past the oldest open
      // task (it ends with history), so listing stops there and one GetRepoSyncTask settles it.
      const acr = stack.cloud.services.alibaba.acr;
      const goneRef = seeded.cloudRefs[5]!;
      acr.tasks = acr.tasks.filter((t) => t.syncTaskId !== goneRef);
      const second = await runSweep(stack.deps);
      expect(second.cloudCalls['acr:ListRepoSyncTask']).toBe(10);
      expect(second.cloudCalls['acr:GetRepoSyncTask']).toBe(1);
      expect(second.cloudCallsTotal).toBeLessThanOrEqual(2 * minimum);
      expect(second.transitions['running→pending']).toBe(1);
      expect(second.transitions['submitted→running']).toBeUndefined();
      const { rows } = await stack.db.query<{ n: unknown }>(`SELECT count(*) AS n FROM tasks WHERE lease_owner IS NOT NULL`);
      expect(Number(rows[0]!.n)).toBe(0);
    } finally {
      await stack.close();
    }
  }, 60_000);
});
