/**
 * The in-process Ferry stack for the chaos suite and the benchmark: test/helpers/stack.ts
 * (local cloud + ledger + Deps on the cloud's virtual clock) plus the webhook app served on a
 * real loopback socket, the sweep, and helpers to push images and check the invariants.
 */
import { request } from 'undici';
import { serveNode, type NodeServer } from '../../shared/runtime/node-http.ts';
import { createWebhookApp } from '../../shared/webhook/app.ts';
import type { SyncTaskView } from '../../local/cloud/acr.ts';
import type { TaskRow } from '../../shared/ledger/index.ts';
import { startTestStack, TEST_TOKENS, type TestStack, type TestStackOptions } from '../helpers/stack.ts';

export { TEST_TOKENS };

export const SRC = 'cri-localsrc001';
export const SRC_REGION = 'cn-hangzhou';

export interface Harness extends TestStack {
  webhookUrl: string;
  /** POSTs an ACR trigger payload for an image whose tag is created first in the source. */
  push(p: { namespace?: string; repo: string; tag: string; token?: string }): Promise<PushAnswer>;
  /** The ACR trigger payload for (namespace, repo, tag), creating the tag in the source instance. */
  acrPayload(p: { namespace?: string; repo: string; tag: string }): Promise<Record<string, unknown>>;
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<PushAnswer>;
  sweep(): Promise<unknown>;
  /** Sweeps, advancing the virtual clock by `stepMs` before each, until nothing is open (or `max` sweeps). */
  settle(opts?: { stepMs?: number; max?: number }): Promise<number>;
}

export interface PushAnswer {
  status: number;
  body: any;
  ms: number;
}

export interface HarnessOptions extends TestStackOptions {
  /** Extra ACR target instances (cn-shanghai) seeded in the local cloud, e.g. for fan-out. */
  extraInstances?: string[];
}

/** A local-cloud seed: the default three instances plus `extra` (cn-shanghai, empty). */
export function seedWith(extra: string[] = []) {
  return {
    alibaba: {
      instances: [
        { instanceId: SRC, region: SRC_REGION, namespaces: [{ name: 'team', repos: [{ name: 'app', tags: {} }] }] },
        { instanceId: 'cri-localdst001', region: 'cn-shanghai', namespaces: [{ name: 'team', repos: [] }] },
        { instanceId: 'cri-localdst002', region: 'cn-beijing', namespaces: [{ name: 'team', repos: [] }] },
        ...extra.map((instanceId) => ({ instanceId, region: 'cn-shanghai', namespaces: [] })),
      ],
    },
  };
}

