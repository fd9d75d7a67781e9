/**
 * Methods and authentication details, over real HTTP (Node's server, the local stack's single app)
 * and through the FC adapters: methods no route serves, 405 before 401/403, WWW-Authenticate on
 * every 401, one Authorization parser for webhook and API, strict query values, and a name that
 * breaks the clouds' naming rules answered as such.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveApp, routeByPath } from '../local/stack/app.ts';
import { createApiApp } from '../shared/api/app.ts';
import { bearerToken } from '../shared/http/auth.ts';
import { ERROR_STATUS, errorEnvelopeSchema, type ErrorCode } from '../shared/http/errors.ts';
import type { Logger } from '../shared/log.ts';
import { httpHandler } from '../shared/runtime/handler.ts';
import { serveNode, type NodeServer } from '../shared/runtime/node-http.ts';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { startTestStack, TEST_TOKENS, type TestStack } from './helpers/stack.ts';

const SCOPED = 'test-scoped-token-0123456789';
const W = TEST_TOKENS.webhook;
const A = TEST_TOKENS.admin;
const R = TEST_TOKENS.read;

/** Every error line the servers and the local stack would log. */
const errors: unknown[] = [];
const logged: Logger = { debug() {}, info() {}, warn() {}, error: (msg, fields) => void errors.push({ msg, fields }), child: () => logged };

let s: TestStack;
let webhook: NodeServer;
let api: NodeServer;
let local: NodeServer;
beforeAll(async () => {
  s = await startTestStack({
    config: (base) => ({ ...base, auth: { ...(base.auth as object), webhookTokens: ['${FERRY_WEBHOOK_TOKEN}', { token: '${SCOPED_TOKEN}', sources: ['swr-beijing'] }] } }),
    env: { SCOPED_TOKEN: SCOPED },
  });
  const deps = { ...s.deps, log: logged };
  const onError = (err: unknown) => void errors.push(err);
  webhook = await serveNode(createWebhookApp(deps), { onError });
  api = await serveNode(createApiApp(deps), { onError });
  local = await serveNode(serveApp(routeByPath(createWebhookApp(deps), createApiApp(deps)), logged).app, { onError });
});
afterAll(async () => {
  for (const srv of [webhook, api, local]) await srv?.close().catch(() => {});
  await s?.close();
});

