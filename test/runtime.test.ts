import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { handleApiGatewayEvent, apiGatewayEventToRequest } from '../shared/runtime/api-gateway.ts';
import { handleFc3HttpEvent } from '../shared/runtime/fc3-http.ts';
import { invocationContextFromFc, type FetchApp, type InvocationContext } from '../shared/runtime/context.ts';
import { httpHandler, timerHandler, once } from '../shared/runtime/handler.ts';
import { parseTimerEvent, BadTimerEventError } from '../shared/runtime/timer.ts';
import { serveNode } from '../shared/runtime/node-http.ts';
import { currentCredentials } from '../shared/runtime/bootstrap.ts';
import { responseToFcResult } from '../shared/runtime/http.ts';

/** Echoes everything the app saw as JSON. */
const echo: FetchApp = async (req, ctx) => {
  const bytes = new Uint8Array(await req.arrayBuffer());
  const url = new URL(req.url);
  return Response.json({
    method: req.method,
    path: url.pathname,
    query: [...url.searchParams.entries()],
    headers: Object.fromEntries(req.headers.entries()),
    bodyBase64: Buffer.from(bytes).toString('base64'),
    bodyText: Buffer.from(bytes).toString('utf8'),
    ctx,
  });
};
const ctx: InvocationContext = { requestId: 'req-1' };
const json = (r: { body: string; isBase64Encoded: boolean }) => JSON.parse(r.isBase64Encoded ? Buffer.from(r.body, 'base64').toString('utf8') : r.body);

// Sample from function-compute.md (API Gateway → FC event), as FC delivers it: a Buffer.
const agSample = {
  path: '/webhooks/acr',
  httpMethod: 'POST',
  headers: { 'Content-Type': 'application/json', Accept: 'text/plain, application/json', 'X-Multi': ['a', 'b'], 'Content-Length': '999' },
  queryParameters: { dry: 'true', tag: ['v1', 'v2'] },
  pathParameters: { kind: 'acr' },
  body: '{"push_data":{"tag":"v1"}}',
  isBase64Encoded: false,
};

// Sample from function-compute.md (FC 3.0 HTTP trigger event).
const fc3Sample = {
  version: 'v1',
  rawPath: '/example',
  body: 'Hello FC!',
  isBase64Encoded: false,
  headers: { header2: 'value1,value2' },
  queryParameters: { p: 'v1,v2' },
  requestContext: {
    accountId: '1234567890',
    domainName: 'abc.cn-hangzhou.fcapp.run',
    domainPrefix: 'abc',
    http: { method: 'GET', path: '/example', protocol: 'HTTP/1.1', sourceIp: '10.0.0.9', userAgent: 'curl/8' },
    requestId: 'fc3-req',
    time: '2023-09-05T06:41:11Z',
    timeEpoch: '1693896071895',
  },
};

/** A logger that says nothing, for handlers whose logs a test does not read. */
const quiet = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return this;
  },
};

