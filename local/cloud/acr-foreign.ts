import { createHash } from 'node:crypto';
import type { AcrInstance } from './acr.ts';

/**
 * Realism `acr.foreign-tasks`: the sync tasks a real instance lists besides the caller's own. They
 * live in ListRepoSyncTask answers only (GetRepoSyncTask does not know them), always the newest,
 * all copying `sync-rules/mirror:latest`, so repository filters leave them out like real ones.
 */
export const FOREIGN_SOURCE = { namespace: 'sync-rules', repo: 'mirror', tag: 'latest' } as const;

export interface ForeignSyncTask {
  /** For ordering (newest first); undefined sorts first, as an item without one shows up anyway. */
  createTime: number | undefined;
  /** The answer's item, as written. */
  item: Record<string, unknown>;
}

function id(instanceId: string, n: number, prefix: string): string {
  return prefix + createHash('sha256').update(`${instanceId}\u0000foreign\u0000${n}`).digest('hex').slice(0, 16);
}

export function foreignSyncTasks(instance: AcrInstance, now: number): ForeignSyncTask[] {
  const image = (namespace: string, tag: string) => ({ InstanceId: instance.instanceId, RegionId: instance.region, RepoNamespaceName: namespace, RepoName: FOREIGN_SOURCE.repo, ImageTag: tag });
  const common = (n: number, createTime: number) => ({
    CreateTime: createTime,
    ModifedTime: createTime,
    ModifiedTime: createTime,
    SyncTaskId: id(instance.instanceId, n, 'rst-'),
    SyncBatchTaskId: id(instance.instanceId, n, 'batch-'),
    CrossUser: false,
    CustomLink: false,
    LinkId: '',
    SyncTransAccelerate: false,
  });
  return [
    // A sync rule's task: PASSIVE, with a rule id.
    {
      createTime: now - 1_000,
      item: {
        ...common(1, now - 1_000),
        SyncRuleId: id(instance.instanceId, 1, 'crsr-'),
        TaskStatus: 'SUCCESS',
        TaskTrigger: 'PASSIVE',
        ImageFrom: image(FOREIGN_SOURCE.namespace, FOREIGN_SOURCE.tag),
        ImageTo: image('sync-rules-copy', FOREIGN_SOURCE.tag),
      },
    },
    // A status added after the documentation was written.
    {
      createTime: now - 2_000,
      item: {
        ...common(2, now - 2_000),
        SyncRuleId: id(instance.instanceId, 2, 'crsr-'),
        TaskStatus: 'RETRYING',
        TaskTrigger: 'PASSIVE',
        ImageFrom: image(FOREIGN_SOURCE.namespace, FOREIGN_SOURCE.tag),
        ImageTo: image('sync-rules-copy', FOREIGN_SOURCE.tag),
      },
    },
    // Only what is never left out: every optional field of the model is missing.
    { createTime: undefined, item: { SyncTaskId: id(instance.instanceId, 3, 'rst-'), TaskStatus: 'SYNCHRONIZING' } },
    // Half an image reference, and no status.
    { createTime: now - 3_000, item: { SyncTaskId: id(instance.instanceId, 4, 'rst-'), CreateTime: now - 3_000, TaskTrigger: 'PASSIVE', ImageTo: { RepoName: FOREIGN_SOURCE.repo } } },
    // No SyncTaskId at all.
    { createTime: now - 4_000, item: { CreateTime: now - 4_000, TaskStatus: 'PENDING', TaskTrigger: 'PASSIVE', ImageFrom: image(FOREIGN_SOURCE.namespace, FOREIGN_SOURCE.tag) } },
  ];
}
