/**
 * One error envelope everywhere: the webhook and the operator API served over real HTTP, the FC
 * adapters (malformed events, a function that cannot start, an app that throws), Node's server and
 * the local stack. Every error body must parse with the one envelope schema, carry a code of the
 * vocabulary, repeat the HTTP status, and that status must be the code's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../shared/api/app.ts';
import { webhookResponse } from '../shared/api/schemas.ts';
import { ERROR_CODES, ERROR_STATUS, errorEnvelopeSchema, type ErrorCode } from '../shared/http/errors.ts';
import type { Ledger } from '../shared/ledger/index.ts';
import type { Logger } from '../shared/log.ts';
import type { FetchApp } from '../shared/runtime/context.ts';
import { httpHandler } from '../shared/runtime/handler.ts';
import { serveNode, type NodeServer } from '../shared/runtime/node-http.ts';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { serveApp } from '../local/stack/app.ts';
import { acrTask } from './api-helpers.ts';
import { startTestStack, TEST_TOKENS, type TestStack } from './helpers/stack.ts';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

let s: TestStack;
let webhook: NodeServer;
let api: NodeServer;
const servers: NodeServer[] = [];
/** Every error answer seen in this file, for the vocabulary check at the end. */
const seen: { where: string; code: ErrorCode }[] = [];

beforeAll(async () => {
  s = await startTestStack();
  webhook = await serveNode(createWebhookApp(s.deps));
  api = await serveNode(createApiApp(s.deps));
  servers.push(webhook, api);
});
afterAll(async () => {
  for (const srv of servers) await srv.close().catch(() => {});
  await s?.close();
});

/** Asserts one error answer: the envelope, a vocabulary code, status = body status = the code's status. */
function expectError(where: string, status: number, contentType: string | null | undefined, text: string, code: ErrorCode, extra: Record<string, unknown> = {}) {
  expect({ where, contentType }).toEqual({ where, contentType: expect.stringMatching(/^application\/json\b/) });
  const body = JSON.parse(text) as unknown;
  const parsed = errorEnvelopeSchema.safeParse(body);
  expect({ where, body, issues: parsed.success ? [] : parsed.error.issues }).toEqual({ where, body, issues: [] });
  const e = parsed.data!.error;
  expect({ where, status, bodyStatus: e.status, codeStatus: ERROR_STATUS[e.code], code: e.code }).toEqual({ where, status, bodyStatus: status, codeStatus: status, code });
  expect(e.message.length).toBeGreaterThan(0);
  expect(e).toMatchObject(extra);
  seen.push({ where, code: e.code });
  return e;
}

async function http(base: string, method: string, path: string, o: { token?: string | null; body?: string | Uint8Array<ArrayBuffer>; type?: string | null } = {}) {
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.type !== null) headers['content-type'] = o.type ?? 'application/json';
  const res = await fetch(new URL(path, base), { method, headers, ...(o.body !== undefined ? { body: o.body } : {}) });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

const acrPush = (tag: string, region = 'cn-hangzhou') =>
  JSON.stringify({
    push_data: { digest: 'sha256:' + 'a'.repeat(64), pushed_at: '2025-01-31 12:00:00', tag },
    repository: { name: 'app', namespace: 'team', region, repo_full_name: 'team/app' },
  });

/** A ledger whose every call of `method` fails like an outage. */
function failing(ledger: Ledger, method: 'recordReplication' | 'listTasks'): Ledger {
  const broken = Object.create(ledger) as Ledger;
  (broken as unknown as Record<string, unknown>)[method] = async () => {
    throw new Error('connection terminated unexpectedly');
  };
  return broken;
}

