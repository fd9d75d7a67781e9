/**
 * Runs the sweep every `intervalMs` (measured from the end of one run to the start of the
 * next, so runs never overlap). `stop()` cancels the next run and waits for the current one.
 */
import type { Logger } from '../../shared/log.ts';

export interface SweepLoop {
  /** Resolves when the running sweep (if any) has finished; no run starts afterwards. */
  stop(): Promise<void>;
  readonly runs: number;
}

export function startSweepLoop(run: () => Promise<unknown>, intervalMs: number, log: Logger): SweepLoop {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let current: Promise<void> | undefined;
  let stopped = false;
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
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, intervalMs);

  return {
    get runs() {
      return runs;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await current;
    },
  };
}
