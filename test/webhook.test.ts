import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger, setLogSink } from '../shared/log.ts';
import { serveNode } from '../shared/runtime/node-http.ts';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { fixture, ledgerCounts, startWebhook, withRegistries, type WebhookHarness } from './webhook-harness.ts';

const SRC = { instanceId: 'cri-localsrc001', namespace: 'team' };

/** One stack for the file (PGlite start-up is the slow part); tests use distinct images. */
let h: WebhookHarness;
beforeAll(async () => {
  h = await startWebhook({
    env: { OLD_TOKEN: 'old-token-abcdef', SCOPED_TOKEN: 'scoped-token-abcdef' },
    config: (b) => {
      const c = withRegistries(b) as any;
      c.sources.push({ kind: 'acr', name: 'acr-sh', instanceId: 'cri-localsrc002', region: 'cn-shanghai' });
      c.sources.push({ kind: 'acr', name: 'acr-sh-2', instanceId: 'cri-localsrc003', region: 'cn-shanghai' });
      c.sources.push({ kind: 'harbor', name: 'harbor-plain', host: 'plain.example.com' });
      c.auth.webhookTokens = ['${FERRY_WEBHOOK_TOKEN}', '${OLD_TOKEN}', { token: '${SCOPED_TOKEN}', sources: ['hub'] }];
      c.rules.push({ name: 'bad-only', source: 'acr-hangzhou', tags: { include: ['x*'] }, targets: [{ provider: 'acr', instanceId: 'cri-localdst001', region: 'cn-shanghai', tag: '.{tag}' }] });
      c.rules.push({
        name: 'bad-name',
        source: 'acr-hangzhou',
        tags: { include: ['w*'] },
        targets: [
          { provider: 'acr', instanceId: 'cri-localdst001', region: 'cn-shanghai', repo: '{repo}--X' },
          { provider: 'acr', instanceId: 'cri-localdst002', region: 'cn-beijing' },
        ],
      });
      return c;
    },
  });
});
afterAll(() => h?.close());

