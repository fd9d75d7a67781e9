import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as real } from 'undici';
import { request as lite } from '../scripts/shims/undici-lite.ts';

// The function bundles swap undici for undici-lite: both must answer the same way.
let url = '';
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/elsewhere' }).end();
      return;
    }
    if (req.url === '/slow') {
      setTimeout(() => res.end('late'), 500);
      return;
    }
    res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'R1' });
    res.end(JSON.stringify({ method: req.method, body, auth: req.headers.authorization ?? null, host: req.headers.host }));
  });
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe.each([
  ['undici', real],
  ['undici-lite', lite],
] as const)('%s request', (_name, request) => {
  it('sends method, headers and body; returns status, lowercase headers and text', async () => {
    const res = await request(`${url}/x?a=1`, { method: 'POST', headers: { authorization: 'ACS3 x', 'content-type': 'text/plain' }, body: 'hello' });
    expect(res.statusCode).toBe(201);
    expect(res.headers['x-request-id']).toBe('R1');
    expect(JSON.parse(await res.body.text())).toEqual({ method: 'POST', body: 'hello', auth: 'ACS3 x', host: url.slice(7) });
  });

  it('does not follow redirects', async () => {
    const res = await request(`${url}/redirect`);
    expect(res.statusCode).toBe(302);
    await res.body.text();
  });

  it('aborts on the signal', async () => {
    await expect(request(`${url}/slow`, { signal: AbortSignal.timeout(50) })).rejects.toThrow();
  });
});
