// Inventories and target digests of the cloud providers, against the local cloud's ACR and SWR APIs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudInvalidRequestError } from '../shared/clients/errors.ts';
import { inventoryFor, providerNamed } from '../shared/providers/registry.ts';
import type { Connected, InventorySource, SourceInventory, SourceRepository, TaskTarget } from '../shared/providers/types.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);
afterAll(() => stack?.close());

const ctx = () => ({ clock: stack.clock, log: stack.deps.log });
const connected = (name: string): Connected => stack.deps.clouds.of(name);

async function allRepositories(inv: SourceInventory, source: InventorySource, limit: number): Promise<{ repos: SourceRepository[]; pages: number }> {
  const repos: SourceRepository[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await inv.repositories(source, { cursor, limit }, ctx());
    expect(page.items.length).toBeLessThanOrEqual(limit);
    repos.push(...page.items);
    cursor = page.cursor;
    pages++;
  } while (cursor !== null && pages < 100);
  return { repos, pages };
}

const names = (repos: SourceRepository[]) => repos.map((r) => `${r.namespace}/${r.repository}`).sort();

describe('ACR inventory', () => {
  const source = { kind: 'acr', name: 'acr-hangzhou', instanceId: 'cri-localsrc001', region: 'cn-hangzhou' };

  it('is the acr provider’s, by kind', () => {
    expect(inventoryFor('acr')?.name).toBe('acr');
    expect(inventoryFor('swr')?.name).toBe('swr');
    expect(inventoryFor('distribution')?.name).toBe('copy');
    expect(inventoryFor('ecs')).toBeUndefined();
  });

  it('lists every repository over several ListRepository pages, and every tag over several ListRepoTag pages', async () => {
    for (const repo of ['inv-a', 'inv-b', 'inv-c', 'inv-d', 'inv-e']) await stack.cloud.acr.push({ instanceId: 'cri-localsrc001', namespace: 'invns', repo, tag: 'v1' });
    const inv = connected('acr').inventory!;
    const { repos, pages } = await allRepositories(inv, source, 2);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(names(repos)).toEqual(expect.arrayContaining(['invns/inv-a', 'invns/inv-b', 'invns/inv-c', 'invns/inv-d', 'invns/inv-e']));
    expect(new Set(names(repos)).size).toBe(repos.length);

    const pushed: Record<string, string> = {};
    for (let i = 0; i < 130; i++) pushed[`t${i}`] = (await stack.cloud.acr.push({ instanceId: 'cri-localsrc001', namespace: 'invns', repo: 'many', tag: `t${i}` })).digest;
    const tags = await inv.tags(source, { namespace: 'invns', repository: 'many' }, ctx());
    expect(tags).toHaveLength(130);
    for (const t of tags) {
      expect(t.digest).toBe(pushed[t.tag]);
      expect(t.pushedAt).toBeGreaterThan(stack.clock.now() - 60_000);
      expect(t.pushedAt).toBeLessThanOrEqual(stack.clock.now());
    }
  });

  it('a repository that does not exist holds no tags; a cursor it did not make is refused', async () => {
    const inv = connected('acr').inventory!;
    expect(await inv.tags(source, { namespace: 'invns', repository: 'never-pushed' }, ctx())).toEqual([]);
    await expect(inv.repositories(source, { cursor: 'h:3', limit: 10 }, ctx())).rejects.toBeInstanceOf(CloudInvalidRequestError);
  });

  it('targetDigest reads the target instance’s tag, null when absent', async () => {
    const { digest } = await stack.cloud.acr.push({ instanceId: 'cri-localdst001', namespace: 'team', repo: 'held', tag: 'v1' });
    const target = (tag: string, repo = 'held'): TaskTarget =>
      ({
        from: { source: 'acr-hangzhou', kind: 'acr', namespace: 'team', repository: repo, tag, instanceId: 'cri-localsrc001', region: 'cn-hangzhou' },
        to: { provider: 'acr', instanceId: 'cri-localdst001', region: 'cn-shanghai', namespace: 'team', repo, tag, override: false },
      }) as TaskTarget;
    const acr = connected('acr');
    expect(await acr.targetDigest!(target('v1'), ctx())).toBe(digest);
    expect(await acr.targetDigest!(target('v2'), ctx())).toBeNull();
    expect(await acr.targetDigest!(target('v1', 'not-there'), ctx())).toBeNull();
  });
});

describe('SWR inventory', () => {
  const source = { kind: 'swr', name: 'swr-beijing', region: 'cn-north-4', namespaces: ['team', 'other-org'] };

  it('lists the configured organizations’ repositories page by page, and their tags with digests', async () => {
    const huawei = stack.cloud.services.huawei;
    const pushed: Record<string, string> = {};
    for (const repo of ['s-a', 's-b', 's-c']) pushed[repo] = huawei.pushImage({ region: 'cn-north-4', namespace: 'team', repo, tag: 'v1' }).digest;
    huawei.pushImage({ region: 'cn-north-4', namespace: 'other-org', repo: 's-z', tag: 'v1' });
    huawei.pushImage({ region: 'cn-north-4', namespace: 'unlisted', repo: 's-y', tag: 'v1' });
    const inv = providerNamed('swr')!.connect({ config: stack.config, clock: stack.clock, env: stack.env }).inventory!;
    const { repos, pages } = await allRepositories(inv, source, 2);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(names(repos)).toEqual(expect.arrayContaining(['team/s-a', 'team/s-b', 'team/s-c', 'other-org/s-z']));
    expect(names(repos)).not.toContain('unlisted/s-y');

    for (let i = 0; i < 120; i++) huawei.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 's-a', tag: `t${i}` });
    const tags = await inv.tags(source, { namespace: 'team', repository: 's-a' }, ctx());
    expect(tags).toHaveLength(121);
    expect(tags.find((t) => t.tag === 'v1')?.digest).toBe(pushed['s-a']);
    expect(await inv.tags(source, { namespace: 'team', repository: 'nothing-here' }, ctx())).toEqual([]);
  });

  it('targetDigest reads the remote region’s tag, null when absent', async () => {
    const { digest } = stack.cloud.services.huawei.pushImage({ region: 'cn-east-3', namespace: 'team', repo: 'held', tag: 'v1' });
    const target = (tag: string): TaskTarget =>
      ({
        from: { source: 'swr-beijing', kind: 'swr', namespace: 'team', repository: 'held', tag, region: 'cn-north-4' },
        to: { provider: 'swr', region: 'cn-north-4', namespace: 'team', repo: 'held', tag, remoteRegion: 'cn-east-3', remoteNamespace: 'team', override: false },
      }) as TaskTarget;
    const swr = connected('swr');
    expect(await swr.targetDigest!(target('v1'), ctx())).toBe(digest);
    expect(await swr.targetDigest!(target('v9'), ctx())).toBeNull();
  });
});
