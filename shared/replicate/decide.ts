/**
 * The one retry decision: given a task's policy and attempts and what just went wrong, what happens
 * next. Pure: submission, reconciliation and deadline paths ask it, and the ledger applies the answer.
 */
import type { Policy } from '../config/index.ts';

export type Cause =
  /** The cloud refused or failed the create call; `retryable` for throttling and transient errors. */
  | { kind: 'submission'; retryable: boolean; retryAfterMs?: number | undefined }
  /** The cloud task ended in failure (or vanished); `retryable` when another attempt may succeed. */
  | { kind: 'cloud-failure'; retryable: boolean }
  /** The task ran past its deadline (cancelled by Ferry) or the cloud's own timeout. */
  | { kind: 'timeout' };

export type Decision =
  /** Submission only: stay pending, try again at `at` (the same attempt budget). */
  | { next: 'defer'; at: number }
  /** Back to pending, due at `at`: a new cloud task on the next submission. */
  | { next: 'retry'; at: number }
  /** Terminal: failed (or timed_out for a timeout), with a notification. */
  | { next: 'give-up'; exhausted: boolean };

export interface AttemptState {
  attempts: number;
  maxAttempts: number;
  /** Attempts made before the current budget began (a rerun); the submission tries count from here. */
  attemptBase?: number;
}

/** Throttled or failing create calls may be retried this often before they count as the rule's attempts. */
export const SUBMISSION_TRIES = 10;

export function decide(policy: Policy, task: AttemptState, cause: Cause, now: number, random: () => number = Math.random): Decision {
  const wait = () => backoffMs(policy, task.attempts, random);
  switch (cause.kind) {
    case 'submission':
      if (cause.retryable && task.attempts < Math.max((task.attemptBase ?? 0) + SUBMISSION_TRIES, task.maxAttempts)) return { next: 'defer', at: now + (cause.retryAfterMs ?? wait()) };
      return { next: 'give-up', exhausted: cause.retryable };
    case 'cloud-failure':
      if (!cause.retryable) return { next: 'give-up', exhausted: false };
      return task.attempts < task.maxAttempts ? { next: 'retry', at: now + wait() } : { next: 'give-up', exhausted: true };
    case 'timeout':
      return policy.retryOnTimeout && task.attempts < task.maxAttempts ? { next: 'retry', at: now + wait() } : { next: 'give-up', exhausted: policy.retryOnTimeout };
  }
}

/**
 * Exponential backoff with "equal" jitter: uniform in [c/2, c] where c = min(max, initial × multiplier^(attempt-1)).
 * Half the ceiling is always waited, so retries of many tasks spread out but never hammer the cloud.
 */
export function backoffMs(policy: Policy, attempt: number, random: () => number = Math.random): number {
  const { initialSeconds, maxSeconds, multiplier } = policy.backoff;
  const ceiling = Math.min(maxSeconds, initialSeconds * multiplier ** Math.max(0, attempt - 1)) * 1000;
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
