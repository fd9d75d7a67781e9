/**
 * Seeds many open ACR tasks at once, for the scale test and the benchmark: ledger rows by bulk SQL
 * and the matching sync tasks straight into the local cloud's ACR state (no API calls), optionally
 * with older finished cloud tasks ("history") the sweep must not page through.
 * Test/bench only: nothing under functions/ imports it (it needs a local cloud's in-memory state).
 */
import { randomUUID } from 'node:crypto';
import type { AcrState, SyncTask } from '../local-cloud/acr.ts';
import type { Ledger } from '../ledger/index.ts';

export interface SeedOpenAcrOptions {
  /** Source instance ids (must exist in the local cloud seed, in `region`). */
  instances: readonly string[];
  region: string;
  /** Target instance (must exist in the local cloud seed) and its region. */
  targetInstanceId: string;
  targetRegion: string;
  perInstance: number;
  /** Ledger state of the seeded tasks (default `running`). */
  state?: 'submitted' | 'running';
  /** Cloud status of the seeded tasks (default SYNCHRONIZING, never finishing). */
  cloudStatus?: 'PENDING' | 'SYNCHRONIZING';
  /** Finished cloud tasks per instance, older than every open one. */
  historyPerInstance?: number;
  namespace?: string;
  repo?: string;
  /** Virtual now (ms); default Date.now(). */
  now?: number;
}

const BATCH = 1000;

export async function seedOpenAcrTasks(ledger: Ledger, acr: AcrState, o: SeedOpenAcrOptions): Promise<{ taskIds: string[]; cloudRefs: string[] }> {
  const now = o.now ?? Date.now();
  const ns = o.namespace ?? 'team';
  const repo = o.repo ?? 'app';
  const state = o.state ?? 'running';
  const cloudStatus = o.cloudStatus ?? 'SYNCHRONIZING';
  const taskIds: string[] = [];
  const cloudRefs: string[] = [];
  const policy = { maxAttempts: 3, backoff: { initialSeconds: 30, maxSeconds: 900, multiplier: 2 }, deadlineMinutes: 600, retryOnTimeout: true };
  let seq = 0;
  for (const instanceId of o.instances) {
    const history = o.historyPerInstance ?? 0;
    for (let h = 0; h < history; h++) {
      acr.tasks.push(cloudTask(instanceId, o, ns, repo, `rst-hist${(seq++).toString(36).padStart(12, '0')}`, now - 86_400_000 - h * 1000, 'done'));
    }
    const repId = randomUUID();
    await ledger.db.query(
      `INSERT INTO replications (id, source_key, source_kind, source, region, namespace, repository, tag, received_at, state, created_at, updated_at)
       VALUES ($1, $2, 'acr', $3, $4, $5, $6, 'seed', $7::timestamptz, 'in_progress', $7::timestamptz, $7::timestamptz)`,
      [repId, `seed|${repId}`, instanceId, o.region, ns, repo, new Date(now).toISOString()],
    );
    for (let start = 0; start < o.perInstance; start += BATCH) {
      const n = Math.min(BATCH, o.perInstance - start);
      const ids: string[] = [];
      const refs: string[] = [];
      const tags: string[] = [];
      const created: string[] = [];
      for (let i = 0; i < n; i++) {
        const k = start + i;
        const ref = `rst-seed${(seq++).toString(36).padStart(12, '0')}`;
        const at = now - 60_000 + k; // spread over a minute, in creation order
        ids.push(randomUUID());
        refs.push(ref);
        tags.push(`s${k}`);
        created.push(new Date(at).toISOString());
        acr.tasks.push(cloudTask(instanceId, o, ns, repo, ref, at, cloudStatus, `s${k}`));
      }
      await ledger.db.query(
        `INSERT INTO tasks (id, replication_id, idempotency_key, provider, scope, target, target_key, rule, state, attempts, max_attempts,
                            next_attempt_at, deadline_at, submit_started_at, cloud_ref, cloud_created_at, cloud_status, policy, created_at, updated_at)
         SELECT u.id, $2, 'seed|' || u.id, 'acr', $3,
                jsonb_build_object('from', $4::jsonb || jsonb_build_object('tag', u.tag), 'to', $5::jsonb || jsonb_build_object('tag', u.tag)),
                'acr:' || $3 || '/' || u.tag, 'seed', $6, 1, 3, u.created, u.created + interval '10 hours', u.created, u.ref, u.created,
                $7, $8::jsonb, u.created, u.created
         FROM unnest($1::text[], $9::text[], $10::text[], $11::timestamptz[]) AS u(id, ref, tag, created)`,
        [
          ids,
          repId,
          instanceId,
          JSON.stringify({ source: instanceId, kind: 'acr', namespace: ns, repository: repo, instanceId, region: o.region }),
          JSON.stringify({ provider: 'acr', instanceId: o.targetInstanceId, region: o.targetRegion, namespace: ns, repo, override: false }),
          state,
          cloudStatus,
          JSON.stringify(policy),
          refs,
          tags,
          created,
        ],
      );
      taskIds.push(...ids);
      cloudRefs.push(...refs);
    }
  }
  return { taskIds, cloudRefs };
}

function cloudTask(instanceId: string, o: SeedOpenAcrOptions, ns: string, repo: string, ref: string, createTime: number, status: 'PENDING' | 'SYNCHRONIZING' | 'done', tag = 'hist'): SyncTask {
  const digest = 'sha256:' + '0'.repeat(64);
  const open = status !== 'done';
  return {
    syncTaskId: ref,
    syncBatchTaskId: ref,
    source: { instanceId, region: o.region, namespace: ns, repo, tag, repoId: 'crr-seed', digest, size: 1 },
    target: { instanceId: o.targetInstanceId, region: o.targetRegion, namespace: ns, repo, tag },
    override: false,
    crossUser: false,
    createTime,
    // Open tasks never end on their own (PENDING: a pending phase of ~30 years; SYNCHRONIZING: stuck).
    pendingMs: status === 'PENDING' ? 1e12 : 0,
    syncMs: open ? 1e12 : 1,
    ...(status === 'SYNCHRONIZING' ? { forced: { kind: 'stuck' as const } } : {}),
    ...(open ? {} : { final: { status: 'SUCCESS' as const, at: createTime + 1 } }),
  };
}
