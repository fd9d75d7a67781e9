// The function bundles as scripts/bundle.mjs builds them (hono's tiny router, the OpenAPI document
// written beside the bundle, pg without its runtime probe), answering real requests on PostgreSQL.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApi } from '../shared/api/openapi.ts';

const ROOT = join(import.meta.dirname, '..');
const PG_URL = process.env.FERRY_TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? '';

type FcResult = { statusCode: number; body: string; headers: Record<string, string> };
type Handler = (event: unknown, context: unknown) => Promise<FcResult>;

const API_TOKEN = 'bundle-served-api-token';
const WEBHOOK_TOKEN = 'bundle-served-webhook-token';

describe.runIf(PG_URL)('the function bundles as built, on PostgreSQL', () => {
  const out = mkdtempSync(join(tmpdir(), 'ferry-bundle-served-'));
  const schema = `ferry_bundle_${randomBytes(6).toString('hex')}`;
  const saved = { ...process.env };
  let cancel: Handler;
  let webhook: Handler;

  beforeAll(async () => {
    const { bundleAll } = (await import(pathToFileURL(join(ROOT, 'scripts/bundle.mjs')).href)) as {
      bundleAll(o: { outdir: string; quiet: boolean; entries: { name: string; path: string }[] }): Promise<unknown>;
    };
    await bundleAll({
      outdir: out,
      quiet: true,
      entries: [
        { name: 'cancel', path: 'functions/cancel.ts' },
        { name: 'webhook', path: 'functions/webhook.ts' },
      ],
    });
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    writeFileSync(join(out, 'ferry.config.json'), JSON.stringify({ auth: { webhookTokens: ['${FERRY_WEBHOOK_TOKEN}'], apiTokens: [{ name: 'op', token: '${FERRY_API_TOKEN}', role: 'admin' }] } }));
    Object.assign(process.env, { FERRY_CONFIG: join(out, 'ferry.config.json'), FERRY_WEBHOOK_TOKEN: WEBHOOK_TOKEN, FERRY_API_TOKEN: API_TOKEN, DATABASE_URL: url.href });
    delete process.env.FERRY_MODE;
    const load = (fn: string) => (createRequire(import.meta.url)(join(out, fn, 'index.js')) as { handler: Handler }).handler;
    cancel = load('cancel');
    webhook = load('webhook');
  }, 120_000);

  afterAll(async () => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    rmSync(out, { recursive: true, force: true });
  });

  const event = (method: string, path: string, headers: Record<string, string> = {}, body = '', queryParameters: Record<string, string> = {}) =>
    Buffer.from(JSON.stringify({ httpMethod: method, path, headers: { 'content-type': 'application/json', ...headers }, queryParameters, body }));
  const api = (method: string, path: string, body = '', query: Record<string, string> = {}) =>
    cancel(event(method, path, { authorization: `Bearer ${API_TOKEN}` }, body, query), { requestId: `r-${randomUUID()}` });

  it('serves /openapi.json from the file written beside the bundle: the document the source builds', async () => {
    const r = await cancel(event('GET', '/openapi.json'), { requestId: 'r-openapi' });
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body)).toEqual(buildOpenApi());
  });

  it('routes the operator API: fixed paths, parameters, a route that names a method it lacks, no route', async () => {
    expect((await cancel(event('GET', '/healthz'), { requestId: 'r-h' })).statusCode).toBe(200);
    const tasks = await api('GET', '/tasks');
    expect(tasks.statusCode).toBe(200);
    expect(JSON.parse(tasks.body)).toMatchObject({ items: [] });
    const missing = await api('GET', `/tasks/${randomUUID()}`);
    expect(missing.statusCode).toBe(404);
    const bad = await api('GET', '/tasks', '', { limit: '0' });
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).error.field).toBe('query.limit');
    const retry = await api('POST', '/tasks/retry', JSON.stringify({ nope: 1 }));
    expect(retry.statusCode).toBe(400);
    expect((await api('DELETE', '/tasks')).statusCode).toBe(405);
    const none = await api('GET', '/nowhere');
    expect(none.statusCode).toBe(404);
    expect(JSON.parse(none.body).error.message).toBe('no route GET /nowhere');
  });

  it('routes the webhook: its one route by kind, anything else a 404 naming the kinds', async () => {
    const auth = { authorization: `Bearer ${WEBHOOK_TOKEN}` };
    const bad = await webhook(event('POST', '/webhooks/acr', auth, '{"not":"an acr event"}'), { requestId: 'r-w1' });
    expect(bad.statusCode).toBe(422);
    // zod's own English message: zod/mini installs no locale by itself (shared/zod.ts does).
    expect(JSON.parse(bad.body).error).toMatchObject({ code: 'InvalidEvent', field: 'push_data', message: 'Invalid input: expected object, received undefined' });
    const unknownKind = await webhook(event('POST', '/webhooks/gitlab', auth, '{}'), { requestId: 'r-w2' });
    expect(unknownKind.statusCode).toBe(404);
    const none = await webhook(event('GET', '/elsewhere', auth), { requestId: 'r-w3' });
    expect(none.statusCode).toBe(404);
    expect(JSON.parse(none.body).error.message).toMatch(/^no route GET \/elsewhere; use POST \/webhooks\/\{/);
  });
});
