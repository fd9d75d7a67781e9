/** ECS task statuses in the watch's words. */
import type { Logger } from '../log.ts';
import { noteUnknownStatus } from '../providers/outcomes.ts';

export type EcsEnd = 'finished' | 'failed' | 'canceled';

/** Documented statuses of a task not yet ended. */
const RUNNING = new Set(['Processing', 'Pending', 'Waiting', 'Paused']);

/**
 * The watch state a final ECS status ends in, or null while the task runs: also for a status Ferry
 * does not know (said once, via `log`) or none at all, since its deadline still bounds it.
 */
export function ecsEnd(status: string | undefined, log?: Logger): EcsEnd | null {
  switch (status) {
    case 'Finished':
      return 'finished';
    case 'Failed':
      return 'failed';
    case 'Deleted':
    case 'Cancelled':
    case 'Canceled':
      return 'canceled';
    default:
      if (status !== undefined && log && !RUNNING.has(status)) noteUnknownStatus(log, 'ecs', status);
      return null;
  }
}
