/** Serves the real webhook app over HTTP on a loopback port, on top of the test stack. */
import { readFileSync } from 'node:fs';
import { serveNode, type NodeServer } from '../shared/runtime/node-http.ts';
import { createWebhookApp } from '../shared/webhook/app.ts';
import { parseConfig } from '../shared/config/index.ts';
import { baseConfig, startTestStack, TEST_TOKENS, type TestStack, type TestStackOptions } from './helpers/stack.ts';

export type Post = (kind: string, body: string | object, opts?: PostOptions) => Promise<{ status: number; body: any; ms: number }>;

export interface WebhookHarness {
  stack: TestStack;
  server: NodeServer;
  post: Post;
  /** A second app over the same stack (ledger, cloud) with another config. */
  withConfig(mutate: (base: Record<string, unknown>) => Record<string, unknown>): Promise<{ post: Post; close(): Promise<void> }>;
  close(): Promise<void>;
}

export interface PostOptions {
  headers?: Record<string, string>;
  query?: Record<string, string>;
  /** Bearer token; default the test webhook token; null sends none. */
  token?: string | null;
  method?: string;
}

export function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/webhooks/${name}`, import.meta.url), 'utf8');
}

/** Sources announcing generic registries that mirror into the ACR source of the base config. */
export function withRegistries(base: Record<string, unknown>): Record<string, unknown> {
  return {
    ...base,
    sources: [
      ...(base.sources as object[]),
      { kind: 'harbor', name: 'harbor-main', host: 'harbor.example.com', mirrorOf: 'acr-hangzhou' },
      { kind: 'distribution', name: 'registry', host: 'registry.example.com', mirrorOf: 'acr-hangzhou' },
      { kind: 'dockerhub', name: 'hub', mirrorOf: 'acr-hangzhou' },
    ],
  };
}

function poster(serverUrl: string): Post {
  return async (kind, body, o = {}) => {
    const url = new URL(`/webhooks/${kind}`, serverUrl);
    for (const [k, v] of Object.entries(o.query ?? {})) url.searchParams.set(k, v);
    const token = o.token === undefined ? TEST_TOKENS.webhook : o.token;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...o.headers };
    const started = performance.now();
    const withBody = !o.method || o.method === 'POST';
    const res = await fetch(url, { method: o.method ?? 'POST', headers, ...(withBody ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
    const text = await res.text();
    const ms = performance.now() - started;
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed, ms };
  };
}

export async function startWebhook(opts: TestStackOptions = {}): Promise<WebhookHarness> {
  const stack = await startTestStack(opts);
  const server = await serveNode(createWebhookApp(stack.deps));
  const extra: NodeServer[] = [];
  return {
    stack,
    server,
    post: poster(server.url),
    async withConfig(mutate) {
      const config = parseConfig(mutate(baseConfig(stack.cloud.url)), stack.env);
      const s = await serveNode(createWebhookApp({ ...stack.deps, config }));
      extra.push(s);
      return { post: poster(s.url), close: () => s.close() };
    },
    async close() {
      for (const s of extra) await s.close().catch(() => {});
      await server.close();
      await stack.close();
    },
  };
}

export async function ledgerCounts(stack: TestStack): Promise<{ replications: number; tasks: number }> {
  const r = await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM replications');
  const t = await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM tasks');
  return { replications: r.rows[0]!.n, tasks: t.rows[0]!.n };
}
