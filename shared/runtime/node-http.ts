/**
 * Serve a FetchApp on node's http server (local stack, tests). Bodies stream both ways;
 * nothing app-specific (no size limits, no routing) is enforced here.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { FetchApp, InvocationContext } from './context.ts';
import { ERROR_CONTENT_TYPE, errorBody } from '../http/errors.ts';
import { UNSERVABLE_METHODS, unservableMethodMessage } from './http.ts';

/**
 * Limits of the server itself, so a slow or hostile client cannot hold it: headers must arrive within
 * `headersTimeoutMs`, the whole request within `requestTimeoutMs`, an idle keep-alive connection is
 * closed after `keepAliveTimeoutMs`, and at most `maxConnections` sockets are open at once.
 */
export const SERVER_LIMITS = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, maxConnections: 512 };

export interface ServeOptions {
  port?: number;
  host?: string;
  limits?: Partial<typeof SERVER_LIMITS>;
  /** Extra context for every request (e.g. region, functionName); requestId is generated per request. */
  context?: Omit<InvocationContext, 'requestId'>;
  onError?: (err: unknown) => void;
}

export interface NodeServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function toRequest(req: IncomingMessage, base: string, signal: AbortSignal): Request {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    if (/^(connection|keep-alive|transfer-encoding|upgrade|http2-settings)$/i.test(name)) continue;
    try {
      headers.append(name, value);
    } catch {
      // skip header node accepted but Fetch rejects
    }
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal };
  if (hasBody) {
    init.body = Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>;
    init.duplex = 'half';
  }
  return new Request(new URL(req.url ?? '/', base), init);
}

async function writeResponse(res: Response, out: ServerResponse, method: string, bodyUnread: boolean): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  // An answer given before the request body was read (401, 413, 415…) ends the connection: reading the
  // rest only to keep it alive would let a client drip a large body at us for as long as it likes.
  if (bodyUnread) headers.connection = 'close';
  res.headers.forEach((value, name) => {
    if (name === 'set-cookie') return;
    headers[name] = value;
  });
  const cookies = res.headers.getSetCookie();
  if (cookies.length) headers['set-cookie'] = cookies;
  out.writeHead(res.status, res.statusText || undefined, headers);
  if (!res.body || method === 'HEAD') {
    out.end();
    return;
  }
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // Respect backpressure so large bodies are not buffered in memory.
      if (!out.write(value)) await new Promise<void>((resolve) => out.once('drain', resolve));
      if (out.destroyed) {
        await reader.cancel();
        return;
      }
    }
    out.end();
  } catch (err) {
    out.destroy(err as Error);
  }
}

export function serveNode(app: FetchApp, opts: ServeOptions = {}): Promise<NodeServer> {
  const host = opts.host ?? '127.0.0.1';
  const limits = { ...SERVER_LIMITS, ...opts.limits };
  // The header and request timeouts are checked on this interval (Node's default, 30 s, would let them slip).
  const server = createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const ctx: InvocationContext = { ...opts.context, requestId: randomUUID() };
    if (req.socket.remoteAddress) ctx.sourceIp = req.socket.remoteAddress;
    const base = `http://${req.headers.host && /^[A-Za-z0-9.\-:[\]]+$/.test(req.headers.host) ? req.headers.host : `${host}:${(server.address() as AddressInfo).port}`}`;
    const method = (req.method ?? 'GET').toUpperCase();
    if (UNSERVABLE_METHODS.has(method)) {
      // Fetch cannot represent the request, so no app sees it; answered here like FC's adapters do.
      res.writeHead(501, { 'content-type': ERROR_CONTENT_TYPE });
      res.end(JSON.stringify(errorBody(501, 'NotImplemented', unservableMethodMessage(method), { requestId: ctx.requestId })));
      return;
    }
    void (async () => {
      let response: Response;
      try {
        response = await app(toRequest(req, base, abort.signal), ctx);
      } catch (err) {
        opts.onError?.(err);
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': ERROR_CONTENT_TYPE });
          res.end(JSON.stringify(errorBody(500, 'InternalError', 'the request could not be processed', { requestId: ctx.requestId })));
        } else res.destroy();
        return;
      }
      const bodyUnread = !req.complete;
      await writeResponse(response, res, req.method ?? 'GET', bodyUnread);
      // The socket is taken now: by 'finish' the response may already have let go of it.
      const socket = req.socket;
      if (bodyUnread) res.once('finish', () => socket?.destroySoon());
    })();
  });
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      const urlHost = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${urlHost}:${port}`,
        port,
        close: () =>
          new Promise<void>((res, rej) => {
            server.close((err) => (err ? rej(err) : res()));
            server.closeAllConnections();
          }),
      });
    });
  });
}
