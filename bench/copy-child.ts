/**
 * One copyImage in its own process, for `npm run bench -- copy` (bench/copy.ts). The bench bundles
 * this file with esbuild and runs it on plain node, as a deployed Ferry would run: no tsx loader.
 * Usage: node copy-child.mjs '<{"src":{url,repository,tag},"dst":{…},"opts":{chunkBytes?,concurrency?},"fetch"?:"node-http"}>'
 * Prints `@@result {json}`: the copy's result, its own peak RSS (getrusage maxRSS) and when each
 * phase began, in epoch ms (performance.timeOrigin + now(): sub-ms, comparable with the parent's clock).
 *
 * `"fetch": "node-http"` (an investigation, FERRY_BENCH_COPY_FETCH=node-http): the engine's
 * non-blob requests (manifests, HEAD, upload POSTs, tokens) over node:http through CopyOptions.fetch
 * instead of the global fetch, whose first connection compiles undici's llhttp WebAssembly.
 */
import { Agent, type IncomingMessage, request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { copyImage, type CopyProgress } from '../shared/copy/index.ts';

interface Side {
  url: string;
  repository: string;
  tag: string;
}

interface Args {
  src: Side;
  dst: Side;
  opts?: { chunkBytes?: number; concurrency?: number };
  fetch?: 'node-http';
}

const side = (s: Side) => ({ registry: { url: s.url, name: s.url, login: async () => null }, repository: s.repository, tag: s.tag });

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

/** Just enough of fetch for the engine: no redirects followed (it asks for `manual`), bodies read whole. */
async function nodeHttpFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  const headers = Object.fromEntries(new Headers(init.headers));
  const body = init.body;
  if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) throw new Error('nodeHttpFetch: only string and byte bodies');
  const msg = await new Promise<IncomingMessage>((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : request;
    const req = send(url, { method: init.method ?? 'GET', headers, ...(url.protocol === 'https:' ? {} : { agent }) }, resolve);
    req.once('error', reject);
    req.end(body ?? undefined);
  });
  const parts: Buffer[] = [];
  for await (const c of msg as AsyncIterable<Buffer>) parts.push(c);
  const status = msg.statusCode ?? 502;
  const h = new Headers();
  for (const [k, v] of Object.entries(msg.headers)) for (const x of Array.isArray(v) ? v : v === undefined ? [] : [v]) h.append(k, x);
  const nullBody = status === 204 || status === 205 || status === 304 || init.method === 'HEAD' || parts.length === 0;
  return new Response(nullBody ? null : Buffer.concat(parts), { status: Math.max(200, Math.min(599, status)), headers: h });
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as Args;
  const at = () => performance.timeOrigin + performance.now();
  // Phase → when it was first reported.
  const phases: Partial<Record<CopyProgress['phase'] | 'main' | 'end', number>> = { main: at() };
  const opts = { ...args.opts, ...(args.fetch === 'node-http' ? { fetch: nodeHttpFetch as typeof fetch } : {}) };
  const result = await copyImage(side(args.src), side(args.dst), opts, {
    progress: (p) => {
      phases[p.phase] ??= at();
    },
  });
  phases.end = at();
  const line = '@@result ' + JSON.stringify({ result, maxRssBytes: process.resourceUsage().maxRSS * 1024, phases }) + '\n';
  // Keep-alive sockets would hold the process open: exit once the line is out.
  process.stdout.write(line, () => process.exit(0));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
