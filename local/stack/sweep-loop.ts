/**
 * Runs the sweep every `intervalMs` (measured from the end of one run to the start of the
 * next, so runs never overlap), and at once when woken (the webhook left it work). `stop()` cancels
 * the next run and waits for the current one.
 */
import type { Logger } from '../../shared/log.ts';

export interface SweepLoop {
  /** Resolves when the running sweep (if any) has finished; no run starts afterwards. */
  stop(): Promise<void>;
  /** Runs the sweep now instead of at the next tick; while one runs, the next starts as soon as it ends. */
  wake(): void;
  /** Whether a sweep is running now. */
  readonly running: boolean;
  readonly runs: number;
}

export function startSweepLoop(run: () => Promise<unknown>, intervalMs: number, log: Logger): SweepLoop {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let current: Promise<void> | undefined;
  let stopped = false;
  let again = false;
  let runs = 0;

  const tick = () => {
    timer = undefined;
    if (stopped) return;
    const started = Date.now();
    current = run()
      .then((result) => {
        runs++;
        log.debug('sweep done', { durationMs: Date.now() - started, ...(result && typeof result === 'object' ? { result } : {}) });
      })
      .catch((err: unknown) => {
        runs++;
        log.error('sweep failed', { durationMs: Date.now() - started, err });
      })
      .finally(() => {
        current = undefined;
        if (!stopped) timer = setTimeout(tick, again ? 0 : intervalMs);
        again = false;
      });
  };
  timer = setTimeout(tick, intervalMs);

  return {
    get runs() {
      return runs;
    },
    get running() {
      return current !== undefined;
    },
    wake() {
      if (stopped) return;
      if (current) {
        again = true;
        return;
      }
      if (timer) clearTimeout(timer);
      timer = setTimeout(tick, 0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await current;
    },
  };
}