describe('the webhook over HTTP', () => {
  const W = TEST_TOKENS.webhook;
  it.each<[string, string, string, { token?: string | null; body?: string | Uint8Array<ArrayBuffer>; type?: string | null }, number, ErrorCode, Record<string, unknown>?]>([
    ['unknown kind', 'POST', '/webhooks/gitlab', { token: W, body: '{}' }, 404, 'UnknownKind', { field: 'kind' }],
    ['wrong method', 'GET', '/webhooks/acr', { token: W }, 405, 'MethodNotAllowed'],
    ['no route', 'POST', '/elsewhere', { token: W, body: '{}' }, 404, 'NotFound'],
    ['no token', 'POST', '/webhooks/acr', { token: null, body: acrPush('v1.0.0') }, 401, 'Unauthorized'],
    ['wrong token in the query', 'POST', '/webhooks/acr?token=nope', { token: null, body: acrPush('v1.0.0') }, 401, 'Unauthorized'],
    ['body over the limit', 'POST', '/webhooks/acr', { token: W, body: 'x'.repeat(1024 * 1024 + 1) }, 413, 'PayloadTooLarge', { field: '(body)' }],
    ['body not UTF-8', 'POST', '/webhooks/acr', { token: W, body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) }, 400, 'InvalidBody', { field: '(body)' }],
    ['body not JSON', 'POST', '/webhooks/acr', { token: W, body: '{"push_data":' }, 400, 'InvalidBody', { field: '(body)' }],
    ['wrong content type', 'POST', '/webhooks/acr', { token: W, body: acrPush('v1.0.0'), type: 'text/plain' }, 415, 'UnsupportedMediaType', { field: 'content-type' }],
    [
      'event without pushed_at',
      'POST',
      '/webhooks/acr',
      { token: W, body: '{"push_data":{"tag":"v1"},"repository":{"name":"app","namespace":"team"}}' },
      422,
      'InvalidEvent',
      { field: 'push_data.pushed_at' },
    ],
    ['no source in that region', 'POST', '/webhooks/acr', { token: W, body: acrPush('v1.0.0', 'cn-qingdao') }, 422, 'UnknownSource'],
  ])('%s: %s %s', async (name, method, path, o, status, code, extra) => {
    const r = await http(webhook.url, method, path, o);
    expect(r.status, name).toBe(status);
    expectError(`webhook: ${name}`, r.status, r.type, r.text, code, extra);
  });

  it('a ledger outage → 500 InternalError; the 2xx answers keep their own shape', async () => {
    const broken = await serveNode(createWebhookApp({ ...s.deps, ledger: failing(s.ledger, 'recordReplication') }));
    servers.push(broken);
    const r = await http(broken.url, 'POST', '/webhooks/acr', { token: TEST_TOKENS.webhook, body: acrPush('v1.0.1') });
    const e = expectError('webhook: ledger outage', r.status, r.type, r.text, 'InternalError');
    expect(e.message).not.toMatch(/connection terminated/);
    // Not errors: a push no rule matches (200) and an accepted one (202) answer the webhook's result.
    const none = await http(webhook.url, 'POST', '/webhooks/acr', { token: TEST_TOKENS.webhook, body: acrPush('nightly') });
    expect(none.status).toBe(200);
    expect(webhookResponse.safeParse(JSON.parse(none.text)).success).toBe(true);
    await s.cloud.acr.push({ instanceId: 'cri-localsrc001', namespace: 'team', repo: 'app', tag: 'v1.0.2' });
    const ok = await http(webhook.url, 'POST', '/webhooks/acr', { token: TEST_TOKENS.webhook, body: acrPush('v1.0.2') });
    expect(ok.status).toBe(202);
    const body = JSON.parse(ok.text);
    expect(webhookResponse.safeParse(body).error?.issues ?? []).toEqual([]);
    expect(body).not.toHaveProperty('error');
  });
});