/** Config change: the `releases` rule replicates to exactly these ACR instances (cn-shanghai). */
export function releasesTo(instances: string[]) {
  return (base: Record<string, unknown>) => {
    const rules = (base.rules as Record<string, unknown>[]).map((r) =>
      r.name === 'releases' ? { ...r, targets: instances.map((instanceId) => ({ provider: 'acr', instanceId, region: 'cn-shanghai' })) } : r,
    );
    return { ...base, rules };
  };
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const { extraInstances, ...rest } = opts;
  const stack = await startTestStack({
    ...rest,
    // The Alibaba half answers as the real APIs also do: other callers' tasks, other error shapes.
    cloud: { realism: 'all', ...(extraInstances ? { seed: seedWith(extraInstances) } : {}), ...rest.cloud },
  });
  let server: NodeServer | undefined;
  try {
    const app = createWebhookApp(stack.deps);
    server = await serveNode(app, { port: 0, host: '127.0.0.1', context: { functionName: 'ferry-webhook' } });
  } catch (err) {
    await stack.close();
    throw err;
  }
  const webhookUrl = server.url;
  const { runSweep } = await import('../../shared/sweep/run.ts');

  const post: Harness['post'] = async (path, body, headers = {}) => {
    const t = performance.now();
    const res = await request(new URL(path, webhookUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep text
    }
    return { status: res.statusCode, body: parsed, ms: performance.now() - t };
  };

  const acrPayload: Harness['acrPayload'] = async ({ namespace = 'team', repo, tag }) => {
    const r = await stack.cloud.acr.push({ instanceId: SRC, namespace, repo, tag });
    return r.payload as unknown as Record<string, unknown>;
  };

  const h: Harness = {
    ...stack,
    webhookUrl,
    acrPayload,
    post,
    async push(p) {
      const payload = await acrPayload(p);
      return post(`/webhooks/acr?instance=${SRC}`, JSON.stringify(payload), { authorization: `Bearer ${p.token ?? TEST_TOKENS.webhook}` });
    },
    sweep: () => runSweep(stack.deps),
    async settle({ stepMs = 5 * 60_000, max = 40 } = {}) {
      for (let i = 0; i < max; i++) {
        const open = await stack.ledger.openTasks({ limit: 1 });
        if (!open.length) return i;
        stack.cloud.clock.advance(stepMs);
        await runSweep(stack.deps);
      }
      return max;
    },
    async close() {
      await server?.close().catch(() => {});
      await stack.close();
    },
  };
  return h;
}

// ---------------------------------------------------------------- invariants

export interface ExpectedCopy {
  namespace: string;
  repo: string;
  tag: string;
  targetInstanceId: string;
}

export interface InvariantReport {
  checked: number;
  succeeded: number;
  failed: number;
  violations: string[];
}

/**
 * Nothing lost: every expected (image, target) has a ledger task that ended `succeeded` (with
 * exactly one SUCCESS cloud task for it) or `failed` with a last error and a notification row.
 * Nothing doubled: at most one SUCCESS cloud task per (image, target), over the whole cloud.
 */
export async function checkInvariants(h: Harness, expected: ExpectedCopy[], opts: { requireNotification?: boolean } = {}): Promise<InvariantReport> {
  const requireNotification = opts.requireNotification ?? true;
  const violations: string[] = [];
  const cloudTasks = h.cloud.acr.tasks({ instanceId: SRC });
  const successes = new Map<string, SyncTaskView[]>();
  for (const t of cloudTasks) {
    if (t.status !== 'SUCCESS') continue;
    const k = copyKey({ namespace: t.source.namespace, repo: t.source.repo, tag: t.source.tag, targetInstanceId: t.target.instanceId });
    successes.set(k, [...(successes.get(k) ?? []), t]);
  }
  for (const [k, list] of successes) if (list.length > 1) violations.push(`doubled: ${k} has ${list.length} SUCCESS cloud tasks (${list.map((t) => t.syncTaskId).join(', ')})`);

  const tasks = await allTasks(h);
  const byKey = new Map<string, TaskRow[]>();
  for (const t of tasks) {
    const target = t.target as { from?: { namespace: string; repository: string; tag?: string }; to?: { instanceId?: string } };
    if (!target.from || !target.to?.instanceId) continue;
    const k = copyKey({ namespace: target.from.namespace, repo: target.from.repository, tag: target.from.tag ?? '', targetInstanceId: target.to.instanceId });
    byKey.set(k, [...(byKey.get(k) ?? []), t]);
  }
  const notified = new Set<string>();
  if (requireNotification) {
    const { rows } = await h.db.query<{ task_id: string | null }>('SELECT task_id FROM notifications');
    for (const r of rows) if (r.task_id) notified.add(r.task_id);
  }
  let succeeded = 0;
  let failed = 0;
  for (const e of expected) {
    const k = copyKey(e);
    const ts = byKey.get(k) ?? [];
    if (ts.length !== 1) {
      violations.push(`lost: ${k} has ${ts.length} ledger tasks`);
      continue;
    }
    const t = ts[0]!;
    const cloudOk = successes.get(k)?.length ?? 0;
    if (t.state === 'succeeded') {
      succeeded++;
      if (cloudOk !== 1) violations.push(`${k}: ledger task ${t.id} succeeded but the cloud has ${cloudOk} SUCCESS tasks`);
    } else if (t.state === 'failed') {
      failed++;
      if (!t.lastError?.code) violations.push(`${k}: ledger task ${t.id} failed without a last error`);
      if (requireNotification && !notified.has(t.id)) violations.push(`${k}: ledger task ${t.id} failed without a notification`);
      if (cloudOk > 0) violations.push(`${k}: ledger task ${t.id} failed but the cloud copied it (${cloudOk} SUCCESS)`);
    } else {
      violations.push(`lost: ${k} ledger task ${t.id} ended ${t.state}${t.lastError ? ` (${t.lastError.code}: ${t.lastError.message})` : ''}`);
    }
  }
  return { checked: expected.length, succeeded, failed, violations };
}

function copyKey(c: ExpectedCopy): string {
  return `${c.namespace}/${c.repo}:${c.tag} → ${c.targetInstanceId}`;
}

export async function allTasks(h: Pick<TestStack, 'ledger'>): Promise<TaskRow[]> {
  const out: TaskRow[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: TaskRow[]; nextCursor: string | null } = await h.ledger.listTasks({ limit: 500, cursor });
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** Every (image, target) pair a list of pushes should produce under `releasesTo(targets)`. */
export function expectedCopies(pushes: { namespace?: string; repo: string; tag: string }[], targets: string[]): ExpectedCopy[] {
  return pushes.flatMap((p) => targets.map((targetInstanceId) => ({ namespace: p.namespace ?? 'team', repo: p.repo, tag: p.tag, targetInstanceId })));
}

/** Applies config changes left to right. */
export function compose(...mods: ((base: Record<string, unknown>) => Record<string, unknown>)[]) {
  return (base: Record<string, unknown>) => mods.reduce((c, m) => m(c), base);
}

/** Config change: failure notifications to `${FERRY_NOTIFY_URL}` (pass the URL in env). */
export function notifyWebhook(base: Record<string, unknown>): Record<string, unknown> {
  return { ...base, notifications: [{ type: 'webhook', url: '${FERRY_NOTIFY_URL}', on: ['failure'] }] };
}

export interface Receiver {
  url: string;
  received: unknown[];
  /** While true every request gets 503. */
  down: boolean;
  attempts: number;
  close(): Promise<void>;
}

/** A notification endpoint on loopback that records what it is sent (or answers 503 while down). */
export async function startReceiver(): Promise<Receiver> {
  const { createServer } = await import('node:http');
  const r: Receiver = { url: '', received: [], down: false, attempts: 0, close: async () => {} };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      r.attempts++;
      if (r.down) {
        res.writeHead(503).end('down');
        return;
      }
      try {
        r.received.push(JSON.parse(body));
      } catch {
        r.received.push(body);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  r.url = `http://127.0.0.1:${addr.port}/notify`;
  r.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return r;
}
