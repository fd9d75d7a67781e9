/** Operator API over real HTTP: auth, listing and paging, task/replication reads, healthz, OpenAPI. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acrTask, startApiStack, swrTask, type ApiStack } from './api-helpers.ts';
import { TEST_TOKENS } from './helpers/stack.ts';
import { ERROR_CODES } from '../shared/http/errors.ts';
import { WEBHOOK_KINDS } from '../shared/webhook/normalize.ts';
import { COPY_JOB_REF } from '../shared/rules/naming.ts';

let s: ApiStack;
beforeAll(async () => {
  s = await startApiStack();
});
afterAll(async () => {
  await s?.close();
});

describe('auth', () => {
  it('missing or wrong token → 401; read token may read but not cancel (403); admin may do both', async () => {
    const t = await acrTask(s, { cloud: 'none' });
    expect((await s.call('GET', '/tasks', { token: null })).status).toBe(401);
    const wrong = await s.call('GET', '/tasks', { token: 'nope-nope-nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/Bearer/);
    expect(wrong.body.error).toMatchObject({ status: 401, code: 'Unauthorized' });
    expect((await s.call('GET', '/tasks', { token: null, headers: { authorization: `Basic ${TEST_TOKENS.admin}` } })).status).toBe(401);
    expect((await s.call('POST', `/tasks/${t.id}/cancel`, { token: null })).status).toBe(401);

    expect((await s.call('GET', `/tasks/${t.id}`, { token: TEST_TOKENS.read })).status).toBe(200);
    const ro = await s.call('POST', `/tasks/${t.id}/cancel`, { token: TEST_TOKENS.read });
    expect(ro.status).toBe(403);
    expect(ro.body.error.message).toMatch(/read-only/);
    expect((await s.call('POST', '/cancel', { token: TEST_TOKENS.read, body: { provider: 'ecs' } })).status).toBe(403);
    expect((await s.ledger.getTask(t.id))!.task.state).toBe('pending');

    const ok = await s.call('POST', `/tasks/${t.id}/cancel`, { token: TEST_TOKENS.admin });
    expect(ok.status).toBe(200);
    expect((await s.ledger.getTask(t.id))!.events.at(-1)!.actor).toBe('operator');
  });

  it('healthz and openapi.json need no token; unknown routes 404, wrong methods 405', async () => {
    const h = await s.call('GET', '/healthz', { token: null });
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ ok: true, backend: expect.any(String), schemaVersion: expect.any(Number) });
    expect((await s.call('GET', '/nope')).status).toBe(404);
    const m = await s.call('DELETE', '/tasks');
    expect(m.status).toBe(405);
    expect(m.headers.get('allow')).toBe('GET, HEAD');
    expect((await s.call('GET', '/cancel')).status).toBe(405);
  });
});

describe('reads', () => {
  it('GET /tasks filters by state, provider, repository, since and pages with a cursor', async () => {
    const since = new Date(s.clock.now()).toISOString();
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await acrTask(s, { cloud: 'none' }));
    const swr = await swrTask(s);

    const page1 = await s.call('GET', `/tasks?since=${encodeURIComponent(since)}&limit=2`);
    expect(page1.status).toBe(200);
    expect(page1.body.items).toHaveLength(2);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    const page2 = await s.call('GET', `/tasks?since=${encodeURIComponent(since)}&limit=2&cursor=${page1.body.nextCursor}`);
    expect(page2.body.items).toHaveLength(2);
    expect(page2.body.nextCursor).toBeNull();
    const ids = [...page1.body.items, ...page2.body.items].map((t: { id: string }) => t.id).sort();
    expect(ids).toEqual([...made.map((t) => t.id), swr.id].sort());

    const bySwr = await s.call('GET', `/tasks?provider=swr&since=${encodeURIComponent(since)}`);
    expect(bySwr.body.items.map((t: { id: string }) => t.id)).toEqual([swr.id]);
    const submitted = await s.call('GET', `/tasks?state=submitted,running&since=${encodeURIComponent(since)}`);
    expect(submitted.body.items.map((t: { id: string }) => t.id)).toEqual([swr.id]);
    const byRepo = await s.call('GET', `/tasks?repository=nothing-here`);
    expect(byRepo.body.items).toEqual([]);

    const bad = await s.call('GET', '/tasks?state=flying');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ field: 'query.state', message: expect.stringContaining('pending, submitted') });
    expect((await s.call('GET', '/tasks?since=yesterday')).body.error.field).toBe('query.since');
    expect((await s.call('GET', '/tasks?limit=0')).body.error.field).toBe('query.limit');
    expect((await s.call('GET', '/tasks?color=red')).body.error.message).toMatch(/unknown field/);
    expect((await s.call('GET', '/tasks?cursor=garbage')).body.error.field).toBe('query.cursor');
  });

  it('GET /tasks/{id} has the event history; GET /replications/{id} the tasks', async () => {
    const t = await acrTask(s);
    const r = await s.call('GET', `/tasks/${t.id}`);
    expect(r.status).toBe(200);
    expect(r.body.task).toMatchObject({ id: t.id, state: 'submitted', cloudRef: t.cloudRef });
    expect(r.body.events.map((e: { toState: string }) => e.toState)).toEqual(['pending', 'submitted']);
    expect(r.body.cloudRefs[0].cloudRef).toBe(t.cloudRef);

    const rep = await s.call('GET', `/replications/${t.replicationId}`);
    expect(rep.status).toBe(200);
    expect(rep.body.replication).toMatchObject({ id: t.replicationId, repository: 'app' });
    expect(rep.body.tasks.map((x: { id: string }) => x.id)).toEqual([t.id]);

    expect((await s.call('GET', '/tasks/6f1c2d3e-1111-4222-8333-944455556666')).status).toBe(404);
    expect((await s.call('GET', '/tasks/zzz')).status).toBe(400);
    expect((await s.call('GET', '/replications/6f1c2d3e-1111-4222-8333-944455556666')).status).toBe(404);
    expect((await s.call('GET', '/replications/zzz')).body.error.field).toBe('path.id');

    const ecs = s.cloud.ecs.createTask({ regionId: 'cn-hangzhou', stuck: true });
    await s.ledger.ecs.watch({ region: 'cn-hangzhou', taskId: ecs.taskId, action: 'ImportImage' });
    const e = await s.call('GET', `/tasks/${ecs.taskId}`);
    expect(e.body.ecsTask).toMatchObject({ taskId: ecs.taskId, state: 'watching' });
  });
});

describe('openapi.json', () => {
  it('is an OpenAPI 3.1 document listing every route, with schemas from zod', async () => {
    const r = await s.call('GET', '/openapi.json', { token: null });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/application\/json/);
    const doc = r.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/cancel',
        '/healthz',
        '/metrics',
        '/backfill',
        '/openapi.json',
        '/plan',
        '/replications',
        '/replications/{id}',
        '/replications/{id}/retry',
        '/tasks',
        '/tasks/retry',
        '/tasks/{id}',
        '/tasks/{id}/cancel',
        '/tasks/{id}/retry',
        '/triggers',
        '/triggers/apply',
        '/webhooks/{kind}',
      ].sort(),
    );
    expect(doc.paths['/tasks/{id}/retry'].post.responses['409'].description).toMatch(/NotRetryable/);
    expect(doc.paths['/tasks/{id}/cancel'].post.responses).toHaveProperty('503');
    // One error envelope, its code an enum of the shared vocabulary, on the API routes and the webhook.
    expect(doc.components.schemas.Error.properties.error.required).toEqual(['status', 'code', 'message']);
    expect(doc.components.schemas.Error.properties.error.properties.code).toEqual({ $ref: '#/components/schemas/ErrorCode' });
    expect(doc.components.schemas.ErrorCode.enum).toEqual([...ERROR_CODES]);
    const webhook = doc.paths['/webhooks/{kind}'].post;
    expect(webhook.parameters.find((p: { name: string }) => p.name === 'kind').schema.enum).toEqual([...WEBHOOK_KINDS]);
    expect(Object.keys(webhook.responses).sort()).toEqual(['200', '202', '400', '401', '404', '405', '413', '415', '422', '500', '501', '503']);
    // Every 401 names the scheme it wants; the API's 405s say which methods the route has.
    expect(webhook.responses['401'].headers).toHaveProperty('WWW-Authenticate');
    expect(doc.paths['/tasks'].get.responses['401'].headers).toHaveProperty('WWW-Authenticate');
    expect(doc.paths['/tasks'].get.responses['405'].headers).toHaveProperty('Allow');
    expect(doc.components.schemas.ErrorCode.description).toMatch(/InvalidName \(422\).*NotImplemented \(501\)/);
    for (const [path, ops] of Object.entries<Record<string, { responses: Record<string, any> }>>(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, r] of Object.entries(op.responses)) {
          // (/healthz answers its Health report with 503 when the ledger is down: a status, not an error.)
          if (Number(status) >= 400 && !(path === '/healthz' && status === '503'))
            expect({ path, method, status, ref: r.content['application/json'].schema.$ref }).toEqual({ path, method, status, ref: '#/components/schemas/Error' });
        }
      }
    }
    const body = doc.components.schemas.CloudCancelBody;
    expect(body.oneOf).toHaveLength(4);
    expect(JSON.stringify(body)).toContain('^rst-[a-z0-9]{4,32}$');
    // The copy provider cancels by its job reference, a copy task's cloudRef.
    const copy = body.oneOf.find((o: { properties: { provider: { const?: string } } }) => o.properties.provider.const === 'copy');
    expect(copy).toMatchObject({ required: expect.arrayContaining(['provider', 'ref']), properties: { ref: { type: 'string', pattern: COPY_JOB_REF.source } } });
    expect(doc.paths['/tasks'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['state', 'provider', 'repository', 'since', 'cursor', 'limit']));
    // Every $ref resolves.
    for (const m of JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([A-Za-z]+)"/g)) expect(doc.components.schemas).toHaveProperty(m[1]!);
  });
});
