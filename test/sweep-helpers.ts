import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PushEvent } from '../shared/rules/event.ts';
import { matchPush, type MatchedTarget } from '../shared/rules/match.ts';
import { taskSpecOf } from '../shared/replicate/target.ts';
import type { TestStack } from './helpers/stack.ts';

/** One rule, one ACR target (cn-shanghai), plus whatever `extra` changes. */
export function oneTargetConfig(extra: Record<string, unknown> = {}) {
  return (base: Record<string, unknown>) => ({
    ...base,
    rules: [
      { name: 'releases', source: 'acr-hangzhou', namespace: 'team', repository: '**', targets: [{ provider: 'acr', instanceId: 'cri-localdst001', region: 'cn-shanghai' }] },
      { name: 'swr-north-to-east', source: 'swr-beijing', targets: [{ provider: 'swr', remoteRegion: 'cn-east-3', remoteNamespace: '{namespace}' }] },
    ],
    ...extra,
  });
}

/** Pushes a tag to the local cloud and records its replication the way the webhook does. Returns the task ids. */
export async function recordAcrPush(stack: TestStack, tag: string, repo = 'app'): Promise<string[]> {
  const pushed = await stack.cloud.acr.push({ instanceId: 'cri-localsrc001', namespace: 'team', repo, tag });
  const event: PushEvent = { sourceKind: 'acr', source: 'acr-hangzhou', namespace: 'team', repository: repo, tag, digest: pushed.digest, pushedAt: new Date(stack.clock.now()) };
  return recordPush(stack, event, 'cri-localsrc001', 'cn-hangzhou');
}

export async function recordSwrPush(stack: TestStack, tag: string, repo = 'app'): Promise<string[]> {
  const pushed = stack.cloud.services.huawei.pushImage({ region: 'cn-north-4', namespace: 'team', repo, tag });
  const event: PushEvent = { sourceKind: 'swr', source: 'swr-beijing', namespace: 'team', repository: repo, tag, digest: pushed.digest, pushedAt: new Date(stack.clock.now()) };
  return recordPush(stack, event, 'swr-beijing', 'cn-north-4');
}

/** Records a push's replication the way the webhook does (the image need not exist at the cloud). */
export async function recordPush(stack: TestStack, event: PushEvent, source: string, region: string | null): Promise<string[]> {
  const matched = matchPush(event, stack.config).filter((r): r is MatchedTarget => r.ok);
  if (matched.length === 0) throw new Error(`no rule matched ${event.repository}:${event.tag}`);
  const now = stack.clock.now();
  const res = await stack.ledger.recordReplication(
    {
      sourceKind: event.sourceKind,
      source,
      region,
      namespace: event.namespace,
      repository: event.repository,
      tag: event.tag ?? null,
      digest: event.digest ?? null,
      pushedAt: event.pushedAt,
      rules: [...new Set(matched.map((m) => m.rule))],
    },
    matched.map((m) => taskSpecOf(m, now)),
  );
  return res.tasks.map((t) => t.taskId);
}

export async function stateOf(stack: TestStack, taskId: string) {
  return (await stack.ledger.getTask(taskId))!.task;
}

export interface Receiver {
  url: string;
  /** `raw`: the body's bytes as text, exactly as received (what a signature is checked over). */
  requests: Array<{ url: string; headers: IncomingMessage['headers']; body: unknown; raw: string }>;
  /** Status (and body) to answer the n-th request (0-based). */
  answer: (n: number) => { status: number; body?: unknown };
  close(): Promise<void>;
}

/** A local HTTP server standing in for a notification receiver. */
export async function startReceiver(answer: Receiver['answer'] = () => ({ status: 200 })): Promise<Receiver> {
  const r: Receiver = { url: '', requests: [], answer, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = r.requests.length;
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // keep text
      }
      r.requests.push({ url: req.url ?? '/', headers: req.headers, body, raw });
      const a = r.answer(n);
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.body === undefined ? '{}' : JSON.stringify(a.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=s3cret`;
  r.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return r;
}
