/**
 * A tiny scripted HTTP server on 127.0.0.1 (port 0) for the cloud client tests: records every
 * request, answers from a queue of scripted replies (or a default handler), can drop the
 * connection. Plus a virtual clock and server-side signature checks.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseV3Authorization, sha256Hex, v1Signature, v3Signature } from '../shared/clients/signing/alibaba.ts';
import { huaweiSignature, parseHuaweiAuthorization } from '../shared/clients/signing/huawei.ts';
import type { Clock } from '../shared/clock.ts';

export interface Recorded {
  method: string;
  /** Raw path, without the query string. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
}

export type Reply = { status?: number; headers?: Record<string, string>; body?: unknown } | 'drop' | 'hang';
export type Handler = (req: Recorded) => Reply;

export interface TestServer {
  url: string;
  requests: Recorded[];
  /** Replies for the next requests, in order; afterwards the default handler answers. */
  script(...replies: Reply[]): void;
  setDefault(handler: Handler): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startServer(defaultHandler: Handler = () => ({ status: 200, body: {} })): Promise<TestServer> {
  const requests: Recorded[] = [];
  let queue: Reply[] = [];
  let fallback = defaultHandler;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      const rec: Recorded = {
        method: req.method ?? 'GET',
        path: (req.url ?? '/').split('?')[0]!,
        query: Object.fromEntries(url.searchParams),
        headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(rec);
      const reply = queue.length ? queue.shift()! : fallback(rec);
      if (reply === 'drop') return req.socket.destroy();
      if (reply === 'hang') return;
      const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...replies) => queue.push(...replies),
    setDefault: (h) => (fallback = h),
    reset: () => {
      requests.length = 0;
      queue = [];
      fallback = defaultHandler;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface FakeClock extends Clock {
  sleeps: number[];
  advance(ms: number): void;
}

/** Virtual time: `sleep` records the wait, moves time forward and resolves at once. */
export function fakeClock(start = Date.now()): FakeClock {
  let t = start;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

/** Recomputes an Alibaba V3 or V1 signature from what arrived; returns the problem or null. */
export function alibabaSignatureProblem(req: Recorded, secret: string): string | null {
  const auth = req.headers.authorization;
  if (auth) {
    const parsed = parseV3Authorization(auth);
    if (!parsed) return 'malformed Authorization';
    for (const h of Object.keys(req.headers)) {
      if ((h.startsWith('x-acs-') || h === 'host' || h === 'content-type') && !parsed.signedHeaders.includes(h)) return `header ${h} is not signed`;
    }
    if (req.headers['x-acs-content-sha256'] !== sha256Hex(req.body)) return 'x-acs-content-sha256 does not match the body';
    const expected = v3Signature({ method: req.method, path: req.path, query: req.query, headers: req.headers, payloadHash: req.headers['x-acs-content-sha256']! }, parsed.signedHeaders, secret);
    return expected === parsed.signature ? null : 'V3 signature mismatch';
  }
  if (!req.query.Signature) return 'no signature';
  return v1Signature(req.method, req.query, secret) === req.query.Signature ? null : 'V1 signature mismatch';
}

/** Recomputes a Huawei SDK-HMAC-SHA256 signature from what arrived; returns the problem or null. */
export function huaweiSignatureProblem(req: Recorded, secretKey: string): string | null {
  const parsed = parseHuaweiAuthorization(req.headers.authorization ?? '');
  if (!parsed) return 'malformed Authorization';
  const date = req.headers['x-sdk-date'];
  if (!date) return 'no X-Sdk-Date';
  for (const h of ['host', 'x-sdk-date', 'content-type']) if (!parsed.signedHeaders.includes(h)) return `header ${h} is not signed`;
  if (req.headers['x-security-token'] && !parsed.signedHeaders.includes('x-security-token')) return 'x-security-token is not signed';
  const expected = huaweiSignature({ method: req.method, path: req.path, query: req.query, headers: req.headers, body: req.body }, parsed.signedHeaders, date, secretKey);
  return expected === parsed.signature ? null : 'signature mismatch';
}
