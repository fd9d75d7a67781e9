/**
 * Blob bodies over Node's own http/https streams rather than fetch. Measured on a 500 MB layer
 * between two local registries: piping an `IncomingMessage` into a request keeps the process at
 * ~86 MB peak RSS and runs in ~3 s, where fetch with a streamed request body held up to 568 MB (web
 * streams between undici's response and request bodies gave no backpressure) and took ~4.5 s.
 * Status and headers come back as a `Response`, so the client's auth, retry and error handling stay
 * one code path; a 2xx body is handed over as the Node stream itself (`nodeBody`).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export type NodeResponse = Response & { nodeBody?: IncomingMessage };

export interface NodeInit {
  method: string;
  headers: Record<string, string>;
  body?: Readable | Uint8Array | string | undefined;
}

const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 32 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 32 }) };

/** Error bodies are small; anything larger is cut (the message needs its start only). */
const ERROR_BODY_LIMIT = 16 * 1024;

async function readSome(msg: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of msg as AsyncIterable<Buffer>) {
    if (size < ERROR_BODY_LIMIT) parts.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(parts).toString('utf8').slice(0, ERROR_BODY_LIMIT);
}

function toHeaders(msg: IncomingMessage): Headers {
  const h = new Headers();
  for (const [name, value] of Object.entries(msg.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) h.append(name, v);
  }
  return h;
}

export async function nodeSend(url: string, init: NodeInit): Promise<NodeResponse> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  const req = send(u, { method: init.method, headers: init.headers, agent: secure ? agents.https : agents.http });
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  const body = init.body;
  if (body instanceof Readable) {
    // The registry may answer (and close) before the body is all sent, e.g. a refusal: the answer wins.
    const sent = pipeline(body, req);
    const first = await Promise.race([answered.then((m) => ({ m })), sent.then(() => null)]);
    if (first === null) return wrap(await answered, init.method);
    sent.catch(() => {});
    return wrap(first.m, init.method);
  }
  req.end(body);
  return wrap(await answered, init.method);
}

async function wrap(msg: IncomingMessage, method: string): Promise<NodeResponse> {
  const status = msg.statusCode ?? 502;
  const headers = toHeaders(msg);
  const success = status >= 200 && status < 300;
  // Only a GET's body is worth streaming; anything else is read now, so the socket goes back to the pool.
  if (success && method === 'GET' && status !== 204 && status !== 205) {
    const res = new Response(null, { status, headers }) as NodeResponse;
    res.nodeBody = msg;
    return res;
  }
  const text = method === 'HEAD' ? (msg.resume(), '') : await readSome(msg);
  const nullBody = status === 204 || status === 205 || status === 304 || text === '';
  return new Response(nullBody ? null : text, { status: Math.max(200, Math.min(599, status)), headers }) as NodeResponse;
}

/** Manifests, tokens and error bodies: small; a larger answer is cut off rather than held. */
const SMALL_BODY_LIMIT = 8 * 1024 * 1024;

/**
 * `fetch` on the same Node streams, for everything but blob bodies: each fresh process then skips
 * undici's WebAssembly parser compile (~200 ms of CPU, ~30 MB; measured by the copy bench) and the
 * engine runs on one HTTP stack. Bodies are read whole, so the answer is an ordinary Response.
 */
export const nodeFetch: typeof fetch = async (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url;
  const headers: Record<string, string> = {};
  new Headers(init?.headers).forEach((value, name) => {
    headers[name] = value;
  });
  const body = init?.body;
  if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array)) throw new TypeError('nodeFetch sends string or byte bodies only');
  const res = await nodeSend(url, { method: init?.method ?? 'GET', headers, body: body ?? undefined });
  if (!res.nodeBody) return res;
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.nodeBody as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > SMALL_BODY_LIMIT) {
      res.nodeBody.destroy();
      throw new Error(`${url}: answer larger than ${SMALL_BODY_LIMIT} bytes`);
    }
    parts.push(chunk);
  }
  return new Response(Buffer.concat(parts), { status: res.status, headers: res.headers });
};
