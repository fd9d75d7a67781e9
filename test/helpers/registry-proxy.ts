/**
 * A registry seen through a proxy that can misbehave on blob downloads: delay them (a copy in
 * flight), corrupt them (a digest mismatch), or answer 503 (an outage). Real HTTP both ways.
 */
import { createServer, type Server } from 'node:http';

export type ProxyMode = 'pass' | 'slow' | 'corrupt' | 'down';

export interface RegistryProxy {
  url: string;
  mode: ProxyMode;
  /** Blob GETs seen, by digest. */
  blobGets: string[];
  /** In `pass` mode too, these blobs are held back `slowMs` (one layer in flight while others finish). */
  slowDigests: Set<string>;
  close(): Promise<void>;
}

const BLOB = /\/v2\/.+\/blobs\/(sha256:[a-f0-9]{64})$/;

export async function startRegistryProxy(upstream: string, slowMs = 1500): Promise<RegistryProxy> {
  const proxy: RegistryProxy = { url: '', mode: 'pass', blobGets: [], slowDigests: new Set(), close: async () => {} };
  const server: Server = createServer(async (req, res) => {
    const path = req.url ?? '/';
    const blob = req.method === 'GET' ? BLOB.exec(path.split('?')[0]!) : null;
    if (blob) proxy.blobGets.push(blob[1]!);
    if (blob && proxy.mode === 'down') {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"proxy down"}]}');
      return;
    }
    if (blob && (proxy.mode === 'slow' || proxy.slowDigests.has(blob[1]!))) await new Promise((r) => setTimeout(r, slowMs));
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'connection')) as Record<string, string>;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const up = await fetch(upstream + path, { method: req.method!, headers, redirect: 'manual', ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
    let body = Buffer.from(await up.arrayBuffer());
    if (blob && proxy.mode === 'corrupt' && body.length > 0) {
      body = Buffer.from(body);
      body[0] = body[0]! ^ 0xff;
    }
    const out: Record<string, string> = {};
    up.headers.forEach((v, k) => {
      if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection' && k !== 'content-encoding') out[k] = v;
    });
    const length = req.method === 'HEAD' ? (up.headers.get('content-length') ?? '0') : String(body.length);
    res.writeHead(up.status, { ...out, 'content-length': length }).end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  proxy.url = `http://127.0.0.1:${port}`;
  proxy.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