/** node:http, not fetch: fetch refuses to send TRACE. */
function send(base: string, method: string, path: string, o: { auth?: string; body?: string } = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: any }>((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (o.auth !== undefined) headers.authorization = o.auth;
    const req = request(new URL(path, base), { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode!, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

function expectEnvelope(r: { status: number; body: unknown }, code: ErrorCode, extra: Record<string, unknown> = {}) {
  const parsed = errorEnvelopeSchema.safeParse(r.body);
  expect(parsed.error?.issues ?? [], JSON.stringify(r.body)).toEqual([]);
  expect({ status: r.status, code: parsed.data!.error.code, codeStatus: ERROR_STATUS[code] }).toEqual({ status: ERROR_STATUS[code], code, codeStatus: r.status });
  expect(parsed.data!.error).toMatchObject(extra);
  return parsed.data!.error;
}

const acrPush = (o: { tag?: string; namespace?: string; region?: string } = {}) =>
  JSON.stringify({
    push_data: { digest: 'sha256:' + 'a'.repeat(64), pushed_at: '2025-01-31 12:00:00', tag: o.tag ?? 'nightly' },
    repository: { name: 'app', namespace: o.namespace ?? 'team', region: o.region ?? 'cn-hangzhou', repo_full_name: 'team/app' },
  });

describe('methods no route serves', () => {
  it.each([
    ['webhook', () => webhook.url, '/webhooks/acr'],
    ['API', () => api.url, '/tasks'],
    ['API, unauthenticated route', () => api.url, '/healthz'],
    ['local stack', () => local.url, '/webhooks/acr'],
  ])('TRACE on the %s → 501 NotImplemented in the envelope, unauthenticated, no error logged', async (_where, base, path) => {
    errors.length = 0;
    // (Node's own parser answers methods it does not know, TRACK included, 400 before any app.)
    for (const auth of [`Bearer ${A}`, undefined]) {
      const r = await send(base(), 'TRACE', path, auth === undefined ? {} : { auth });
      expectEnvelope(r, 'NotImplemented', { requestId: expect.any(String) });
      expect(r.body.error.message).toContain('TRACE');
    }
    expect(errors).toEqual([]);
  });

  it('TRACE and TRACK through API Gateway and the FC HTTP trigger → 501, not a malformed event', async () => {
    const handler = httpHandler(async () => createApiApp(s.deps), { logger: logged });
    errors.length = 0;
    for (const method of ['TRACE', 'TRACK']) {
      const ag = { httpMethod: method, path: '/tasks', headers: { host: 'ferry.example.com' }, queryParameters: {} };
      const fc3 = { version: 'v1', rawPath: '/tasks', headers: { host: 'ferry.example.com' }, requestContext: { http: { method, path: '/tasks' } } };
      for (const event of [ag, fc3]) {
        const r = await handler(Buffer.from(JSON.stringify(event)), { requestId: 'fc-trace' });
        expectEnvelope({ status: r.statusCode, body: JSON.parse(r.body) }, 'NotImplemented', { requestId: 'fc-trace' });
      }
    }
    expect(errors).toEqual([]);
  });

  it('a known route with another method → 405 with Allow, before the token is looked at', async () => {
    const cases: [string, string, string | undefined, string][] = [
      ['POST', '/healthz', undefined, 'GET, HEAD'],
      ['PUT', '/openapi.json', undefined, 'GET, HEAD'],
      ['OPTIONS', '/tasks', `Bearer ${R}`, 'GET, HEAD'],
      ['OPTIONS', '/cancel', `Bearer ${R}`, 'POST'],
      ['OPTIONS', '/tasks/6f1c2d3e-1111-4222-8333-944455556666/cancel', undefined, 'POST'],
      ['DELETE', '/tasks/6f1c2d3e-1111-4222-8333-944455556666', 'Bearer wrong', 'GET, HEAD'],
      ['PROPFIND', '/replications/6f1c2d3e-1111-4222-8333-944455556666', undefined, 'GET, HEAD'],
      ['GET', '/cancel', `Bearer ${R}`, 'POST'],
    ];
    for (const [method, path, auth, allow] of cases) {
      const r = await send(api.url, method, path, auth === undefined ? {} : { auth });
      expect({ method, path, status: r.status, allow: r.headers.allow }).toEqual({ method, path, status: 405, allow });
      expectEnvelope(r, 'MethodNotAllowed');
    }
    // A route's own methods still ask for the token (and the role).
    expect((await send(api.url, 'GET', '/tasks')).status).toBe(401);
    expect((await send(api.url, 'POST', '/cancel', { auth: `Bearer ${R}`, body: '{}' })).status).toBe(403);
    expect((await send(api.url, 'HEAD', '/healthz')).status).toBe(200);
  });
});

describe('authentication', () => {
  it('every 401 carries WWW-Authenticate, the webhook’s included', async () => {
    const cases: [string, string, string, { auth?: string; body?: string }][] = [
      ['webhook, no token', webhook.url, '/webhooks/acr', { body: acrPush() }],
      ['webhook, wrong token', webhook.url, '/webhooks/acr', { auth: 'Bearer wrong', body: acrPush() }],
      ['webhook, wrong token in the query', webhook.url, '/webhooks/acr?token=wrong', { body: acrPush() }],
      ['webhook, token scoped to another source', webhook.url, '/webhooks/acr', { auth: `Bearer ${SCOPED}`, body: acrPush() }],
      ['API, no token', api.url, '/tasks', {}],
      ['API, another scheme', api.url, '/tasks', { auth: `Basic ${Buffer.from(`x:${A}`).toString('base64')}` }],
    ];
    for (const [what, base, path, o] of cases) {
      const r = await send(base, o.body === undefined ? 'GET' : 'POST', path, o);
      expect({ what, status: r.status, www: r.headers['www-authenticate'] }).toEqual({ what, status: 401, www: 'Bearer realm="ferry"' });
      expectEnvelope(r, 'Unauthorized');
    }
  });

  it('one Authorization parser: webhook and API accept and refuse the same headers', async () => {
    const forms: [string, (t: string) => string, boolean][] = [
      ['Bearer <token>', (t) => `Bearer ${t}`, true],
      ['Bearer<TAB><token>', (t) => `Bearer\t${t}`, true],
      ['bearer, two spaces', (t) => `bearer  ${t}`, true],
      ['BEARER, space and tab, trailing tab', (t) => `BEARER \t${t}\t`, true],
      ['no separator', (t) => `Bearer${t}`, false],
      ['another scheme', (t) => `Token ${t}`, false],
      ['two tokens', (t) => `Bearer ${t} ${t}`, false],
    ];
    for (const [what, header, ok] of forms) {
      const h = await send(webhook.url, 'POST', '/webhooks/acr', { auth: header(W), body: acrPush() });
      const a = await send(api.url, 'GET', '/tasks?limit=1', { auth: header(A) });
      expect({ what, webhook: h.status, api: a.status }).toEqual({ what, webhook: ok ? 200 : 401, api: ok ? 200 : 401 });
      expect(bearerToken(header('tok'))).toBe(ok ? 'tok' : null);
    }
  });
});

describe('query values and names', () => {
  it('limit takes decimal digits only: 0x10, 1e2, 16.0 and " 5" are refused', async () => {
    for (const limit of ['0x10', '1e2', '16.0', '%205', '-1', '0', '501', '', '0b11']) {
      const r = await send(api.url, 'GET', `/tasks?limit=${limit}`, { auth: `Bearer ${R}` });
      expect({ limit, status: r.status, field: r.body.error?.field }).toEqual({ limit, status: 400, field: 'query.limit' });
    }
    expect((await send(api.url, 'GET', '/tasks?limit=16', { auth: `Bearer ${R}` })).status).toBe(200);
  });

  it('an unknown state is named, and the answer lists the states there are', async () => {
    for (const [state, named] of [
      ['bogus', '"bogus" is not one'],
      ['running,Bogus,done', '"Bogus", "done" are not'],
      [',', ''],
    ] as const) {
      const r = await send(api.url, 'GET', `/tasks?state=${encodeURIComponent(state)}`, { auth: `Bearer ${R}` });
      const e = expectEnvelope(r, 'InvalidRequest', { field: 'query.state' });
      expect(e.message).toContain('pending, submitted, running, succeeded, failed, canceled, timed_out');
      expect(e.message).toContain(named);
    }
  });

  it('a pushed name that breaks the naming rules → 422 InvalidName with the field, not UnknownSource', async () => {
    for (const [o, field] of [
      [{ namespace: 'Team' }, 'namespace'],
      [{ namespace: 'te;am' }, 'namespace'],
      [{ tag: '-rc1' }, 'tag'],
      [{ tag: 'a'.repeat(129) }, 'tag'],
    ] as const) {
      const r = await send(webhook.url, 'POST', '/webhooks/acr', { auth: `Bearer ${W}`, body: acrPush(o) });
      const e = expectEnvelope(r, 'InvalidName', { field });
      expect(e.message).toContain('acr naming rules');
    }
    // Which source sent it is still its own question.
    expectEnvelope(await send(webhook.url, 'POST', '/webhooks/acr', { auth: `Bearer ${W}`, body: acrPush({ region: 'cn-qingdao' }) }), 'UnknownSource');
  });
});
