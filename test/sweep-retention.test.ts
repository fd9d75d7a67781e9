import { afterEach, describe, expect, it } from 'vitest';
import { runSweep } from '../shared/sweep/run.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const DAY = 86_400_000;

let stack: TestStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

function push(s: TestStack, tag: string) {
  return {
    sourceKind: 'acr',
    source: 'cri-localsrc001',
    region: 'cn-hangzhou',
    namespace: 'team',
    repository: 'retained',
    tag,
    digest: `sha256:${tag.padEnd(64, '0')}`,
    pushedAt: s.clock.now(),
    rules: ['releases'],
  };
}

function target(name: string, over: Record<string, unknown> = {}) {
  return {
    provider: 'acr',
    target: { to: { provider: 'acr', instanceId: `cri-${name}`, region: 'cn-shanghai', namespace: 'team', repo: 'retained' } },
    targetKey: `acr:cn-shanghai/cri-${name}/team/retained`,
    rule: 'releases',
    ...over,
  };
}

describe('sweep: retention', () => {
  it('prunes history older than store.retentionDays; newer history and open tasks stay', async () => {
    const s = (stack = await startTestStack({ config: (base) => ({ ...base, store: { retentionDays: 7 } }) }));
    const { ledger } = s;
    const end = (id: string, to: 'canceled' | 'failed') => ledger.transition(id, { from: 'pending', to, reason: 'test', actor: 'test' });

    // Day 0: a replication whose only task finished; one with a finished task and an open one (due in a
    // year, so the sweep leaves it alone); a finished ECS watch; a delivered notification.
    const lone = await ledger.recordReplication(push(s, 'v1'), [target('lone')]);
    await end(lone.tasks[0]!.taskId, 'failed');
    const mixed = await ledger.recordReplication(push(s, 'v2'), [target('done'), target('open', { nextAttemptAt: s.clock.now() + 365 * DAY })]);
    const doneId = mixed.tasks.find((t) => t.targetKey.includes('cri-done'))!.taskId;
    const openId = mixed.tasks.find((t) => t.targetKey.includes('cri-open'))!.taskId;
    await end(doneId, 'canceled');
    await ledger.ecs.watch({ region: 'cn-hangzhou', taskId: 't-old', action: 'ImportImage' });
    await ledger.ecs.transition('cn-hangzhou', 't-old', { from: 'watching', to: 'finished', cloudStatus: 'Finished' });
    const sent = await ledger.outbox.enqueue({ replicationId: mixed.replication.id, kind: 'replication.note', target: 'ops' });
    await ledger.outbox.claimDue({ owner: 'test', leaseMs: 60_000 });
    await ledger.outbox.markSent(sent.id, 'test');

    // Day 8: newer history of the same kinds.
    s.cloud.clock.advance(8 * DAY);
    const recent = await ledger.recordReplication(push(s, 'v3'), [target('recent')]);
    await end(recent.tasks[0]!.taskId, 'canceled');
    await ledger.ecs.watch({ region: 'cn-hangzhou', taskId: 't-new', action: 'ImportImage' });
    await ledger.ecs.transition('cn-hangzhou', 't-new', { from: 'watching', to: 'finished', cloudStatus: 'Finished' });

    const summary = await runSweep(s.deps);
    expect(summary.errors).toBe(0);
    expect(summary.events).toMatchObject({
      'retention.pruned.tasks': 2,
      'retention.pruned.replications': 1,
      'retention.pruned.ecsTasks': 1,
      'retention.pruned.notifications': 1,
    });
    expect(summary.events['leftover.retention']).toBeUndefined();

    expect(await ledger.getTask(lone.tasks[0]!.taskId)).toBeNull();
    expect(await ledger.getReplication(lone.replication.id)).toBeNull();
    expect(await ledger.getTask(doneId)).toBeNull();
    expect(await ledger.ecs.get('cn-hangzhou', 't-old')).toBeNull();
    expect(await ledger.outbox.get(sent.id)).toBeNull();

    expect((await ledger.getTask(openId))!.task.state).toBe('pending'); // open tasks stay, however old
    expect((await ledger.getReplication(mixed.replication.id))!.tasks.map((t) => t.id)).toEqual([openId]);
    expect((await ledger.getTask(recent.tasks[0]!.taskId))!.task.state).toBe('canceled');
    expect(await ledger.ecs.get('cn-hangzhou', 't-new')).not.toBeNull();

    // Nothing left to prune: the next sweep counts nothing.
    const again = await runSweep(s.deps);
    expect(Object.keys(again.events).filter((k) => k.startsWith('retention.'))).toEqual([]);
  });
});
