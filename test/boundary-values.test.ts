/**
 * Values the ledger cannot store, sent over HTTP to the webhook (every kind) and the operator
 * API, on both ledgers (PGlite, and PostgreSQL when FERRY_TEST_DATABASE_URL is set): NUL, lone
 * surrogates, times outside the years 100–9999, and digests that are not `sha256:`/`sha512:` hex.
 * Each is a 4xx naming the field, never a 5xx (a webhook 500 says "may be retried"), and nothing
 * is recorded; the ends of the accepted ranges are stored.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiApp } from '../shared/api/app.ts';
import { serveNode, type NodeServer } from '../shared/runtime/node-http.ts';
import { TEST_TOKENS } from './helpers/stack.ts';
import { PG_URL } from './ledger-fixtures.ts';
import { fixture, ledgerCounts, startWebhook, withRegistries, type WebhookHarness } from './webhook-harness.ts';

type Json = any;
const sample = (name: string): Json => JSON.parse(fixture(name));
/** The fixture with `change` applied to a copy. */
const edit = (name: string, change: (v: Json) => void): Json => {
  const v = sample(name);
  change(v);
  return v;
};

const NUL = 'v1\u0000';
const LONE = 'te\ud800am';
const HEX64 = 'e'.repeat(64);

/** [what, kind, body, field the 422 names, extra headers] */
const WEBHOOK_CASES: [string, string, Json, string, Record<string, string>?][] = [
  ['ACR: NUL in the tag', 'acr', edit('acr-trigger.json', (v) => (v.push_data.tag = NUL)), 'push_data.tag'],
  ['ACR: lone surrogate in the namespace', 'acr', edit('acr-trigger.json', (v) => (v.repository.namespace = LONE)), 'repository.namespace'],
  ['ACR: NUL in the region', 'acr', edit('acr-trigger.json', (v) => (v.repository.region = 'cn-hangzhou\u0000')), 'repository.region'],
  ['ACR: pushed in year 0', 'acr', edit('acr-trigger.json', (v) => (v.push_data.pushed_at = '0000-06-01 00:00:00')), 'push_data.pushed_at'],
  ['ACR: pushed on 0100-01-01 in China (year 99 in UTC)', 'acr', edit('acr-trigger.json', (v) => (v.push_data.pushed_at = '0100-01-01 07:59:59')), 'push_data.pushed_at'],
  ['ACR: digest "$(id)"', 'acr', edit('acr-trigger.json', (v) => (v.push_data.digest = '$(id)')), 'push_data.digest'],
  ['ACR: digest "../etc/passwd"', 'acr', edit('acr-trigger.json', (v) => (v.push_data.digest = '../etc/passwd')), 'push_data.digest'],
  ['ACR: digest "not-a-digest"', 'acr', edit('acr-trigger.json', (v) => (v.push_data.digest = 'not-a-digest')), 'push_data.digest'],
  ['ACR: sha256 with 63 hex digits', 'acr', edit('acr-trigger.json', (v) => (v.push_data.digest = `sha256:${HEX64.slice(1)}`)), 'push_data.digest'],
  ['ACR: sha512 with 64 hex digits', 'acr', edit('acr-trigger.json', (v) => (v.push_data.digest = `sha512:${HEX64}`)), 'push_data.digest'],
  ['ACR: uppercase hex', 'acr', edit('acr-trigger.json', (v) => (v.push_data.digest = `sha256:${HEX64.toUpperCase()}`)), 'push_data.digest'],
  ['ACR: NUL in the digest', 'acr', edit('acr-trigger.json', (v) => (v.push_data.digest = `sha256:\u0000${HEX64.slice(1)}`)), 'push_data.digest'],
  ['Harbor: year 275760 (epoch ms)', 'harbor', edit('harbor-push.json', (v) => (v.occur_at = 8.64e15)), 'occur_at'],
  ['Harbor: negative year (ISO)', 'harbor', edit('harbor-push.json', (v) => (v.occur_at = '-000001-01-01T00:00:00Z')), 'occur_at'],
  ['Harbor: negative year (epoch s)', 'harbor', edit('harbor-push.json', (v) => (v.occur_at = -1e12)), 'occur_at'],
  ['Harbor: year 1 (PGlite would read it back as 2001)', 'harbor', edit('harbor-push.json', (v) => (v.occur_at = '0001-01-01T00:00:00Z')), 'occur_at'],
  ['Harbor: lone surrogate in a tag', 'harbor', edit('harbor-push.json', (v) => (v.event_data.resources[1].tag = 'v1\udc00')), 'event_data.resources[1].tag'],
  ['Harbor: NUL in the repository', 'harbor', edit('harbor-push.json', (v) => (v.event_data.repository.name = 'a\u0000pp')), 'event_data.repository.name'],
  ['Harbor: bad digest', 'harbor', edit('harbor-push.json', (v) => (v.event_data.resources[0].digest = 'sha256:$(id)')), 'event_data.resources[0].digest'],
  ['distribution: year 0', 'distribution', edit('distribution-mixed.json', (v) => (v.events[1].timestamp = '0000-01-01T00:00:00Z')), 'events[1].timestamp'],
  ['distribution: year 10000', 'distribution', edit('distribution-mixed.json', (v) => (v.events[1].timestamp = '+010000-01-01T00:00:00Z')), 'events[1].timestamp'],
  ['distribution: bad digest', 'distribution', edit('distribution-mixed.json', (v) => (v.events[1].target.digest = '../etc/passwd')), 'events[1].target.digest'],
  ['distribution: NUL in the repository', 'distribution', edit('distribution-mixed.json', (v) => (v.events[1].target.repository = 'team/to\u0000ols')), 'events[1].target.repository'],
  ['Docker Hub: a second before year 100', 'dockerhub', edit('dockerhub.json', (v) => (v.push_data.pushed_at = Date.parse('0100-01-01T00:00:00Z') / 1000 - 1)), 'push_data.pushed_at'],
  ['Docker Hub: lone surrogate in the namespace', 'dockerhub', edit('dockerhub.json', (v) => (v.repository.namespace = LONE)), 'repository.namespace'],
  ['EventBridge: year 275760', 'cloudevents', edit('eventbridge-acr.json', (v) => (v.time = '+275760-09-13T00:00:00Z')), 'time'],
  ['EventBridge: bad digest', 'cloudevents', edit('eventbridge-acr.json', (v) => (v.data.Digest = 'not-a-digest')), 'data.Digest'],
  ['EventBridge: lone surrogate in the tag', 'cloudevents', edit('eventbridge-acr.json', (v) => (v.data.Tag = '\udfff')), 'data.Tag'],
  ['EventBridge: NUL in the event type', 'cloudevents', edit('eventbridge-acr.json', (v) => (v.type = 'cr:Artifact:PushCompleted\u0000')), 'type'],
  ['Harbor CloudEvent: year 0', 'cloudevents', edit('harbor-cloudevent.json', (v) => (v.time = '0000-01-01T00:00:00Z')), 'time'],
  ['Harbor CloudEvent: bad digest', 'cloudevents', edit('harbor-cloudevent.json', (v) => (v.data.resources[0].digest = 'sha1:' + 'e'.repeat(40))), 'data.resources[0].digest'],
  [
    'binary CloudEvent: year 0 in ce-time',
    'cloudevents',
    sample('eventbridge-acr.json').data,
    'ce-time',
    { 'ce-specversion': '1.0', 'ce-id': 'x1', 'ce-source': 'acs.cr', 'ce-type': 'cr:Artifact:PushCompleted', 'ce-time': '0000-01-01T00:00:00Z', 'ce-aliyunregionid': 'cn-hangzhou' },
  ],
];

