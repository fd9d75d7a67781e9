// Log lines and error answers are bounded and read as what they say (shared/log.ts): request values
// are clipped where they are echoed (`clip`: 200 characters + `…(+N)`), no log value exceeds
// LOG_VALUE_MAX, and the characters JSON leaves raw but terminals act on (U+2028, U+2029, bidi and
// C1 controls) are escaped. Over real HTTP: the `npm start` app (local/stack/app.ts: request log,
// webhook and API apps) on a loopback socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { routeByPath, serveApp } from '../local/stack/app.ts';
import { createApiApp } from '../shared/api/app.ts';
import { errorBody } from '../shared/http/errors.ts';
import { clip, createLogger, LOG_VALUE_MAX, logLine, registerSecret, setLogSink } from '../shared/log.ts';
import { type NodeServer, serveNode } from '../shared/runtime/node-http.ts';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { startTestStack, TEST_TOKENS, type TestStack } from './helpers/stack.ts';

const UNSAFE = ['\u2028', '\u2029', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069', '\u200e', '\u200f', '\u061c', '\u0085', '\u009b'];

describe('the logger', () => {
  it('escapes line separators, bidi and C1 controls like other control characters; the line parses back to the same text', () => {
    const lines: string[] = [];
    const prev = setLogSink((l) => lines.push(l));
    try {
      const value = `a\nb\u0007c${UNSAFE.join('x')}z`;
      createLogger({}, 'debug').info(`msg\u2028with\u202eseparators`, { value, nested: { list: ['\u2066rtl\u2069'] } });
    } finally {
      setLogSink(prev);
    }
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    for (const c of UNSAFE) expect(line.includes(c), `U+${c.charCodeAt(0).toString(16)} raw in the line`).toBe(false);
    expect(line).toContain('\\u2028');
    expect(line).toContain('\\u202e');
    expect(line).toContain('\\u0085');
    expect(line.split('\n')).toHaveLength(1);
    const parsed = JSON.parse(line);
    expect(parsed.value).toBe(`a\nb\u0007c${UNSAFE.join('x')}z`);
    expect(parsed.msg).toBe('msg\u2028with\u202eseparators');
    expect(parsed.nested.list).toEqual(['\u2066rtl\u2069']);
  });

  it(`caps every string value at LOG_VALUE_MAX (${LOG_VALUE_MAX}) with a marker`, () => {
    const parsed = JSON.parse(logLine({ big: 'x'.repeat(50_000), small: 'y' }));
    expect(parsed.big).toBe(`${'x'.repeat(LOG_VALUE_MAX)}…(+${50_000 - LOG_VALUE_MAX})`);
    expect(parsed.small).toBe('y');
  });

  it('clip: 200 characters and …(+N); never splits a surrogate pair; masks a secret before cutting it', () => {
    expect(clip('k'.repeat(15 * 1024))).toBe(`${'k'.repeat(200)}…(+${15 * 1024 - 200})`);
    expect(clip('short')).toBe('short');
    expect(clip('abcdef', 3)).toBe('abc…(+3)');
    const emoji = clip(`${'e'.repeat(199)}😀tail`);
    expect(emoji).toBe(`${'e'.repeat(199)}…(+6)`); // 😀 is two UTF-16 units: cut before it
    registerSecret('straddling-secret-value-42');
    const cut = clip(`${'p'.repeat(190)}straddling-secret-value-42${'q'.repeat(100)}`);
    expect(cut).not.toContain('straddling');
    expect(cut.startsWith(`${'p'.repeat(190)}***`)).toBe(true);
  });

  it('error answers: the message and the field are bounded too', () => {
    const body = errorBody(400, 'InvalidRequest', `bad ${'m'.repeat(5000)}`, { field: `body.${'f'.repeat(5000)}` });
    expect(body.error.message.length).toBeLessThan(1100);
    expect(body.error.message).toMatch(/…\(\+\d+\)$/);
    expect(body.error.field!.length).toBeLessThan(220);
  });
});

describe('over HTTP: a 15 KB webhook kind and API path, before and after authentication', () => {
  let stack: TestStack;
  let server: NodeServer;
  const lines: string[] = [];
  let prev: ((l: string) => void) | undefined;

  beforeAll(async () => {
    stack = await startTestStack();
    const log = createLogger({ service: 'ferry' }, 'info');
    const deps = { ...stack.deps, log };
    const served = serveApp(routeByPath(createWebhookApp(deps), createApiApp(deps)), log.child({ component: 'http' }));
    server = await serveNode(served.app, { port: 0, host: '127.0.0.1' });
    prev = setLogSink((l) => lines.push(l));
  });
  afterAll(async () => {
    if (prev) setLogSink(prev);
    await server?.close();
    await stack?.close();
  });

  it('the 404 UnknownKind answer and the log lines quote at most 200 characters of the kind', async () => {
    const kind = 'k'.repeat(15 * 1024);
    lines.length = 0;
    const res = await request(`${server.url}/webhooks/${kind}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const text = await res.body.text();
    expect(res.statusCode).toBe(404);
    const body = JSON.parse(text);
    expect(body.error).toMatchObject({ code: 'UnknownKind', field: 'kind' });
    expect(body.error.message).toContain(`unknown webhook kind "${'k'.repeat(200)}…(+${15 * 1024 - 200})"`);
    expect(text.length).toBeLessThan(600);

    const logged = lines.map((l) => JSON.parse(l));
    expect(logged.find((l) => l.msg === 'webhook refused')).toMatchObject({ kind: `${'k'.repeat(200)}…(+${15 * 1024 - 200})`, status: 404 });
    expect(logged.find((l) => l.msg === 'http request')).toMatchObject({ path: `/webhooks/${'k'.repeat(190)}…(+${15 * 1024 + 10 - 200})`, status: 404 });
    for (const l of lines) expect(l.length).toBeLessThan(1000);
  });

  it('a kind with bidi controls and line separators: escaped in the log line', async () => {
    lines.length = 0;
    const res = await request(`${server.url}/webhooks/${encodeURIComponent('acr\u202e\u2028fake')}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.statusCode).toBe(404);
    await res.body.text();
    const refused = lines.find((l) => l.includes('"webhook refused"'))!;
    expect(refused).toBeDefined();
    expect(refused.includes('\u202e') || refused.includes('\u2028')).toBe(false);
    expect(JSON.parse(refused).kind).toBe('acr\u202e\u2028fake');
  });

  it('an API 404 for a 15 KB path (after authentication): bounded answer and log line', async () => {
    lines.length = 0;
    const path = `/nope/${'p'.repeat(15 * 1024)}`;
    const res = await request(`${server.url}${path}`, { headers: { authorization: `Bearer ${TEST_TOKENS.admin}` } });
    const text = await res.body.text();
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(text).error.message).toBe(`no route GET ${path.slice(0, 200)}…(+${path.length - 200})`);
    expect(text.length).toBeLessThan(600);
    expect(lines.find((l) => l.includes('"http request"'))!.length).toBeLessThan(1000);
  });
});