describe('API Gateway adapter', () => {
  it('maps the documented event (Buffer) to a Request and the Response back', async () => {
    const r = await handleApiGatewayEvent(echo, Buffer.from(JSON.stringify(agSample)), ctx);
    expect(r.statusCode).toBe(200);
    expect(r.isBase64Encoded).toBe(false);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    const seen = json(r);
    expect(seen.method).toBe('POST');
    expect(seen.path).toBe('/webhooks/acr');
    expect(seen.query).toEqual([
      ['dry', 'true'],
      ['tag', 'v1'],
      ['tag', 'v2'],
    ]);
    expect(seen.headers['x-multi']).toBe('a, b');
    expect(seen.headers.accept).toBe('text/plain, application/json');
    expect(seen.headers['content-length']).not.toBe('999');
    expect(seen.bodyText).toBe(agSample.body);
    expect(seen.ctx.requestId).toBe('req-1');
  });

  it('decodes base64 bodies byte for byte and base64-encodes binary responses', async () => {
    const bytes = Buffer.from([0, 255, 1, 128, 10, 13]);
    const binApp: FetchApp = async (req) => new Response(await req.arrayBuffer(), { headers: { 'content-type': 'application/octet-stream' } });
    const r = await handleApiGatewayEvent(binApp, { ...agSample, body: bytes.toString('base64'), isBase64Encoded: true }, ctx);
    expect(r.isBase64Encoded).toBe(true);
    expect(Buffer.from(r.body, 'base64').equals(bytes)).toBe(true);
  });

  it('passes a body that is not JSON through untouched', async () => {
    const r = await handleApiGatewayEvent(echo, { ...agSample, body: 'not json {', headers: { 'content-type': 'text/plain' } }, ctx);
    expect(json(r).bodyText).toBe('not json {');
  });

  it('tolerates missing optional fields', async () => {
    const r = await handleApiGatewayEvent(echo, { httpMethod: 'get' }, ctx);
    expect(r.statusCode).toBe(200);
    const seen = json(r);
    expect(seen).toMatchObject({ method: 'GET', path: '/', query: [], bodyText: '' });
  });

  it('keeps ? and # inside a decoded path as path characters', () => {
    const req = apiGatewayEventToRequest({ httpMethod: 'GET', path: '/tasks/a?b#c%d', queryParameters: { x: '1' } });
    const url = new URL(req.url);
    expect(decodeURIComponent(url.pathname)).toBe('/tasks/a?b#c%d');
    expect(url.searchParams.get('x')).toBe('1');
  });

  it.each([
    ['not JSON', Buffer.from('{oops')],
    ['not an object', Buffer.from('[1,2]')],
    ['missing httpMethod', { path: '/x' }],
    ['bad method', { httpMethod: 'GE T', path: '/x' }],
    ['headers not an object', { httpMethod: 'POST', headers: 'x' }],
    ['bad base64', { httpMethod: 'POST', body: '***', isBase64Encoded: true }],
    ['body a number', { httpMethod: 'POST', body: 42 }],
  ])('answers 400 (never throws) for a malformed event: %s', async (_name, event) => {
    const r = await handleApiGatewayEvent(echo, event, ctx);
    expect(r.statusCode).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ error: { status: 400, code: 'BadEvent', requestId: 'req-1' } });
  });

  it('turns an app failure into a 500 without internals and reports it', async () => {
    const seen: unknown[] = [];
    const r = await handleApiGatewayEvent(
      async () => {
        throw new Error('db password=hunter2');
      },
      agSample,
      ctx,
      (e) => seen.push(e),
    );
    expect(r.statusCode).toBe(500);
    expect(r.body).not.toContain('hunter2');
    expect(seen).toHaveLength(1);
  });
});

describe('FC 3.0 HTTP adapter', () => {
  it('maps the documented sample event; comma-joined values stay one value', async () => {
    const r = await handleFc3HttpEvent(echo, Buffer.from(JSON.stringify(fc3Sample)), ctx);
    expect(r.statusCode).toBe(200);
    const seen = json(r);
    expect(seen.method).toBe('GET');
    expect(seen.path).toBe('/example');
    expect(seen.headers.header2).toBe('value1,value2');
    expect(seen.query).toEqual([['p', 'v1,v2']]);
    expect(seen.bodyText).toBe(''); // GET carries no body
    expect(seen.ctx.sourceIp).toBe('10.0.0.9');
  });

  it('keeps the URL-encoded rawPath encoded and decodes base64 POST bodies', async () => {
    const ev = {
      ...fc3Sample,
      rawPath: '/tasks/a%2Fb%20c',
      body: Buffer.from('{"x":1}').toString('base64'),
      isBase64Encoded: true,
      requestContext: { ...fc3Sample.requestContext, http: { ...fc3Sample.requestContext.http, method: 'POST' } },
    };
    const seen = json(await handleFc3HttpEvent(echo, ev, ctx));
    expect(seen.path).toBe('/tasks/a%2Fb%20c');
    expect(seen.bodyText).toBe('{"x":1}');
  });

  it('answers 400 for a malformed event', async () => {
    expect((await handleFc3HttpEvent(echo, { version: 'v1', rawPath: '/', requestContext: {} }, ctx)).statusCode).toBe(400);
    expect((await handleFc3HttpEvent(echo, Buffer.from('nope'), ctx)).statusCode).toBe(400);
  });
});

