// The copy provider's inventory (a real docker-registry's `_catalog` with Link paging; a registry that
// refuses its catalog listed by the rules' literal repositories), its target digest, and the
// verification of a copy whose target tag changed after the copy wrote it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { literalRepositories } from '../shared/rules/literal.ts';
import type { InventorySource, SourceRepository } from '../shared/providers/types.ts';
import { runSweep } from '../shared/sweep/run.ts';
import { type FaultProxy, pushNewImage, type Registry, skopeoDigest, startFaultProxy, startRegistry } from './helpers/registry/index.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';
import { recordPush, stateOf } from './sweep-helpers.ts';

const USER = { username: 'ferry', password: 'ferry-registry-pw' };
let a: Registry;
let locked: Registry;
let b: Registry;
let proxyB: FaultProxy;
let stack: TestStack;
const pushed: Record<string, string> = {};

beforeAll(async () => {
  // One after another: each takes a port found free just before.
  a = await startRegistry();
  locked = await startRegistry({ token: { users: { [USER.username]: USER.password } } });
  b = await startRegistry();
  proxyB = await startFaultProxy(b.url);
  for (const ref of ['team/app:v1', 'team/app:v2', 'team/lib:v1', 'other/tool:v1']) {
    await pushNewImage(`${a.host}/${ref}`, { layers: [500] });
    pushed[ref] = await skopeoDigest(`${a.host}/${ref}`);
  }
  await pushNewImage(`${locked.host}/team/app:v1`, { layers: [300] }, USER);
  stack = await startTestStack({
    config: (c) => ({
      ...c,
      sources: [
        ...(c.sources as object[]),
        { kind: 'distribution', name: 'reg-a', url: a.url },
        { kind: 'harbor', name: 'reg-locked', url: locked.url, username: USER.username, password: '${LOCKED_REGISTRY_PASSWORD}' },
        { kind: 'distribution', name: 'reg-b', url: proxyB.url },
      ],
      rules: [
        {
          name: 'a-to-b',
          source: 'reg-a',
          targets: [{ provider: 'copy', registry: 'reg-b', namespace: 'mirror' }],
          policy: { maxAttempts: 3, backoff: { initialSeconds: 1, maxSeconds: 1, multiplier: 1 } },
        },
        { name: 'locked-app', source: 'reg-locked', namespace: 'team', repository: 'app', targets: [{ provider: 'copy', registry: 'reg-b', namespace: 'from-locked' }] },
        { name: 'locked-any', source: 'reg-locked', namespace: 'team', repository: 'lib-*', targets: [{ provider: 'copy', registry: 'reg-b', namespace: 'from-locked' }] },
      ],
      sweep: { graceSeconds: 0, budgetMs: 15_000, batchSize: 50 },
    }),
    env: { LOCKED_REGISTRY_PASSWORD: USER.password },
  });
}, 120_000);

afterAll(async () => {
  await proxyB?.close();
  await Promise.all([a?.stop(), locked?.stop(), b?.stop()]);
  await stack?.close();
});

const ctx = () => ({ clock: stack.clock, log: stack.deps.log });
const copy = () => stack.deps.clouds.of('copy');
const names = (repos: SourceRepository[]) => repos.map((r) => `${r.namespace}/${r.repository}`).sort();

