import type { NotificationTarget } from '../config/index.ts';
import type { ReplicationForSuccess, TaskRow, TransitionInput } from '../ledger/index.ts';

/** A notification target's stable name in the outbox: its position and type (never its URL, a secret). */
export function notificationTargetName(n: NotificationTarget, index: number): string {
  return `${index}:${n.type}`;
}

export interface FailureInfo {
  code: string;
  message: string;
  requestId?: string | null | undefined;
}

/**
 * Outbox entries for a task that reached a terminal failure, one per target subscribed to failures.
 * A target grouping by replication gets one entry per replication instead (the first failure queues
 * it, later ones find it queued): it is held until none of the replication's tasks is open, and its
 * message lists every failed target as the ledger has them then (shared/notify/message.ts).
 */
export function failureNotices(targets: readonly NotificationTarget[], task: TaskRow, outcome: 'failed' | 'timed_out' | 'canceled', error: FailureInfo): NonNullable<TransitionInput['notify']> {
  return targets.flatMap((n, i): NonNullable<TransitionInput['notify']> => {
    if (!n.on.includes('failure')) return [];
    const target = notificationTargetName(n, i);
    if (n.group === 'replication') {
      return [{ about: 'replication' as const, whenSettled: true, kind: 'replication.failed', target, payload: { event: 'replication.failed', replicationId: task.replicationId } }];
    }
    return [
      {
        kind: `task.${outcome}`,
        target,
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
    ];
  });
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
