/**
 * `POST /plan` and `ferry plan` over real HTTP against the local cloud: matches and non-matches with
 * reasons, rendered names, naming errors, targets already holding the image, what the ledger has —
 * and nothing created (ledger rows and cloud create calls counted).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../shared/cli/main.ts';
import { startApiStack, type ApiStack } from './api-helpers.ts';
import { ledgerCounts } from './webhook-harness.ts';
import { TEST_TOKENS } from './helpers/stack.ts';

let s: ApiStack;

beforeAll(async () => {
  s = await startApiStack({
    config: (c) => ({
      ...c,
      sources: [...(c.sources as object[]), { kind: 'distribution', name: 'lan', url: 'http://127.0.0.1:5999', mirrorOf: 'acr-hangzhou' }],
      rules: [
        ...(c.rules as object[]),
        // Renders "Mirror-team": ACR namespaces are lowercase.
        { name: 'bad-names', source: 'acr-hangzhou', namespace: 'team', targets: [{ provider: 'acr', instanceId: 'cri-localdst002', region: 'cn-beijing', namespace: 'Mirror-{namespace}' }] },
      ],
    }),
  });
});
afterAll(async () => {
  await s?.close();
});

const plan = (body: unknown, token?: string) => s.call('POST', '/plan', { body, ...(token ? { token } : {}) });

async function nothingCreated<T>(run: () => Promise<T>): Promise<T> {
  const rows = await ledgerCounts(s);
  const calls = s.cloud.acr.createCalls.length;
  const out = await run();
  expect(await ledgerCounts(s)).toEqual(rows);
  expect(s.cloud.acr.createCalls.length).toBe(calls);
  return out;
}

describe('POST /plan', () => {
  it('reports matches, non-matches with reasons, rendered names, naming errors and targets already holding the image; creates nothing', async () => {
    const { digest } = await s.cloud.acr.push({ instanceId: 'cri-localsrc001', namespace: 'team', repo: 'app', tag: 'v7.0.0' });
    // cri-localdst001 already holds the image at the same digest; cri-localdst002 holds another.
    await s.cloud.acr.push({ instanceId: 'cri-localdst001', namespace: 'team', repo: 'app', tag: 'v7.0.0', digest });
    await s.cloud.acr.push({ instanceId: 'cri-localdst002', namespace: 'team', repo: 'app', tag: 'v7.0.0' });

    const r = await nothingCreated(() => plan({ source: 'acr-hangzhou', namespace: 'team', repository: 'app', tag: 'v7.0.0' }, TEST_TOKENS.read));
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const p = r.body;
    expect(p.digest).toEqual({ value: digest, from: 'source' });
    const rule = (name: string) => p.rules.find((x: any) => x.rule === name);
    expect(rule('swr-north-to-east')).toMatchObject({ matched: false, reason: expect.stringMatching(/source "acr-hangzhou" does not match "swr-beijing"/) });
    const releases = rule('releases');
    expect(releases.matched).toBe(true);
    expect(releases.targets.map((t: any) => [t.target.instanceId, t.target.namespace, t.target.repo, t.target.tag])).toEqual([
      ['cri-localdst001', 'team', 'app', 'v7.0.0'],
      ['cri-localdst002', 'team', 'app', 'v7.0.0'],
    ]);
    expect(releases.targets[0]).toMatchObject({ atTarget: { state: 'present', digest }, action: 'skip' });
    expect(releases.targets[1]).toMatchObject({ atTarget: { state: 'different' }, action: 'create' });
    expect(rule('bad-names').targets[0]).toMatchObject({ action: 'refused', error: { field: 'rules.bad-names.targets[0].namespace', reason: expect.stringMatching(/Mirror-team/) } });
    expect(p).toMatchObject({ wouldCreate: 1, wouldReopen: 0 });
  });

  it('an excluded tag matches nothing, with each rule saying why', async () => {
    const r = await nothingCreated(() => plan({ source: 'acr-hangzhou', namespace: 'team', repository: 'app', tag: 'v1.0.0-rc1', digest: `sha256:${'a'.repeat(64)}` }));
    expect(r.status).toBe(200);
    expect(r.body.rules.find((x: any) => x.rule === 'releases')).toMatchObject({ matched: false, reason: 'tag "v1.0.0-rc1" is excluded by "*-rc*"' });
    // bad-names has no tag filter: it matches, and its target is refused, not created.
    expect(r.body).toMatchObject({ wouldCreate: 0, digest: { from: 'given' } });
  });

  it("a cloud error reading one target is that target's, not fatal; a tag the source lacks leaves the digest unknown", async () => {
    await s.cloud.acr.push({ instanceId: 'cri-localsrc001', namespace: 'team', repo: 'app', tag: 'v7.1.0' });
    s.cloud.faults.add({ op: 'acr:GetRepoTag', scope: 'cri-localdst001', error: { status: 403, code: 'NoPrivilege' } });
    const r = await plan({ source: 'acr-hangzhou', namespace: 'team', repository: 'app', tag: 'v7.1.0' });
    s.cloud.faults.clear();
    expect(r.status).toBe(200);
    const [dst1, dst2] = r.body.rules.find((x: any) => x.rule === 'releases').targets;
    expect(dst1).toMatchObject({ atTarget: { state: 'error', error: { code: 'NoPrivilege' } }, action: 'create' });
    expect(dst2).toMatchObject({ atTarget: { state: 'absent' }, action: 'create' });
    const missing = await plan({ source: 'acr-hangzhou', namespace: 'team', repository: 'app', tag: 'v9.9.9' });
    expect(missing.body.digest).toEqual({ value: null, from: null });
    expect(missing.body.rules.find((x: any) => x.rule === 'releases').targets[0].atTarget).toMatchObject({ state: 'unknown' });
  });

  it('an image reference of a configured registry resolves to its source (and the source it mirrors); the ledger task is reported', async () => {
    const { digest } = await s.cloud.acr.push({ instanceId: 'cri-localsrc001', namespace: 'team', repo: 'app', tag: 'v7.2.0' });
    const r = await plan({ image: `127.0.0.1:5999/team/app:v7.2.0@${digest}` });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ image: { source: 'lan', namespace: 'team', repository: 'app', tag: 'v7.2.0' }, matchedAs: 'acr-hangzhou', digest: { value: digest, from: 'given' } });
  });

  it('bad input → 400 naming the field', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ source: 'nowhere', namespace: 'team', repository: 'app', tag: 'v1' }, 'body.source', /no source "nowhere" is configured/],
      [{ source: 'acr-hangzhou', namespace: 'team', tag: 'v1' }, 'body.repository', /required/],
      [{ source: 'acr-hangzhou', namespace: 'team', repository: 'app' }, 'body.tag', /tag or digest/],
      [{ source: 'acr-hangzhou', namespace: 'team', repository: 'app', digest: 'sha256:xyz' }, 'body.digest', /64/],
      [{ image: 'registry.example.org/team/app:v1' }, 'body.image', /no configured source has the registry registry\.example\.org/],
      [{ image: '127.0.0.1:5999/team/app' }, 'body.image', /neither a tag nor a digest/],
      [{ image: '127.0.0.1:5999/team/app:v1', tag: 'v2' }, 'body.tag', /either image/],
      [{ source: 'acr-hangzhou', namespace: 'team', repository: 'App', tag: 'v1' }, 'body.repository', /./],
    ];
    for (const [body, field, message] of cases) {
      const r = await nothingCreated(() => plan(body));
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.field, JSON.stringify(r.body)).toBe(field);
      expect(r.body.error.message).toMatch(message);
    }
  });
});

describe('ferry plan', () => {
  async function ferry(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main([...args, '--url', s.api.url], { env: { FERRY_API_TOKEN: TEST_TOKENS.read }, io: { out: (l) => out.push(l), err: (l) => err.push(l) } });
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  }

  it('prints every rule and target with what a push would do, with a read token; creates nothing', async () => {
    await s.cloud.acr.push({ instanceId: 'cri-localsrc001', namespace: 'team', repo: 'app', tag: 'v7.3.0' });
    const r = await nothingCreated(() => ferry(['plan', '--source', 'acr-hangzhou', 'team/app:v7.3.0']));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^RULE\s+TARGET\s+ACTION\s+AT TARGET\s+NOTE$/m);
    expect(r.stdout).toMatch(/releases\s+acr:cri-localdst001:cn-shanghai:team\/app:v7\.3\.0\s+create\s+absent/);
    expect(r.stdout).toMatch(/swr-north-to-east\s+-\s+no match/);
    expect(r.stdout).toMatch(/Nothing was created\./);
    const json = await ferry(['plan', '127.0.0.1:5999/team/app:v7.3.0', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).matchedAs).toBe('acr-hangzhou');
    const bad = await ferry(['plan', 'nowhere.example/team/app:v1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/field: body\.image/);
    expect((await ferry(['plan'])).code).toBe(2);
  });
});
