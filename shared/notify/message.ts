/**
 * What every notification says, whatever the channel: the versioned message the generic webhook sends
 * as its JSON body and Slack and DingTalk render as text (README "Notifications" documents the shape).
 * Built at delivery from the outbox entry (the failure as it was when the task ended) and the ledger's
 * replication (the source image; for a grouped message, every target as the replication ended).
 */
import type { NotificationRow, ReplicationRow, TaskRow } from '../ledger/index.ts';

export const MESSAGE_VERSION = 1 as const;

export interface MessageImage {
  /** The source registry as the ledger records it: an ACR instance id, an SWR region, a registry host. */
  registry: string;
  /** `acr`, `swr`, `harbor`…: who sent the push. */
  registryKind: string;
  region: string | null;
  namespace: string;
  repository: string;
  tag: string | null;
  digest: string | null;
  /** `registry/namespace/repository[:tag][@digest]`. */
  ref: string;
}

export interface FailedTarget {
  taskId: string;
  target: string;
  provider: string;
  rule: string | null;
  /** `failed`, `timed_out` or `canceled` (by someone other than an operator of Ferry). */
  state: string;
  attempts: number;
  reason: string | null;
  code: string | null;
  requestId: string | null;
  link?: string;
}

interface Common {
  version: typeof MESSAGE_VERSION;
  id: string;
  createdAt: string;
  replicationId: string;
  action: string;
  image: MessageImage;
  /** The task's (or replication's) status page, when a public URL is configured. */
  link?: string;
}

/** `task.failed` / `task.timed_out` / `task.canceled`: one target's final failure. */
export interface TaskMessage extends Common {
  kind: `task.${string}`;
  taskId: string;
  target: string;
  provider: string;
  rule: string | null;
  attempts: number;
  reason: string | null;
  code: string | null;
  requestId: string | null;
}

/** `replication.failed`: a replication that ended with failed targets (grouped), with every failed target. */
export interface ReplicationFailedMessage extends Common {
  kind: 'replication.failed';
  /** `failed` or `partially_failed` (or `canceled`). */
  state: string;
  failed: FailedTarget[];
  succeeded: number;
  targets: number;
}

/** `replication.succeeded`: every target of the replication succeeded. */
export interface ReplicationSucceededMessage extends Common {
  kind: 'replication.succeeded';
  targets: number;
}

export type Message = TaskMessage | ReplicationFailedMessage | ReplicationSucceededMessage;

export function imageOf(r: ReplicationRow): MessageImage {
  const ref = `${r.source}/${r.namespace}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
  return { registry: r.source, registryKind: r.sourceKind, region: r.region, namespace: r.namespace, repository: r.repository, tag: r.tag, digest: r.digest, ref };
}

/** `<base>/ui/tasks/<id>` or `<base>/ui/replications/<id>`; undefined without a base. */
export function pageLink(base: string | undefined, what: 'tasks' | 'replications', id: string): string | undefined {
  if (!base) return undefined;
  return new URL(`ui/${what}/${encodeURIComponent(id)}`, base.endsWith('/') ? base : `${base}/`).toString();
}

/** A task that ended in a failure someone should hear about (an operator's own cancel is not one). */
function failedTarget(t: TaskRow): boolean {
  return t.state === 'failed' || t.state === 'timed_out' || (t.state === 'canceled' && t.cancelRequestedAt === null);
}

interface TaskPayload {
  taskId?: string;
  provider?: string;
  targetKey?: string;
  rule?: string | null;
  attempts?: number;
  error?: { code?: string; message?: string; requestId?: string | null };
}

/**
 * The message for an outbox entry, or null when it has nothing left to say: a grouped failure whose
 * failed targets all succeeded on a retry before it could be sent.
 */
export function buildMessage(n: NotificationRow, rep: { replication: ReplicationRow; tasks: TaskRow[] }, linkBase: string | undefined): Message | null {
  const r = rep.replication;
  const common = { version: MESSAGE_VERSION, id: n.id, createdAt: n.createdAt, replicationId: r.id, action: r.action, image: imageOf(r) };
  const withLink = <T extends object>(m: T, link: string | undefined): T => (link ? { ...m, link } : m);
  if (n.kind === 'replication.succeeded') {
    return withLink({ ...common, kind: 'replication.succeeded' as const, targets: rep.tasks.length }, pageLink(linkBase, 'replications', r.id));
  }
  if (n.kind === 'replication.failed') {
    const failed = rep.tasks.filter(failedTarget).map(
      (t): FailedTarget =>
        withLink(
          {
            taskId: t.id,
            target: t.targetKey,
            provider: t.provider,
            rule: t.rule,
            state: t.state,
            attempts: t.attempts,
            reason: t.lastError?.message ?? null,
            code: t.lastError?.code ?? null,
            requestId: t.lastError?.requestId ?? null,
          },
          pageLink(linkBase, 'tasks', t.id),
        ),
    );
    if (failed.length === 0) return null;
    const succeeded = rep.tasks.filter((t) => t.state === 'succeeded').length;
    return withLink({ ...common, kind: 'replication.failed' as const, state: r.state, failed, succeeded, targets: rep.tasks.length }, pageLink(linkBase, 'replications', r.id));
  }
  const p = n.payload as TaskPayload;
  const taskId = p.taskId ?? n.taskId ?? '';
  return withLink(
    {
      ...common,
      kind: n.kind as `task.${string}`,
      taskId,
      target: p.targetKey ?? '',
      provider: p.provider ?? '',
      rule: p.rule ?? null,
      attempts: p.attempts ?? 0,
      reason: p.error?.message ?? null,
      code: p.error?.code ?? null,
      requestId: p.error?.requestId ?? null,
    },
    pageLink(linkBase, 'tasks', taskId),
  );
}
