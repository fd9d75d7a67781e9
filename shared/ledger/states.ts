/**
 * Task state machine.
 *
 *   pending ──► submitted ──► running ──► succeeded
 *      │            │            │
 *      │            ├────────────┼──► failed | canceled | timed_out
 *      │            │            │
 *      │            └────────────┴──► pending        (retry: attempts < max_attempts, next_attempt_at set)
 *      ├──► failed | canceled | timed_out
 *   timed_out ──► pending                             (retry after a timeout)
 *
 * Retry is not a state of its own: a retryable failure goes back to `pending` with `next_attempt_at`
 * in the future; `attempts` counts submissions (raised by beginSubmission, before the cloud is called).
 * A pending task whose submit_started_at is set but has no cloud_ref is "in doubt": the previous
 * worker may have created a cloud task and crashed before writing it down, so the next worker must
 * look for that cloud task before submitting again.
 * Terminal: succeeded, failed, canceled, and timed_out unless retried.
 */
export const TASK_STATES = ['pending', 'submitted', 'running', 'succeeded', 'failed', 'canceled', 'timed_out'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const OPEN_STATES: readonly TaskState[] = ['pending', 'submitted', 'running'];
export const TERMINAL_STATES: readonly TaskState[] = ['succeeded', 'failed', 'canceled', 'timed_out'];

export const TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  pending: ['submitted', 'failed', 'canceled', 'timed_out'],
  submitted: ['running', 'succeeded', 'failed', 'canceled', 'timed_out', 'pending'],
  running: ['succeeded', 'failed', 'canceled', 'timed_out', 'pending'],
  succeeded: [],
  failed: [],
  canceled: [],
  timed_out: ['pending'],
};

export function isTaskState(s: unknown): s is TaskState {
  return typeof s === 'string' && (TASK_STATES as readonly string[]).includes(s);
}

export function canTransition(from: TaskState, to: TaskState): boolean {
  return TRANSITIONS[from]?.includes(to) ?? false;
}

export function isTerminal(s: TaskState): boolean {
  return TERMINAL_STATES.includes(s);
}

export const REPLICATION_STATES = ['pending', 'in_progress', 'succeeded', 'partially_failed', 'failed', 'canceled'] as const;
export type ReplicationState = (typeof REPLICATION_STATES)[number];

export const ECS_WATCH_STATES = ['watching', 'finished', 'failed', 'canceled', 'timed_out'] as const;
export type EcsWatchState = (typeof ECS_WATCH_STATES)[number];

export class LedgerError extends Error {
  override name = 'LedgerError';
}

/** The pair is not an edge of the state machine. Nothing was written. */
export class IllegalTransitionError extends LedgerError {
  override name = 'IllegalTransitionError';
  constructor(
    readonly from: string,
    readonly to: string,
    readonly taskId?: string,
  ) {
    super(`illegal transition ${from} → ${to}${taskId ? ` for task ${taskId}` : ''}`);
  }
}

/** The row is not in the expected state (someone else moved it). Nothing was written. */
export class StaleStateError extends LedgerError {
  override name = 'StaleStateError';
  constructor(
    readonly taskId: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`task ${taskId} is ${actual}, expected ${expected}`);
  }
}

/** The caller named itself as lease owner but no longer holds the lease. Nothing was written. */
export class LeaseLostError extends LedgerError {
  override name = 'LeaseLostError';
  constructor(
    readonly taskId: string,
    readonly owner: string,
    readonly actualOwner: string | null,
  ) {
    super(`task ${taskId}: lease is held by ${actualOwner ?? 'nobody'}, not ${owner}`);
  }
}

export class NotFoundError extends LedgerError {
  override name = 'NotFoundError';
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {
    super(`${kind} ${id} not found`);
  }
}

/** Bad input to a ledger call; names the field and the rule. */
export class LedgerInputError extends LedgerError {
  override name = 'LedgerInputError';
  constructor(
    readonly field: string,
    readonly rule: string,
  ) {
    super(`${field}: ${rule}`);
  }
}
