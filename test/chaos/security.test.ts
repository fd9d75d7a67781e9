/**
 * Security pass over the local stack: authentication on every route, no secret in any log line of
 * a full run, body size limit, and hostile names rejected before any cloud call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createApiApp } from '../../shared/api/app.ts';
import { errorEnvelopeSchema } from '../../shared/http/errors.ts';
import { createLogger, setLogSink, type Sink } from '../../shared/log.ts';
import { serveNode, type NodeServer } from '../../shared/runtime/node-http.ts';
import { WEBHOOK_KINDS } from '../../shared/webhook/normalize.ts';
import { TEST_TOKENS, startHarness, type Harness } from './harness.ts';

let h: Harness;
let api: NodeServer;
const lines: string[] = [];
let prevSink: Sink;
let cloudCalls = 0;
const cloudLines: string[] = [];

beforeAll(async () => {
  prevSink = setLogSink((l) => lines.push(l));
  process.env.FERRY_LOG_LEVEL = 'debug'; // every line, cloud calls included, is checked for secrets
  h = await startHarness({ cloud: { log: (line) => void (/ (acr|swr|ecs|iam):/.test(` ${line}`) && cloudCalls++ && cloudLines.push(line)) } });
  h.deps.log = createLogger({ service: 'ferry' }, 'debug');
  api = await serveNode(await createApiApp(h.deps), { port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await api?.close();
  await h?.close();
  setLogSink(prevSink);
  process.env.FERRY_LOG_LEVEL = 'warn';
});

async function answer(base: string, method: string, path: string, token?: string, body?: string) {
  const res = await request(new URL(path, base), {
    method: method as 'GET',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.statusCode, body: parsed };
}

async function call(base: string, method: string, path: string, token?: string, body?: string) {
  return (await answer(base, method, path, token, body)).status;
}

/** The code of an error answer in the one envelope, or a note why it is not one. */
function envelopeCode(status: number, body: unknown): string {
  const r = errorEnvelopeSchema.safeParse(body);
  if (!r.success) return `not the error envelope: ${JSON.stringify(body).slice(0, 200)}`;
  return r.data.error.status === status ? r.data.error.code : `status ${r.data.error.status} in a ${status} answer`;
}

describe('security', () => {
  it('every route refuses a missing or wrong token with 401', async () => {
    const routes: [string, string, string][] = [
      ...WEBHOOK_KINDS.map((k): [string, string, string] => [h.webhookUrl, 'POST', `/webhooks/${k}`]),
      [api.url, 'GET', '/tasks'],
      [api.url, 'GET', '/tasks/00000000-0000-0000-0000-000000000000'],
      [api.url, 'POST', '/tasks/00000000-0000-0000-0000-000000000000/cancel'],
      [api.url, 'POST', '/cancel'],
      [api.url, 'GET', '/replications/00000000-0000-0000-0000-000000000000'],
    ];
    for (const [base, method, path] of routes) {
      for (const token of [undefined, 'wrong-token-0123456789', TEST_TOKENS.read.slice(0, -1)]) {
        const r = await answer(base, method, path, token, method === 'POST' ? '{}' : undefined);
        expect({ path, token, status: r.status, code: envelopeCode(r.status, r.body) }).toEqual({ path, token, status: 401, code: 'Unauthorized' });
      }
    }
  });

  it('a body of 1 MiB + 1 byte is refused with 413', async () => {
    const big = '{"x":"' + 'a'.repeat(1024 * 1024 + 1 - 8) + '"}';
    expect(Buffer.byteLength(big)).toBe(1024 * 1024 + 1);
    const r = await h.post('/webhooks/acr?instance=cri-localsrc001', big, { authorization: `Bearer ${TEST_TOKENS.webhook}` });
    expect(r.status).toBe(413);
    expect(envelopeCode(r.status, r.body)).toBe('PayloadTooLarge');
  });

  it('hostile names in every field that reaches a cloud call are refused before any cloud call', async () => {
    const hostile = ['../etc', 'team/../../x', ';rm -rf', '$(id)', '`id`', 't\u0435am', 'team\uff0fapp', 'a b', 'x%2F..', 'app\u0000', '..'];
    const valid = (await h.acrPayload({ repo: 'app', tag: 'v9.9.9' })) as any;
    cloudCalls = 0;
    cloudLines.length = 0;
    const sent: string[] = [];
    for (const bad of hostile) {
      for (const field of ['namespace', 'name', 'tag'] as const) {
        const p = structuredClone(valid);
        if (field === 'tag') p.push_data.tag = bad;
        else p.repository[field] = bad;
        p.repository.repo_full_name = `${p.repository.namespace}/${p.repository.name}`;
        const r = await h.post('/webhooks/acr?instance=cri-localsrc001', JSON.stringify(p), { authorization: `Bearer ${TEST_TOKENS.webhook}` });
        const targetErrors = JSON.stringify(r.body).includes('"error"');
        if (cloudCalls > sent.length) sent.push(`${field}=${JSON.stringify(bad)} → ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
        expect({ bad, field, refused: r.status >= 400 || (r.status < 300 && (targetErrors || r.body?.matched === 0)) }).toEqual({ bad, field, refused: true });
      }
    }
    for (const bad of hostile) {
      for (const body of [{ taskId: bad }, { replicationId: bad }, { image: bad }, { namespace: bad, repository: bad, tag: bad }]) {
        const r = await answer(api.url, 'POST', '/cancel', TEST_TOKENS.admin, JSON.stringify({ ...body, reason: 'chaos' }));
        expect({ body, status: r.status >= 400 && r.status < 500, code: envelopeCode(r.status, r.body) }).toEqual({ body, status: true, code: 'InvalidRequest' });
      }
      const status = await call(api.url, 'POST', `/tasks/${encodeURIComponent(bad)}/cancel`, TEST_TOKENS.admin, '{"reason":"chaos"}');
      expect(status).toBeGreaterThanOrEqual(400);
    }
    expect({ cloudCalls, cloudLines, sent }).toEqual({ cloudCalls: 0, cloudLines: [], sent: [] });
  });

  it('no token or AccessKey secret appears in any log line of the run', async () => {
    // A normal replication, end to end, so the run logs submissions and the sweep too.
    expect((await h.push({ repo: 'app', tag: 'v7.0.0' })).status).toBeLessThan(300);
    h.cloud.clock.advance(5 * 60_000);
    await h.sweep();
    await call(api.url, 'GET', '/tasks', TEST_TOKENS.read);
    expect(lines.length).toBeGreaterThan(0);
    const secrets = [...Object.values(TEST_TOKENS), 'local-ferry-secret', 'local-ferry-password'];
    const leaks = lines.filter((l) => secrets.some((s) => l.includes(s)));
    expect(leaks).toEqual([]);
  });
});
