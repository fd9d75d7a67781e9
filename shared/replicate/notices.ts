import type { NotificationTarget } from '../config/index.ts';
import type { ReplicationForSuccess, TaskRow } from '../ledger/index.ts';

/** A notification target's stable name in the outbox: its position and type (never its URL, a secret). */
export function notificationTargetName(n: NotificationTarget, index: number): string {
  return `${index}:${n.type}`;
}

export interface FailureInfo {
  code: string;
  message: string;
  requestId?: string | null | undefined;
}

/** Outbox entries for a task that reached a terminal failure, one per target subscribed to failures. */
export function failureNotices(targets: readonly NotificationTarget[], task: TaskRow, outcome: 'failed' | 'timed_out' | 'canceled', error: FailureInfo) {
  return targets.flatMap((n, i) =>
    n.on.includes('failure')
      ? [
          {
            kind: `task.${outcome}`,
            target: notificationTargetName(n, i),
            payload: {
              event: `task.${outcome}`,
              taskId: task.id,
              replicationId: task.replicationId,
              action: task.action,
              provider: task.provider,
              targetKey: task.targetKey,
              rule: task.rule,
              attempts: task.attempts,
              error: { code: error.code, message: error.message, requestId: error.requestId ?? null },
            },
          },
        ]
      : [],
  );
}

/** Outbox entries for a replication whose last task just succeeded, one per target subscribed to successes. */
export function successNotices(targets: readonly NotificationTarget[], task: TaskRow, rep: ReplicationForSuccess) {
  return targets.flatMap((n, i) =>
    n.on.includes('success')
      ? [
          {
            about: 'replication' as const,
            kind: 'replication.succeeded',
            target: notificationTargetName(n, i),
            payload: {
              event: 'replication.succeeded',
              replicationId: task.replicationId,
              action: task.action,
              source: rep.source,
              image: `${rep.namespace}/${rep.repository}${rep.tag ? `:${rep.tag}` : ''}${rep.digest ? `@${rep.digest}` : ''}`,
              lastTaskId: task.id,
            },
          },
        ]
      : [],
  );
}