describe('the operator API over HTTP', () => {
  const A = TEST_TOKENS.admin;
  const uuid = '6f1c2d3e-1111-4222-8333-944455556666';
  it.each<[string, string, string, { token?: string | null; body?: string | Uint8Array<ArrayBuffer>; type?: string | null }, number, ErrorCode, Record<string, unknown>?]>([
    ['no token', 'GET', '/tasks', { token: null }, 401, 'Unauthorized'],
    ['read-only token cancelling', 'POST', `/tasks/${uuid}/cancel`, { token: TEST_TOKENS.read, body: '{}' }, 403, 'Forbidden'],
    ['no route', 'GET', '/nope', { token: A }, 404, 'NotFound'],
    ['wrong method', 'DELETE', '/tasks', { token: A }, 405, 'MethodNotAllowed'],
    ['bad query', 'GET', '/tasks?state=flying', { token: A }, 400, 'InvalidRequest', { field: 'query.state' }],
    ['bad path id', 'GET', '/replications/zzz', { token: A }, 400, 'InvalidRequest', { field: 'path.id' }],
    ['unknown task', 'GET', `/tasks/${uuid}`, { token: A }, 404, 'TaskNotFound'],
    ['unknown replication', 'GET', `/replications/${uuid}`, { token: A }, 404, 'ReplicationNotFound'],
    ['body not JSON', 'POST', '/cancel', { token: A, body: '{"provider":' }, 400, 'InvalidJson', { field: 'body' }],
    ['body not UTF-8', 'POST', '/cancel', { token: A, body: new Uint8Array([0x7b, 0xff, 0x7d]) }, 400, 'InvalidBody', { field: 'body' }],
    ['body over 64 KiB', 'POST', '/cancel', { token: A, body: JSON.stringify({ reason: 'x'.repeat(70_000) }) }, 413, 'PayloadTooLarge', { field: 'body' }],
    ['body not JSON typed', 'POST', '/cancel', { token: A, body: 'provider=acr', type: 'text/plain' }, 415, 'UnsupportedMediaType'],
    ['bad cloud reference', 'POST', '/cancel', { token: A, body: '{"provider":"acr","instanceId":"cri-localsrc001","syncTaskId":"nope"}' }, 400, 'InvalidRequest', { field: 'body.syncTaskId' }],
    ['unknown cloud task', 'POST', '/cancel', { token: A, body: '{"provider":"acr","instanceId":"cri-localsrc001","syncTaskId":"rst-nosuchtask001"}' }, 404, 'CloudTaskNotFound'],
  ])('%s: %s %s', async (name, method, path, o, status, code, extra) => {
    const r = await http(api.url, method, path, o);
    expect(r.status, name).toBe(status);
    expectError(`api: ${name}`, r.status, r.type, r.text, code, extra);
  });

  it('a finished task → 409 AlreadyFinished with its state; a ledger outage → 500 InternalError', async () => {
    const t = await acrTask(s, { cloud: 'normal' });
    s.cloud.clock.advance(60_000);
    const done = await http(api.url, 'POST', `/tasks/${t.id}/cancel`, { token: TEST_TOKENS.admin, body: '{}' });
    expectError('api: finished', done.status, done.type, done.text, 'AlreadyFinished', { state: 'succeeded', taskId: t.id });
    const broken = await serveNode(createApiApp({ ...s.deps, ledger: failing(s.ledger, 'listTasks') }));
    servers.push(broken);
    const r = await http(broken.url, 'GET', '/tasks', { token: TEST_TOKENS.read });
    const e = expectError('api: ledger outage', r.status, r.type, r.text, 'InternalError');
    expect(e.message).not.toMatch(/connection terminated/);
  });
});

