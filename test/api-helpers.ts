/** Shared setup for the operator API tests: a served API over a test stack, and ways to make tasks. */
import { createApiApp } from '../shared/api/app.ts';
import { serveNode, type NodeServer } from '../shared/runtime/node-http.ts';
import type { TaskRow } from '../shared/ledger/index.ts';
import { startTestStack, TEST_TOKENS, type TestStack, type TestStackOptions } from './helpers/stack.ts';

export interface ApiStack extends TestStack {
  api: NodeServer;
  call(method: string, path: string, opts?: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; body: any }>;
}

export async function startApiStack(opts: TestStackOptions = {}): Promise<ApiStack> {
  const stack = await startTestStack(opts);
  const api = await serveNode(createApiApp(stack.deps));
  return {
    ...stack,
    api,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      const token = o.token === undefined ? TEST_TOKENS.admin : o.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined = o.raw;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(api.url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // keep text
      }
      return { status: res.status, headers: res.headers, body: parsed };
    },
    async close() {
      await api.close();
      await stack.close();
    },
  };
}

let tagSeq = 0;
export const nextTag = (prefix = 'v') => `${prefix}${Date.now() % 100000}.${++tagSeq}`;

const SRC = { instanceId: 'cri-localsrc001', region: 'cn-hangzhou', namespace: 'team', repo: 'app' };

/** A Ferry ACR task in the ledger. `cloud`: create its sync task at the local cloud and mark it submitted. */
export async function acrTask(s: TestStack, o: { cloud?: 'stuck' | 'normal' | 'none'; tag?: string } = {}): Promise<TaskRow> {
  const tag = o.tag ?? nextTag();
  const from = { source: 'acr-hangzhou', kind: 'acr', namespace: SRC.namespace, repository: SRC.repo, tag, instanceId: SRC.instanceId, region: SRC.region };
  const to = { provider: 'acr', instanceId: 'cri-localdst001', region: 'cn-shanghai', namespace: 'team', repo: 'app', tag, override: false };
  const rec = await s.ledger.recordReplication(
    { sourceKind: 'acr', source: SRC.instanceId, region: SRC.region, namespace: SRC.namespace, repository: SRC.repo, tag, pushedAt: s.clock.now(), rules: ['releases'] },
    [{ provider: 'acr', target: { from, to }, targetKey: `acr:cn-shanghai/cri-localdst001/team/app:${tag}`, rule: 'releases', scope: SRC.instanceId }],
  );
  const id = rec.tasks[0]!.taskId;
  if ((o.cloud ?? 'stuck') === 'none') return (await s.ledger.getTask(id))!.task;
  await s.cloud.acr.push({ instanceId: SRC.instanceId, namespace: SRC.namespace, repo: SRC.repo, tag });
  if ((o.cloud ?? 'stuck') === 'stuck') s.cloud.acr.addOutcome({ outcome: 'stuck', tag });
  const repoId = s.cloud.acr.repoId(SRC.instanceId, SRC.namespace, SRC.repo)!;
  const { syncTaskId } = await s.clients.acr.region(SRC.region).createRepoSyncTask({
    instanceId: SRC.instanceId,
    repoId,
    tag,
    targetInstanceId: 'cri-localdst001',
    targetNamespace: 'team',
    targetRegionId: 'cn-shanghai',
    targetRepoName: 'app',
    targetTag: tag,
  });
  return s.ledger.transition(id, { from: 'pending', to: 'submitted', reason: 'CreateRepoSyncTask accepted', actor: 'test', patch: { cloudRef: syncTaskId, cloudCreatedAt: s.clock.now() } });
}

export const SWR_KEY = { region: 'cn-north-4', namespace: 'team', repository: 'app', remoteRegionId: 'cn-east-3', remoteNamespace: 'team' };

/** A submitted Ferry SWR task (manual sync job ref). `autoSync`: an automatic sync task for the same pair exists at SWR. */
export async function swrTask(s: TestStack, o: { autoSync?: boolean } = {}): Promise<TaskRow> {
  const tag = nextTag();
  const from = { source: 'swr-beijing', kind: 'swr', namespace: 'team', repository: 'app', tag, region: 'cn-north-4' };
  const to = { provider: 'swr', region: 'cn-north-4', namespace: 'team', repo: 'app', tag, remoteRegion: 'cn-east-3', remoteNamespace: 'team', override: false };
  const rec = await s.ledger.recordReplication({ sourceKind: 'swr', source: 'swr-beijing', region: 'cn-north-4', namespace: 'team', repository: 'app', tag, pushedAt: s.clock.now() }, [
    { provider: 'swr', target: { from, to }, targetKey: `swr:cn-east-3/team/app:${tag}`, scope: 'cn-north-4/team/app' },
  ]);
  if (o.autoSync) await createAutoSync(s);
  return s.ledger.transition(rec.tasks[0]!.taskId, { from: 'pending', to: 'submitted', reason: 'sync_images accepted', actor: 'test', patch: { cloudRef: `swr-job:${tagSeq}` } });
}

export async function createAutoSync(s: TestStack): Promise<void> {
  const { region, ...key } = SWR_KEY;
  await s.clients.swr.region(region).ensureSyncRepo({ ...key, syncAuto: true });
}

export async function autoSyncExists(s: TestStack): Promise<boolean> {
  const repos = await s.clients.swr.region(SWR_KEY.region).listSyncRepos({ namespace: 'team', repository: 'app' });
  return repos.some((r) => r.remoteRegionId === 'cn-east-3' && r.remoteNamespace === 'team');
}
