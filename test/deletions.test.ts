import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TaskRow } from '../shared/ledger/index.ts';
import { deletionTargets } from '../shared/replicate/deletions.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

/**
 * Deletion replication's decision and the ACR provider's DeleteRepoTag, on a real ledger and the local
 * cloud: only tags Ferry's ledger proves it copied, under a rule with `deletes: true`, are deleted.
 */
const SRC = { source: 'acr-hangzhou', kind: 'acr', namespace: 'team', repository: 'app', instanceId: 'cri-localsrc001', region: 'cn-hangzhou' };
const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;
let s: TestStack;

beforeAll(async () => {
  s = await startTestStack({
    config: (c) => ({
      ...c,
      rules: [
        { name: 'mirror', source: 'acr-hangzhou', namespace: 'team', deletes: true, targets: [{ provider: 'acr', instanceId: 'cri-localdst001', region: 'cn-shanghai' }] },
        { name: 'archive', source: 'acr-hangzhou', namespace: 'team', targets: [{ provider: 'acr', instanceId: 'cri-localdst002', region: 'cn-beijing' }] },
      ],
    }),
    cloud: {
      seed: {
        alibaba: {
          instances: [
            { instanceId: 'cri-localsrc001', region: 'cn-hangzhou', namespaces: [{ name: 'team', repos: [{ name: 'app', tags: {} }] }] },
            { instanceId: 'cri-localdst001', region: 'cn-shanghai', namespaces: [{ name: 'team' }] },
            { instanceId: 'cri-localdst002', region: 'cn-beijing', namespaces: [{ name: 'team' }] },
          ],
        },
      },
    },
  });
});
afterAll(() => s?.close());

/** A copy Ferry made: a succeeded ledger task, and the tag at the target instance. */
async function copied(o: { rule: string; instanceId: string; region: string; tag: string; digest: string; fromTag?: string }): Promise<TaskRow> {
  const fromTag = o.fromTag ?? o.tag;
  const from = { ...SRC, tag: fromTag, digest: o.digest };
  const to = { provider: 'acr', instanceId: o.instanceId, region: o.region, namespace: 'team', repo: 'app', tag: o.tag, override: false };
  const rec = await s.ledger.recordReplication(
    { sourceKind: 'acr', source: SRC.source, region: SRC.region, namespace: 'team', repository: 'app', tag: fromTag, digest: o.digest, pushedAt: s.clock.now(), rules: [o.rule] },
    [{ provider: 'acr', target: { from, to }, targetKey: `acr:${o.region}/${o.instanceId}/team/app:${o.tag}`, rule: o.rule, scope: SRC.instanceId }],
  );
  const id = rec.tasks[0]!.taskId;
  await s.ledger.transition(id, { from: 'pending', to: 'submitted', reason: 'test', actor: 'test', patch: { cloudRef: `rst-${id.slice(-8)}` } });
  await s.clock.sleep(5);
  const done = await s.ledger.transition(id, { from: 'submitted', to: 'succeeded', reason: 'test', actor: 'test' });
  await s.cloud.acr.push({ instanceId: o.instanceId, namespace: 'team', repo: 'app', tag: o.tag, digest: o.digest });
  return done;
}

const tagsAt = (instanceId: string) => Object.keys(s.cloud.acr.tagsOf(instanceId, 'team', 'app')).sort();

async function deleteAll(image: Parameters<typeof deletionTargets>[0], tasks: TaskRow[]) {
  const plan = deletionTargets(image, tasks, s.config.rules);
  for (const d of plan.delete) {
    const outcome = await s.deps.clouds.of(d.provider).deleteTag!(d.target, s.deps);
    expect(outcome.outcome).toBe('deleted');
  }
  return plan;
}

describe('deletion replication', () => {
  test('deletes only the tags Ferry copied under a rule with deletes: true', async () => {
    const mirror = await copied({ rule: 'mirror', instanceId: 'cri-localdst001', region: 'cn-shanghai', tag: 'v1.0.0', digest: DIGEST_A });
    const archive = await copied({ rule: 'archive', instanceId: 'cri-localdst002', region: 'cn-beijing', tag: 'v1.0.0', digest: DIGEST_A });
    // A tag at the target Ferry never wrote, on the same digest.
    await s.cloud.acr.push({ instanceId: 'cri-localdst001', namespace: 'team', repo: 'app', tag: 'hand-made', digest: DIGEST_A });

    const plan = await deleteAll({ source: SRC.source, namespace: 'team', repository: 'app', tag: 'v1.0.0', digest: DIGEST_A }, [mirror, archive]);
    expect(plan.delete.map((d) => d.taskId)).toEqual([mirror.id]);
    expect(plan.skipped).toEqual([expect.objectContaining({ taskId: archive.id, reason: expect.stringContaining('deletes: false') })]);
    expect(tagsAt('cri-localdst001')).toEqual(['hand-made']);
    expect(tagsAt('cri-localdst002')).toEqual(['v1.0.0']);
    expect(s.cloud.acr.deleteCalls).toEqual([{ instanceId: 'cri-localdst001', namespace: 'team', repo: 'app', tag: 'v1.0.0' }]);
  });

  test('a target a later copy of another source image wrote, or one holding another digest, is left alone', async () => {
    const first = await copied({ rule: 'mirror', instanceId: 'cri-localdst001', region: 'cn-shanghai', tag: 'v2.0.0', digest: DIGEST_A });
    const later = await copied({ rule: 'mirror', instanceId: 'cri-localdst001', region: 'cn-shanghai', tag: 'v2.0.0', digest: DIGEST_B, fromTag: 'v2.0.0-final' });
    const plan = deletionTargets({ source: SRC.source, namespace: 'team', repository: 'app', tag: 'v2.0.0' }, [first, later], s.config.rules);
    expect(plan.delete).toEqual([]);
    expect(plan.skipped[0]!.reason).toContain('later copy');

    const other = await copied({ rule: 'mirror', instanceId: 'cri-localdst001', region: 'cn-shanghai', tag: 'v3.0.0', digest: DIGEST_A });
    const byDigest = deletionTargets({ source: SRC.source, namespace: 'team', repository: 'app', tag: 'v3.0.0', digest: DIGEST_B }, [other], s.config.rules);
    expect(byDigest.delete).toEqual([]);
    expect(byDigest.skipped[0]!.reason).toContain('not the deleted');
  });

  test('a tag already gone at the target is absent, not an error', async () => {
    const t = await copied({ rule: 'mirror', instanceId: 'cri-localdst001', region: 'cn-shanghai', tag: 'v4.0.0', digest: DIGEST_A });
    const [d] = deletionTargets({ source: SRC.source, namespace: 'team', repository: 'app', tag: 'v4.0.0' }, [t], s.config.rules).delete;
    expect((await s.deps.clouds.of('acr').deleteTag!(d!.target, s.deps)).outcome).toBe('deleted');
    expect((await s.deps.clouds.of('acr').deleteTag!(d!.target, s.deps)).outcome).toBe('absent');
  });
});