describe('the runtime adapters', () => {
  const fc3 = (method: string, rawPath: string, headers: Record<string, string> = {}, body?: string) => ({
    version: 'v1',
    rawPath,
    headers: { host: 'ferry.example.com', ...headers },
    queryParameters: {},
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
    requestContext: { requestId: 'fc3-req', http: { method, path: rawPath, sourceIp: '10.0.0.1' } },
  });
  const ag = (httpMethod: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    Buffer.from(
      JSON.stringify({
        httpMethod,
        path,
        headers: { host: 'ferry.example.com', ...headers },
        queryParameters: {},
        pathParameters: {},
        ...(body !== undefined ? { body } : {}),
        isBase64Encoded: false,
      }),
    );

  it.each<[string, unknown, ErrorCode, number]>([
    ['not JSON', Buffer.from('{oops'), 'BadEvent', 400],
    ['neither API Gateway nor FC HTTP', Buffer.from('{"hello":1}'), 'BadEvent', 400],
    ['API Gateway, bad method', { httpMethod: 'GE T', path: '/webhooks/acr' }, 'BadEvent', 400],
    ['API Gateway, bad base64 body', { httpMethod: 'POST', path: '/webhooks/acr', body: '***', isBase64Encoded: true }, 'BadEvent', 400],
    ['FC HTTP trigger without a method', { version: 'v1', rawPath: '/', requestContext: { http: {} } }, 'BadEvent', 400],
    ['webhook without a token, through API Gateway', ag('POST', '/webhooks/acr', { 'content-type': 'application/json' }, acrPush('v1.0.0')), 'Unauthorized', 401],
    ['webhook with a wrong kind, through the FC HTTP trigger', fc3('POST', '/webhooks/gitlab', { authorization: `Bearer ${TEST_TOKENS.webhook}` }, '{}'), 'UnknownKind', 404],
  ])('webhook function, %s', async (name, event, code, status) => {
    const handler = httpHandler(async () => createWebhookApp(s.deps), { logger: quiet });
    const r = await handler(event, { requestId: 'fc-req-1' });
    expect(r.statusCode, name).toBe(status);
    expect(r.isBase64Encoded).toBe(false);
    const e = expectError(`fc: ${name}`, r.statusCode, r.headers['content-type'], r.body, code);
    if (code === 'BadEvent') expect(e.requestId).toBe('fc-req-1');
  });

  it('API function through both event shapes: 401 and 405 in the envelope', async () => {
    const handler = httpHandler(async () => createApiApp(s.deps), { logger: quiet });
    const a = await handler(ag('GET', '/tasks'), { requestId: 'r' });
    expectError('fc api: no token', a.statusCode, a.headers['content-type'], a.body, 'Unauthorized');
    const b = await handler(fc3('PUT', '/cancel', { authorization: `Bearer ${TEST_TOKENS.admin}` }), { requestId: 'r' });
    expectError('fc api: wrong method', b.statusCode, b.headers['content-type'], b.body, 'MethodNotAllowed');
  });

  it('a function that failed to initialise → 503 Unavailable with the request id; an app that throws → 500 InternalError', async () => {
    const down = httpHandler(
      async (): Promise<FetchApp> => {
        throw new Error('auth.webhookTokens: is empty');
      },
      { logger: quiet },
    );
    const r = await down(ag('POST', '/webhooks/acr'), { requestId: 'req-refuse' });
    const e = expectError('fc: init failed', r.statusCode, r.headers['content-type'], r.body, 'Unavailable', { requestId: 'req-refuse' });
    expect(e.message).not.toMatch(/webhookTokens/);
    const throwing = httpHandler(
      async () => async () => {
        throw new Error('db password=hunter2');
      },
      { logger: quiet },
    );
    const t = await throwing(Buffer.from(JSON.stringify(fc3('GET', '/tasks'))), { requestId: 'req-throw' });
    expectError('fc: app threw', t.statusCode, t.headers['content-type'], t.body, 'InternalError', { requestId: 'req-throw' });
    expect(t.body).not.toContain('hunter2');
  });

  it("Node's server: an app that throws → 500 InternalError; the local stack while draining → 503 Unavailable", async () => {
    const node = await serveNode(async () => {
      throw new Error('boom');
    });
    servers.push(node);
    const r = await http(node.url, 'GET', '/tasks', { type: null });
    expectError('node: app threw', r.status, r.type, r.text, 'InternalError', { requestId: expect.any(String) });
    const served = serveApp(createApiApp(s.deps), quiet);
    await served.drain(0);
    const stack = await serveNode(served.app);
    servers.push(stack);
    const d = await http(stack.url, 'GET', '/tasks', { token: TEST_TOKENS.read, type: null });
    expectError('local stack: draining', d.status, d.type, d.text, 'Unavailable', { requestId: expect.any(String) });
  });
});

describe('the vocabulary', () => {
  it('every answer above used a code of the one list; webhook, API and adapters share codes', () => {
    expect(seen.length).toBeGreaterThan(30);
    for (const { code } of seen) expect(ERROR_CODES).toContain(code);
    const codesOf = (prefix: string) => new Set(seen.filter((x) => x.where.startsWith(prefix)).map((x) => x.code));
    const [hook, api_] = [codesOf('webhook'), codesOf('api')];
    for (const shared of ['Unauthorized', 'NotFound', 'MethodNotAllowed', 'PayloadTooLarge', 'InvalidBody', 'UnsupportedMediaType', 'InternalError'] as const) {
      expect({ shared, webhook: hook.has(shared), api: api_.has(shared) }).toEqual({ shared, webhook: true, api: true });
    }
  });
});