describe('responseToFcResult', () => {
  it('keeps text as text, base64s invalid UTF-8 even when labelled text, keeps repeated headers', async () => {
    const h = new Headers({ 'content-type': 'text/plain' });
    h.append('set-cookie', 'a=1');
    h.append('set-cookie', 'b=2');
    const t = await responseToFcResult(new Response('héllo', { headers: h, status: 201 }));
    expect(t).toMatchObject({ statusCode: 201, isBase64Encoded: false, body: 'héllo' });
    expect(t.headers['set-cookie']).toBe('a=1, b=2');
    const bad = await responseToFcResult(new Response(new Uint8Array([0xff, 0xfe]), { headers: { 'content-type': 'text/plain' } }));
    expect(bad.isBase64Encoded).toBe(true);
    const empty = await responseToFcResult(new Response(null, { status: 204 }));
    expect(empty).toEqual({ statusCode: 204, isBase64Encoded: false, headers: {}, body: '' });
  });
});

describe('invocationContextFromFc', () => {
  it('reads requestId, STS credentials, region, account, function name and deadline', () => {
    const c = invocationContextFromFc(
      {
        requestId: 'r-9',
        credentials: { accessKeyId: 'STS.key', accessKeySecret: 'sec', securityToken: 'tok' },
        function: { name: 'ferry-dev-webhook', handler: 'dist/webhook/index.handler', memory: 256, timeout: 30 },
        service: { name: 'ferry-dev' },
        region: 'cn-hangzhou',
        accountId: '123',
      },
      1_000,
    );
    expect(c).toEqual({
      requestId: 'r-9',
      credentials: { accessKeyId: 'STS.key', accessKeySecret: 'sec', securityToken: 'tok' },
      region: 'cn-hangzhou',
      accountId: '123',
      functionName: 'ferry-dev-webhook',
      deadlineMs: 31_000,
    });
  });
  it('copes with an empty context', () => {
    const c = invocationContextFromFc(undefined);
    expect(c.requestId).toMatch(/^local-/);
    expect(c.credentials).toBeUndefined();
    expect(c.deadlineMs).toBeUndefined();
  });
});

describe('httpHandler', () => {
  it('dispatches both event shapes, builds the app once, passes the FC context', async () => {
    let builds = 0;
    const handler = httpHandler(async () => {
      builds++;
      return echo;
    });
    const fcCtx = { requestId: 'r-1', region: 'cn-shanghai', function: { name: 'f', timeout: 30 } };
    const a = await handler(Buffer.from(JSON.stringify(agSample)), fcCtx);
    const b = await handler(Buffer.from(JSON.stringify(fc3Sample)), fcCtx);
    expect(json(a).path).toBe('/webhooks/acr');
    expect(json(b).path).toBe('/example');
    expect(json(a).ctx).toMatchObject({ requestId: 'r-1', region: 'cn-shanghai', functionName: 'f' });
    expect(builds).toBe(1);
    const odd = await handler(Buffer.from('{"hello":1}'), fcCtx);
    expect(odd.statusCode).toBe(400);
    expect(JSON.parse(odd.body).error.message).toMatch(/httpMethod/);
  });

  it('logs one line per request with id, status and duration, never the query string', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = { info: (msg: string, f?: Record<string, unknown>) => lines.push({ msg, ...f }), error: () => {}, warn: () => {}, debug: () => {}, child: () => logger };
    const handler = httpHandler(async () => echo, { logger });
    const event = { ...agSample, queryParameters: { token: 'secret-token-in-query', instance: 'cri-x' } };
    await handler(Buffer.from(JSON.stringify(event)), { requestId: 'r-log' });
    expect(lines).toEqual([{ msg: 'http request', requestId: 'r-log', method: 'POST', path: '/webhooks/acr', status: 200, durationMs: expect.any(Number) }]);
    expect(JSON.stringify(lines)).not.toContain('secret-token-in-query');
  });

  it('answers 503 when the app cannot be built and retries on the next invocation', async () => {
    let calls = 0;
    const handler = httpHandler(
      async () => {
        calls++;
        if (calls === 1) throw new Error('config missing');
        return echo;
      },
      { logger: quiet },
    );
    expect((await handler(agSample, {})).statusCode).toBe(503);
    expect((await handler(agSample, {})).statusCode).toBe(200);
    expect(calls).toBe(2);
  });
});

