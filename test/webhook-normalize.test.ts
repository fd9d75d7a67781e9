import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeWebhook, parseAcrTime } from '../shared/webhook/normalize.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/webhooks/${name}`, import.meta.url), 'utf8');
const json = { 'content-type': 'application/json' };

describe('normalizeWebhook', () => {
  it('ACR trigger: zone-less pushed_at is read as China Standard Time', () => {
    const r = normalizeWebhook({ kind: 'acr', headers: json, body: fixture('acr-trigger.json') });
    expect(r).toMatchObject({ ok: true, pushes: [{ format: 'acr-trigger', namespace: 'team', repository: 'app', tag: 'v1.2.3', region: 'cn-hangzhou' }] });
    if (r.ok) expect(r.pushes[0]!.pushedAt.toISOString()).toBe('2016-11-29T04:25:46.000Z');
  });

  it('ACR trigger with an unreadable time names the field', () => {
    const body = JSON.parse(fixture('acr-trigger.json'));
    body.push_data.pushed_at = 'yesterday';
    expect(normalizeWebhook({ kind: 'acr', headers: json, body: JSON.stringify(body) })).toMatchObject({ ok: false, status: 422, field: 'push_data.pushed_at' });
  });

  it('Harbor: one push per resource', () => {
    const r = normalizeWebhook({ kind: 'harbor', headers: json, body: fixture('harbor-push.json') });
    expect(r.ok && r.pushes.map((p) => p.tag)).toEqual(['v1.2.3', 'v1.2']);
    expect(r.ok && r.pushes[0]).toMatchObject({ namespace: 'team', repository: 'app', host: 'harbor.example.com' });
    if (r.ok) expect(r.pushes[0]!.pushedAt.toISOString()).toBe('2023-03-28T10:40:00.000Z');
  });

  it('Harbor: a pull is ignored with the reason', () => {
    expect(normalizeWebhook({ kind: 'harbor', headers: json, body: fixture('harbor-pull.json') })).toEqual({ ok: true, pushes: [], ignored: ['event type PULL_ARTIFACT is not a push'] });
  });

  it('distribution: blobs and pulls are ignored, the manifest push is kept with a nested repository', () => {
    const r = normalizeWebhook({ kind: 'distribution', headers: { 'content-type': 'application/vnd.docker.distribution.events.v2+json' }, body: fixture('distribution-mixed.json') });
    expect(r.ok && r.pushes).toHaveLength(1);
    expect(r.ok && r.pushes[0]).toMatchObject({ namespace: 'team', repository: 'tools/cli', tag: 'v3.1.0', host: 'registry.example.com' });
    expect(r.ok && r.ignored).toHaveLength(2);
  });

  it('distribution: a push by digest has no tag', () => {
    const body = JSON.parse(fixture('distribution-mixed.json'));
    delete body.events[1].target.tag;
    const r = normalizeWebhook({ kind: 'distribution', headers: json, body: JSON.stringify(body) });
    expect(r.ok && r.pushes[0]!.tag).toBeUndefined();
    expect(r.ok && r.pushes[0]!.digest).toMatch(/^sha256:4{64}$/);
  });

  it('Docker Hub: no digest, epoch seconds', () => {
    const r = normalizeWebhook({ kind: 'dockerhub', headers: json, body: fixture('dockerhub.json') });
    expect(r.ok && r.pushes[0]).toMatchObject({ namespace: 'team', repository: 'app', tag: 'v1.2.3' });
    expect(r.ok && r.pushes[0]!.digest).toBeUndefined();
    if (r.ok) expect(r.pushes[0]!.pushedAt.toISOString()).toBe('2014-12-03T00:22:41.000Z');
  });

  it('CloudEvents structured: Harbor format', () => {
    const r = normalizeWebhook({ kind: 'cloudevents', headers: { 'content-type': 'application/cloudevents+json' }, body: fixture('harbor-cloudevent.json') });
    expect(r.ok && r.pushes[0]).toMatchObject({ format: 'harbor-cloudevents', tag: 'v2.0.0' });
  });

  it('CloudEvents structured: EventBridge cr:Artifact:PushCompleted names the instance', () => {
    const r = normalizeWebhook({ kind: 'cloudevents', headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' }, body: fixture('eventbridge-acr.json') });
    expect(r.ok && r.pushes[0]).toMatchObject({ format: 'eventbridge-acr', instanceId: 'cri-localsrc001', region: 'cn-hangzhou', tag: 'v1.4.0' });
  });

  it('CloudEvents binary mode: attributes in ce-* headers, data as the body', () => {
    const event = JSON.parse(fixture('eventbridge-acr.json'));
    const headers = {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': event.id,
      'ce-source': 'acs.cr',
      'ce-type': event.type,
      'ce-time': event.time,
      'ce-aliyunregionid': 'cn-hangzhou',
    };
    const r = normalizeWebhook({ kind: 'cloudevents', headers, body: JSON.stringify(event.data) });
    expect(r.ok && r.pushes[0]).toMatchObject({ instanceId: 'cri-localsrc001', tag: 'v1.4.0' });
    const missing = { ...headers } as Record<string, string>;
    delete missing['ce-id'];
    expect(normalizeWebhook({ kind: 'cloudevents', headers: missing, body: JSON.stringify(event.data) })).toMatchObject({ ok: false, status: 422, field: 'ce-id' });
  });

  it('CloudEvents of another type are ignored', () => {
    const event = { ...JSON.parse(fixture('eventbridge-acr.json')), type: 'cr:Artifact:ScanCompleted' };
    expect(normalizeWebhook({ kind: 'cloudevents', headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(event) })).toMatchObject({
      ok: true,
      pushes: [],
      ignored: ['event type cr:Artifact:ScanCompleted is not a push'],
    });
  });

  it.each([
    ['acr', 'text/plain', '{}', 415, 'content-type'],
    ['acr', 'application/json', '{"push_data":', 400, '(body)'],
    ['acr', 'application/json', '[1]', 400, '(body)'],
    ['acr', 'application/json', '{"push_data":{"pushed_at":"2016-11-29 12:25:46"},"repository":{"namespace":"team"}}', 422, 'repository.name'],
    ['harbor', 'application/json', '{"type":"PUSH_ARTIFACT","event_data":{"resources":[],"repository":{"name":"a","namespace":"b"}}}', 422, 'event_data.resources'],
    [
      'distribution',
      'application/json',
      '{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"noslash"}}]}',
      422,
      'events[0].target.repository',
    ],
    ['dockerhub', 'application/json', '{"push_data":{"pushed_at":1},"repository":{"name":"a","namespace":"b"}}', 422, 'push_data.tag'],
    ['cloudevents', 'application/json', '{"hello":"world"}', 400, 'ce-specversion'],
  ] as const)('%s %s %s → %i on %s', (kind, type, body, status, field) => {
    expect(normalizeWebhook({ kind, headers: { 'content-type': type }, body })).toMatchObject({ ok: false, status, field });
  });

  it('an epoch the ledger cannot store (beyond the Date range included) is refused naming the field, never an Invalid Date; an unreadable time string is the receive time', () => {
    const now = new Date('2024-05-06T00:00:00Z');
    const hub = (pushed_at: unknown) =>
      normalizeWebhook({ kind: 'dockerhub', headers: json, now, body: JSON.stringify({ push_data: { pushed_at, tag: 'v1' }, repository: { name: 'a', namespace: 'b' } }) });
    for (const epoch of [1e300, 8.64e15, -1e12]) expect(hub(epoch)).toMatchObject({ ok: false, status: 422, field: 'push_data.pushed_at', message: expect.stringContaining('years 100 to 9999') });
    expect(hub('yesterday')).toMatchObject({ ok: true, pushes: [{ pushedAt: now }] });
    expect(hub(1417566161)).toMatchObject({ ok: true, pushes: [{ pushedAt: new Date(1417566161000) }] });
  });

  it('parseAcrTime accepts an explicit zone and rejects garbage', () => {
    expect(parseAcrTime('2024-01-01 00:00:00Z')?.toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(parseAcrTime('2024-13-45 99:00:00')).toBeNull();
  });
});

describe('distribution 2.8 notifications, as docker-registry sends them', () => {
  const event = (target: Record<string, unknown>) => ({
    events: [{ id: 'e1', timestamp: '2030-01-01T00:00:00.000Z', action: 'push', target: { repository: 'team/app', ...target }, request: { host: '127.0.0.1:5000', method: 'PUT' } }],
  });
  const normalize = (body: object) => normalizeWebhook({ kind: 'distribution', headers: { 'content-type': 'application/vnd.docker.distribution.events.v1+json' }, body: JSON.stringify(body) });

  it('a blob upload (application/octet-stream) is ignored; the tagged manifest is one push', () => {
    const blob = normalize(event({ mediaType: 'application/octet-stream', digest: `sha256:${'1'.repeat(64)}`, size: 130 }));
    expect(blob).toMatchObject({ ok: true, pushes: [], ignored: ['events[0]: application/octet-stream is a layer, not an image manifest'] });
    const manifest = normalize(event({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'2'.repeat(64)}`, size: 401, tag: 'v1' }));
    expect(manifest).toMatchObject({
      ok: true,
      ignored: [],
      pushes: [{ format: 'distribution', namespace: 'team', repository: 'app', tag: 'v1', digest: `sha256:${'2'.repeat(64)}`, host: '127.0.0.1:5000', eventId: 'distribution:e1' }],
    });
  });
});