const BACKENDS = PG_URL ? ['pglite', 'postgres'] : ['pglite'];

describe.each(BACKENDS)('values the ledger cannot store (%s)', (backend) => {
  let h: WebhookHarness;
  let api: NodeServer;
  let schema: string | undefined;

  beforeAll(async () => {
    let db = {};
    if (backend === 'postgres') {
      schema = `ferry_test_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${schema}`);
      await admin.end();
      db = { databaseUrl: PG_URL, searchPath: schema };
    }
    h = await startWebhook({ ...db, config: withRegistries });
    api = await serveNode(createApiApp(h.stack.deps));
  });
  afterAll(async () => {
    await api?.close();
    await h?.close();
    if (schema) {
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });

  test.each(WEBHOOK_CASES)('webhook, %s → 422 naming the field, nothing recorded', async (_what, kind, body, field, headers) => {
    const before = await ledgerCounts(h.stack);
    const r = await h.post(kind, JSON.stringify(body), headers ? { headers: { 'content-type': '', ...headers } } : {});
    expect({ status: r.status, error: r.body.error }).toEqual({ status: 422, error: expect.objectContaining({ status: 422, code: 'InvalidEvent', field }) });
    expect(await ledgerCounts(h.stack)).toEqual(before);
  });

  test('webhook: the ends of the ranges are stored and read back (sha512 digests, years 100 and 9999)', async () => {
    const sha512 = `sha512:${'f'.repeat(128)}`;
    const accepted: [string, Json][] = [
      ['acr', edit('acr-trigger.json', (v) => Object.assign(v.push_data, { digest: sha512, tag: 'v9.0.0' }))],
      ['harbor', edit('harbor-push.json', (v) => Object.assign(v, { occur_at: '0100-01-01T00:00:00Z' }))],
      ['cloudevents', edit('eventbridge-acr.json', (v) => Object.assign(v, { time: '9999-12-31T23:59:59Z' }))],
    ];
    for (const [kind, body] of accepted) {
      const r = await h.post(kind, body);
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const rep = await h.stack.ledger.getReplication(r.body.replicationId);
      expect(rep!.replication.pushedAt).toBe(new Date(kind === 'acr' ? '2016-11-29T04:25:46Z' : kind === 'harbor' ? '0100-01-01T00:00:00Z' : '9999-12-31T23:59:59Z').toISOString());
      if (kind === 'acr') expect(rep!.replication.digest).toBe(sha512);
    }
  });

  test('API: filters, cursors and the cancel reason → 400 naming the field; the task is untouched', async () => {
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(new URL(path, api.url), {
        method,
        headers: { authorization: `Bearer ${TEST_TOKENS.admin}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Json };
    };
    // A task in the cloud's hands, so a cancel would reach the ledger's write.
    await h.stack.cloud.acr.push({ instanceId: 'cri-localsrc001', namespace: 'team', repo: 'app', tag: 'v7.0.0' });
    const made = await h.post(
      'acr',
      edit('acr-trigger.json', (v) => (v.push_data.tag = 'v7.0.0')),
    );
    expect(made.status).toBe(202);
    const task = made.body.replications[0].targets[0];
    expect(task.state).toBe('submitted');

    const cursor = (at: string, id: string) => Buffer.from(JSON.stringify([at, id])).toString('base64url');
    const refused: [string, string, string, unknown?][] = [
      ['GET', '/tasks?repository=a%00b', 'query.repository'],
      ['GET', `/tasks?since=${encodeURIComponent('0000-12-31T23:59:59Z')}`, 'query.since'],
      ['GET', `/tasks?since=${encodeURIComponent('9999-12-31T23:59:59-01:00')}`, 'query.since'],
      ['GET', `/tasks?cursor=${cursor('0000-01-01T00:00:00.000Z', task.taskId)}`, 'query.cursor'],
      ['GET', `/tasks?cursor=${cursor('+275760-09-13T00:00:00.000Z', task.taskId)}`, 'query.cursor'],
      ['GET', `/tasks?cursor=${cursor('-000001-01-01T00:00:00.000Z', task.taskId)}`, 'query.cursor'],
      ['GET', `/tasks?cursor=${cursor('2025-01-01T00:00:00.000Z', 'x\u0000')}`, 'query.cursor'],
      ['GET', `/tasks?cursor=${cursor('2025-01-01T00:00:00.000Z', '\ud800')}`, 'query.cursor'],
      ['GET', `/tasks?cursor=${cursor('2025-01-01T00:00:00.000Z\u0000', task.taskId)}`, 'query.cursor'],
      ['POST', `/tasks/${task.taskId}/cancel`, 'body.reason', { reason: 'bad\u0000tag' }],
      ['POST', `/tasks/${task.taskId}/cancel`, 'body.reason', { reason: 'bad \ud83d tag' }],
      ['POST', '/cancel', 'body.reason', { provider: 'ecs', regionId: 'cn-hangzhou', taskId: 't-abcd1234', reason: '\u0000' }],
      ['POST', '/cancel', 'body.reason', { provider: 'acr', instanceId: 'cri-localdst001', syncTaskId: 'rst-abcd1234', reason: 'x\udc00' }],
    ];
    for (const [method, path, field, body] of refused) {
      const r = await call(method, path, body);
      expect({ path, status: r.status, error: r.body.error }).toEqual({ path, status: 400, error: expect.objectContaining({ code: 'InvalidRequest', field }) });
    }
    expect((await h.stack.ledger.getTask(task.taskId))!.task).toMatchObject({ state: 'submitted', cancelRequestedAt: null });
    // What the API hands out still pages.
    const page = await call('GET', '/tasks?limit=1');
    expect(page.status).toBe(200);
    expect((await call('GET', `/tasks?limit=1&cursor=${page.body.nextCursor}`)).status).toBe(200);
  });
});