describe('one realistic sample per kind, end to end', () => {
  beforeAll(async () => {
    for (const [repo, tag] of [
      ['app', 'v1.2.3'],
      ['app', 'v1.2'],
      ['app', 'v1.4.0'],
      ['tools/cli', 'v3.1.0'],
    ] as const) {
      await h.stack.cloud.acr.push({ ...SRC, repo, tag });
    }
    h.stack.cloud.services.huawei.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 'app', tag: 'v2.0.0' });
  });

  async function expectSubmitted(replicationId: string, n: number) {
    const rep = await h.stack.ledger.getReplication(replicationId);
    expect(rep!.tasks).toHaveLength(n);
    for (const t of rep!.tasks) expect(t.state).toBe('submitted');
    return rep!;
  }

  test('ACR trigger (zone-less pushed_at, token in the query): 202, two sync tasks at the cloud', async () => {
    const r = await h.post('acr', fixture('acr-trigger.json'), { token: null, query: { token: 'test-webhook-token-0123456789' } });
    expect(r.status).toBe(202);
    expect(r.body.matched).toBe(2);
    expect(r.body.created).toBe(2);
    expect(r.body.targets).toBeUndefined();
    const targets = r.body.replications[0].targets;
    expect(targets.map((t: any) => t.state)).toEqual(['submitted', 'submitted']);
    expect(targets.map((t: any) => t.target.instanceId).sort()).toEqual(['cri-localdst001', 'cri-localdst002']);
    for (const t of targets) expect(t.cloudRef).toMatch(/^rst-/);
    const rep = await expectSubmitted(r.body.replicationId, 2);
    // "2016-11-29 12:25:46" carries no zone: ACR means China Standard Time.
    expect(rep.replication.pushedAt).toBe('2016-11-29T04:25:46.000Z');
    expect(rep.replication.source).toBe('acr-hangzhou');
    const cloudTasks = h.stack.cloud.acr.tasks({ instanceId: 'cri-localsrc001' }).filter((t: any) => t.imageFrom?.imageTag === 'v1.2.3' || true);
    expect(h.stack.cloud.acr.createCallCount({ tag: 'v1.2.3' } as any)).toBe(2);
    expect(cloudTasks.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(r.body)).not.toContain('test-webhook-token');
  });

  test('EventBridge CloudEvent (binary mode) for the same instance is the same configured source', async () => {
    const ev = JSON.parse(fixture('eventbridge-acr.json'));
    const r = await h.post('cloudevents', ev.data, {
      headers: { 'ce-specversion': '1.0', 'ce-id': ev.id, 'ce-source': 'acs.cr', 'ce-type': ev.type, 'ce-time': ev.time },
    });
    expect(r.status).toBe(202);
    const rep = await expectSubmitted(r.body.replicationId, 2);
    expect(rep.replication).toMatchObject({ sourceKind: 'acr', source: 'acr-hangzhou', tag: 'v1.4.0' });
    expect(rep.replication.details).toMatchObject({ format: 'eventbridge-acr' });
  });

  test('EventBridge in structured mode, re-delivered: duplicates, no second cloud task', async () => {
    const r = await h.post('cloudevents', fixture('eventbridge-acr.json'), { headers: { 'content-type': 'application/cloudevents+json' } });
    expect(r.status).toBe(202);
    expect(r.body.created).toBe(0);
    expect(r.body.duplicates).toBe(2);
    for (const t of r.body.replications[0].targets) expect(t).toMatchObject({ duplicate: true, state: 'submitted' });
    expect(h.stack.cloud.acr.createCallCount({ tag: 'v1.4.0' } as any)).toBe(2);
  });

  test('Harbor with several resources: one replication per resource, mirrored into the ACR source', async () => {
    const r = await h.post('harbor', fixture('harbor-push.json'));
    expect(r.status).toBe(202);
    expect(r.body.replications).toHaveLength(2);
    expect(r.body.replications.map((x: any) => x.image.tag)).toEqual(['v1.2.3', 'v1.2']);
    for (const rep of r.body.replications) {
      expect(rep.targets.map((t: any) => t.state)).toEqual(['submitted', 'submitted']);
      const row = await h.stack.ledger.getReplication(rep.replicationId);
      expect(row!.replication.details).toMatchObject({ format: 'harbor', announcedBy: 'harbor-main' });
    }
    expect(h.stack.cloud.acr.createCallCount({ tag: 'v1.2' } as any)).toBe(2);
  });

  test('distribution envelope mixing a layer, a manifest and a pull: only the manifest push replicates', async () => {
    const r = await h.post('distribution', fixture('distribution-mixed.json'), { headers: { 'content-type': 'application/vnd.docker.distribution.events.v2+json' } });
    expect(r.status).toBe(202);
    expect(r.body.ignored).toHaveLength(2);
    expect(r.body.replications).toHaveLength(1);
    expect(r.body.replications[0].image).toMatchObject({ namespace: 'team', repository: 'tools/cli', tag: 'v3.1.0' });
    await expectSubmitted(r.body.replicationId, 2);
  });

  test('Docker Hub without digest: the digest is resolved at the source (GetRepoTag on the mirror), submitted', async () => {
    const r = await h.post('dockerhub', fixture('dockerhub.json'));
    expect(r.status).toBe(202);
    const rep = await expectSubmitted(r.body.replicationId, 2);
    expect(rep.replication.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(rep.replication.details).toMatchObject({ digestResolved: true });
    expect(rep.replication.pushedAt).toBe(new Date(1417566161 * 1000).toISOString());
  });

  test('Harbor CloudEvent (structured) for an SWR source (?source=): sync_images to the remote region', async () => {
    const r = await h.post('cloudevents', fixture('harbor-cloudevent.json'), { headers: { 'content-type': 'application/cloudevents+json' }, query: { source: 'swr-beijing' } });
    expect(r.status).toBe(202);
    expect(r.body.replications[0].targets).toHaveLength(1);
    const t = r.body.replications[0].targets[0];
    expect(t.state).toBe('submitted');
    expect(t.target).toMatchObject({ provider: 'swr', remoteRegion: 'cn-east-3', remoteNamespace: 'team' });
    expect(h.stack.cloud.services.huawei.syncJobs({ tag: 'v2.0.0' } as any).length).toBe(1);
  });

  test('non-push events are ignored with the reason; nothing recorded', async () => {
    const before = await ledgerCounts(h.stack);
    const r = await h.post('harbor', fixture('harbor-pull.json'));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ matched: 0, ignored: ['event type PULL_ARTIFACT is not a push'] });
    expect(await ledgerCounts(h.stack)).toEqual(before);
  });

  test('a push no rule matches: 200 matched 0 with the reasons', async () => {
    const body = JSON.parse(fixture('acr-trigger.json'));
    body.push_data.tag = 'v9-rc1';
    const r = await h.post('acr', body);
    expect(r.status).toBe(200);
    expect(r.body.matched).toBe(0);
    expect(r.body.reason).toContain('excluded by "*-rc*"');
  });
});

