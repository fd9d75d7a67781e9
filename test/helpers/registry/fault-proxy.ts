/**
 * An HTTP reverse proxy in front of a registry that misbehaves on demand: answers for the registry
 * (429 with Retry-After, 503), holds a request back (a transfer in flight), drops a connection before a
 * request reaches the registry or in the middle of a response, serves corrupted bytes. `fault` is asked
 * for every request; everything is logged.
 */
import { createServer, request as upstream, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  /** Path and query. */
  path: string;
  /** 0 for the first request the proxy sees. */
  index: number;
}

export type Fault =
  /** Answered by the proxy; the registry never sees the request. */
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Reads this many bytes of the request body, then resets the connection: the registry sees nothing. */
  | { dropRequestAfter: number }
  /** Forwards, then cuts the connection after this many bytes of the response body. */
  | { dropResponseAfter: number }
  /** Forwards, with one byte of the response body changed (after `at` bytes, default 0). */
  | { corruptResponseAt: number }
  /** Forwards after this many ms (given up if the client goes away first): a slow transfer. */
  | { delayMs: number };

export interface ProxyLogEntry extends ProxiedRequest {
  status: number | null;
  /** Request body bytes passed to the registry. */
  forwardedBytes: number;
  fault: Fault | null;
  authorization: boolean;
}

export interface FaultProxy {
  url: string;
  host: string;
  log: ProxyLogEntry[];
  fault: (req: ProxiedRequest) => Fault | null;
  close(): Promise<void>;
}

const BLOB = /^\/v2\/.+\/blobs\/(sha256:[a-f0-9]{64})(?:\?|$)/;

/** The digest a blob download (`GET /v2/<name>/blobs/<digest>`) asks for, or null for any other request. */
export function blobGet(req: Pick<ProxiedRequest, 'method' | 'path'>): string | null {
  return req.method === 'GET' ? (BLOB.exec(req.path)?.[1] ?? null) : null;
}

/** The digests of the blob downloads in `log`, in order, repeats included. */
export const blobGets = (log: readonly ProxiedRequest[]): string[] => log.flatMap((e) => blobGet(e) ?? []);

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const to = new URL(target);
  let index = 0;
  const proxy: FaultProxy = { url: '', host: '', log: [], fault: () => null, close: async () => {} };

  const forward = (req: IncomingMessage, res: ServerResponse, entry: ProxyLogEntry, fault: Fault | null) => {
    const out = upstream({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      entry.status = up.statusCode ?? null;
      res.writeHead(up.statusCode ?? 502, up.headers);
      let sent = 0;
      up.on('data', (c: Buffer) => {
        if (fault && 'dropResponseAfter' in fault && sent + c.byteLength > fault.dropResponseAfter) {
          res.write(c.subarray(0, Math.max(0, fault.dropResponseAfter - sent)));
          res.socket?.destroy();
          up.destroy();
          return;
        }
        if (fault && 'corruptResponseAt' in fault && sent <= fault.corruptResponseAt && fault.corruptResponseAt < sent + c.byteLength) {
          const copy = Buffer.from(c);
          const i = fault.corruptResponseAt - sent;
          copy[i] = copy[i]! ^ 0xff;
          c = copy;
        }
        sent += c.byteLength;
        res.write(c);
      });
      up.on('end', () => res.end());
      up.on('error', () => res.socket?.destroy());
    });
    out.on('error', () => res.socket?.destroy());
    req.on('data', (c: Buffer) => (entry.forwardedBytes += c.byteLength));
    req.pipe(out);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const entry: ProxyLogEntry = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      index: index++,
      status: null,
      forwardedBytes: 0,
      fault: null,
      authorization: req.headers.authorization !== undefined,
    };
    proxy.log.push(entry);
    const fault = proxy.fault(entry);
    entry.fault = fault;
    if (fault && 'status' in fault) {
      req.resume();
      entry.status = fault.status;
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(fault.body ?? '');
      return;
    }
    if (fault && 'dropRequestAfter' in fault) {
      let seen = 0;
      req.on('data', (c: Buffer) => {
        seen += c.byteLength;
        if (seen >= fault.dropRequestAfter) req.socket.destroy();
      });
      req.on('end', () => req.socket.destroy());
      return;
    }
    if (fault && 'delayMs' in fault) {
      const timer = setTimeout(() => forward(req, res, entry, null), fault.delayMs);
      res.once('close', () => clearTimeout(timer));
      return;
    }
    forward(req, res, entry, fault);
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  proxy.url = `http://127.0.0.1:${port}`;
  proxy.host = `127.0.0.1:${port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