describe('handler factories record the invocation', () => {
  it("httpHandler: the FC context's STS credentials reach currentCredentials before the app runs, even when it cannot start", async () => {
    const sts = { accessKeyId: 'STS.http', accessKeySecret: 'http-sts-secret', securityToken: 'http-sts-token' };
    let seen: unknown;
    const failing = httpHandler(
      async () => {
        seen = currentCredentials();
        throw new Error('no config');
      },
      { logger: quiet },
    );
    expect((await failing(agSample, { requestId: 'r-sts', credentials: sts })).statusCode).toBe(503);
    expect(seen).toEqual(sts);
    const rotated = { ...sts, accessKeySecret: 'http-sts-secret-2', securityToken: 'http-sts-token-2' };
    const ok = httpHandler(async () => async () => Response.json(currentCredentials() ?? null), { logger: quiet });
    expect(json(await ok(agSample, { requestId: 'r-sts2', credentials: rotated }))).toEqual(rotated);
  });

  it('timerHandler: the same, before the job runs; each tick is logged', async () => {
    const sts = { accessKeyId: 'STS.timer', accessKeySecret: 'timer-sts-secret', securityToken: 'timer-sts-token' };
    const lines: Record<string, unknown>[] = [];
    const logger = { ...quiet, info: (msg: string, f?: Record<string, unknown>) => void lines.push({ msg, ...f }) };
    const handler = timerHandler(async () => async () => currentCredentials(), { logger });
    const tick = { triggerTime: '2023-12-26T07:49:00Z', triggerName: 'ferry-sweep-timer' };
    expect(await handler(tick, { requestId: 't-sts', credentials: sts })).toEqual(sts);
    expect(lines).toEqual([{ msg: 'timer tick', requestId: 't-sts', trigger: 'ferry-sweep-timer', triggerTime: '2023-12-26T07:49:00.000Z' }]);
  });
});

describe('once', () => {
  it('shares one in-flight build between concurrent callers', async () => {
    let n = 0;
    const get = once(async () => ++n);
    expect(await Promise.all([get(), get(), get()])).toEqual([1, 1, 1]);
  });
});

describe('timer', () => {
  const sample = { triggerTime: '2023-12-26T07:49:00Z', triggerName: 'timer-trigger', payload: 'hi' };
  it('parses the documented event from a Buffer or an object', () => {
    for (const ev of [Buffer.from(JSON.stringify(sample)), sample, JSON.stringify(sample)]) {
      const t = parseTimerEvent(ev);
      expect(t.triggerTime.toISOString()).toBe('2023-12-26T07:49:00.000Z');
      expect(t.triggerName).toBe('timer-trigger');
      expect(t.payload).toBe('hi');
    }
    expect(parseTimerEvent({ ...sample, payload: undefined }).payload).toBe('');
  });
  it.each([
    [Buffer.from('nope'), /not valid JSON/],
    [{ ...sample, triggerTime: 'yesterday' }, /triggerTime/],
    [{ ...sample, triggerTime: undefined }, /triggerTime/],
    [{ ...sample, triggerName: '' }, /triggerName/],
    [{ ...sample, payload: 3 }, /payload/],
  ])('rejects a malformed event clearly (%#)', (ev, msg) => {
    expect(() => parseTimerEvent(ev)).toThrow(BadTimerEventError);
    expect(() => parseTimerEvent(ev)).toThrow(msg);
  });
  it('timerHandler parses the tick and runs the job built once', async () => {
    let builds = 0;
    const handler = timerHandler(async () => {
      builds++;
      return async (tick, c) => ({ name: tick.triggerName, rid: c.requestId });
    });
    expect(await handler(Buffer.from(JSON.stringify(sample)), { requestId: 'x' })).toEqual({ name: 'timer-trigger', rid: 'x' });
    await handler(sample, { requestId: 'y' });
    expect(builds).toBe(1);
    await expect(handler(Buffer.from('{}'), {})).rejects.toThrow(/triggerTime/);
  });
});

