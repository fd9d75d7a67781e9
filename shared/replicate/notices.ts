import type { NotificationTarget } from '../config/index.ts';
import type { TaskRow } from '../ledger/index.ts';

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