describe('auth, limits and client mistakes', () => {
  beforeAll(async () => {
    await h.stack.cloud.acr.push({ ...SRC, repo: 'app', tag: 'v6.0.0' });
  });

  const acrBody = (tag = 'v6.0.0') => {
    const b = JSON.parse(fixture('acr-trigger.json'));
    b.push_data.tag = tag;
    return b;
  };

  test.each([
    ['missing', { token: null }],
    ['wrong', { token: 'not-the-token' }],
    ['wrong in the query', { token: null, query: { token: 'nope' } }],
    ['not Bearer', { token: null, headers: { authorization: 'Basic dGVzdA==' } }],
    ['scoped to another source', { token: 'scoped-token-abcdef' }],
  ] as const)('%s token → 401, nothing recorded, no cloud call', async (_n, opts) => {
    const calls = h.stack.cloud.acr.createCalls.length;
    const before = await ledgerCounts(h.stack);
    const r = await h.post('acr', acrBody(), opts as any);
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({ status: 401, code: 'Unauthorized' });
    expect(JSON.stringify(r.body)).not.toMatch(/scoped-token|not-the-token|nope/);
    expect(await ledgerCounts(h.stack)).toEqual(before);
    expect(h.stack.cloud.acr.createCalls.length).toBe(calls);
  });

  test('ambiguous ACR region → 422 naming the candidates; an unknown region → 422', async () => {
    const body = acrBody();
    body.repository.region = 'cn-shanghai';
    const r = await h.post('acr', body);
    expect(r.status).toBe(422);
    expect(r.body.error.field).toBe('instance');
    expect(r.body.error.message).toContain('acr-sh (cri-localsrc002, cn-shanghai)');
    expect(r.body.error.message).toContain('acr-sh-2 (cri-localsrc003, cn-shanghai)');
    body.repository.region = 'cn-qingdao';
    const none = await h.post('acr', body);
    expect(none.status).toBe(422);
    expect(none.body.error.message).toContain('no ACR source is configured in region cn-qingdao');
    const wrongInstance = await h.post('acr', acrBody(), { query: { instance: 'cri-localsrc002' } });
    expect(wrongInstance.status).toBe(422);
    expect(wrongInstance.body.error.field).toBe('repository.region');
  });

  test('rotated (old) token and ?instance= are accepted', async () => {
    const r = await h.post('acr', acrBody('v6.0.1'), { token: 'old-token-abcdef', query: { instance: 'cri-localsrc001' } });
    expect(r.status).toBe(202);
    expect(r.body.created).toBe(2);
  });

  test('a scoped token is accepted for its own source; a registry without mirrorOf matches rules as itself', async () => {
    const hubBody = JSON.parse(fixture('dockerhub.json'));
    hubBody.push_data.tag = 'v6.0.0';
    const hub = await h.post('dockerhub', hubBody, { token: 'scoped-token-abcdef' });
    expect(hub.status).toBe(202);
    expect(hub.body.replications[0].targets.map((t: any) => t.state)).toEqual(['submitted', 'submitted']);
    const body = JSON.parse(fixture('harbor-push.json'));
    for (const r of body.event_data.resources) r.resource_url = r.resource_url.replace('harbor.example.com', 'plain.example.com');
    const plain = await h.post('harbor', body);
    expect(plain.status).toBe(200);
    expect(plain.body.matched).toBe(0);
    expect(plain.body.reason).toContain('no rule matches harbor-plain/team/app:v1.2.3 (releases: source "harbor-plain" does not match "acr-hangzhou"');
  });

  test('body over the limit → 413 (Content-Length and streamed)', async () => {
    const big = 'x'.repeat(1024 * 1024 + 1);
    const r = await h.post('acr', big);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('PayloadTooLarge');
    // No Content-Length: a streamed body is counted as it arrives.
    const url = new URL('/webhooks/acr', h.server.url);
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 17; i++) c.enqueue(new Uint8Array(64 * 1024));
        c.close();
      },
    });
    const res = await fetch(url, { method: 'POST', body: stream, duplex: 'half', headers: { authorization: 'Bearer test-webhook-token-0123456789', 'content-type': 'application/json' } } as any);
    expect(res.status).toBe(413);
  });

  test('415, 400, 404, 405, 422', async () => {
    expect((await h.post('acr', acrBody(), { headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    const bad = await h.post('acr', '{"push_data":');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('InvalidBody');
    const unknown = await h.post('gitlab', acrBody());
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('acr, harbor, distribution, dockerhub, cloudevents');
    expect((await h.post('acr', '', { method: 'GET' })).status).toBe(405);
    const missing = await h.post('acr', { push_data: { tag: 'v1' }, repository: { name: 'app', namespace: 'team' } });
    expect(missing.status).toBe(422);
    expect(missing.body.error.field).toBe('push_data.pushed_at');
  });

  test('an invalid rendered name is a per-target error in the response and the ledger; the other target proceeds', async () => {
    await h.stack.cloud.acr.push({ ...SRC, repo: 'app', tag: 'w5' });
    const body = acrBody();
    body.push_data.tag = 'w5';
    const r = await h.post('acr', body, { query: { instance: 'cri-localsrc001' } });
    expect(r.status).toBe(202);
    const targets = r.body.replications[0].targets;
    expect(targets.find((t: any) => t.taskId)).toMatchObject({ state: 'submitted', target: { instanceId: 'cri-localdst002' } });
    const invalid = targets.find((t: any) => t.error?.code === 'InvalidTargetName');
    expect(invalid).toMatchObject({ rule: 'bad-name', state: 'failed', error: { field: 'rules.bad-name.targets[0].repo' } });
    expect(invalid.error.message).toContain('app--X');
    const rep = await h.stack.ledger.getReplication(r.body.replicationId);
    expect(rep!.tasks).toHaveLength(1);
    expect((rep!.replication.details as any).targetErrors[0]).toMatchObject({ rule: 'bad-name', field: 'targets[0].repo' });
  });

  test('one structured line per delivery, accepted or refused, never the token', async () => {
    const lines: string[] = [];
    const prev = setLogSink((l) => lines.push(l));
    const server = await serveNode(createWebhookApp({ ...h.stack.deps, log: createLogger({}, 'info') }));
    try {
      await h.stack.cloud.acr.push({ ...SRC, repo: 'app', tag: 'v7.0.0' });
      const body = acrBody();
      body.push_data.tag = 'v7.0.0';
      const ok = await fetch(`${server.url}/webhooks/acr?instance=cri-localsrc001&token=test-webhook-token-0123456789`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(ok.status).toBe(202);
      const refused = await fetch(`${server.url}/webhooks/acr?token=wrong-token-value`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(refused.status).toBe(401);
    } finally {
      setLogSink(prev);
      await server.close();
    }
    const deliveries = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'webhook delivery' || l.msg === 'webhook refused');
    expect(deliveries).toHaveLength(2);
    expect(deliveries[0]).toMatchObject({ msg: 'webhook delivery', kind: 'acr', sources: ['acr-hangzhou'], matched: 2, created: 2, duplicates: 0 });
    expect(typeof deliveries[0].durationMs).toBe('number');
    expect(deliveries[1]).toMatchObject({ msg: 'webhook refused', kind: 'acr', status: 401, code: 'Unauthorized' });
    expect(lines.join('\n')).not.toMatch(/test-webhook-token-0123456789|wrong-token-value/);
  });

  test('a push whose only target renders invalid: recorded with the error, no task, no cloud call', async () => {
    const calls = h.stack.cloud.acr.createCalls.length;
    const r = await h.post('acr', acrBody('x1'), { query: { instance: 'cri-localsrc001' } });
    expect(r.status).toBe(202);
    expect(r.body.created).toBe(0);
    expect(r.body.replications[0].targets).toEqual([
      { rule: 'bad-only', state: 'failed', error: { code: 'InvalidTargetName', field: 'rules.bad-only.targets[0].tag', message: expect.stringContaining('".x1"') } },
    ]);
    const rep = await h.stack.ledger.getReplication(r.body.replicationId);
    expect(rep!.tasks).toHaveLength(0);
    expect((rep!.replication.details as any).targetErrors).toHaveLength(1);
    expect(h.stack.cloud.acr.createCalls.length).toBe(calls);
  });
});

describe('the server under a slow client', () => {
  test('a refusal given before the body was read closes the connection at once: a dripped body is not read to its end', async () => {
    {
      const socket = connect(h.server.port, '127.0.0.1');
      await new Promise<void>((r) => socket.once('connect', () => r()));
      socket.write('POST /webhooks/acr HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 104857600\r\n\r\n');
      let answer = '';
      socket.on('data', (d) => (answer += d.toString()));
      const drip = setInterval(() => socket.writable && socket.write('x'.repeat(1024)), 20);
      const started = Date.now();
      await new Promise<void>((r) => socket.once('close', () => r()));
      clearInterval(drip);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(answer).toMatch(/^HTTP\/1\.1 401/);
      expect(answer.toLowerCase()).toContain('connection: close');
    }
  });
});
