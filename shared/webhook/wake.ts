/**
 * Waking the sweep when a delivery left work for it, so that work does not wait for the timer's next
 * tick. At most one wake per instance per `minIntervalMs` (a burst of deliveries wakes it once), none
 * while a sweep is running (it takes what is due when it claims), and never a failed delivery for it:
 * a wake that fails is logged, and the timer still comes.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';

export interface SweepWakerOptions {
  /** Starts a sweep without waiting for it (FC: an async InvokeFunction; the local stack: its loop). */
  wake: () => Promise<void>;
  /** Whether a sweep is running now; a wake is skipped then. */
  isRunning?: (() => Promise<boolean>) | undefined;
  clock: Pick<Clock, 'now'>;
  log: Logger;
  minIntervalMs?: number | undefined;
}

export const WAKE_MIN_INTERVAL_MS = 5_000;

/**
 * A debounced `wake()` that never rejects: it resolves when the wake it started (if any) is done, so a
 * caller can finish it before answering (a function instance may be frozen once it has answered).
 * `settled` resolves when the last wake started is done (tests).
 */
export function sweepWaker(o: SweepWakerOptions): { wake: () => Promise<void>; settled: () => Promise<void>; readonly wakes: number } {
  const minIntervalMs = o.minIntervalMs ?? WAKE_MIN_INTERVAL_MS;
  let last = Number.NEGATIVE_INFINITY;
  let current: Promise<void> = Promise.resolve();
  let wakes = 0;
  return {
    wake() {
      const now = o.clock.now();
      if (now - last < minIntervalMs) return Promise.resolve();
      last = now;
      current = (async () => {
        try {
          if (await o.isRunning?.()) return;
          await o.wake();
          wakes++;
        } catch (err) {
          o.log.warn('sweep not woken; the timer will run it', { error: err instanceof Error ? err.message : String(err) });
        }
      })();
      return current;
    },
    settled: () => current,
    get wakes() {
      return wakes;
    },
  };
}