describe('registry inventory', () => {
  it('pages the catalog by its Link header and reads every tag’s digest', async () => {
    const inv = copy().inventory!;
    const source = { kind: 'distribution', name: 'reg-a' } as InventorySource;
    const repos: SourceRepository[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await inv.repositories(source, { cursor, limit: 1 }, ctx());
      expect(page.items.length).toBeLessThanOrEqual(1);
      repos.push(...page.items);
      cursor = page.cursor;
      pages++;
    } while (cursor !== null && pages < 20);
    expect(names(repos)).toEqual(['other/tool', 'team/app', 'team/lib']);
    expect(pages).toBeGreaterThanOrEqual(3);

    const tags = await inv.tags(source, { namespace: 'team', repository: 'app' }, ctx());
    expect(tags.map((t) => [t.tag, t.digest]).sort()).toEqual([
      ['v1', pushed['team/app:v1']],
      ['v2', pushed['team/app:v2']],
    ]);
    expect(await inv.tags(source, { namespace: 'team', repository: 'never' }, ctx())).toEqual([]);
  });

  it('a registry that refuses its catalog is listed by the repositories the rules name literally', async () => {
    const hint = literalRepositories(stack.config.rules, 'reg-locked');
    expect(hint).toEqual([{ namespace: 'team', repository: 'app' }]);
    const inv = copy().inventory!;
    const source = { kind: 'harbor', name: 'reg-locked' } as InventorySource;
    const page = await inv.repositories(source, { cursor: null, limit: 10, hint }, ctx());
    expect(page).toEqual({ items: [{ namespace: 'team', repository: 'app' }], cursor: null });
    const tags = await inv.tags(source, { namespace: 'team', repository: 'app' }, ctx());
    expect(tags).toEqual([{ tag: 'v1', digest: await skopeoDigest(`${locked.host}/team/app:v1`, USER) }]);
    // Docker Hub: never asked for a catalog.
    const hub = await inv.repositories({ kind: 'dockerhub', name: 'reg-a' }, { cursor: null, limit: 1, hint: [...hint, { namespace: 'x', repository: 'y' }] }, ctx());
    expect(hub).toEqual({ items: [{ namespace: 'team', repository: 'app' }], cursor: 'h:1' });
  });
});

describe('copy verification', () => {
  it('a target tag changed after the copy wrote it fails VERIFY_MISMATCH and is copied again; a 503 meanwhile defers it', async () => {
    const event = { sourceKind: 'distribution' as const, source: 'reg-a', namespace: 'team', repository: 'app', tag: 'v1', digest: pushed['team/app:v1'], pushedAt: new Date(stack.clock.now()) };
    const [id] = await recordPush(stack, event, 'reg-a', null);
    // Once the copy has written the tag, B answers the verification's HEAD with 503.
    let tagWritten = false;
    let outage = true;
    proxyB.fault = (req) => {
      if (req.method === 'PUT' && req.path.includes('/mirror/app/manifests/v1')) tagWritten = true;
      return outage && tagWritten && req.method === 'HEAD' && req.path.includes('/mirror/app/manifests/v1') ? { status: 503 } : null;
    };
    let sum = await runSweep(stack.deps);
    expect(tagWritten).toBe(true);
    expect(['submitted', 'running']).toContain((await stateOf(stack, id!)).state);
    expect(sum.events['verify.deferred']).toBe(1);
    expect(await copy().targetDigest!({ from: event, to: { provider: 'copy', registry: 'reg-a', namespace: 'team', repository: 'app', tag: 'v1' } } as never, ctx())).toBe(pushed['team/app:v1']);

    // Someone else pushes another image to the tag at B.
    await pushNewImage(`${b.host}/mirror/app:v1`, { layers: [77] });
    const other = await skopeoDigest(`${b.host}/mirror/app:v1`);
    outage = false;
    sum = await runSweep(stack.deps);
    const failed = await stateOf(stack, id!);
    expect(failed.state).toBe('pending');
    expect(failed.lastError?.code).toBe('VERIFY_MISMATCH');
    expect(failed.lastError?.message).toContain(other);
    expect(failed.lastError?.message).toContain(pushed['team/app:v1']);
    expect(sum.events['verify.mismatch']).toBe(1);

    stack.cloud.clock.advance(2_000);
    for (let i = 0; i < 3 && (await stateOf(stack, id!)).state !== 'succeeded'; i++) {
      await runSweep(stack.deps);
      stack.cloud.clock.advance(2_000);
    }
    expect((await stateOf(stack, id!)).state).toBe('succeeded');
    expect(await skopeoDigest(`${b.host}/mirror/app:v1`)).toBe(pushed['team/app:v1']);
    const missing = { from: event, to: { provider: 'copy', registry: 'reg-b', namespace: 'mirror', repository: 'app', tag: 'nope' } };
    expect(await copy().targetDigest!(missing as never, ctx())).toBeNull();
  });
});