describe('serveNode', () => {
  it('serves a FetchApp over a real socket, streaming request and response bodies', async () => {
    const chunks = 64;
    const app: FetchApp = async (req, c) => {
      const url = new URL(req.url);
      if (url.pathname === '/stream') {
        let i = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(ctrl) {
            if (i++ >= chunks) ctrl.close();
            else ctrl.enqueue(new Uint8Array(16 * 1024).fill(i % 256));
          },
        });
        return new Response(body, { headers: { 'content-type': 'application/octet-stream' } });
      }
      if (url.pathname === '/boom') throw new Error('boom');
      return echo(req, c);
    };
    const srv = await serveNode(app, { port: 0, host: '127.0.0.1', context: { region: 'local' } });
    try {
      expect(srv.url).toBe(`http://127.0.0.1:${srv.port}`);
      const big = Buffer.alloc(512 * 1024, 7);
      const r = await request(`${srv.url}/echo?a=1&a=2`, { method: 'POST', body: big, headers: { 'x-h': 'v' } });
      expect(r.statusCode).toBe(200);
      const seen = (await r.body.json()) as { method: string; query: string[][]; headers: Record<string, string>; bodyBase64: string; ctx: InvocationContext };
      expect(seen.method).toBe('POST');
      expect(seen.query).toEqual([
        ['a', '1'],
        ['a', '2'],
      ]);
      expect(seen.headers['x-h']).toBe('v');
      expect(Buffer.from(seen.bodyBase64, 'base64').equals(big)).toBe(true);
      expect(seen.ctx.region).toBe('local');
      expect(seen.ctx.requestId).toMatch(/[0-9a-f-]{36}/);

      const s = await request(`${srv.url}/stream`);
      const got = Buffer.from(await s.body.arrayBuffer());
      expect(got.length).toBe(chunks * 16 * 1024);

      const e = await request(`${srv.url}/boom`);
      expect(e.statusCode).toBe(500);
      expect(await e.body.text()).not.toContain('boom');
    } finally {
      await srv.close();
    }
    await expect(request(`${srv.url}/echo`)).rejects.toThrow();
  });

  it('a client that never finishes its headers is cut off by the header timeout', async () => {
    const srv = await serveNode(async () => new Response('ok'), { port: 0, limits: { headersTimeoutMs: 500, requestTimeoutMs: 1_000 } });
    try {
      const socket = connect(srv.port, '127.0.0.1');
      await new Promise<void>((r) => socket.once('connect', () => r()));
      socket.write('GET / HTTP/1.1\r\nhost: x\r\nx-slow: ');
      let answer = '';
      socket.on('data', (d) => (answer += d.toString()));
      const started = Date.now();
      await new Promise<void>((r) => socket.once('close', () => r()));
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await srv.close();
    }
  });

  it('keeps a connection alive across requests whose bodies were read', async () => {
    const srv = await serveNode(async (req) => new Response(await req.text()), { port: 0 });
    try {
      const a = await fetch(`${srv.url}/`, { method: 'POST', body: 'one' });
      expect(a.headers.get('connection')).not.toBe('close');
      expect(await a.text()).toBe('one');
    } finally {
      await srv.close();
    }
  });
});
