import { AsyncLocalStorage } from 'node:async_hooks';
import { CloudTransientError, type CloudProvider } from '../clients/errors.ts';
import type { Clock } from '../clock.ts';
import { withCallDeadline } from '../clients/transport.ts';

/**
 * The webhook's submit budget. Submissions run inside `withinBudget`, which tells the clock
 * the request's deadline: a client retry (throttling, 5xx) whose wait would pass the deadline
 * fails at once with a retryable error instead of sleeping, so the task is deferred (stays
 * pending) for the sweep and the response is not held hostage by a slow cloud.
 */
interface Scope {
  deadline: number;
  provider: CloudProvider;
}
const scope = new AsyncLocalStorage<Scope>();

export const BUDGET_EXHAUSTED = 'WebhookBudgetExhausted';

export function budgetClock(base: Clock): Clock {
  return {
    now: () => base.now(),
    sleep: async (ms, signal) => {
      const s = scope.getStore();
      if (s && base.now() + ms > s.deadline) {
        throw new CloudTransientError({
          provider: s.provider,
          code: BUDGET_EXHAUSTED,
          message: `a retry wait of ${ms} ms would pass the webhook's submit budget; left to the sweep`,
        });
      }
      return base.sleep(ms, signal);
    },
  };
}

/** Runs a submission inside the budget: no retry wait past `deadline` (Ferry's clock), no request outliving it. */
export function withinBudget<T>(deadline: number, provider: CloudProvider, clock: Clock, fn: () => Promise<T>): Promise<T> {
  const wallDeadline = Date.now() + (deadline - clock.now());
  return scope.run({ deadline, provider }, () => withCallDeadline(wallDeadline, fn));
}

export interface PoolResult<I, R> {
  done: Map<I, R>;
  /** Items never started because the budget ran out (their order preserved). */
  notStarted: I[];
}

/**
 * Runs `fn` over `items` with at most `concurrency` at once. Once `deadline` (by `now`) has
 * passed, no new item starts; items already running are awaited (each is bounded by the
 * clients' timeout and the budget clock above), so nothing is left running when this resolves.
 */
export async function runPool<I, R>(items: readonly I[], concurrency: number, deadline: number, now: () => number, fn: (item: I) => Promise<R>): Promise<PoolResult<I, R>> {
  const queue = [...items];
  const done = new Map<I, R>();
  const worker = async () => {
    while (queue.length && now() < deadline) {
      const item = queue.shift()!;
      done.set(item, await fn(item));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return { done, notStarted: queue };
}
