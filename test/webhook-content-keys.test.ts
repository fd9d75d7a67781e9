// Pushes that name no digest are keyed by content: the digest is resolved at the source (here SWR's
// tag listing), else the sender's event id is the key. A resent push never copies twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startWebhook, type WebhookHarness } from './webhook-harness.ts';

let h: WebhookHarness;

/** A Docker Hub push of team/app:<tag>, announced for the SWR source; no digest, `pushed_at` as given. */
function hubPush(tag: string, o: { pushedAt?: unknown; callback?: string | null } = {}) {
  const b = JSON.parse(fixture('dockerhub.json'));
  b.push_data.tag = tag;
  if ('pushedAt' in o) {
    if (o.pushedAt === undefined) delete b.push_data.pushed_at;
    else b.push_data.pushed_at = o.pushedAt;
  }
  if (o.callback === null) delete b.callback_url;
  else if (o.callback) b.callback_url = o.callback;
  return b;
}

/** An EventBridge `cr:Artifact:PushCompleted` CloudEvent for team/app:<tag>, without digest or time. */
const pushCompleted = (id: string, tag: string) => ({
  specversion: '1.0',
  id,
  source: 'acs:cr',
  type: 'cr:Artifact:PushCompleted',
  data: { InstanceId: 'cri-localsrc001', RepoNamespaceName: 'team', RepoName: 'app', Tag: tag, RegionId: 'cn-hangzhou' },
});

describe('digest-less pushes are keyed by content', () => {
  beforeAll(async () => {
    h = await startWebhook();
  });
  afterAll(() => h?.close());

  it('the same Docker Hub push delivered 20 times, without or with bad times: one task per target, one sync job', async () => {
    const pushed = h.stack.cloud.services.huawei.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 'app', tag: 'v9.0.1' });
    const variants = [undefined, 'not-a-time', '', 'yesterday'];
    const answers = [];
    for (let i = 0; i < 20; i++) {
      answers.push(await h.post('dockerhub', hubPush('v9.0.1', { pushedAt: variants[i % variants.length], callback: null }), { query: { source: 'swr-beijing' } }));
    }
    for (const a of answers) expect(a.status).toBe(202);
    expect(answers.reduce((n, a) => n + a.body.created, 0)).toBe(1);
    expect(new Set(answers.map((a) => a.body.replicationId)).size).toBe(1);
    const rep = (await h.stack.ledger.getReplication(answers[0]!.body.replicationId))!;
    expect(rep.replication.digest).toBe(pushed.digest);
    expect(rep.tasks).toHaveLength(1);
  });

  it('a tag the source does not list is keyed by the sender’s event id: redeliveries of one event are one replication', async () => {
    const callback = 'https://registry.hub.docker.com/u/team/app/hook/aaaabbbbccccdddd/';
    const first = await h.post('dockerhub', hubPush('v9.0.2', { pushedAt: undefined, callback }), { query: { source: 'swr-beijing' } });
    const again = await h.post('dockerhub', hubPush('v9.0.2', { pushedAt: undefined, callback }), { query: { source: 'swr-beijing' } });
    expect(first.status).toBe(202);
    expect(again.body.replicationId).toBe(first.body.replicationId);
    expect(again.body.created).toBe(0);
    // Another event (another callback) of the same tag is another push.
    const other = await h.post('dockerhub', hubPush('v9.0.2', { pushedAt: undefined, callback: `${callback}x/` }), { query: { source: 'swr-beijing' } });
    expect(other.body.replicationId).not.toBe(first.body.replicationId);
  });

  it('an ACR push without digest (EventBridge, Docker Hub mirrored into ACR) gets the digest from GetRepoTag', async () => {
    const pushed = await h.stack.cloud.acr.push({ instanceId: 'cri-localsrc001', namespace: 'team', repo: 'app', tag: 'v9.0.4' });
    const event = (id: string) => pushCompleted(id, 'v9.0.4');
    // Two different event ids for one push (a sender that re-sends with a new id): one replication by digest.
    const a = await h.post('cloudevents', event('evt-a'), { headers: { 'content-type': 'application/cloudevents+json' } });
    const b = await h.post('cloudevents', event('evt-b'), { headers: { 'content-type': 'application/cloudevents+json' } });
    expect(a.status).toBe(202);
    expect(b.body.replicationId).toBe(a.body.replicationId);
    expect((await h.stack.ledger.getReplication(a.body.replicationId))!.replication.digest).toBe(pushed.digest);
  });

  it('a lookup that fails (not "no such tag") asks the sender to retry: 503 with Retry-After, nothing recorded', async () => {
    h.stack.cloud.services.huawei.pushImage({ region: 'cn-north-4', namespace: 'team', repo: 'app', tag: 'v9.0.5' });
    h.stack.cloud.faults.add({ op: 'swr:tags', error: { status: 500, code: 'SVCSTG.SWR.5000001', message: 'internal error' } });
    const r = await h.post('dockerhub', hubPush('v9.0.5', { pushedAt: undefined, callback: null }), { query: { source: 'swr-beijing' } });
    expect(r.status).toBe(503);
    expect(r.body.error).toMatchObject({ code: 'Unavailable', field: 'digest' });
    h.stack.cloud.faults.clear();
    const again = await h.post('dockerhub', hubPush('v9.0.5', { pushedAt: undefined, callback: null }), { query: { source: 'swr-beijing' } });
    expect(again.status).toBe(202);
    expect(again.body.created).toBe(1);
  });

  it('CloudEvents without time are keyed by source + id', async () => {
    const event = (id: string) => pushCompleted(id, 'v9.0.3');
    const a = await h.post('cloudevents', event('evt-1'), { headers: { 'content-type': 'application/cloudevents+json' } });
    const b = await h.post('cloudevents', event('evt-1'), { headers: { 'content-type': 'application/cloudevents+json' } });
    expect(a.status).toBe(202);
    expect(b.body.replicationId).toBe(a.body.replicationId);
    expect(b.body.created).toBe(0);
  });
});
