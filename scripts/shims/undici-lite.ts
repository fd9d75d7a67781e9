/**
 * The slice of undici's API Ferry's code uses (`request`, `Agent`), on Node's built-in fetch —
 * which is undici, already inside the runtime. The function bundles alias `undici` to this file
 * (scripts/bundle.mjs): bundling undici 7 adds ~520 KB and ~40 ms of cold start for nothing the
 * runtime lacks. Tests and the local stack use the real undici 7.
 */
export namespace Dispatcher {
  export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'CONNECT' | 'OPTIONS' | 'TRACE' | 'PATCH';
}
export type Dispatcher = Agent;

/** Connection pooling is the runtime's global dispatcher's job; options are accepted and ignored. */
export class Agent {
  // biome-ignore lint/complexity/noUselessConstructor: declares the options argument callers pass (`new Agent({...})`)
  constructor(_options?: unknown) {}
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | null;
  signal?: AbortSignal;
  dispatcher?: unknown;
}

export interface ResponseData {
  statusCode: number;
  headers: Record<string, string>;
  body: { text(): Promise<string>; json(): Promise<unknown> };
}

export async function request(url: string | URL, opts: RequestOptions = {}): Promise<ResponseData> {
  const res = await fetch(url, {
    method: opts.method ?? 'GET',
    headers: opts.headers ?? {},
    body: (opts.body ?? null) as BodyInit | null,
    redirect: 'manual',
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const headers: Record<string, string> = {};
  for (const [k, v] of res.headers) headers[k] = v;
  return { statusCode: res.status, headers, body: { text: () => res.text(), json: () => res.json() } };
}
