/**
 * Cancelling a Ferry task: the ledger and the task's provider, in Ferry's one cancel vocabulary
 * (providers/types.ts CancelOutcome). The operator API uses it; the sweep finishes what it left.
 */
import type { Clock } from '../clock.ts';
import type { Ledger, TaskRow } from '../ledger/index.ts';
import type { Logger } from '../log.ts';
import { StaleStateError, isTerminal } from '../ledger/index.ts';
import type { Connections } from '../providers/connections.ts';
import { targetOf } from '../providers/registry.ts';
import type { CancelOutcome } from '../providers/types.ts';

export interface CancelTaskDeps {
  ledger: Ledger;
  clouds: Connections;
  clock: Clock;
  log: Logger;
}

export interface CancelTaskInput {
  actor: string;
  reason?: string | undefined;
}

export type CancelTaskResult =
  /** The task is canceled in the ledger (now, or `already` before this call). */
  | { outcome: 'canceled'; already: boolean; task: TaskRow; cloudCall: boolean; cloud?: CancelOutcome | undefined; note?: string | undefined }
  /** The task ended otherwise (before the call, or the sweep got there first, or the cloud finished it). */
  | { outcome: 'finished'; task: TaskRow; cloud?: CancelOutcome | undefined }
  /** The cloud did not cancel; the cancel request stays recorded on the task for the sweep. */
  | { outcome: 'cloud_error'; task: TaskRow; cloud: Exclude<CancelOutcome, { outcome: 'canceled' | 'finished' }> }
  | { outcome: 'not_found' };

const MAX_ROUNDS = 4;

/**
 * Cancels a Ferry task. Pending: in the ledger only (no cloud task exists yet, or a crashed
 * submission's task is found and cancelled by the sweep through the recorded cancel request).
 * Submitted/running: records the cancel request first (a concurrent sweep sees it), cancels at the
 * cloud through the task's provider, then moves the task to canceled guarded by its state. When the
 * sweep moved the task in the meantime, the task is read again and its final state reported.
 */
export async function cancelTask(deps: CancelTaskDeps, taskId: string, input: CancelTaskInput): Promise<CancelTaskResult> {
  const reason = input.reason?.trim() ? input.reason.trim() : 'canceled by operator';
  let cloud: CancelOutcome | undefined;
  let cloudCall = false;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const detail = await deps.ledger.getTask(taskId);
    if (!detail) return { outcome: 'not_found' };
    let task = detail.task;
    const note = cloud?.outcome === 'canceled' ? cloud.note : undefined;
    if (task.state === 'canceled') return { outcome: 'canceled', already: cloud === undefined, task, cloudCall, cloud, note };
    if (isTerminal(task.state)) return { outcome: 'finished', task, cloud };

    if (task.state !== 'pending' && cloud === undefined) {
      try {
        task = await deps.ledger.requestCancel(taskId, { reason, actor: input.actor });
      } catch (err) {
        if (err instanceof StaleStateError) continue;
        throw err;
      }
      cloud = await deps.clouds.of(task).cancel(task, targetOf(task), deps, 'operator');
      cloudCall = !(cloud.outcome === 'canceled' && cloud.cloudCall === false);
      if (cloud.outcome === 'finished') return { outcome: 'finished', task, cloud };
      if (cloud.outcome !== 'canceled') return { outcome: 'cloud_error', task, cloud };
    }

    try {
      const done = await deps.ledger.transition(taskId, {
        from: task.state,
        to: 'canceled',
        reason,
        actor: input.actor,
        details: {
          ...(cloud
            ? { cloud: { outcome: cloud.outcome, already: cloud.outcome === 'canceled' ? cloud.already : undefined, requestId: cloud.outcome === 'canceled' ? (cloud.requestId ?? null) : null } }
            : { cloudCall: false }),
          ...(cloud?.outcome === 'canceled' && cloud.note ? { note: cloud.note } : {}),
        },
        patch: { ...(cloud && 'cloudStatus' in cloud && cloud.cloudStatus ? { cloudStatus: cloud.cloudStatus } : {}) },
      });
      return { outcome: 'canceled', already: false, task: done, cloudCall, cloud, note: cloud?.outcome === 'canceled' ? cloud.note : undefined };
    } catch (err) {
      // Someone (the sweep, a concurrent cancel) moved the task: look again.
      if (err instanceof StaleStateError) continue;
      throw err;
    }
  }
  const last = await deps.ledger.getTask(taskId);
  if (!last) return { outcome: 'not_found' };
  return last.task.state === 'canceled' ? { outcome: 'canceled', already: false, task: last.task, cloudCall, cloud } : { outcome: 'finished', task: last.task, cloud };
}
