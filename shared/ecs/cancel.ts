/**
 * Cancelling an ECS image import/export task: the one cancel, used by the operator API and by the
 * sweep at a watched task's deadline. A task DescribeTasks says cannot be cancelled (SupportCancel
 * false) is not asked to be. IncorrectTaskStatus (however spelled) means the task is not running
 * any more: DescribeTaskAttribute then tells "already canceled" from "finished".
 */
import { CloudConflictError } from '../clients/errors.ts';
import type { EcsTask } from '../clients/ecs.ts';
import type { Ledger } from '../ledger/index.ts';
import { StaleStateError } from '../ledger/index.ts';
import { cancelFailure, summarize } from '../providers/outcomes.ts';
import type { CancelOutcome } from '../providers/types.ts';
import type { EcsClients } from './clients.ts';
import { ecsEnd } from './status.ts';

/** `listed`: what DescribeTasks said of the task, when the caller has just read it (the sweep); else it is read here. */
export async function cancelEcsAtCloud(clients: EcsClients, region: string, taskId: string, listed?: EcsTask): Promise<CancelOutcome> {
  const ecs = clients.region(region);
  let seen = listed;
  if (!seen) {
    try {
      seen = (await ecs.describeTasks({ taskIds: [taskId] })).tasks.find((t) => t.taskId === taskId);
    } catch (err) {
      return cancelFailure(err);
    }
  }
  if (seen?.supportCancel === false && !ecsEnd(seen.taskStatus)) {
    const what = `${seen.taskAction ?? 'task'} ${taskId} (${seen.taskStatus ?? 'status not listed'})`;
    return { outcome: 'unsupported', error: { code: 'CancelNotSupported', message: `DescribeTasks says ${what} cannot be canceled (SupportCancel false)`, requestId: null, status: null } };
  }
  try {
    const r = await ecs.cancelTask({ taskId });
    return { outcome: 'canceled', already: false, cloudStatus: 'Cancelled', requestId: r.requestId };
  } catch (err) {
    if (!(err instanceof CloudConflictError)) return cancelFailure(err);
    try {
      const attr = await ecs.describeTaskAttribute({ taskId });
      const end = ecsEnd(attr.taskStatus);
      if (end === 'canceled') return { outcome: 'canceled', already: true, cloudStatus: attr.taskStatus };
      if (end) return { outcome: 'finished', cloudStatus: attr.taskStatus, state: end === 'finished' ? 'succeeded' : 'failed', error: summarize(err) };
      // Still running by its own account: the cancel was refused, not overtaken.
      return cancelFailure(err);
    } catch (again) {
      return cancelFailure(again);
    }
  }
}

export type CancelEcsResult =
  | { outcome: 'canceled'; already: boolean; cloud?: CancelOutcome | undefined }
  | { outcome: 'finished'; state: string; cloud?: CancelOutcome | undefined }
  | { outcome: 'cloud_error'; cloud: Exclude<CancelOutcome, { outcome: 'canceled' | 'finished' }> };

/**
 * An operator's cancel of an ECS task, keeping the watch in step when Ferry watches it
 * (watching → canceled, or → finished/failed when the cloud says it already ended).
 */
export async function cancelEcsTask(deps: { ledger: Ledger; ecs: EcsClients }, region: string, taskId: string): Promise<CancelEcsResult> {
  const watched = await deps.ledger.ecs.get(region, taskId);
  if (watched && watched.state === 'canceled') return { outcome: 'canceled', already: true };
  if (watched && watched.state !== 'watching') return { outcome: 'finished', state: watched.state };
  const cloud = await cancelEcsAtCloud(deps.ecs, region, taskId);
  if (cloud.outcome !== 'canceled' && cloud.outcome !== 'finished') return { outcome: 'cloud_error', cloud };
  if (!watched) {
    return cloud.outcome === 'canceled' ? { outcome: 'canceled', already: cloud.already, cloud } : { outcome: 'finished', state: cloud.cloudStatus, cloud };
  }
  const to = cloud.outcome === 'canceled' ? 'canceled' : cloud.cloudStatus === 'Failed' ? 'failed' : 'finished';
  try {
    await deps.ledger.ecs.transition(region, taskId, { from: 'watching', to, ...(cloud.cloudStatus ? { cloudStatus: cloud.cloudStatus } : {}) });
  } catch (err) {
    if (!(err instanceof StaleStateError)) throw err;
    const now = await deps.ledger.ecs.get(region, taskId);
    if (now && now.state !== 'canceled') return { outcome: 'finished', state: now.state, cloud };
  }
  return cloud.outcome === 'canceled' ? { outcome: 'canceled', already: cloud.already, cloud } : { outcome: 'finished', state: to, cloud };
}
